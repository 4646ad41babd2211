"""One progress helper for every long loop: training, explaining, benchmarks, corpus jobs.

Long work in the Python API takes ``progress=``: ``True`` (a bar on stderr), ``False`` or
``None`` (silent), or a callable ``progress(done, total)`` called after each step, which
is how the CLI, the web server and corpus jobs follow :func:`rationales.methods`.

The bar is rich's; when stderr is not a terminal (a log file, ``make demo | tee``) rich
draws nothing, so a plain line is printed every 5 % instead of staying silent.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Union

#: ``progress(done, total)``: called after each step (``total`` may be None when unknown)
ProgressCallback = Callable[[int, Union[int, None]], None]
ProgressLike = Union[bool, None, ProgressCallback]


class Progress:
    """A progress bar (rich, on stderr) with a description, a rate and an ETA.

    ``Progress(total, label)`` is a context manager; ``advance(n, note=...)`` moves it,
    ``update(done, note=...)`` sets it, ``print(text)`` writes a line above it. With
    ``enabled=False`` every call does nothing. ``callback`` is also called on each move.
    """

    def __init__(self, total: int | None, label: str, *, enabled: bool = True, unit: str = "",
                 callback: ProgressCallback | None = None, transient: bool = False) -> None:
        self.total, self.label, self.unit = total, label, unit
        self.done = 0
        self.callback = callback
        self._bar: Any = None
        self._plain_every = max(1, (total or 0) // 20) if total else 0
        self._t0 = time.perf_counter()
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        rate = [TextColumn("{task.fields[rate]}")] if unit else []
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), *rate,
            TimeRemainingColumn(), TimeElapsedColumn(), TextColumn("{task.fields[note]}"),
            console=Console(stderr=True), transient=transient,
        )
        self._bar.start()
        self._task = self._bar.add_task(label, total=total, rate="", note="")

    # -- moving -------------------------------------------------------------------------
    def advance(self, n: int = 1, note: str | None = None) -> None:
        self.update(self.done + n, note)

    def update(self, done: int, note: str | None = None) -> None:
        before, self.done = self.done, done
        if self.callback is not None:
            self.callback(done, self.total)
        if self._bar is None:
            return
        fields: dict[str, Any] = {}
        if note is not None:
            fields["note"] = note
        if self.unit:
            dt = time.perf_counter() - self._t0
            fields["rate"] = f"{done / dt:,.1f} {self.unit}/s" if dt > 0 else ""
        self._bar.update(self._task, completed=done, **fields)
        if not self._bar.console.is_terminal and self._plain_every:
            crossed = done // self._plain_every > before // self._plain_every
            if crossed or (self.total is not None and done >= self.total > before):
                self._bar.console.print(f"{self.label}: {done}/{self.total}" + (f"  {note}" if note else ""))

    def print(self, text: str) -> None:
        """A line above the bar (kept when the bar is transient)."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_from(progress: ProgressLike, total: int | None, label: str, **kwargs: Any) -> Progress:
    """The :class:`Progress` that a ``progress=`` argument asks for (bar, callback or silence)."""
    if callable(progress):
        return Progress(total, label, enabled=False, callback=progress, **kwargs)
    return Progress(total, label, enabled=bool(progress), **kwargs)


__all__ = ["Progress", "ProgressCallback", "ProgressLike", "progress_from"]
