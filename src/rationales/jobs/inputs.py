"""Streaming readers: JSONL, CSV or a registered dataset (NAME:SPLIT) as input records.

A record is one input row before it becomes an :class:`Example`. Readers never hold the
whole file: they yield one record (or one :class:`BadRow`) at a time, with the file and
line it came from, so a malformed row is recorded and counted and the job goes on.

Words are segmented lazily (:meth:`Record.to_example`): when a job resumes, rows that
are already done are recognised by their id and ``input_hash`` without segmenting them.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence, Union

from ..errors import DataError
from ..types import Example
from .store import digest

ID_FIELDS = ("id", "post_id", "example_id", "annotation_id")
WORDS_FIELDS = ("words", "post_tokens", "tokens")
TEXT_FIELDS = ("text", "post", "comment_text", "content", "body")


@dataclass
class Record:
    """One usable input row: an id, its words or text, and optional gold values."""

    id: str
    source: str
    line: int
    pos: int
    text: str | None = None
    words: tuple[str, ...] | None = None
    label: int | None = None
    rationale: tuple[int, ...] | None = None
    lang: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input_hash(self) -> str:
        """What the row says (words or text, label, rationale): a changed row hashes differently."""
        return digest([self.words if self.words is not None else self.text, self.label, self.rationale])

    def to_example(self) -> Example:
        """The Example (segmenting the text now). Raises DataError for an empty text."""
        if self.words is not None:
            words = self.words
        else:
            from ..words import segment

            words = tuple(segment(self.text or ""))
        if not words:
            raise DataError("the text has no words (empty or whitespace only)", path=self.source, line=self.line)
        try:
            return Example(id=self.id, words=words, label=self.label, rationale=self.rationale,
                           lang=self.lang, meta=self.meta)
        except ValueError as e:
            raise DataError(str(e), path=self.source, line=self.line) from None


@dataclass(frozen=True)
class BadRow:
    """An input row that could not be read, with where and why."""

    source: str
    line: int
    error: str
    id: str | None = None


Item = Union[Record, BadRow]


def _pick(row: dict[str, Any], wanted: str | None, names: Sequence[str]) -> tuple[str | None, Any]:
    if wanted is not None:
        return (wanted, row[wanted]) if wanted in row else (None, None)
    for n in names:
        if n in row and row[n] not in (None, ""):
            return n, row[n]
    return None, None


def _label(value: Any, label_names: Sequence[str] | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"label {value!r} is a boolean; give a label id or name")
    if isinstance(value, int):
        return value
    s = str(value).strip()
    if s.lstrip("-").isdigit():
        return int(s)
    if label_names and s in label_names:
        return list(label_names).index(s)
    raise ValueError(f"label {s!r} is not a label id" + (f" nor one of {list(label_names)}" if label_names else ""))


def _rationale(value: Any) -> tuple[int, ...] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        raise ValueError(f"rationale must be a list of 0/1, got {type(value).__name__}")
    return tuple(int(v) for v in value)


def record_from_row(row: dict[str, Any], *, source: str, line: int, pos: int,
                    text_field: str | None = None, id_field: str | None = None,
                    label_names: Sequence[str] | None = None) -> Item:
    """Turn one parsed row (a JSON object or a CSV row) into a Record or a BadRow."""
    id_name, rid = _pick(row, id_field, ID_FIELDS)
    rid = None if rid is None else str(rid)
    if id_field is not None and id_name is None:
        return BadRow(source, line, f"no field {id_field!r} (the --id-field)")
    # Without an id column the line number is the id: stable as long as the file is.
    rid = rid if rid is not None else f"line-{line}"
    words = text = None
    name, value = _pick(row, text_field, () if text_field else WORDS_FIELDS)
    if text_field is None and value is None:
        name, value = _pick(row, None, TEXT_FIELDS)
    if name is None:
        want = repr(text_field) if text_field else f"one of {list(WORDS_FIELDS + TEXT_FIELDS)}"
        return BadRow(source, line, f"no text: the row has no field {want} (fields: {sorted(map(str, row))})", rid)
    if isinstance(value, list):
        if not all(isinstance(w, str) for w in value):
            return BadRow(source, line, f"field {name!r} must be a list of strings (words)", rid)
        words = tuple(value)
    elif isinstance(value, str):
        text = value
    else:
        return BadRow(source, line, f"field {name!r} must be a text or a list of words, got {type(value).__name__}", rid)
    if not (words if words is not None else (text or "").strip()):
        return BadRow(source, line, f"field {name!r} is empty: there is nothing to explain", rid)
    try:
        label = _label(row.get("label"), label_names)
        rationale = _rationale(row.get("rationale"))
    except (ValueError, TypeError) as e:
        return BadRow(source, line, str(e), rid)
    lang = row.get("lang")
    return Record(rid, source, line, pos, text=text, words=words, label=label, rationale=rationale,
                  lang=str(lang) if lang else None)


def _decoded_lines(path: Path, bad: dict[int, str]) -> Iterator[str]:
    """The file's lines as text; undecodable lines are noted in ``bad`` (line → error)."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                yield raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as e:
                bad[n] = f"not valid UTF-8 ({e.reason} at byte {e.start})"
                yield raw.decode("utf-8", errors="replace")


def read_jsonl(path: str | Path, *, text_field: str | None = None, id_field: str | None = None,
               label_names: Sequence[str] | None = None) -> Iterator[Item]:
    """Stream a JSON Lines file: one object a line; blank lines are ignored."""
    path = Path(path)
    bad: dict[int, str] = {}
    pos = 0
    for n, line in enumerate(_decoded_lines(path, bad), 1):
        if not line.strip():
            continue
        if n in bad:
            yield BadRow(str(path), n, bad.pop(n))
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield BadRow(str(path), n, f"not valid JSON: {e.msg} at column {e.colno}")
            continue
        if not isinstance(row, dict):
            yield BadRow(str(path), n, f"expected a JSON object, got {type(row).__name__}")
            continue
        item = record_from_row(row, source=str(path), line=n, pos=pos, text_field=text_field,
                               id_field=id_field, label_names=label_names)
        pos += isinstance(item, Record)
        yield item


def read_csv(path: str | Path, *, text_field: str | None = None, id_field: str | None = None,
             label_names: Sequence[str] | None = None) -> Iterator[Item]:
    """Stream a CSV file with a header row; quoted fields may span lines."""
    path = Path(path)
    bad: dict[int, str] = {}
    reader = csv.reader(_decoded_lines(path, bad))
    try:
        header = next(reader)
    except StopIteration:
        return
    pos = 0
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield BadRow(str(path), start, f"malformed CSV: {e}")
            start = reader.line_num + 1
            continue
        line, end = start, reader.line_num
        start = end + 1
        if not cells:
            continue
        undecodable = [bad.pop(k) for k in range(line, end + 1) if k in bad]
        if undecodable:
            yield BadRow(str(path), line, undecodable[0])
            continue
        if len(cells) != len(header):
            yield BadRow(str(path), line, f"{len(cells)} fields, the header has {len(header)}")
            continue
        item = record_from_row(dict(zip(header, cells)), source=str(path), line=line, pos=pos,
                               text_field=text_field, id_field=id_field, label_names=label_names)
        pos += isinstance(item, Record)
        yield item


def read_dataset(spec: str) -> Iterator[Item]:
    """A registered dataset named ``NAME:SPLIT`` (loaded by :mod:`rationales.data`)."""
    from .. import data

    loader = getattr(data, "load_spec", None)
    if loader is not None:
        ds = loader(spec)
    else:
        name, _, split = spec.partition(":")
        ds = data.load_dataset(name, split=split or None)
    for i, ex in enumerate(ds):
        yield Record(ex.id, spec, i + 1, i, words=tuple(ex.words), label=ex.label,
                     rationale=ex.rationale, lang=ex.lang, meta=dict(ex.meta))


def is_dataset_spec(spec: str) -> bool:
    return not Path(spec).exists() and ":" in spec and not spec.lower().endswith((".jsonl", ".csv", ".json"))


def read_input(spec: str | Path, *, text_field: str | None = None, id_field: str | None = None,
               label_names: Sequence[str] | None = None) -> Iterator[Item]:
    """Stream records from a ``.jsonl`` / ``.csv`` file or a ``NAME:SPLIT`` dataset."""
    s = str(spec)
    if is_dataset_spec(s):
        yield from read_dataset(s)
        return
    path = Path(s)
    if not path.is_file():
        raise DataError(
            f"input {s!r} is neither a file nor a dataset NAME:SPLIT (e.g. hatexplain:test); "
            f"give a .jsonl or .csv file"
        )
    suffix = path.suffix.lower()
    if suffix == ".json":
        raise DataError(
            f"input {s!r} is a .json file; a job streams JSON Lines (one object a line, .jsonl). "
            f"For a dataset release such as HateXplain's dataset.json use NAME:SPLIT (hatexplain:test)"
        )
    if suffix in (".jsonl", ".ndjson"):
        yield from read_jsonl(path, text_field=text_field, id_field=id_field, label_names=label_names)
    elif suffix in (".csv", ".tsv"):
        yield from read_csv(path, text_field=text_field, id_field=id_field, label_names=label_names)
    else:
        raise DataError(f"input {s!r}: unknown format {suffix!r}; use .jsonl or .csv, or NAME:SPLIT")


def count_rows(spec: str | Path) -> int | None:
    """How many rows the input has (for the progress bar's ETA), by a fast byte scan."""
    s = str(spec)
    if is_dataset_spec(s):
        return None
    path = Path(s)
    n = 0
    last = b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            n += block.count(b"\n")
            last = block[-1:]
    n += last != b"\n"
    return max(0, n - 1) if path.suffix.lower() in (".csv", ".tsv") else n
