"""Phrase → word positions: normalisation, contiguity, every occurrence, hallucinations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rationales.llm.phrases import map_phrases, pieces


def test_case_punctuation_and_nfc_insensitive() -> None:
    words = ["You", "are", "an", "IDIOT!", "Café"]
    m = map_phrases(words, ["idiot", "cafe\u0301"])  # decomposed é
    assert m.mask == (0, 0, 0, 1, 1)
    assert m.unmatched == ()


def test_multiword_phrase_is_a_contiguous_run_and_every_occurrence_counts() -> None:
    words = "go home go away go home".split()
    m = map_phrases(words, ["go home"])
    assert m.mask == (1, 1, 0, 0, 1, 1)
    assert m.spans["go home"] == [(0, 2), (4, 6)]
    # the words exist but not next to each other: no match
    assert map_phrases(words, ["home away"]).mask == (0,) * 6


def test_phrase_never_matches_inside_a_word() -> None:
    m = map_phrases(["the", "therapist", "said"], ["rapist", "the"])
    assert m.mask == (1, 0, 0)
    assert m.unmatched == ("rapist",)


def test_punctuation_words_inside_a_run_are_covered_and_split_words_match() -> None:
    assert map_phrases(["stupid", ",", "idiot"], ["stupid, idiot"]).mask == (1, 1, 1)
    assert map_phrases(["I", "don", "'", "t", "care"], ["don't"]).mask == (0, 1, 1, 1, 0)
    assert map_phrases(["I", "don't", "care"], ["don't"]).mask == (0, 1, 0)


def test_a_placeholder_word_is_named_by_its_name_or_itself() -> None:
    words = ["<user>", "you", "are", "<number>", "times", "a", "user"]
    assert map_phrases(words, ["user"]).mask == (1, 0, 0, 0, 0, 0, 1)  # both the placeholder and the word
    assert map_phrases(words, ["<user> you"]).mask == (1, 1, 0, 0, 0, 0, 0)
    assert map_phrases(words, ["<NUMBER> times"]).mask == (0, 0, 0, 1, 1, 0, 0)
    # only a whole word in angle brackets is a placeholder; other symbols stay as they are
    assert pieces("a<b>c") == ["a<b>c"]
    assert pieces("<3") == ["<3"]
    assert map_phrases(["i", "<3", "you"], ["3"]).mask == (0, 0, 0)


def test_hallucinations_are_dropped_and_counted() -> None:
    m = map_phrases(["they", "are", "vermin"], ["vermin", "scum", "kill them all", "vermin", "!!"])
    assert m.mask == (0, 0, 1)
    assert m.matched == ("vermin",)
    assert m.unmatched == ("scum", "kill them all")
    assert m.hallucination_rate == 2 / 3  # the repeat and the pure punctuation do not count


def test_devanagari_and_telugu_keep_marks_and_ignore_joiners() -> None:
    hi = ["ये", "लोग", "देश", "के", "दुश्मन", "हैं"]
    assert map_phrases(hi, ["दुश्मन"]).mask == (0, 0, 0, 0, 1, 0)
    # a different vowel sign is a different word
    assert map_phrases(hi, ["दुशमन"]).unmatched == ("दुशमन",)
    te = ["వాళ్ళు", "మన", "దేశానికి", "శత్రువులు"]
    assert map_phrases(te, ["శత్రువులు", "మన దేశానికి"]).mask == (0, 1, 1, 1)
    # a zero-width joiner in the LLM's spelling does not stop the match
    assert map_phrases(te, ["వాళ\u200d్ళు"]).mask == (1, 0, 0, 0)


LATIN = st.text(alphabet="abcdefgHIJ", min_size=1, max_size=5)
DEVANAGARI = st.text(alphabet="कखगदनमलेैोंि्", min_size=1, max_size=5)
TELUGU = st.text(alphabet="కగతదనమలెేొోంి్", min_size=1, max_size=5)
PUNCT = st.sampled_from(["", "!", ",", "?", "."])


def _word(script: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda w, p: w + p, script, PUNCT)


@st.composite
def post_and_phrases(draw: st.DrawFn, script: st.SearchStrategy[str]) -> tuple[list[str], list[str]]:
    words = draw(st.lists(_word(script), min_size=1, max_size=12))
    phrases = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            a = draw(st.integers(0, len(words) - 1))
            b = draw(st.integers(a + 1, min(len(words), a + 3)))
            phrase = " ".join(words[a:b])
            phrases.append(phrase.upper() if draw(st.booleans()) else phrase)
        else:
            phrases.append(draw(script))  # may or may not be in the post
    return words, phrases


def _check(words: list[str], phrases: list[str]) -> None:
    m = map_phrases(words, phrases)
    named = {p for ph in m.matched for p in pieces(ph)}
    for i, on in enumerate(m.mask):
        if on:
            # every marked position holds a word the LLM named (or punctuation inside a named run)
            assert set(pieces(words[i])) <= named, (words[i], m.matched)
    for ph in phrases:
        want = pieces(ph)
        # a phrase copied from the post is always found; one never found is counted
        present = any([p for w in words[a:b] for p in pieces(w)] == want
                      for a in range(len(words)) for b in range(a + 1, len(words) + 1))
        if want and present:
            assert ph in m.matched or tuple(want) in {tuple(pieces(x)) for x in m.matched}
        if want and not present:
            assert ph in m.unmatched or tuple(want) in {tuple(pieces(x)) for x in m.unmatched}
    assert 0.0 <= m.hallucination_rate <= 1.0


@settings(max_examples=100, deadline=None)
@given(post_and_phrases(LATIN))
def test_property_latin(case: tuple[list[str], list[str]]) -> None:
    _check(*case)


@settings(max_examples=100, deadline=None)
@given(post_and_phrases(DEVANAGARI))
def test_property_devanagari(case: tuple[list[str], list[str]]) -> None:
    _check(*case)


@settings(max_examples=100, deadline=None)
@given(post_and_phrases(TELUGU))
def test_property_telugu(case: tuple[list[str], list[str]]) -> None:
    _check(*case)
