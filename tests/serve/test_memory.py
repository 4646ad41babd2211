"""Memory under load: /api/health reports RSS and every cache; the caches stay bounded."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from rationales.serve import create_app

from .conftest import WEIGHTS, KeywordClassifier


@pytest.fixture
def tiny_own():
    """A tiny transformer of this module's own: these tests re-bound its caches."""
    from rationales.models.tiny import tiny_classifier

    return tiny_classifier(("normal", "offensive", "hatespeech"), seed=5)


def test_health_reports_rss_and_every_cache_of_every_model(tiny_own):
    kw = KeywordClassifier(WEIGHTS)
    with TestClient(create_app({"tiny": tiny_own, "kw": kw}, token="", reports_dir=None)) as c:
        r = c.post("/api/explain", json={"text": "you are a stupid idiot", "methods": ["occlusion"]})
        assert r.status_code == 200, r.text
        mem = c.get("/api/health").json()["memory"]
    assert mem["rss_bytes"] > 0 and mem["rss_mb"] == round(mem["rss_bytes"] / 2**20, 1)
    assert set(mem["caches"]) == {"tiny", "kw"}
    assert mem["caches"]["kw"] == {}                       # an in-memory model without caches
    tiny = mem["caches"]["tiny"]
    assert set(tiny) == {"engine", "encodings"}
    for info in tiny.values():
        assert set(info) == {"entries", "bytes", "max_entries", "max_bytes"}
        assert info["entries"] > 0 and 0 < info["bytes"] <= info["max_bytes"]
    assert tiny["engine"]["max_bytes"] == 256 * 2**20 and tiny["encodings"]["max_bytes"] == 64 * 2**20
    assert mem["cache_bytes"] == tiny["engine"]["bytes"] + tiny["encodings"]["bytes"]


def test_create_app_rebounds_the_caches(tiny_own):
    app = create_app({"tiny": tiny_own}, token="", reports_dir=None, cache_entries=500,
                     cache_bytes=3 * 2**20, encoding_cache_bytes=2**20)
    caches = TestClient(app).get("/api/health").json()["memory"]["caches"]["tiny"]
    assert (caches["engine"]["max_entries"], caches["engine"]["max_bytes"]) == (500, 3 * 2**20)
    assert (caches["encodings"]["max_entries"], caches["encodings"]["max_bytes"]) == (50_000, 2**20)


def test_a_short_soak_keeps_every_cache_under_its_bound(tiny_own):
    """300 unique posts through the API: the caches fill, then evict, and never pass the bound."""
    engine_bound, encoding_bound = 120_000, 40_000
    app = create_app({"tiny": tiny_own}, token="", reports_dir=None, workers=2,
                     cache_bytes=engine_bound, encoding_cache_bytes=encoding_bound)
    words = "these people are vermin and should go back to their own country".split()
    peak = {"engine": 0, "encodings": 0}
    with TestClient(app) as c:
        for i in range(300):
            post = words[: 4 + i % 8] + [str(1_000_000 + i)]   # a number appended: always new
            r = c.post("/api/explain", json={"words": post, "methods": ["occlusion"]})
            assert r.status_code == 200, r.text
            if i % 10 == 9:
                caches = c.get("/api/health").json()["memory"]["caches"]["tiny"]
                for name, bound in (("engine", engine_bound), ("encodings", encoding_bound)):
                    assert caches[name]["bytes"] <= bound
                    peak[name] = max(peak[name], caches[name]["bytes"])
    # the bounds were reached (evictions happened), not merely never approached
    assert tiny_own.engine.stats["forward_passes"] > len(tiny_own.engine)
    assert len(tiny_own.caches()["encodings"]) < 300
    assert peak["engine"] > engine_bound * 0.9 and peak["encodings"] > encoding_bound * 0.9


def test_cli_serve_cache_options_bound_every_loaded_model(tiny_own, tmp_path, monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    import rationales.cli.serve  # noqa: F401  (registers the command)
    from rationales.cli import app as cli_app

    folder = tiny_own.save(tmp_path / "tiny-model")
    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda asgi, **kw: seen.update(asgi=asgi))
    monkeypatch.delenv("RATIONALES_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--model", str(folder), "--reports", str(tmp_path),
                                          "--cache-mb", "32", "--cache-entries", "1000",
                                          "--encoding-cache-mb", "0.5"])
    assert result.exit_code == 0, result.output
    caches = TestClient(seen["asgi"]).get("/api/health").json()["memory"]["caches"]["tiny-model"]
    assert (caches["engine"]["max_entries"], caches["engine"]["max_bytes"]) == (1000, 32 * 2**20)
    assert caches["encodings"]["max_bytes"] == 2**19
