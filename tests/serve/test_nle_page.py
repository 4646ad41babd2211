"""The explanation in words (``nle``) through the API and on the page, under its highlight.

The server's LLM is a replay backend, so the text is known; the browser part uses the
real headless Chromium of test_browser.py (and skips, or fails, the same way).
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from rationales.llm.replay import ReplayBackend
from rationales.serve import create_app

from .conftest import WEIGHTS, KeywordClassifier, sigmoid
from .test_browser import api_explain, browser, open_page, page, serve_in_thread  # noqa: F401 - fixtures used below

TEXT = "you are a stupid person"
SENTENCE = 'It calls the reader "stupid", an insult, so it reads as offensive.'


def replay() -> ReplayBackend:
    return ReplayBackend({}, default=json.dumps({"explanation": SENTENCE, "words": ["stupid", "moron"]}))


def test_the_api_row_carries_the_text_its_highlight_and_its_faithfulness(keyword_clf):
    c = TestClient(create_app({"kw": keyword_clf}, token="", reports_dir=None, llm=replay()))
    r = c.post("/api/explain", json={"text": TEXT, "methods": ["nle"], "params": {"nle": {"from": "occlusion"}}})
    assert r.status_code == 200, r.text
    row = r.json()["explanations"][0]
    assert row["needs_llm"] is True and row["info"]["nle"] == SENTENCE
    # occlusion on the keyword model: only "stupid" speaks for "offensive"; it is the highlight
    assert row["rationale"] == [0, 0, 0, 1, 0] and row["hard"] == "nle's own"
    assert row["info"]["named_not_in_post"] == ["moron"] and row["info"]["highlight_coverage"] == 1.0
    assert row["info"]["probability_drop"] == pytest.approx(sigmoid(2.0) - sigmoid(-1.0))


@pytest.fixture(scope="module")
def nle_server():
    app = create_app({"kw": KeywordClassifier(WEIGHTS)}, token="", reports_dir=None, llm=replay(), workers=1)
    yield from serve_in_thread(app)


def test_the_page_shows_the_text_under_the_highlight(page, nle_server):  # noqa: F811 - pytest fixture
    open_page(page, nle_server)
    page.fill("#text", TEXT)
    page.check("#m-nle")
    page.click("#explain-btn")
    page.wait_for_selector("#result .row[data-method='nle'] .nle-text")
    cell = "#result .row[data-method='nle'] .words"
    assert page.text_content(f"{cell} .nle-text") == SENTENCE
    # the text sits in the same cell as the highlight it was written from, after the words
    want = api_explain(nle_server, {"text": TEXT, "methods": ["nle"]})["explanations"][0]  # from ngram
    marked = page.eval_on_selector_all(f"{cell} .word", "ws => ws.map(w => w.classList.contains('in-rationale') ? 1 : 0)")
    assert marked == want["rationale"] and sum(marked) >= 1
    assert page.eval_on_selector(cell, "c => c.lastElementChild.classList.contains('nle')")
    high = len(want["info"]["highlight"])
    facts = page.text_content(f"{cell} .nle-facts")
    assert f"names 1 of the {high} highlighted words" in facts and "1 listed word(s) not in the post" in facts
