"""Reading rows from JSONL and CSV files with errors that name file, line and field.

Every loader goes through :class:`Problems`: with ``on_error="raise"`` a bad row raises a
:class:`DataError`; with ``on_error="skip"`` it is skipped and counted by reason, and the
counts land in ``Dataset.report``. Quirks a loader repairs on purpose are counted too
(``note``), so nothing is changed silently.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from ..errors import DataError, ParameterError

ON_ERROR = ("raise", "skip")
_MAX_EXAMPLES = 20

# Some CSV fields (long reviews, token lists) are larger than csv's default 128 KiB cap.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def bad(message: str, path: str | Path | None, line: int | None = None,
        field: str | None = None, reason: str | None = None) -> DataError:
    """A DataError with a short ``reason`` used to group skipped rows in the report."""
    return DataError(message, path=None if path is None else str(path), line=line, field=field, reason=reason)


class Problems:
    """Collects skipped rows and normalised quirks for one load."""

    def __init__(self, on_error: str = "raise") -> None:
        if on_error not in ON_ERROR:
            raise ParameterError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        self.on_error = on_error
        self.skipped: Counter[str] = Counter()
        self.messages: list[str] = []
        self.normalised: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    def skip(self, err: DataError) -> None:
        """Raise ``err`` (on_error="raise") or count it as a skipped row."""
        if self.on_error == "raise":
            raise err
        self.skipped[err.reason] += 1
        if len(self.messages) < _MAX_EXAMPLES:
            self.messages.append(str(err))

    def note(self, quirk: str, n: int = 1) -> None:
        """Count a quirk the loader repaired (e.g. a rationale normalised to all zeros)."""
        self.normalised[quirk] += n

    def count(self, key: str, n: int = 1) -> None:
        """Count something worth reporting that is neither an error nor a repair."""
        self.counts[key] += n

    def report(self, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "skipped": sum(self.skipped.values()),
            "skipped_by_reason": dict(self.skipped),
        }
        if self.messages:
            out["skipped_examples"] = list(self.messages)
        if self.normalised:
            out["normalised"] = dict(self.normalised)
        out.update(self.counts)
        out.update(extra)
        return out


def read_bytes(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def iter_jsonl(path: str | Path, problems: Problems, data: bytes | None = None
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; bad lines go to ``problems``."""
    raw = read_bytes(path) if data is None else data
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for i, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.skip(bad(f"invalid UTF-8 (byte {e.start} of the line: {line[e.start:e.start + 4]!r})",
                              path, i, reason="invalid UTF-8"))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            problems.skip(bad(f"not valid JSON ({e.msg} at column {e.colno})", path, i,
                              reason="invalid JSON"))
            continue
        if not isinstance(obj, dict):
            problems.skip(bad(f"expected a JSON object, got {type(obj).__name__}", path, i,
                              reason="not a JSON object"))
            continue
        yield i, obj


def _has_bad_bytes(value: str) -> int | None:
    """Position of the first undecodable byte (kept as a lone surrogate), or None."""
    for j, ch in enumerate(value):
        if "\udc80" <= ch <= "\udcff":
            return j
    return None


def iter_csv(path: str | Path, problems: Problems, data: bytes | None = None
             ) -> tuple[list[str], Iterator[tuple[int, int, dict[str, str]]]]:
    """The header and (row index, first line of the row, row dict) for every good data row.

    The row index counts every data row of the file, skipped ones included, so ids and
    index-based splits do not move when a bad row is skipped.

    Undecodable bytes are kept as surrogates while parsing (so one bad byte cannot shift
    the rows after it), then the row holding them is reported with its field.
    """
    raw = read_bytes(path) if data is None else data
    text = raw.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    # newline="" splits rows on \n and \r only (not on U+2028 etc., which str.splitlines
    # would treat as line ends inside a text field).
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise bad("the file is empty; expected a header row", path, 1, reason="empty file") from None
    for k, name in enumerate(header):
        if _has_bad_bytes(name) is not None:
            raise bad(f"invalid UTF-8 in column name {k + 1}", path, 1, reason="invalid UTF-8")

    def rows() -> Iterator[tuple[int, int, dict[str, str]]]:
        start = reader.line_num + 1
        k = -1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                k += 1
                problems.skip(bad(f"malformed CSV ({e})", path, start, reason="malformed CSV"))
                start = reader.line_num + 1
                continue
            line, start = start, reader.line_num + 1
            if not row or all(not c.strip() for c in row):
                continue
            k += 1
            if len(row) != len(header):
                problems.skip(bad(f"{len(row)} fields, expected {len(header)} ({', '.join(header)})",
                                  path, line, reason="wrong number of fields"))
                continue
            rec = dict(zip(header, row))
            bad_field = next((f for f, v in rec.items() if _has_bad_bytes(v) is not None), None)
            if bad_field is not None:
                problems.skip(bad("invalid UTF-8", path, line, bad_field, reason="invalid UTF-8"))
                continue
            yield k, line, rec

    return header, rows()


def parse_list(value: Any, path: str | Path, line: int | None, field: str) -> list:
    """A list from a JSON/Python-list string (``"[0, 1]"``, ``"['a', 'b']"``) or a list.

    Uses ``ast.literal_eval`` (literals only, never code), as X-MuTeST and Toxic Spans
    write lists with Python's repr.
    """
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        raise bad(f"expected a list, got {type(value).__name__}", path, line, field,
                  reason=f"{field}: not a list")
    s = value.strip()
    try:
        # JSON first: it is much faster, and "[1, 2]" or '["a"]' are valid JSON.
        out = json.loads(s)
    except (ValueError, RecursionError):
        try:
            out = ast.literal_eval(s)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            raise bad(f"expected a list such as [0, 1, 0], got {_short(value)}", path, line, field,
                      reason=f"{field}: not a list") from None
    if isinstance(out, tuple):
        out = list(out)
    if not isinstance(out, list):
        raise bad(f"expected a list such as [0, 1, 0], got {_short(value)}", path, line, field,
                  reason=f"{field}: not a list")
    return out


def parse_mask(values: Any, n_words: int, path: str | Path, line: int | None, field: str,
               *, check_length: bool = True) -> list[int]:
    """A 0/1 list, checked for values and (optionally) for one value per word."""
    values = parse_list(values, path, line, field)
    out: list[int] = []
    for v in values:
        if isinstance(v, bool):
            v = int(v)
        if isinstance(v, float) and v in (0.0, 1.0):
            v = int(v)
        if v not in (0, 1) or isinstance(v, float):
            raise bad(f"rationale values must be 0 or 1, got {v!r}", path, line, field,
                      reason=f"{field}: value not 0/1")
        out.append(int(v))
    if check_length and len(out) != n_words:
        raise bad(f"{len(out)} rationale values for {n_words} words", path, line, field,
                  reason="rationale length != words")
    return out


def _short(value: Any, n: int = 60) -> str:
    s = repr(value)
    return s if len(s) <= n else s[: n - 3] + "..."
