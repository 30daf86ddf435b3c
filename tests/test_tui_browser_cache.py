"""The results browser's lister re-reads a tuning study only when one of its files changed
(the list refreshes every second; parsing every trial each time is wasted work)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from arz_tui.runstore import RunLayout
from arz_tui.tui import browser
from arz_tui.tui.browser import RunLister, read_details

STUDIES = Path(__file__).parent / "fixtures" / "browser_studies"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    dest = tmp_path / "results"
    shutil.copytree(STUDIES, dest)
    return dest


def test_study_is_read_again_only_when_a_file_changed(results: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    real = browser.read_study

    def counting(path: Path, root: Path | None = None):
        calls.append(path)
        return real(path, root)

    monkeypatch.setattr(browser, "read_study", counting)
    lister = RunLister(results)
    first = lister.list()
    assert len(calls) == 1
    for _ in range(3):
        assert [r.name for r in lister.list()] == [r.name for r in first]
    assert len(calls) == 1  # nothing changed: no re-read

    # The selected study's tabs share the cached view.
    study = next(r for r in first if r.name == "tuning/st")
    details = read_details(study, results, None, True, study=lister.study)
    assert details.study is not None and len(details.study.trials) == 3
    assert len(calls) == 1

    # A trial's events grew: the study is read again, once.
    metrics = RunLayout(results / "tuning" / "st" / "trial_1").metrics
    with metrics.open("a") as f:
        f.write("\n")
    stat = metrics.stat()
    os.utime(metrics, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    lister.list()
    lister.list()
    assert len(calls) == 2
    # A new trial folder too.
    shutil.copytree(results / "tuning" / "st" / "trial_1", results / "tuning" / "st" / "trial_3")
    rows = [r.name for r in lister.list()]
    assert "st/trial_3" in rows and len(calls) == 3
