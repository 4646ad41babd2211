"""SemEval-2021 Task 5 Toxic Spans: English toxic posts with toxic character offsets.

``spans`` is a Python-list string of character offsets into ``text``. The text is split
into words by :func:`rationales.words.segment_with_offsets`; a word is in the rationale
when it covers at least one toxic character. Every post is toxic and the files carry no
class label, so ``label`` is None (``label_names == ["toxic"]``). Posts with no spans
keep an all-zero rationale (the annotators marked nothing), counted in the report.
"""

from __future__ import annotations

import os

from ..errors import DataError
from ..types import Dataset, Example
from ..words import segment_with_offsets, words_touching
from .base import register
from .paths import find_file, not_found
from .reading import Problems, bad, iter_csv, parse_list

FOLDER = "toxic-spans"
SPLITS = ["trial", "train", "test"]
FILES = {s: f"tsd_{s}.csv" for s in SPLITS}


def _find(data_dir: str | os.PathLike | None) -> list[tuple[str | None, dict]]:
    return [(s, {}) for s in SPLITS if find_file(FOLDER, [FILES[s]], data_dir)]


def char_ranges(offsets: list[int]) -> list[list[int]]:
    """Sorted offsets as contiguous [start, end) ranges: [3,4,5,9] -> [[3,6],[9,10]]."""
    out: list[list[int]] = []
    for o in sorted(set(offsets)):
        if out and out[-1][1] == o:
            out[-1][1] = o + 1
        else:
            out.append([o, o + 1])
    return out


@register("toxic_spans", "SemEval-2021 Toxic Spans: English toxic comments with toxic "
          "character spans (label None; all posts are toxic)", splits=SPLITS, options={},
          find=_find, aliases={"dev": "trial"})
def load_toxic_spans(split: str | None, *, data_dir: str | os.PathLike | None = None,
                     problems: Problems) -> Dataset:
    """SemEval-2021 Toxic Spans: English toxic comments with toxic character spans."""
    splits = SPLITS if split is None else [split]
    paths = {s: find_file(FOLDER, [FILES[s]], data_dir) for s in splits}
    if not all(paths.values()):
        raise not_found("toxic_spans", FOLDER, [FILES[s] for s in splits if not paths[s]],
                        data_dir)
    examples: list[Example] = []
    for s in splits:
        path = paths[s]
        assert path is not None  # checked above: every split's file was found
        header, rows = iter_csv(path, problems)
        missing = {"spans", "text"} - set(header)
        if missing:
            raise bad(f"missing column(s) {sorted(missing)}; expected columns spans,text",
                      path, 1, reason="missing column")
        for k, line, row in rows:
            try:
                ex = _example(row, f"{s}-{k}", path, line)
            except DataError as err:
                problems.skip(err)
                continue
            if not any(ex.rationale or ()):
                problems.count("posts_without_spans")
            examples.append(ex)
    ds = Dataset(examples, ["toxic"], "toxic_spans", split)
    ds.report = {"files": [str(p) for p in paths.values()]}
    return ds


def _example(row: dict[str, str], ex_id: str, path, line: int) -> Example:
    text = row["text"]
    if not text.strip():
        raise bad("empty text", path, line, "text", reason="empty text")
    offsets = parse_list(row["spans"], path, line, "spans")
    if not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets):
        raise bad("spans must be a list of character offsets (ints)", path, line, "spans",
                  reason="spans: not ints")
    out_of_range = [o for o in offsets if not 0 <= o < len(text)]
    if out_of_range:
        raise bad(f"character offset {out_of_range[0]} outside the text ({len(text)} characters)",
                  path, line, "spans", reason="span offset out of range")
    words = segment_with_offsets(text)
    mask = words_touching(words, offsets)
    return Example(
        id=ex_id, words=tuple(w for w, _, _ in words), label=None, rationale=mask, lang="en",
        meta={"source": path.name, "text": text, "char_spans": char_ranges(offsets),
              "word_offsets": [[s, e] for _, s, e in words]},
    )
