"""The word segmenter: scripts keep their marks; emoji, URLs, handles, punctuation split off."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rationales.words import detect_lang, segment, segment_with_offsets, words_touching


@pytest.mark.parametrize("text, words", [
    ("I don't like John's well-known car... Really?!",
     ["I", "don't", "like", "John's", "well-known", "car", "...", "Really", "?", "!"]),
    ("Pi is 3.14, not 1,000 at 12:30 on the 2nd.",
     ["Pi", "is", "3.14", ",", "not", "1,000", "at", "12:30", "on", "the", "2nd", "."]),
    ("see https://example.com/a?b=1. or www.site.org) now",
     ["see", "https://example.com/a?b=1", ".", "or", "www.site.org", ")", "now"]),
    ("@user_1 said #StopHate to <user>, mail me@example.org",
     ["@user_1", "said", "#StopHate", "to", "<user>", ",", "mail", "me@example.org"]),
    ("“quoted” (paren) — dash", ["“", "quoted", "”", "(", "paren", ")", "—", "dash"]),
])
def test_english(text, words):
    assert segment(text) == words


def test_hindi_keeps_matras_virama_and_nukta_inside_words():
    # क्षत्रिय and स्त्री carry virama; ज़रूर carries a nukta; the danda is punctuation.
    text = "यह क्षत्रिय स्त्री ज़रूर आएगी। बहुत अच्छा!!!"
    assert segment(text) == ["यह", "क्षत्रिय", "स्त्री", "ज़रूर", "आएगी", "।", "बहुत", "अच्छा", "!!!"]


def test_telugu_keeps_vowel_signs_and_virama():
    text = "నేను తెలుగు ప్రేమ కథలు చదువుతాను. శ్రీ రామ"
    assert segment(text) == ["నేను", "తెలుగు", "ప్రేమ", "కథలు", "చదువుతాను", ".", "శ్రీ", "రామ"]


def test_zero_width_joiners_stay_inside_the_word():
    zwj, zwnj = "\u200d", "\u200c"
    assert segment(f"क्{zwj}ष और क्{zwnj}ष") == [f"क्{zwj}ष", "और", f"क्{zwnj}ष"]
    # a zero-width space separates words and belongs to none
    assert segment("ab\u200bcd") == ["ab", "cd"]


def test_mixed_scripts_hashtags_and_digits():
    text = "Hindi मिश्रित text తెలుగు కూడా #हिंदी_दिवस १२३ ok"
    assert segment(text) == ["Hindi", "मिश्रित", "text", "తెలుగు", "కూడా", "#हिंदी_दिवस", "१२३", "ok"]


def test_each_emoji_is_a_word_including_zwj_sequences_and_skin_tones():
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    thumbs = "\U0001F44D\U0001F3FD"
    text = f"lol😂😂 {thumbs} {family} 🇮🇳 1️⃣ ok"
    assert segment(text) == ["lol", "😂", "😂", thumbs, family, "🇮🇳", "1️⃣", "ok"]


def test_empty_and_blank_text_have_no_words():
    assert segment("") == []
    assert segment(" \n\t\u200b ") == []


def test_offsets_index_the_text():
    text = "नमस्ते  @राम, see https://x.in 👍🏽!"
    got = segment_with_offsets(text)
    assert [w for w, _, _ in got] == ["नमस्ते", "@राम", ",", "see", "https://x.in", "👍🏽", "!"]
    assert all(text[s:e] == w for w, s, e in got)


def test_words_touching_marks_words_covering_a_character():
    offs = segment_with_offsets("you are a moron .")
    assert words_touching(offs, [10, 11]) == [0, 0, 0, 1, 0]
    assert words_touching(offs, [3]) == [0, 0, 0, 0, 0]  # a space touches no word


def test_detect_lang_by_script():
    assert detect_lang(["यह", "अच्छा"]) == "hi"
    assert detect_lang(["ఇది", "బాగుంది"]) == "te"
    assert detect_lang(["plain", "text"]) is None


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1 .,!'-@#:/\n\t😂👍🏽\u200d\u200cकिष्ञ्తెలు।")), max_size=40))
def test_offsets_are_ordered_non_overlapping_slices_without_spaces(text):
    got = segment_with_offsets(text)
    last = 0
    for w, s, e in got:
        assert text[s:e] == w and w
        assert s >= last
        assert not any(ch.isspace() for ch in w)
        last = e
    # nothing but separators is left out
    covered = set(i for _, s, e in got for i in range(s, e))
    assert all(text[i].isspace() or text[i] == "\u200b" for i in range(len(text)) if i not in covered)


def test_bytes_that_are_not_utf8_stay_inside_their_word():
    """A shell argument $'caf\\xe9' reaches Python as 'caf\\udce9' (surrogateescape)."""
    from rationales.words import encodable

    assert segment("caf\udce9 au lait") == ["caf\udce9", "au", "lait"]
    assert encodable("caf\udce9") == "caf\ufffd" and encodable("café") == "café"
