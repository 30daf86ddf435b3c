"""Model zips and replay buffers, loaded without executing anything from the file.

SB3 (checked range: see SB3_TESTED) saves a model as a zip of `data` (JSON; entries it cannot
express in JSON are cloudpickled and base64-encoded under ":serialized:") and `.pth` files
that it loads with `torch.load(weights_only=True)`. Every serialized entry of a DQN is
something we can rebuild ourselves (spaces from the env, schedules and train_freq from the
hyperparameters, classes we know), so we pass all of them as `custom_objects` (SB3's
documented way to replace entries) and SB3 unpickles none. An entry we do not know refuses
the file, with one line, rather than unpickling it.

Replay buffers are an .npz of the filled part of each array plus the counters, loaded with
allow_pickle=False into the model's own (freshly built) buffer; or, between such snapshots,
an .npz of the rows written since the previous checkpoint (`buffer_delta_bytes`), applied in
order on top of the snapshot (`load_buffer_chain`).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from arz_tui.errors import ArzError
from arz_tui.runstore.atomic import npz_bytes
from arz_tui.runstore.files import ARRAY_CAP, Unreadable, check_regular, read_npz

SB3_TESTED = ((2, 6), (2, 10))
"""SB3 versions [from, to) whose save format this module was checked against
(tests/test_runstore_models.py fails loudly when the installed one differs in format)."""

DATA_CAP = 8 * 2**20
BUFFER_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
BUFFER_FORMAT = 1
BUFFER_DELTA_FORMAT = 2

SERIALIZED_KEYS = frozenset({
    "policy_class", "observation_space", "action_space", "replay_buffer_class", "train_freq",
    "lr_schedule", "exploration_schedule", "_last_obs", "_last_original_obs",
    "_last_episode_starts", "ep_info_buffer", "ep_success_buffer"})
"""The entries SB3 2.x pickles in a DQN's `data`; each is rebuilt in `custom_objects`."""


class UnsafeFile(ArzError):
    """A file that could only be loaded by unpickling arbitrary objects."""


def model_bytes(model: Any) -> bytes:
    buf = io.BytesIO()
    model.save(buf)
    return buf.getvalue()


def saved_data(path: Path, root: Path | None = None) -> dict[str, Any]:
    """The `data` JSON of a model zip, nothing deserialized (Unreadable when it is not one)."""
    check_regular(path, root)
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("data")
            if info.file_size > DATA_CAP:
                raise Unreadable(path, f"its data entry is {info.file_size:,} bytes")
            data = json.loads(archive.read(info).decode("utf-8"))
    except Unreadable:
        raise
    except KeyError:
        raise Unreadable(path, "not an SB3 model (no data entry)") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RecursionError) as err:
        raise Unreadable(path, f"not a readable model zip ({type(err).__name__})") from None
    if not isinstance(data, dict):
        raise Unreadable(path, "not an SB3 model (data is not an object)")
    return data


def serialized_keys(data: dict[str, Any]) -> set[str]:
    return {k for k, v in data.items() if isinstance(v, dict) and ":serialized:" in v}


def custom_objects(path: Path, env: Any, dqn: dict[str, Any] | None = None,
                   root: Path | None = None) -> dict[str, Any]:
    """Replacements for every pickled entry of the model zip at `path` (see module doc);
    UnsafeFile when it pickles something we do not rebuild."""
    from stable_baselines3.common.buffers import ReplayBuffer
    from stable_baselines3.common.type_aliases import TrainFreq, TrainFrequencyUnit
    from stable_baselines3.common.utils import FloatSchedule, LinearSchedule
    from stable_baselines3.dqn.policies import DQNPolicy

    data = saved_data(path, root)
    unknown = serialized_keys(data) - SERIALIZED_KEYS
    if unknown:
        raise UnsafeFile(f"{path}: refusing to load it: entries {', '.join(sorted(unknown))} "
                         "would need unpickling, which can run code; retrain or resume from "
                         "another checkpoint")
    h = dict(dqn or {})

    def number(key: str, default: float) -> float:
        value = h.get(key, data.get(key, default))
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
            else default

    lr = number("learning_rate", 1e-4)
    return {
        "policy_class": DQNPolicy,
        "observation_space": env.observation_space,
        "action_space": env.action_space,
        "replay_buffer_class": ReplayBuffer,
        "train_freq": TrainFreq(int(number("train_freq", 4)), TrainFrequencyUnit.STEP),
        "lr_schedule": FloatSchedule(lr),
        "exploration_schedule": LinearSchedule(number("exploration_initial_eps", 1.0),
                                               number("exploration_final_eps", 0.05),
                                               number("exploration_fraction", 0.1)),
        "_last_obs": None, "_last_original_obs": None, "_last_episode_starts": None,
        "ep_info_buffer": None, "ep_success_buffer": None,
    }


def load_model(path: Path, env: Any, device: str = "cpu", dqn: dict[str, Any] | None = None,
               root: Path | None = None, algorithm: type | None = None, **kwargs: Any) -> Any:
    """A DQN (or `algorithm`, a DQN subclass) from a zip, no entry unpickled (weights via
    torch.load(weights_only=True)).

    `env` gives the spaces (a gymnasium env or VecEnv); with `kwargs` (e.g. tensorboard_log)
    passed to DQN.load. Unreadable / UnsafeFile with one line on a bad file."""
    from stable_baselines3 import DQN

    objects = custom_objects(path, env, dqn, root)
    cls: Any = algorithm or DQN
    try:
        return cls.load(path, env=env if hasattr(env, "num_envs") else None,
                        device=device, custom_objects=objects, **kwargs)
    except (ValueError, KeyError, RuntimeError, zipfile.BadZipFile, EOFError, OSError) as err:
        # torch refusing a non-weights pickle lands here too (UnpicklingError is a
        # RuntimeError subclass in torch's weights-only loader).
        first = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
        raise Unreadable(path, f"cannot load the model ({type(err).__name__}: {first})") \
            from None
    except Exception as err:  # torch's weights-only unpickler raises its own types
        if type(err).__name__ == "UnpicklingError":
            raise UnsafeFile(f"{path}: refusing to load it: its weights are not plain tensors "
                             "(loading them could run code)") from None
        raise


def _buffer_npz(buffer: Any, fmt: int, index: Any, **extra: np.ndarray) -> bytes:
    """Rows `index` of an SB3 ReplayBuffer's arrays and its counters as .npz bytes."""
    arrays = {name: np.asarray(getattr(buffer, name))[index] for name in BUFFER_ARRAYS
              if isinstance(getattr(buffer, name, None), np.ndarray)}
    return npz_bytes(format=np.array(fmt), pos=np.array(buffer.pos),
                     full=np.array(bool(buffer.full)), buffer_size=np.array(buffer.buffer_size),
                     **extra, **arrays)


def buffer_bytes(buffer: Any) -> bytes:
    """The filled part of an SB3 ReplayBuffer and its counters as .npz bytes (no pickle)."""
    n = buffer.buffer_size if buffer.full else buffer.pos
    return _buffer_npz(buffer, BUFFER_FORMAT, slice(0, n))


def buffer_delta_bytes(buffer: Any, rows: np.ndarray) -> bytes:
    """Rows `rows` of an SB3 ReplayBuffer (those written since the previous checkpoint) and
    its counters as .npz bytes, to apply on top of the previous checkpoint's buffer."""
    return _buffer_npz(buffer, BUFFER_DELTA_FORMAT, rows, rows=rows.astype(np.int64))


def load_buffer_chain(paths: list[Path], buffer: Any, root: Path | None = None) -> None:
    """Fill an SB3 ReplayBuffer from a full snapshot followed by deltas (see the module
    doc); Unreadable when any file does not fit it or the chain does not start with a
    snapshot."""
    if not paths:
        return
    load_buffer(paths[0], buffer, root)
    for path in paths[1:]:
        _apply_delta(path, buffer, root)


def _counters(path: Path, data: Any, buffer: Any, fmt: int) -> tuple[int, bool, int]:
    """(pos, full, buffer_size) of a buffer file of format `fmt` that fits `buffer`."""
    try:
        found = int(data["format"])
        pos, full = int(data["pos"]), bool(data["full"])
        size = int(data["buffer_size"])
    except (KeyError, TypeError, ValueError):
        raise Unreadable(path, "not a replay buffer (counters missing)") from None
    if found != fmt:
        raise Unreadable(path, f"replay buffer format {found} where {fmt} was expected")
    if size != buffer.buffer_size or not 0 <= pos <= size:
        raise Unreadable(path, f"replay buffer of {size} transitions does not fit the model's "
                               f"{buffer.buffer_size}")
    return pos, full, size


def _apply_delta(path: Path, buffer: Any, root: Path | None) -> None:
    data = read_npz(path, root, cap=ARRAY_CAP * 8)
    pos, full, size = _counters(path, data, buffer, BUFFER_DELTA_FORMAT)
    rows = data.get("rows")
    if (not isinstance(rows, np.ndarray) or rows.ndim != 1
            or not np.issubdtype(rows.dtype, np.integer)
            or (rows.size and (rows.min() < 0 or rows.max() >= size))):
        raise Unreadable(path, "replay buffer delta has no valid row indices")
    _fill(path, data, buffer, rows, len(rows), "replay buffer delta")
    buffer.pos, buffer.full = pos % size, full


def _fill(path: Path, data: dict[str, np.ndarray], buffer: Any, index: Any, n: int,
          what: str) -> None:
    """Write each buffer array's `n` stored rows to `index` of the model's buffer."""
    for name in BUFFER_ARRAYS:
        target = getattr(buffer, name, None)
        if not isinstance(target, np.ndarray):
            continue
        if name not in data:
            raise Unreadable(path, f"{what} lacks {name}")
        arr = data[name]
        if arr.shape != (n, *target.shape[1:]):
            raise Unreadable(path, f"{what} {name} has shape {arr.shape}, expected "
                                   f"{(n, *target.shape[1:])}")
        target[index] = arr.astype(target.dtype, copy=False)


def load_buffer(path: Path, buffer: Any, root: Path | None = None) -> None:
    """Fill an SB3 ReplayBuffer (built by the model, same sizes) from `buffer_bytes` output;
    Unreadable when the file does not fit it."""
    if path.suffix == ".pkl":
        raise UnsafeFile(f"{path}: an old pickled replay buffer; arz-tui no longer unpickles "
                         "files (that can run code); resume from a newer checkpoint or retrain")
    data = read_npz(path, root, cap=ARRAY_CAP * 8)
    pos, full, size = _counters(path, data, buffer, BUFFER_FORMAT)
    n = size if full else pos
    _fill(path, data, buffer, slice(0, n), n, "replay buffer")
    buffer.pos, buffer.full = pos % size, full
