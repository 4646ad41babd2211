"""Reading LLM answers in the shapes models really produce."""

from __future__ import annotations

import pytest

from rationales.llm.parse import ParseError, parse_edit, parse_label, parse_phrases


@pytest.mark.parametrize(
    "answer, expected",
    [
        ('["idiot", "go back"]', ["idiot", "go back"]),
        ('```json\n["idiot", "go back"]\n```', ["idiot", "go back"]),
        ('Sure! Here are the words:\n["idiot", "go back"]\nHope this helps.', ["idiot", "go back"]),
        ("['idiot', 'go back']", ["idiot", "go back"]),
        ('```\n{"words": ["idiot"], "reason": "insult"}\n```', ["idiot"]),
        ("1. idiot\n2. go back\n", ["idiot", "go back"]),
        ('- "idiot" - an insult\n- "go back": exclusion', ["idiot", "go back"]),
        ("* idiot\n* go back.", ["idiot", "go back"]),
        ("[]", []),
        ('["idiot", "go ba', ["idiot"]),  # cut off by the token limit
        ("“idiot”, see: [“idiot”, “scum”]", ["idiot", "scum"]),
        ('[{"word": "idiot", "why": "insult"}]', ["idiot"]),
        ('["गद्दार", "देश से निकालो"]', ["गद्दार", "देश से निकालो"]),
        ("1. దేశద్రోహులు\n2. తరిమేయాలి", ["దేశద్రోహులు", "తరిమేయాలి"]),
        ("['don't', 'idiot']", ["don't", "idiot"]),
        # prose that ignored the format but quoted the words
        ('The words "idiot" and "go back" make it offensive.', ["idiot", "go back"]),
        ("I don't like 'idiot' and ‘scum’; the users' tone is 'idiot' again.", ["idiot", "scum"]),
    ],
)
def test_parse_phrases_accepts_common_shapes(answer: str, expected: list[str]) -> None:
    assert parse_phrases(answer) == expected


@pytest.mark.parametrize("answer", [
    "", "   ", "I cannot help with that.", "The post is offensive.", "I don't think it's hateful.",
    # the whole post quoted back is not a phrase picked from it
    'The post "you people should all go back to where you came from now" is hateful.',
])
def test_parse_phrases_rejects_answers_without_a_list(answer: str) -> None:
    with pytest.raises(ParseError):
        parse_phrases(answer)


@pytest.mark.parametrize(
    "answer, expected",
    [("1", 1), ("0", 0), ("Answer: 1", 1), ('{"label": 0}', 0), ("Yes, it is hateful.", 1),
     ("```\n0\n```", 0), ("No.", 0)],
)
def test_parse_label(answer: str, expected: int) -> None:
    assert parse_label(answer) == expected


def test_parse_label_rejects_other_numbers() -> None:
    with pytest.raises(ParseError):
        parse_label("I would say 0.7 or 10")


@pytest.mark.parametrize(
    "answer, expected",
    [
        ('{"edited": "you are a smart person"}', "you are a smart person"),
        ('Here you go:\n```json\n{"edited": "you are kind"}\n```', "you are kind"),
        ("Edited post: you are kind", "you are kind"),
        ("<<<you are kind>>>", "you are kind"),
        ('"you are kind"', "you are kind"),
    ],
)
def test_parse_edit(answer: str, expected: str) -> None:
    assert parse_edit(answer) == expected
