"""Split raw text into words: the unit humans annotate and explanations score.

The segmenter is Unicode-aware (it uses the ``regex`` package's Unicode properties and
``\\X`` grapheme clusters), so it never cuts inside what a reader sees as one letter:

- Words in any script keep their combining marks: Devanagari and Telugu vowel signs
  (matras), virama, nukta, anusvara, and the zero-width joiner / non-joiner (U+200D /
  U+200C) stay inside the word (``क्ष``, ``ప్రేమ``, ``क्‍ष``).
- URLs (``https://…``, ``www.…``), e-mail addresses, ``@handles``, ``#hashtags`` and
  placeholders such as ``<user>`` are one word each; trailing sentence punctuation is
  not part of a URL.
- Each emoji is a word of its own, including ZWJ sequences (👨‍👩‍👧), skin tones (👍🏽),
  flags (🇮🇳) and keycaps (1️⃣); "😂😂" is two words.
- Punctuation and symbols are words of their own; a run of the same mark ("...",
  "!!!", "??") is one word, mixed marks ("?!") are one word each. The danda (।, ॥) is
  punctuation.
- Contractions and possessives stay one word (``don't``, ``John's``, ``I’m``), and so do
  hyphenated compounds (``well-known``): annotators mark them as one unit.
- Numbers with inner separators stay one word (``3.14``, ``1,000``, ``12:30``,
  ``१२३``); letters and digits that touch form one word (``2nd``, ``10am``).

Whitespace, zero-width space (U+200B), word joiner (U+2060) and BOM separate words
and are never part of one.
"""

from __future__ import annotations

from typing import Sequence

import regex

from .errors import ParameterError

# Letters, combining marks, digits, connector punctuation and the two zero-width joiners
# that Indic scripts use inside words; and lone surrogates, which is what Python makes of
# bytes that are not UTF-8 (a shell argument, a file name): "caf\xe9" stays one word.
_W = r"[\p{L}\p{M}\p{N}\p{Pc}\u200c\u200d\ud800-\udfff]"
_SURROGATE = regex.compile(r"[\ud800-\udfff]")
_SEP = r"[\s\u200b\u2060\ufeff]"

_PATTERNS = [
    # URLs: stop before trailing punctuation that ends a sentence or closes a bracket.
    r"(?:https?://|www\.)[^\s<>\"]*[^\s<>\"\.,;:!?\)\]\}'’”»]",
    # e-mail addresses
    r"[\p{L}\p{N}._%+\-]+@[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)+",
    # @handles and #hashtags (any script)
    rf"[@#]{_W}+",
    # placeholders used by anonymised corpora: <user>, <number>, <url>
    r"<\p{Ll}+>",
    # one emoji: pictographs, flags, keycaps; \X keeps ZWJ sequences and skin tones whole
    r"(?=\p{Extended_Pictographic}|\p{Regional_Indicator}|[#*0-9]\ufe0f?\u20e3)\X",
    # numbers with inner separators
    r"\p{N}+(?:[.,:/]\p{N}+)+",
    # words, with inner apostrophes (contractions) and hyphens (compounds)
    rf"{_W}+(?:['’\-]{_W}+)*",
    # a run of the same punctuation/symbol mark is one word
    r"([^\s\u200b\u2060\ufeff\p{L}\p{M}\p{N}])\1*",
    # anything else that is not a separator: one grapheme cluster
    rf"(?!{_SEP})\X",
]

_TOKEN = regex.compile("|".join(f"(?:{p})" for p in _PATTERNS), regex.VERSION0)
# The e-mail alternative costs a scan of every word; texts without "@" skip it.
_TOKEN_NO_AT = regex.compile("|".join(f"(?:{p})" for i, p in enumerate(_PATTERNS) if i != 1),
                             regex.VERSION0)


def segment_with_offsets(text: str) -> list[tuple[str, int, int]]:
    """Split ``text`` into words with their character offsets (start, end exclusive).

    ``text[start:end] == word`` for every word; separators are never inside a word.
    """
    if not isinstance(text, str):
        raise ParameterError(f"segment expects a str, got {type(text).__name__}")
    # Separators match no alternative, so finditer steps over them.
    pattern = _TOKEN if "@" in text else _TOKEN_NO_AT
    return [(m.group(), m.start(), m.end()) for m in pattern.finditer(text)]


def segment(text: str) -> list[str]:
    """Split ``text`` into words (see the module docstring for the rules)."""
    return [w for w, _, _ in segment_with_offsets(text)]


def encodable(word: str) -> str:
    """``word`` with every lone surrogate replaced by U+FFFD, for a tokenizer that needs
    valid Unicode (the word itself, in explanations and JSON, is kept as it was)."""
    return _SURROGATE.sub("\ufffd", word) if _SURROGATE.search(word) else word


def words_touching(offsets: list[tuple[str, int, int]], chars: set[int] | list[int]) -> list[int]:
    """A 0/1 mask over words: 1 where a word covers at least one of the character offsets."""
    end = max((e for _, _, e in offsets), default=0)
    hit = bytearray(end)
    for c in chars:
        if 0 <= c < end:
            hit[c] = 1
    return [1 if 1 in hit[s:e] else 0 for _, s, e in offsets]


def detect_lang(words: Sequence[str]) -> str | None:
    """Guess the language from the script: "hi" for Devanagari, "te" for Telugu, else None.

    Only scripts decide; Latin text could be English, Hinglish or anything else, so it
    gets None and the caller passes ``lang=`` when it knows.
    """
    counts = {"hi": 0, "te": 0, "other": 0}
    for w in words:
        for ch in w:
            if "\u0900" <= ch <= "\u097f":
                counts["hi"] += 1
            elif "\u0c00" <= ch <= "\u0c7f":
                counts["te"] += 1
            elif ch.isalpha():
                counts["other"] += 1
    best = max(counts, key=lambda k: counts[k])
    if best == "other" or counts[best] == 0:
        return None
    return best
