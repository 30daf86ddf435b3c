"""The run store: the one module that knows the results folder's format.

Layout (`layout`), atomic writes (`atomic`), safe reading of hostile files (`files`), JSON
records (`records`), the event stream (`events`), claiming and locking (`claim`), checkpoint
manifests and resume choice (`checkpoints`), the browsers' and reports' reader (`reader`);
`models` loads SB3 zips and replay buffers without unpickling (it imports SB3, so it is not
loaded by this package's import).

Training, the TUI, report, sweep and tuning depend on it; it depends on none of them.
"""

from arz_tui.runstore.atomic import (
    BackgroundWriter,
    save_npy_atomic,
    save_npz_atomic,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from arz_tui.runstore.claim import RunBusy, RunClaim, check_results_dir, claim_existing, claim_new
from arz_tui.runstore.events import Event, EventKind, JsonlTail, JsonlWriter, RunStatus
from arz_tui.runstore.files import Unreadable
from arz_tui.runstore.layout import GroupLayout, RunLayout, member_name

__all__ = [
    "BackgroundWriter", "Event", "EventKind", "GroupLayout", "JsonlTail", "JsonlWriter",
    "RunBusy", "RunClaim", "RunLayout", "RunStatus", "Unreadable", "check_results_dir",
    "claim_existing", "claim_new", "member_name", "save_npy_atomic", "save_npz_atomic",
    "write_bytes_atomic", "write_json_atomic", "write_text_atomic",
]
