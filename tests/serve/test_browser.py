"""End to end: real headless Chromium (Debian's) driven by Playwright against a uvicorn
server these tests start on 127.0.0.1.

Chromium comes from `scripts/install-browser-deps.sh` (Debian's ``chromium`` package);
Playwright's own browser download is never used. Without Chromium these tests skip,
unless RATIONALES_REQUIRE_BROWSER is set, where they fail instead of hiding it.
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from rationales.words import segment

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

POSTS = {
    "en": "You are a stupid idiot, go back to your country!",
    "hi": "तुम बहुत मूर्ख हो, यहाँ से चले जाओ",
    "te": "నువ్వు ఒక వెధవ వి, ఇక్కడి నుండి వెళ్ళిపో",
    "ar": "أنت غبي جدا",
}
METHODS = ["occlusion", "ngram"]


def _chromium() -> str | None:
    for candidate in (os.environ.get("RATIONALES_CHROMIUM"), "/usr/lib/chromium/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _missing(reason: str) -> None:
    if os.environ.get("RATIONALES_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(reason + " (RATIONALES_REQUIRE_BROWSER is set, so this is an error)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    path = _chromium()
    if path is None:
        _missing("Debian's chromium is not installed: run scripts/install-browser-deps.sh")
    pw = sync_playwright().start()
    # --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
    b = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
    yield b
    b.close()
    pw.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_in_thread(app) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free local port in a thread; yield its base URL, then
    stop it (a module fixture's body: ``yield from serve_in_thread(app)``)."""
    import uvicorn

    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tiny_clf, small_dataset, tmp_path_factory):
    from rationales.serve import create_app

    from .conftest import WEIGHTS, KeywordClassifier

    reports = tmp_path_factory.mktemp("reports")
    (reports / "hx-minilm").mkdir()
    (reports / "hx-minilm" / "report.html").write_text("<!doctype html><title>bench</title><h1>benchmark report</h1>")
    # "kw" has neither gradients nor attention weights: the page must not offer those methods for it
    app = create_app({"tiny": tiny_clf, "kw": KeywordClassifier(WEIGHTS)}, [small_dataset], token="",
                     reports_dir=reports, workers=2)
    yield from serve_in_thread(app)


def api_explain(base: str, body: dict) -> dict:
    req = urllib.request.Request(base + "/api/explain", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport=DESKTOP)
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield p
    ctx.close()
    assert not errors, errors


def open_page(page, base: str, hash_: str = "") -> None:
    page.goto(base + "/" + hash_)
    page.wait_for_selector("#method-list input[value=ngram]", state="attached")


def row_state(page, method: str) -> dict:
    """What the DOM shows for one method's row: words, scores, highlighted flags."""
    return page.eval_on_selector(f"#result .row[data-method='{method}'] .words", """cell => {
        const w = Array.from(cell.querySelectorAll('.word'));
        return {words: w.map(s => s.textContent),
                scores: w.map(s => s.dataset.score === undefined ? null : parseFloat(s.dataset.score)),
                highlighted: w.map(s => s.classList.contains('in-rationale') ? 1 : 0),
                direction: getComputedStyle(cell).direction,
                shaded: w.map(s => getComputedStyle(s).backgroundColor)};
    }""")


def explain_in_page(page, text: str) -> None:
    page.fill("#text", text)
    for m in METHODS:
        page.check(f"#m-{m}")
    page.click("#explain-btn")
    words = segment(text)
    page.wait_for_function(
        """([words, methods]) => methods.every(m => {
            const cell = document.querySelector(`#result .row[data-method='${m}'] .words`);
            const shown = Array.from(cell ? cell.querySelectorAll('.word') : []).map(s => s.textContent);
            return cell && JSON.stringify(shown) === JSON.stringify(words);
        })""", arg=[words, METHODS])


@pytest.mark.parametrize("lang", ["en", "hi", "te", "ar"])
def test_explain_a_post_highlights_the_words_the_api_gives(page, server, lang):
    open_page(page, server)
    text = POSTS[lang]
    explain_in_page(page, text)
    want = api_explain(server, {"text": text, "methods": METHODS, "model": "tiny", "hard": "xmutest"})
    verdict = page.text_content(".verdict-label")
    assert verdict == want["prediction"]["label"]
    for row in want["explanations"]:
        shown = row_state(page, row["method"])
        assert shown["words"] == segment(text) == want["words"]
        assert shown["highlighted"] == row["rationale"]
        assert sum(shown["highlighted"]) >= 1
        assert shown["scores"] == pytest.approx(row["scores"], abs=1e-9)
        # the highest-scoring word is shaded (not transparent)
        top = max(range(len(row["scores"])), key=lambda i: row["scores"][i])
        assert shown["shaded"][top] not in ("rgba(0, 0, 0, 0)", "transparent")
        assert shown["direction"] == ("rtl" if lang == "ar" else "ltr")
        faith = page.text_content(f"#result .row[data-method='{row['method']}'] .cell-faith")
        assert "comp" in faith and "suff" in faith
    if lang == "en":
        page.screenshot(path=str(SHOTS / "explain-desktop.png"), full_page=True)
    if lang == "hi":
        page.set_viewport_size(PHONE)
        page.wait_for_timeout(100)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.screenshot(path=str(SHOTS / "explain-phone.png"), full_page=True)


def test_methods_offered_are_those_the_chosen_model_can_serve(page, server):
    open_page(page, server)
    enabled = """() => Object.fromEntries(Array.from(document.querySelectorAll('#method-list input'))
                                          .map(b => [b.value, !b.disabled]))"""
    tiny = page.evaluate(enabled)
    assert tiny["attention"] and tiny["gradient"] and tiny["occlusion"]
    page.check("#m-attention")
    page.select_option("#model", "kw")
    kw = page.evaluate(enabled)
    assert not kw["attention"] and not kw["gradient"] and not kw["integrated_gradients"]
    assert kw["occlusion"] and kw["ngram"]
    assert not page.is_checked("#m-attention")  # a choice the new model cannot serve is dropped
    assert "attentions" in page.get_attribute("label[for=m-attention]", "title")
    # what the page offers is what the API accepts
    for name, offered in kw.items():
        if not offered:
            req = urllib.request.Request(server + "/api/explain", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"text": "you fool", "methods": [name], "model": "kw"}).encode())
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=30)
            assert err.value.code == 422, name


def test_keyboard_only_explain_and_read_scores(page, server):
    open_page(page, server)
    for _ in range(40):  # Tab from the top of the page to the text box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "text":
            break
    assert page.evaluate("document.activeElement.id") == "text"
    page.keyboard.type(POSTS["en"])
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#result .row[data-method='ngram'] .word")
    for _ in range(60):  # on to the first word of the first method row (past every method's checkbox)
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('word')"):
            break
    first = page.evaluate("[document.activeElement.textContent, document.activeElement.dataset.tip]")
    assert first[0] == segment(POSTS["en"])[0] and first[1].startswith("score ")
    tip = page.evaluate("getComputedStyle(document.activeElement, '::after').content")
    assert "score" in tip  # the score shows on focus, not only on hover
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == segment(POSTS["en"])[1]
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.textContent") == segment(POSTS["en"])[-1]


def test_dataset_view_pages_filters_explains_and_links(page, server, small_dataset):
    open_page(page, server, "#dataset")
    page.wait_for_selector("#examples .example")
    cards = page.query_selector_all("#examples .example")
    assert len(cards) == 10
    assert page.text_content("#page-info") == "1–10 of 12"
    # the gold rationale row shows the dataset's own words and highlights
    first = small_dataset[0]
    gold = page.eval_on_selector("#examples .example .row.gold .words", """cell =>
        Array.from(cell.querySelectorAll('.word')).map(s => [s.textContent, s.classList.contains('in-rationale') ? 1 : 0])""")
    assert gold == [[w, r] for w, r in zip(first.words, first.rationale)]

    page.click("#next-page")
    page.wait_for_function("document.querySelector('#page-info').textContent === '11–12 of 12'")
    assert len(page.query_selector_all("#examples .example")) == 2

    page.select_option("#label-filter", "hatespeech")
    page.wait_for_function("document.querySelector('#page-info').textContent === '1–3 of 3'")
    ids = page.eval_on_selector_all("#examples .example", "els => els.map(e => e.dataset.id)")
    assert ids == [ex.id for ex in small_dataset if ex.label == 2]

    # methods' rows appear under each gold row
    page.click("#explain-page")
    page.wait_for_function("document.querySelectorAll(\"#examples .row[data-method='ngram']\").length === 3")
    first_card = "#examples .example:first-child"
    order = page.eval_on_selector_all(f"{first_card} .row[data-method]", "rs => rs.map(r => r.dataset.method)")
    assert order[0] == "gold" and sorted(order[1:]) == sorted(METHODS)
    ex = next(e for e in small_dataset if e.label == 2)
    want = api_explain(server, {"words": list(ex.words), "methods": METHODS, "model": "tiny"})
    for row in want["explanations"]:
        shown = page.eval_on_selector(f"{first_card} .row[data-method='{row['method']}'] .words", """cell =>
            Array.from(cell.querySelectorAll('.word')).map(s => s.classList.contains('in-rationale') ? 1 : 0)""")
        assert shown == row["rationale"]
    page.screenshot(path=str(SHOTS / "dataset-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(100)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(SHOTS / "dataset-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    # a row's link opens the same post, with its gold row, in the explain view
    page.click(f"{first_card} .open-link")
    page.wait_for_selector("#view-explain:not([hidden]) #result .row.gold")
    page.wait_for_selector("#result .row[data-method='ngram']")
    assert page.input_value("#text") == " ".join(ex.words)
    gold_words = page.eval_on_selector("#result .row.gold .words",
                                       "c => Array.from(c.querySelectorAll('.word')).map(s => s.textContent)")
    assert gold_words == list(ex.words)
    assert ex.id in page.text_content("#source-note")


def test_reports_view_links_the_latest_report(page, server):
    open_page(page, server, "#reports")
    page.wait_for_selector("#reports a")
    link = page.get_attribute("#reports a", "href")
    assert link == "/api/reports/hx-minilm/report.html"
    with urllib.request.urlopen(server + link, timeout=10) as r:
        assert b"benchmark report" in r.read()


@pytest.fixture(scope="module", autouse=True)
def _shots_dir():
    SHOTS.mkdir(parents=True, exist_ok=True)
