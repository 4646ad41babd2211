"""ERASER (DeYoung et al., 2020) datasets, read from the release .tar.gz or its folder.

A dataset folder holds ``docs/<docid>`` (one sentence a line, tokens separated by spaces)
or ``docs.jsonl``, and ``{train,val,test}.jsonl`` annotations whose evidences index the
document's flattened tokens (``end_token`` exclusive). The words of an example are the
flattened tokens of its documents (several documents are concatenated in order, with
their start offsets in ``meta["doc_offsets"]``); the rationale is the union of all its
evidence spans. Every evidence ``text`` must equal the words it covers: a mismatch is an
error naming the annotation id. The archive is read in memory, never extracted.
"""

from __future__ import annotations

import os
import tarfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import DataError, DataNotFoundError, ParameterError
from ..types import Dataset, Example
from .base import register
from .paths import find_file, not_found
from .reading import Problems, bad, iter_jsonl

SPLITS = ["train", "val", "test"]
MOVIES_FOLDER = "eraser-movies"
MOVIES_LABELS = ["NEG", "POS"]

OPTIONS_MOVIES = {"label_names": "override the label order (default NEG, POS)"}
OPTIONS_GENERIC = {
    "path": "an ERASER dataset folder (with docs/ and train.jsonl ...) or its release .tar.gz",
    "label_names": "label order (default: the sorted classes found in the split files)",
    "lang": 'the language code to attach (default "en")',
}


class _Source:
    """The files of one ERASER dataset: from a folder or from a .tar.gz held in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            root = path if _is_root(p.name for p in path.iterdir()) else None
            if root is None:
                subs = [d for d in sorted(path.iterdir())
                        if d.is_dir() and _is_root(p.name for p in d.iterdir())]
                if len(subs) != 1:
                    raise DataNotFoundError(
                        f"{path}: not an ERASER dataset folder; expected train.jsonl/val.jsonl/"
                        "test.jsonl and docs/ (or docs.jsonl) in it or in one sub-folder")
                root = subs[0]
            self.root = root
            self.files = None
        else:
            self.files = _read_archive(str(path), path.stat().st_mtime_ns, path.stat().st_size)
            prefixes = set()
            for n in self.files:
                head, _, base = n.rpartition("/")
                pre = head + "/" if head else ""
                if base in ("train.jsonl", "val.jsonl", "test.jsonl") and (
                        pre + "docs.jsonl" in self.files
                        or any(m.startswith(pre + "docs/") for m in self.files)):
                    prefixes.add(pre)
            if len(prefixes) != 1:
                raise DataNotFoundError(
                    f"{path}: expected one ERASER dataset (train.jsonl/val.jsonl/test.jsonl and "
                    f"docs/ or docs.jsonl) inside the archive, found {len(prefixes)}")
            prefix = prefixes.pop()
            self.prefix = prefix

    def where(self, rel: str) -> str:
        return str(self.root / rel) if self.files is None else f"{self.path}!{self.prefix}{rel}"

    def has(self, rel: str) -> bool:
        if self.files is None:
            return (self.root / rel).exists()
        return self.prefix + rel in self.files

    def read(self, rel: str) -> bytes:
        if self.files is None:
            return (self.root / rel).read_bytes()
        try:
            return self.files[self.prefix + rel]
        except KeyError:
            raise FileNotFoundError(self.where(rel)) from None

    def doc_names(self) -> list[str]:
        if self.files is None:
            d = self.root / "docs"
            return sorted(p.name for p in d.iterdir() if p.is_file()) if d.is_dir() else []
        start = self.prefix + "docs/"
        return sorted(n[len(start):] for n in self.files if n.startswith(start) and n != start)


def _is_root(names: Any) -> bool:
    names = set(names)
    return bool(names & {"train.jsonl", "val.jsonl", "test.jsonl"}) and bool(
        names & {"docs", "docs.jsonl"})


@lru_cache(maxsize=4)
def _read_archive(path: str, mtime_ns: int, size: int) -> dict[str, bytes]:
    """Every regular file of a .tar.gz, by member name (cached per file version)."""
    out: dict[str, bytes] = {}
    with tarfile.open(path, "r:*") as tf:
        for m in tf:
            if m.isfile():
                f = tf.extractfile(m)
                if f is not None:
                    out[m.name.lstrip("./")] = f.read()
    return out


def _tokenise(text: str) -> tuple[list[str], list[int]]:
    """ERASER's document tokens (split on spaces, blank lines dropped) and sentence starts."""
    words: list[str] = []
    starts: list[int] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        starts.append(len(words))
        words.extend(t for t in line.split(" ") if t)
    return words, starts


class _Docs:
    """Documents read on demand, tokenised once."""

    def __init__(self, src: _Source) -> None:
        self.src = src
        self.cache: dict[str, tuple[list[str], list[int]]] = {}
        self.jsonl: dict[str, str] | None = None
        if not src.has("docs") and not src.doc_names() and src.has("docs.jsonl"):
            self.jsonl = {}
            for _line, obj in iter_jsonl(src.where("docs.jsonl"), Problems("raise"),
                                        data=src.read("docs.jsonl")):
                self.jsonl[str(obj["docid"])] = str(obj["document"])

    def get(self, docid: str) -> tuple[list[str], list[int]]:
        if docid not in self.cache:
            if self.jsonl is not None:
                if docid not in self.jsonl:
                    raise KeyError(docid)
                text = self.jsonl[docid]
            else:
                try:
                    raw = self.src.read(f"docs/{docid}")
                except FileNotFoundError:
                    raise KeyError(docid) from None
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise bad(f"invalid UTF-8 at byte {e.start}", self.src.where(f"docs/{docid}"),
                              reason="invalid UTF-8") from None
            self.cache[docid] = _tokenise(text)
        return self.cache[docid]


def load_eraser_source(path: Path, name: str, split: str | None, problems: Problems,
                       label_names: list[str] | None, lang: str | None) -> Dataset:
    """Load one or all splits of the ERASER dataset at ``path`` (folder or archive)."""
    src = _Source(path)
    splits = SPLITS if split is None else [split]
    missing = [s for s in splits if not src.has(f"{s}.jsonl")]
    if missing:
        raise DataNotFoundError(f"{path}: no {', '.join(s + '.jsonl' for s in missing)} in this "
                                "ERASER dataset")
    if label_names is None:
        found: set[str] = set()
        for s in SPLITS:
            if src.has(f"{s}.jsonl"):
                for _, obj in iter_jsonl(src.where(f"{s}.jsonl"), Problems("skip"),
                                         data=src.read(f"{s}.jsonl")):
                    if isinstance(obj.get("classification"), str):
                        found.add(obj["classification"])
        label_names = sorted(found)
    docs = _Docs(src)
    examples: list[Example] = []
    seen: set[str] = set()
    n_spans = 0
    for s in splits:
        where = src.where(f"{s}.jsonl")
        for line, ann in iter_jsonl(where, problems, data=src.read(f"{s}.jsonl")):
            try:
                ex = _example(ann, docs, label_names, where, line, s if split is None else None,
                              lang)
            except DataError as err:
                problems.skip(err)
                continue
            if ex.id in seen:
                problems.skip(bad(f"duplicate annotation_id {ex.id!r}", where, line,
                                  "annotation_id", reason="duplicate id"))
                continue
            seen.add(ex.id)
            n_spans += len(ex.meta["evidences"])
            if ex.meta.get("empty_evidences"):
                problems.count("empty_evidence_spans", ex.meta["empty_evidences"])
            examples.append(ex)
    ds = Dataset(examples, list(label_names), name, split)
    ds.report = {"files": [str(path)], "evidence_spans": n_spans}
    return ds


def _example(ann: dict[str, Any], docs: _Docs, label_names: list[str], where: str, line: int,
             split: str | None, lang: str | None) -> Example:
    aid = ann.get("annotation_id")
    if not isinstance(aid, str) or not aid:
        raise bad("missing annotation_id", where, line, "annotation_id", reason="missing field")
    label = ann.get("classification")
    if label not in label_names:
        raise bad(f"annotation {aid!r}: unknown label {label!r}; expected one of {label_names}",
                  where, line, "classification", reason="unknown label")
    groups = ann.get("evidences") or []
    if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
        raise bad(f"annotation {aid!r}: evidences must be a list of lists", where, line,
                  "evidences", reason="evidences: malformed")
    evs = [e for g in groups for e in g]
    docids = ann.get("docids") or []
    for e in evs:
        if isinstance(e, dict) and e.get("docid") not in docids:
            docids.append(e.get("docid"))
    if not docids:
        docids = [aid]
    words: list[str] = []
    offsets: dict[str, int] = {}
    sentences: list[int] = []
    for d in docids:
        try:
            toks, starts = docs.get(str(d))
        except KeyError:
            raise bad(f"annotation {aid!r}: document {d!r} not found in the dataset's docs",
                      where, line, "docids", reason="missing document") from None
        offsets[str(d)] = len(words)
        sentences.extend(len(words) + s for s in starts)
        words.extend(toks)
    if not words:
        raise bad(f"annotation {aid!r}: empty text (its documents have no tokens)", where, line,
                  "docids", reason="empty text")
    mask = [0] * len(words)
    spans = []
    empty = 0
    for e in evs:
        try:
            d, s, t, text = str(e["docid"]), int(e["start_token"]), int(e["end_token"]), e["text"]
        except (KeyError, TypeError, ValueError):
            raise bad(f"annotation {aid!r}: evidence needs docid, start_token, end_token, text; "
                      f"got {e!r}"[:300], where, line, "evidences",
                      reason="evidences: malformed") from None
        n_doc = len(docs.get(d)[0])
        if not 0 <= s <= t <= n_doc:
            raise bad(f"annotation {aid!r}: evidence tokens {s}:{t} outside document {d!r} "
                      f"({n_doc} tokens)", where, line, "evidences",
                      reason="evidence out of range")
        covered = " ".join(words[offsets[d] + s: offsets[d] + t])
        if covered != text:
            raise bad(f"annotation {aid!r}: evidence text {text!r} does not equal the words it "
                      f"covers ({d!r} tokens {s}:{t}: {covered!r})", where, line, "evidences",
                      reason="evidence text mismatch")
        if s == t:
            # The release has a few zero-width spans (text ""); they mark no word.
            empty += 1
        for i in range(offsets[d] + s, offsets[d] + t):
            mask[i] = 1
        spans.append({"docid": d, "start_token": s, "end_token": t, "text": text})
    meta = {
        "source": where.rsplit("/", 1)[-1],
        "docids": [str(d) for d in docids],
        "doc_offsets": offsets,
        "sentence_starts": sentences,
        "evidences": spans,
        "query": ann.get("query"),
    }
    if split is not None:
        meta["split"] = split
    if empty:
        meta["empty_evidences"] = empty
    return Example(id=aid, words=tuple(words), label=label_names.index(label),
                   rationale=mask if evs else None, lang=lang, meta=meta)


def _movies_path(data_dir: str | os.PathLike | None) -> Path | None:
    return find_file(MOVIES_FOLDER, ["movies.tar.gz", "movies"], data_dir)


def _find_movies(data_dir: str | os.PathLike | None) -> list[tuple[str | None, dict]]:
    return [(s, {}) for s in SPLITS] if _movies_path(data_dir) else []


@register("eraser-movies", "ERASER movies: English movie-review sentiment (NEG/POS) with "
          "human evidence spans (Zaidan et al.)", splits=SPLITS, options=OPTIONS_MOVIES,
          find=_find_movies, aliases={"validation": "val", "dev": "val"})
def load_movies(split: str | None, *, data_dir: str | os.PathLike | None = None,
                problems: Problems, label_names: list[str] | None = None) -> Dataset:
    """ERASER movies: English movie-review sentiment with human evidence spans."""
    path = _movies_path(data_dir)
    if path is None:
        raise not_found("eraser-movies", MOVIES_FOLDER,
                        ["movies.tar.gz (the ERASER release) or its extracted movies/ folder"],
                        data_dir)
    return load_eraser_source(path, "eraser-movies", split, problems,
                              list(label_names or MOVIES_LABELS), "en")


@register("eraser", "Any ERASER-format dataset (path= a folder or the release .tar.gz)",
          splits=SPLITS, options=OPTIONS_GENERIC, aliases={"validation": "val", "dev": "val"})
def load_eraser(split: str | None, *, data_dir: str | os.PathLike | None = None,
                problems: Problems, path: str | os.PathLike | None = None,
                label_names: list[str] | None = None, lang: str | None = "en") -> Dataset:
    """Any ERASER-format dataset, from its folder or its release .tar.gz (path=)."""
    if path is None:
        raise ParameterError("dataset 'eraser' needs path= an ERASER dataset folder or .tar.gz "
                         "(for movies, use 'eraser-movies')")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataNotFoundError(f"{p}: no such file or folder (expected an ERASER dataset "
                                "folder or its release .tar.gz)")
    name = p.name.split(".")[0] or "eraser"
    return load_eraser_source(p, f"eraser-{name}", split, problems,
                              None if label_names is None else list(label_names), lang)
