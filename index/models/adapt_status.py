"""Where a background adaptation stands, for the app to show while it answers with another model.

`peel adapt --reindex` (started in the background by ``scripts/run.sh``) writes a small JSON
file beside the model folder, ``.{model}.adapt-status.json``, at each step; the app reads
it to say which model is serving, how far adaptation is, and when the index switches over.
Written atomically (temp file + rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.atomic import write_atomically

__all__ = ["AdaptStatus", "status_path", "write_status", "read_status", "serving_model", "STATES"]

# adapting → indexing (the index is rebuilt with the new model) → done; or failed
STATES = ("adapting", "indexing", "done", "failed")


@dataclass
class AdaptStatus:
    state: str
    base_model: str = ""
    step: int = 0
    steps: int = 0
    message: str = ""
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @property
    def running(self) -> bool:
        """Still adapting or indexing, in a process that is still alive."""
        return self.state in ("adapting", "indexing") and _alive(self.pid)

    @property
    def stalled(self) -> bool:
        """Said it was running, but its process has gone (killed, machine restarted)."""
        return self.state in ("adapting", "indexing") and not _alive(self.pid)

    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far, while adapting; None before the first step."""
        if self.state != "adapting" or self.step < 1 or self.steps <= self.step:
            return None
        return (self.updated - self.started) / self.step * (self.steps - self.step)


def status_path(model_dir: Path | str) -> Path:
    model_dir = Path(model_dir).expanduser().absolute()
    return model_dir.parent / f".{model_dir.name}.adapt-status.json"


def write_status(model_dir: Path | str, status: AdaptStatus) -> None:
    status.updated = time.time()
    path = status_path(model_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(asdict(status)))


def read_status(model_dir: Path | str) -> AdaptStatus | None:
    """The last status written, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(status_path(model_dir).read_text(encoding="utf-8"))
        names = AdaptStatus.__dataclass_fields__.keys()
        status = AdaptStatus(**{k: v for k, v in data.items() if k in names})
    except (OSError, ValueError, TypeError):
        return None
    return status if status.state in STATES else None


def _alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, ValueError, TypeError):
        return False
    return True


def serving_model(model: dict) -> str:
    """How to name the model an index was built with (its manifest's ``model`` record)."""
    import json as _json

    name = str(model.get("name") or "unknown model").rstrip("/").split("/")[-1]
    path = model.get("path")
    try:
        info = _json.loads((Path(path) / "adapt_info.json").read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        info = None
    if info:
        base = str(info.get("base_model", "")).split("/")[-1] or "a base model"
        return f"{base}, adapted to the corpus ({name})"
    return f"{name} (packaged, not adapted)" if model.get("default") else name
