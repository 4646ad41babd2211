"""Reading LLM answers: a list of phrases, a 0/1 label, an edited text.

Small and large models wrap what was asked in many ways: code fences, prose before and
after, Python lists with single quotes, ``{"words": [...]}`` objects, numbered or
bulleted lists, a list cut off by the token limit, prose that quotes the words (phrases
of at most ``PROSE_MAX_WORDS`` words; a longer quote is the post itself quoted back and
is ignored). The parsers accept all of those and
raise :class:`ParseError` (with the reason) when nothing usable is there. An empty list
``[]`` is a valid answer ("no word justifies it"), not a failure.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from ..errors import RationalesError

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_ITEM = re.compile(r"^\s*(?:\d{1,3}\s*[.):]|[-*•·–])\s+(.+?)\s*$")
_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”|\'([^\'\n]+)\'|‘([^’\n]+)’')
_SMART = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_PREFERRED_KEYS = ("words", "phrases", "rationale", "rationales", "answer", "spans", "tokens")


class ParseError(RationalesError, ValueError):
    """An LLM answer holds nothing the parser can use; the message quotes it."""


def _quote(text: str, n: int = 120) -> str:
    return repr(text if len(text) <= n else text[:n] + "…")


def _candidates(answer: str) -> list[str]:
    """Fenced blocks first (what the model marked as the answer), then the whole text."""
    blocks = [m.group(2) for m in _FENCE.finditer(answer) if m.group(2).strip()]
    return blocks + [answer]


def _balanced(text: str, start: int, open_: str, close: str) -> int | None:
    """Index just past the bracket matching ``text[start]``, skipping quoted strings."""
    depth, quote, i = 0, None, start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            # An apostrophe inside a word (don't) does not open a string.
            prev = text[i - 1] if i > start else " "
            if c == '"' or not prev.isalnum():
                quote = c
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        return json.loads(text.translate(_SMART))
    except ValueError:
        return None


def _strings(value: Any) -> list[str] | None:
    """The phrases in a parsed JSON/Python value, or None when it is not list-like."""
    if isinstance(value, dict):
        for key in _PREFERRED_KEYS:
            if key in value and isinstance(value[key], (list, tuple)):
                return _strings(value[key])
        lists = [v for v in value.values() if isinstance(v, (list, tuple))]
        return _strings(lists[0]) if lists else None
    if not isinstance(value, (list, tuple)):
        return None
    out: list[str] = []
    for item in value:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            out.append(str(item))
        elif isinstance(item, (list, tuple)):
            out.extend(_strings(item) or [])
        elif isinstance(item, dict):
            texts = [v for k, v in item.items() if isinstance(v, str)
                     and k in ("word", "phrase", "text", "span", "token")]
            texts = texts or [v for v in item.values() if isinstance(v, str)][:1]
            out.extend(texts)
    return [s.strip() for s in out if s.strip()]


_SQ_LIST = re.compile(r"^\[\s*'(.*)'\s*\]$", re.S)


def _single_quoted(text: str) -> list[str] | None:
    """``['don't', 'x']``: not valid Python (the apostrophe), but the intent is plain."""
    m = _SQ_LIST.match(text.strip())
    if not m:
        return None
    return [s.strip() for s in re.split(r"'\s*,\s*'", m.group(1)) if s.strip()]


def _structured(text: str) -> list[str] | None:
    for open_, close in (("[", "]"), ("{", "}")):
        pos = text.find(open_)
        while pos != -1:
            end = _balanced(text, pos, open_, close)
            if end is not None:
                found = _strings(_literal(text[pos:end]))
                if found is None and open_ == "[":
                    found = _single_quoted(text[pos:end])
                if found is not None:
                    return found
            elif open_ == "[":
                # A list cut off by the token limit: keep the items that were completed.
                items = [next(g for g in m.groups() if g is not None) for m in _QUOTED.finditer(text[pos:])]
                if items:
                    return [s.strip() for s in items if s.strip()]
            pos = text.find(open_, pos + 1)
    return None


def _listed(text: str) -> list[str] | None:
    items: list[str] = []
    for line in text.splitlines():
        m = _ITEM.match(line)
        if not m:
            continue
        body = m.group(1)
        quoted = [next(g for g in q.groups() if g is not None) for q in _QUOTED.finditer(body)]
        if quoted and body.lstrip()[:1] in "\"'“‘":
            items.extend(quoted)
        else:
            # "word - because ..." / "word: why": the phrase is before the explanation.
            head = re.split(r"\s+[-–—:]\s+|:\s", body, maxsplit=1)[0]
            items.append(head.strip().strip("\"'“”‘’*`").rstrip(".,;"))
    items = [s for s in (i.strip() for i in items) if s]
    return items or None


# Prose quoting: a single quote opens only after a non-word character and closes only
# before one, so the apostrophes of "don't" and "users'" never pair up.
_PROSE_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”|(?<!\w)\'([^\'\n]+)\'(?!\w)|‘([^’\n]+)’')
#: A quoted stretch longer than this is the post quoted back, not a phrase picked from it.
PROSE_MAX_WORDS = 8


def _prose(text: str) -> list[str] | None:
    """'The words "idiot" and "go back" make it offensive.': the short quoted phrases."""
    items = [next(g for g in m.groups() if g is not None).strip() for m in _PROSE_QUOTED.finditer(text)]
    items = [s for s in items if s and len(s.split()) <= PROSE_MAX_WORDS]
    return list(dict.fromkeys(items)) or None


def parse_phrases(answer: str) -> list[str]:
    """The words/phrases an LLM listed, in order; raises :class:`ParseError` if none can be read."""
    if not answer or not answer.strip():
        raise ParseError("the LLM gave an empty answer")
    for text in _candidates(answer):
        found = _structured(text)
        if found is not None:
            return found
    for text in _candidates(answer):
        found = _listed(text)
        if found is not None:
            return found
    # Last: a model that ignored the format and answered in prose, quoting the words.
    found = _prose(answer)
    if found is not None:
        return found
    raise ParseError(f"no JSON list, bulleted list or quoted phrase in the answer {_quote(answer)}")


_LABEL = re.compile(r"(?<![\w.])([01])(?![\w.])")
_YESNO = re.compile(r"\b(yes|no)\b", re.I)


def parse_label(answer: str) -> int:
    """A 1/0 answer (X-MuTeST's zero-shot prompt); accepts ``{"label": 1}``, "1", "Yes"."""
    if not answer or not answer.strip():
        raise ParseError("the LLM gave an empty answer")
    for text in _candidates(answer):
        pos = text.find("{")
        if pos != -1:
            end = _balanced(text, pos, "{", "}")
            value = _literal(text[pos:end]) if end else None
            if isinstance(value, dict):
                for v in value.values():
                    if v in (0, 1, "0", "1") and not isinstance(v, bool):
                        return int(v)
        m = _LABEL.search(text)
        if m:
            return int(m.group(1))
    m = _YESNO.search(answer)
    if m:
        return 1 if m.group(1).lower() == "yes" else 0
    raise ParseError(f"no 1/0 label in the answer {_quote(answer)}")


_EDIT_KEYS = ("edited", "edited_post", "rewritten", "text", "post", "counterfactual")
_PREFIX = re.compile(r"^\s*(?:edited(?: post| text)?|rewritten(?: post)?|counterfactual|answer)\s*:\s*", re.I)


def parse_edit(answer: str) -> str:
    """The rewritten post in a counterfactual answer (``{"edited": "..."}`` or plain text).

    The prompt's post delimiters (``<<<`` ``>>>``), which models often copy, are removed.
    """
    text = _strip_delimiters(_parse_edit(answer))
    if not text:
        raise ParseError(f"no edited text in the answer {_quote(answer)}")
    return text


def _strip_delimiters(text: str) -> str:
    return re.sub(r"^<{2,3}|>{2,3}$", "", text.strip()).strip()


def _parse_edit(answer: str) -> str:
    if not answer or not answer.strip():
        raise ParseError("the LLM gave an empty answer")
    for text in _candidates(answer):
        pos = text.find("{")
        while pos != -1:
            end = _balanced(text, pos, "{", "}")
            value = _literal(text[pos:end]) if end else None
            if isinstance(value, dict):
                for key in _EDIT_KEYS:
                    if isinstance(value.get(key), str) and value[key].strip():
                        return value[key].strip()
                strs = [v for v in value.values() if isinstance(v, str) and v.strip()]
                if strs:
                    return strs[0].strip()
            pos = text.find("{", pos + 1)
    blocks = _candidates(answer)
    text = blocks[0] if len(blocks) > 1 else answer
    for line in text.splitlines():
        line = _PREFIX.sub("", line).strip().strip("\"'“”‘’`").strip()
        if line:
            return line
    raise ParseError(f"no edited text in the answer {_quote(answer)}")
