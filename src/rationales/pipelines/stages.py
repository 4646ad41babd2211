"""Resumable stages: each stage writes its outputs atomically, then a record that says so.

A stage is finished when ``OUT/stages/NAME.json`` exists and holds the same ``key`` (a
digest of everything the stage's result depends on, upstream stages included). Rerunning
a pipeline skips finished stages; a stage whose record is missing (it was killed half-way)
or whose key changed (other settings, other data) is done again, from an empty
``OUT/.NAME.partial/`` folder that replaces ``OUT/NAME/`` only when the stage is complete.
The record is written last, with a rename, so a kill never leaves a stage that looks done.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from ..jsonio import dumps


def digest(value: Any) -> str:
    """A short sha256 of ``value``'s canonical JSON: equal settings, equal keys."""
    return hashlib.sha256(dumps(value, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


class Stages:
    """The stage records of one pipeline folder, and the ``say`` line printer."""

    def __init__(self, out: str | Path, say: Callable[[str], None] | None = None) -> None:
        self.out = Path(out)
        self.records_dir = self.out / "stages"
        self.records_dir.mkdir(parents=True, exist_ok=True)
        self.say = say or (lambda text: None)
        #: name -> what happened in this call: "done" (ran now) or "skipped" (finished before)
        self.status: dict[str, str] = {}

    def record(self, name: str) -> dict[str, Any] | None:
        """The stage's record, or None when it never finished."""
        import json

        path = self.records_dir / f"{name}.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # cannot happen through write_atomic; treat as not finished
            return None

    def run(self, name: str, key: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The stage's record: read when it finished before under ``key``, else made by ``work()``."""
        rec = self.record(name)
        if rec is not None and rec.get("key") == key:
            self.status[name] = "skipped"
            self.say(f"[{name}] finished before ({rec.get('seconds', 0):.1f} s), skipped")
            return rec
        if rec is not None:
            self.say(f"[{name}] settings or inputs changed since it ran: doing it again")
        self.say(f"[{name}] running")
        t0 = time.perf_counter()
        result = work()
        rec = {"stage": name, "key": key, "seconds": round(time.perf_counter() - t0, 2),
               "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), **result}
        write_atomic(self.records_dir / f"{name}.json", dumps(rec, indent=1) + "\n")
        self.status[name] = "done"
        self.say(f"[{name}] done in {rec['seconds']:.1f} s")
        return rec

    @contextmanager
    def building(self, name: str) -> Iterator[Path]:
        """An empty folder to write the stage's outputs into; it becomes ``OUT/NAME`` at the end."""
        tmp = self.out / f".{name}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        yield tmp
        final = self.out / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)


def stderr_say(text: str) -> None:
    """A stage line on stderr."""
    print(text, file=sys.stderr, flush=True)
