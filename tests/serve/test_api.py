"""The JSON API through FastAPI's test client: every endpoint, every limit, the token."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rationales.serve import Limits, create_app
from rationales.words import segment

from .conftest import WEIGHTS, KeywordClassifier, sigmoid, wait_until


@pytest.fixture
def client(keyword_clf, small_dataset, tmp_path) -> TestClient:
    app = create_app({"kw": keyword_clf}, [small_dataset], token="", reports_dir=tmp_path / "reports")
    with TestClient(app) as c:
        yield c


def explain(client: TestClient, **body) -> dict:
    r = client.post("/api/explain", json=body)
    assert r.status_code == 200, r.text
    return r.json()


# -- listing endpoints --------------------------------------------------------------------
def test_health_lists_what_is_loaded_and_the_limits(client):
    h = client.get("/api/health").json()
    assert h["status"] == "ok"
    assert h["models"] == ["kw"]
    assert h["datasets"] == ["toy:test"]
    assert h["limits"] == Limits().to_dict()
    assert h["token_required"] is False


def test_models_lists_ids_and_labels(client):
    (m,) = client.get("/api/models").json()
    assert m["id"] == "kw" and m["default"] is True
    assert m["label_names"] == ["normal", "offensive"]
    assert m["differentiable"] is False
    assert m["capabilities"] == {"gradients": False, "attentions": False}


def test_models_report_each_capability(keyword_clf, tiny_clf):
    c = TestClient(create_app({"kw": keyword_clf, "tiny": tiny_clf}, token="", reports_dir=None))
    caps = {m["id"]: m["capabilities"] for m in c.get("/api/models").json()}
    assert caps == {"kw": {"gradients": False, "attentions": False},
                    "tiny": {"gradients": True, "attentions": True}}


def test_explainers_come_from_the_registry_with_per_model_usability(client):
    from rationales.methods import explainers

    listed = {e["name"]: e for e in client.get("/api/explainers").json()}
    assert set(listed) == {e["name"] for e in explainers()}
    assert listed["occlusion"]["usable_with"] == {"kw": True}
    # gradient methods need a differentiable model; the keyword model is not one
    assert listed["gradient"]["needs_gradients"] is True
    assert listed["gradient"]["usable_with"] == {"kw": False}


class ClaimsDifferentiable(KeywordClassifier):
    """Says ``differentiable = True`` but has neither embeddings nor attention weights."""

    differentiable = True


def test_usable_with_asks_every_capability_not_the_differentiable_flag(keyword_clf, tiny_clf):
    # The page once offered `attention` on a tf-idf model: usability looked only at
    # needs_gradients and the `differentiable` flag. It is now the request's own check.
    models = {"kw": keyword_clf, "claims": ClaimsDifferentiable(WEIGHTS), "tiny": tiny_clf}
    c = TestClient(create_app(models, token="", reports_dir=None))
    listed = {e["name"]: e for e in c.get("/api/explainers").json()}
    assert listed["attention"]["needs_attentions"] is True
    assert listed["attention"]["usable_with"] == {"kw": False, "claims": False, "tiny": True}
    for m in ("gradient", "grad_input", "integrated_gradients"):
        assert listed[m]["usable_with"] == {"kw": False, "claims": False, "tiny": True}, m
    assert listed["occlusion"]["usable_with"] == {"kw": True, "claims": True, "tiny": True}


@pytest.mark.parametrize("method, needs", [("attention", "needs attention weights"),
                                           ("gradient", "needs gradients")])
def test_explain_refuses_a_method_the_model_cannot_serve(client, method, needs):
    r = client.post("/api/explain", json={"text": "you are stupid", "methods": ["occlusion", method]})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert f"explainer {method!r} {needs}" in detail and "'keywords'" in detail


def test_datasets_lists_loaded_and_registered(client, small_dataset):
    d = client.get("/api/datasets").json()
    (loaded,) = d["loaded"]
    assert loaded["name"] == "toy:test"
    assert loaded["size"] == len(small_dataset)
    assert loaded["label_counts"] == {"normal": 5, "offensive": 4, "hatespeech": 3}
    assert loaded["with_rationale"] == 7
    assert "hatexplain" in {r["name"] for r in d["registered"]}


def test_examples_pages_filters_and_finds_by_id(client, small_dataset):
    page = client.get("/api/examples", params={"data": "toy:test", "offset": 2, "limit": 3}).json()
    assert page["total"] == 12
    assert [e["id"] for e in page["examples"]] == ["en3", "hi1", "hi2"]
    assert page["examples"][0]["rationale"] == [0, 0, 0, 1, 0, 1, 1]
    assert page["examples"][0]["label_name"] == "hatespeech"

    hate = client.get("/api/examples", params={"data": "toy:test", "label": "hatespeech"}).json()
    assert hate["total"] == 3 and {e["label"] for e in hate["examples"]} == {2}
    by_id = client.get("/api/examples", params={"data": "toy:test", "label": "1"}).json()
    assert {e["id"] for e in by_id["examples"]} == {"hi1", "te1", "en6", "ar1"}

    one = client.get("/api/examples", params={"data": "toy:test", "id": "te1"}).json()
    assert one["total"] == 1 and one["examples"][0]["words"] == ["నువ్వు", "ఒక", "వెధవ", "వి"]


def test_examples_errors_name_the_problem(client):
    r = client.get("/api/examples", params={"data": "hatexplain:test"})
    assert r.status_code == 404 and "not loaded" in r.json()["detail"] and "toy:test" in r.json()["detail"]
    r = client.get("/api/examples", params={"data": "toy:test", "label": "spam"})
    assert r.status_code == 422 and "spam" in r.json()["detail"]
    r = client.get("/api/examples", params={"data": "toy:test", "id": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = client.get("/api/examples", params={"data": "toy:test", "limit": 101})
    assert r.status_code == 422 and r.json()["limit"] == "max_page_size"
    assert "max_page_size=100" in r.json()["detail"]


def test_openapi_schema_documents_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    for p in ("/api/explain", "/api/models", "/api/explainers", "/api/datasets",
              "/api/examples", "/api/health", "/api/reports"):
        assert p in paths
    assert "post" in paths["/api/explain"]


def test_unknown_api_path_is_404_with_a_pointer(client):
    r = client.get("/api/nothing")
    assert r.status_code == 404 and "/docs" in r.json()["detail"]


# -- explain: values checked by hand --------------------------------------------------------
def test_explain_occlusion_and_faithfulness_by_hand(client):
    # p(offensive | words) = sigmoid(-1 + Σ weights); "stupid" weighs 3, others 0.
    res = explain(client, text="you are stupid", methods=["occlusion"])
    p_full, p_without = sigmoid(2.0), sigmoid(-1.0)
    assert res["words"] == ["you", "are", "stupid"]
    assert res["prediction"]["label"] == "offensive"
    assert res["prediction"]["probabilities"]["offensive"] == pytest.approx(p_full)
    assert res["target"] == {"label": "offensive", "label_id": 1}
    (row,) = res["explanations"]
    assert row["method"] == "occlusion"
    assert row["scores"] == pytest.approx([0.0, 0.0, p_full - p_without])
    # X-MuTeST rule on 3 words: the top ⌊3/2⌋ = 1 word
    assert row["rationale"] == [0, 0, 1]
    f = row["faithfulness"]
    assert f["comprehensiveness"]["value"] == pytest.approx(p_full - p_without)
    # the rationale alone ("stupid") gives the same probability as the full post
    assert f["sufficiency"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert "hard=xmutest" in f["comprehensiveness"]["variant"]


def test_explain_target_by_name_and_hard_rule(client):
    res = explain(client, text="you are a stupid idiot", methods=["occlusion"], target="normal",
                  hard="top_k=2")
    assert res["target"] == {"label": "normal", "label_id": 0}
    row = res["explanations"][0]
    # for "normal", removing an insult raises p(normal): those words score negative
    assert row["scores"][3] < 0 and row["scores"][4] < 0
    assert sum(row["rationale"]) == 2 and row["hard"] == "top_k=2"


def test_explain_words_are_used_as_given(client):
    res = explain(client, words=["मूर्ख", "हो", "तुम"], methods=["occlusion", "ngram"])
    assert res["words"] == ["मूर्ख", "हो", "तुम"]
    assert [r["method"] for r in res["explanations"]] == ["occlusion", "ngram"]
    occ = res["explanations"][0]
    assert occ["scores"][0] == pytest.approx(sigmoid(2.0) - sigmoid(-1.0))
    assert occ["rationale"] == [1, 0, 0]


def test_explain_segments_indic_text(client):
    text = "నువ్వు ఒక వెధవ వి"
    res = explain(client, text=text, methods=["occlusion"])
    assert res["words"] == segment(text) == ["నువ్వు", "ఒక", "వెధవ", "వి"]
    row = res["explanations"][0]
    assert row["scores"] == pytest.approx([0.0, 0.0, sigmoid(2.0) - sigmoid(-1.0), 0.0])
    # X-MuTeST rule on 4 words: the top 2; the tie among the zeros goes to the earliest word
    assert row["rationale"] == [1, 0, 1, 0]


def test_explain_matches_the_python_api(client, keyword_clf):
    from rationales import explain as rx_explain

    body = dict(text="you are a stupid idiot, go away", methods=["ngram", "occlusion"])
    res = explain(client, **body)
    exps = rx_explain(keyword_clf, [segment(body["text"])], methods=body["methods"], target=1)
    for row, exp in zip(res["explanations"], exps):
        assert row["method"] == exp.method
        assert row["scores"] == pytest.approx(list(exp.scores))


def test_llm_and_union_rows_carry_their_own_rationale_and_the_llm_words(keyword_clf):
    from rationales.llm.replay import ReplayBackend

    llm = ReplayBackend({}, default='["stupid"]')
    c = TestClient(create_app({"kw": keyword_clf}, token="", reports_dir=None, llm=llm))
    res = explain(c, text="you are a stupid person", methods=["llm", "union", "occlusion"])
    rows = {r["method"]: r for r in res["explanations"]}
    assert rows["llm"]["needs_llm"] is True
    assert rows["llm"]["rationale"] == [0, 0, 0, 1, 0] == rows["llm"]["llm_words"]
    assert rows["llm"]["hard"] == "llm's own"
    # union = ngram's X-MuTeST hard rationale (top 2 of 5 words) ∪ the LLM's words
    ngram_hard = rows["union"]["info"]["ngram_rationale"]
    assert sum(ngram_hard) == 2
    assert rows["union"]["rationale"] == [max(a, b) for a, b in zip(ngram_hard, [0, 0, 0, 1, 0])]
    assert rows["union"]["llm_words"] == [0, 0, 0, 1, 0]
    assert rows["occlusion"]["llm_words"] is None and rows["occlusion"]["hard"] == "xmutest"
    # faithfulness is computed on each method's own hard rationale: here "stupid" alone
    p_full, p_without = sigmoid(2.0), sigmoid(-1.0)
    assert rows["llm"]["faithfulness"]["comprehensiveness"]["value"] == pytest.approx(p_full - p_without)
    assert rows["llm"]["faithfulness"]["sufficiency"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert len(llm.calls) >= 1


# -- request errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("body, status, needle", [
    ({"text": "hi", "methods": ["occlusionn"]}, 422, "Did you mean 'occlusion'"),
    ({"text": "hi", "methods": ["occlusion"], "model": "bert"}, 422, "unknown model 'bert'. Known: kw"),
    ({"text": "hi", "methods": ["occlusion"], "model": "kww"}, 422, "Did you mean 'kw'"),
    ({"text": "hi", "methods": ["gradient"]}, 422, "needs gradients"),
    ({"text": "hi", "methods": ["attention"]}, 422, "needs attention weights"),
    ({"text": "hi", "methods": []}, 422, "no method given"),
    ({"text": "hi", "methods": [" ", ""]}, 422, "no method given"),
    ({"methods": ["occlusion"]}, 422, "exactly one of 'text'"),
    ({"text": "hi", "words": ["hi"], "methods": ["occlusion"]}, 422, "exactly one of 'text'"),
    ({"text": "   ", "methods": ["occlusion"]}, 422, "no words"),
    ({"words": ["hi", " "], "methods": ["occlusion"]}, 422, "empty or whitespace-only words"),
    ({"text": "hi", "methods": ["occlusion"], "target": "spam"}, 422, "unknown target label 'spam'"),
    ({"text": "hi", "methods": ["occlusion"], "target": 7}, 422, "out of range"),
    ({"text": "hi", "methods": ["occlusion"], "params": {"occlusion": {"bogus": 1}}}, 422, "bogus"),
    ({"text": "hi", "methods": ["occlusion"], "params": {"lime": {}}}, 422,
     "parameters given for method(s) ['lime'] that were not asked for"),
    ({"text": "hi", "methods": ["occlusion"], "hard": "top_q=3"}, 422, "unknown hard-rationale rule"),
    ({"text": "hi", "methods": ["occlusion"], "hard": "top_fraction=mean_gold"}, 422, "needs a dataset"),
    ({"text": "hi"}, 422, "body.methods: Field required"),
    ({"text": "hi", "methods": ["llm"], "params": {"llm": {"llm": "gguf:/etc/passwd"}}}, 422,
     "'llm' cannot be set by a request"),
])
def test_bad_requests_get_a_clear_4xx(client, body, status, needle):
    r = client.post("/api/explain", json=body)
    assert r.status_code == status
    assert needle in r.json()["detail"]


def test_target_as_a_digit_string_is_a_label_id(client):
    # the one reading of a target (rationales.methods.request.target_id), as the CLI reads it
    res = explain(client, text="you are stupid", methods=["occlusion"], target="0")
    assert res["target"] == {"label": "normal", "label_id": 0}


def test_hard_rule_is_shown_in_its_one_written_form(client):
    res = explain(client, text="you are a stupid idiot", methods=["occlusion"], hard=" top_k = 2")
    assert res["explanations"][0]["hard"] == "top_k=2"


def test_malformed_json_is_422(client):
    r = client.post("/api/explain", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


# -- limits --------------------------------------------------------------------------------------
def limited(clf, tmp_path, **limits) -> TestClient:
    return TestClient(create_app({"kw": clf}, token="", reports_dir=None, limits=Limits(**limits)))


def test_limit_max_chars(keyword_clf, tmp_path):
    c = limited(keyword_clf, tmp_path, max_chars=20)
    r = c.post("/api/explain", json={"text": "x" * 21, "methods": ["occlusion"]})
    assert r.status_code == 422 and r.json()["limit"] == "max_chars"
    assert "21 characters" in r.json()["detail"] and "max_chars=20" in r.json()["detail"]
    r = c.post("/api/explain", json={"words": ["abcdefghij", "abcdefghijk"], "methods": ["occlusion"]})
    assert r.status_code == 422 and r.json()["limit"] == "max_chars"
    assert c.post("/api/explain", json={"text": "x" * 20, "methods": ["occlusion"]}).status_code == 200


def test_limit_max_words(keyword_clf, tmp_path):
    c = limited(keyword_clf, tmp_path, max_words=5)
    r = c.post("/api/explain", json={"text": "one two three four five six", "methods": ["occlusion"]})
    assert r.status_code == 422
    assert r.json() == {"detail": r.json()["detail"], "limit": "max_words", "limit_value": 5}
    assert "6 words" in r.json()["detail"] and "max_words=5" in r.json()["detail"]
    assert c.post("/api/explain", json={"text": "one two three four five", "methods": ["occlusion"]}).status_code == 200


def test_limit_max_methods(keyword_clf, tmp_path):
    c = limited(keyword_clf, tmp_path, max_methods=1)
    r = c.post("/api/explain", json={"text": "you are stupid", "methods": ["occlusion", "ngram"]})
    assert r.status_code == 422 and r.json()["limit"] == "max_methods"
    assert "2 methods" in r.json()["detail"]


def test_limit_body_size_declared_and_streamed(keyword_clf, tmp_path):
    c = limited(keyword_clf, tmp_path, max_body_bytes=200)
    big = json.dumps({"text": "word " * 60, "methods": ["occlusion"]}).encode()
    assert len(big) > 200
    r = c.post("/api/explain", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["limit"] == "max_body_bytes"
    assert "max_body_bytes=200" in r.json()["detail"]

    def chunks():  # no Content-Length: the body is counted as it arrives
        for i in range(0, len(big), 50):
            yield big[i:i + 50]

    r = c.post("/api/explain", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["limit"] == "max_body_bytes"
    small = json.dumps({"text": "you are stupid", "methods": ["occlusion"]}).encode()
    assert c.post("/api/explain", content=small, headers={"content-type": "application/json"}).status_code == 200


def test_limit_time_answers_408_and_stops_the_worker(tmp_path):
    slow = KeywordClassifier(WEIGHTS, delay=0.6)
    c = limited(slow, tmp_path, time_limit_s=0.3)
    r = c.post("/api/explain", json={"text": "you are stupid", "methods": ["occlusion", "ngram"]})
    assert r.status_code == 408 and r.json()["limit"] == "time_limit_s"
    assert "time_limit_s=0.3" in r.json()["detail"]
    # The worker was inside the first model call (the prediction) when time ran out; it
    # finishes that call and then stops at the next one instead of running the methods
    # (which would take 3 more calls). Under load it may not have started at all.
    import time

    time.sleep(1.5)
    assert slow.started <= 1 and slow.calls <= 1


def test_slow_request_does_not_block_other_endpoints(tmp_path):
    slow = KeywordClassifier(WEIGHTS, delay=0.5)
    app = create_app({"kw": slow}, token="", reports_dir=None)
    with TestClient(app) as c, ThreadPoolExecutor(2) as pool:
        pending = pool.submit(c.post, "/api/explain", json={"text": "you are stupid", "methods": ["occlusion"]})
        wait_until(lambda: slow.started >= 1 or pending.done())
        assert not pending.done()  # 3 model calls of 0.5 s each are still to come
        # answered while the slow request is still running
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/models").status_code == 200
        assert not pending.done()
        assert pending.result().status_code == 200


# -- the token ---------------------------------------------------------------------------------------
def test_token_required_on_api_but_not_health(keyword_clf):
    c = TestClient(create_app({"kw": keyword_clf}, token="s3cret", reports_dir=None))
    assert c.get("/api/health").json()["token_required"] is True
    r = c.get("/api/models")
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"
    r = c.get("/api/models", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and "not the one" in r.json()["detail"]
    r = c.post("/api/explain", json={"text": "you are stupid", "methods": ["occlusion"]})
    assert r.status_code == 401
    ok = {"Authorization": "Bearer s3cret"}
    assert c.get("/api/models", headers=ok).status_code == 200
    assert c.post("/api/explain", json={"text": "you are stupid", "methods": ["occlusion"]},
                  headers=ok).status_code == 200
    # the page itself loads without it (it asks for the token)
    assert c.get("/").status_code == 200


def test_token_from_environment(keyword_clf, monkeypatch):
    monkeypatch.setenv("RATIONALES_SERVE_TOKEN", "from-env")
    c = TestClient(create_app({"kw": keyword_clf}, reports_dir=None))
    assert c.get("/api/models").status_code == 401
    assert c.get("/api/models", headers={"Authorization": "Bearer from-env"}).status_code == 200
    # an explicit empty token turns it off even with the variable set
    c = TestClient(create_app({"kw": keyword_clf}, token="", reports_dir=None))
    assert c.get("/api/models").status_code == 200


# -- concurrency on a real transformer ------------------------------------------------------------
def test_concurrent_requests_each_get_their_own_answer(tiny_clf):
    app = create_app({"tiny": tiny_clf}, token="", reports_dir=None, workers=4)
    texts = ["you are a stupid idiot", "have a nice day friend", "तुम बहुत मूर्ख हो",
             "నువ్వు ఒక వెధవ వి", "go back to your country", "what a lovely photo today",
             "shut up you moron", "thanks for sharing this"]
    bodies = [{"text": t, "methods": ["occlusion", "ngram"]} for t in texts]
    with TestClient(app) as c:
        expected = [explain(c, **b) for b in bodies]
        tiny_clf.engine.clear_cache()  # the concurrent round must compute, not only read the cache
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda b: c.post("/api/explain", json=b), bodies * 2))
    for i, r in enumerate(got):
        assert r.status_code == 200, r.text
        want = expected[i % len(texts)]
        res = r.json()
        assert res["words"] == want["words"] == segment(texts[i % len(texts)])
        assert res["prediction"] == want["prediction"]
        for a, b in zip(res["explanations"], want["explanations"]):
            assert a["method"] == b["method"]
            assert a["scores"] == pytest.approx(b["scores"], abs=1e-6)
            assert a["rationale"] == b["rationale"]


# -- reports and the page ----------------------------------------------------------------------------
def test_reports_are_listed_and_only_listed_files_are_served(keyword_clf, tmp_path):
    reports = tmp_path / "reports"
    (reports / "hx").mkdir(parents=True)
    (reports / "hx" / "report.html").write_text("<h1>benchmark</h1>")
    (reports / "hx" / "results.json").write_text("{}")
    (reports / "notes.py").write_text("print('not a report')")
    (tmp_path / "secret.html").write_text("outside")
    c = TestClient(create_app({"kw": keyword_clf}, token="", reports_dir=reports))
    listed = {r["key"]: r for r in c.get("/api/reports").json()}
    assert set(listed) == {"hx/report.html", "hx/results.json"}
    assert listed["hx/report.html"]["kind"] == "html" and "path" not in listed["hx/report.html"]
    r = c.get("/api/reports/hx/report.html")
    assert r.status_code == 200 and "benchmark" in r.text
    for bad in ("notes.py", "../secret.html", "hx/../../secret.html", "%2e%2e/secret.html", "/etc/passwd"):
        assert c.get("/api/reports/" + bad).status_code == 404, bad


def test_no_reports_folder_lists_nothing(keyword_clf, tmp_path):
    c = TestClient(create_app({"kw": keyword_clf}, token="", reports_dir=tmp_path / "none"))
    assert c.get("/api/reports").json() == []


def test_page_and_static_files_need_no_external_network(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="text"' in page.text and 'dir="auto"' in page.text
    static = Path(__file__).resolve().parents[2] / "src" / "rationales" / "serve" / "static"
    for f in static.iterdir():
        text = f.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, f.name
        assert client.get(f"/static/{f.name}").status_code == 200


# -- models by folder and the CLI ------------------------------------------------------------------
def test_cli_serve_loads_models_once_and_binds_loopback(tiny_clf, small_dataset, tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    import rationales.cli.serve  # noqa: F401  (registers the command)
    from rationales.cli import app as cli_app

    folder = tiny_clf.save(tmp_path / "tiny-model")
    seen = {}

    def fake_run(asgi, host, port, log_level):
        seen.update(asgi=asgi, host=host, port=port)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.delenv("RATIONALES_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--model", str(folder), "--port", "8123",
                                          "--max-words", "7", "--reports", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen["host"] == "127.0.0.1" and seen["port"] == 8123
    c = TestClient(seen["asgi"])
    assert c.get("/api/health").json()["limits"]["max_words"] == 7
    (m,) = c.get("/api/models").json()
    assert m["id"] == "tiny-model" and m["label_names"] == ["normal", "offensive", "hatespeech"]
    res = c.post("/api/explain", json={"text": "you are a stupid idiot", "methods": ["occlusion"]}).json()
    direct = tiny_clf.predict_proba([["you", "are", "a", "stupid", "idiot"]])[0]
    assert list(res["prediction"]["probabilities"].values()) == pytest.approx(direct.tolist(), abs=1e-5)


def test_cli_serve_warns_when_exposed_without_token(tiny_clf, tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    import rationales.cli.serve  # noqa: F401
    from rationales.cli import app as cli_app

    folder = tiny_clf.save(tmp_path / "m")
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.delenv("RATIONALES_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--model", str(folder), "--host", "0.0.0.0"])
    assert result.exit_code == 0
    assert "without --token" in result.output


# -- the real data ----------------------------------------------------------------------------------
@pytest.mark.data
def test_hatexplain_test_split_browses_with_gold_rationales(keyword_clf, data_dir):
    app = create_app({"kw": keyword_clf}, ["hatexplain:test"], data_dir=data_dir, token="", reports_dir=None)
    c = TestClient(app)
    d = c.get("/api/datasets").json()["loaded"][0]
    assert d["name"] == "hatexplain:test" and d["size"] == 1924
    assert sorted(d["label_counts"].values()) == [548, 594, 782]
    page = c.get("/api/examples", params={"data": "hatexplain:test", "label": "hatespeech", "limit": 10}).json()
    assert page["total"] == 594
    for ex in page["examples"]:
        assert ex["label_name"] == "hatespeech"
        assert ex["rationale"] is not None and len(ex["rationale"]) == len(ex["words"])
    ex = page["examples"][0]
    res = c.post("/api/explain", json={"words": ex["words"], "methods": ["occlusion"]}).json()
    assert res["words"] == ex["words"]
