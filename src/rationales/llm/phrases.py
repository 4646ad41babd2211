"""Map phrases an LLM named back to word positions of the post.

Matching is on normalised pieces: Unicode NFC, case-folded, with format characters
(zero-width joiners) dropped, and split at punctuation, which is dropped. Combining marks
(Devanagari and Telugu vowel signs, virama) are kept: they change the word. A phrase
matches a contiguous run of the post's words whose pieces, in order, are exactly the
phrase's pieces, and the run must start and end on word boundaries (``"the"`` never
matches inside ``"therapist"``, ``"don't"`` matches the word ``don't`` and the three words
``don ' t``). An anonymisation placeholder standing as a word of its own (HateXplain's
``<user>``, ``<number>``: ``<`` and lower-case letters and ``>``) is the piece of its
name, so an LLM that writes ``user`` or ``<user>`` names the post's ``<user>``. Every
occurrence is marked; words of pure punctuation inside a matched run are marked with it. A
phrase with no match is not in the post (a hallucination): it is dropped and counted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Sequence

# A placeholder of an anonymised corpus (the tokenizer's ``<\p{Ll}+>``), as a word of its own.
_PLACEHOLDER = re.compile(r"(?<!\S)<([^\W\d_]+)>(?!\S)")


def pieces(text: str) -> list[str]:
    """The normalised pieces of a word or phrase (empty for pure punctuation)."""
    text = _PLACEHOLDER.sub(r"\1", unicodedata.normalize("NFC", text).casefold())
    out: list[str] = []
    cur: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cf":
            continue  # zero-width (non-)joiners: spelling variants, not different words
        if cat.startswith("P") or cat.startswith("Z") or ch.isspace():
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    # casefold can decompose (ß → ss is fine; some letters gain marks): recompose.
    return [unicodedata.normalize("NFC", p) for p in out]


@dataclass(frozen=True)
class PhraseMatch:
    """Which words the phrases cover (``mask``), which phrases matched and which did not."""

    mask: tuple[int, ...]
    matched: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    #: phrase → list of (start, end) word spans (end exclusive) where it was found
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict, compare=False)

    @property
    def n_phrases(self) -> int:
        return len(self.matched) + len(self.unmatched)

    @property
    def hallucination_rate(self) -> float:
        """Share of named phrases that are not in the post (0 when none was named)."""
        return len(self.unmatched) / self.n_phrases if self.n_phrases else 0.0


def map_phrases(words: Sequence[str], phrases: Sequence[str]) -> PhraseMatch:
    """Mark every occurrence of every phrase in ``words``; see the module docstring."""
    # Flatten the post into pieces, remembering which word each piece came from and
    # whether it starts/ends that word.
    flat: list[str] = []
    owner: list[int] = []
    for i, w in enumerate(words):
        for p in pieces(w):
            flat.append(p)
            owner.append(i)
    n_flat = len(flat)
    mask = [0] * len(words)
    matched: list[str] = []
    unmatched: list[str] = []
    spans: dict[str, list[tuple[int, int]]] = {}
    seen: set[tuple[str, ...]] = set()
    for phrase in phrases:
        want = pieces(phrase)
        if not want:
            continue  # pure punctuation names nothing; neither a match nor a hallucination
        key = tuple(want)
        if key in seen:
            # Named twice: counts once (its occurrences are already marked).
            continue
        seen.add(key)
        m = len(want)
        found: list[tuple[int, int]] = []
        for s in range(n_flat - m + 1):
            if flat[s : s + m] != want:
                continue
            first, last = owner[s], owner[s + m - 1]
            starts_word = s == 0 or owner[s - 1] != first
            ends_word = s + m == n_flat or owner[s + m] != last
            if starts_word and ends_word:
                found.append((first, last + 1))
        if found:
            matched.append(phrase)
            spans[phrase] = found
            for a, b in found:
                for i in range(a, b):
                    mask[i] = 1
        else:
            unmatched.append(phrase)
    return PhraseMatch(tuple(mask), tuple(matched), tuple(unmatched), spans)
