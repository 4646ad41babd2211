"""Where data is looked for, and downloads: sha256 checks and an immediate offline failure."""

from __future__ import annotations

import hashlib
import io
import urllib.error

import pytest

from rationales.data import candidate_dirs, load_dataset
from rationales.data import fetch as fetch_mod
from rationales.data.fetch import Source, fetch
from rationales.data.paths import cache_dir
from rationales.errors import DataError, DataNotFoundError, OfflineError


def test_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("RATIONALES_DATA", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "xdg" / "rationales" / "data"
    assert candidate_dirs() == [tmp_path / "env", cache_dir()]
    assert candidate_dirs(tmp_path / "mine") == [tmp_path / "mine"]
    monkeypatch.delenv("RATIONALES_DATA")
    assert candidate_dirs() == [cache_dir()]


def test_the_cache_is_searched_after_the_env_folder(tmp_path, monkeypatch, fixtures_dir):
    monkeypatch.setenv("RATIONALES_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with pytest.raises(DataNotFoundError) as e:
        load_dataset("toxic_spans", "trial")
    msg = str(e.value)
    assert "tsd_trial.csv" in msg and str(tmp_path / "empty" / "toxic-spans") in msg
    assert str(cache_dir() / "toxic-spans") in msg and "rationales data fetch toxic_spans" in msg
    target = cache_dir() / "toxic-spans"
    target.mkdir(parents=True)
    (target / "tsd_trial.csv").write_text('spans,text\n"[0]",x y\n')
    assert load_dataset("toxic_spans", "trial")[0].rationale == (1, 0)


class _Resp(io.BytesIO):
    headers: dict = {}


def _fake_sources(monkeypatch, payload: bytes, sha: str | None):
    monkeypatch.setitem(fetch_mod.SOURCES, "toxic_spans",
                        [Source("https://example.invalid/tsd_trial.csv", "toxic-spans/tsd_trial.csv", sha)])


def test_offline_fails_at_once_with_where_to_put_files(tmp_path, monkeypatch):
    _fake_sources(monkeypatch, b"", None)

    def opener(req, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(OfflineError) as e:
        fetch("toxic_spans", tmp_path, opener=opener)
    msg = str(e.value)
    assert "are you offline" in msg and "https://example.invalid/tsd_trial.csv" in msg
    assert str(tmp_path / "toxic-spans" / "tsd_trial.csv") in msg
    assert not list(tmp_path.rglob("*.part"))


def test_unreachable_url_with_the_real_opener(tmp_path, monkeypatch):
    # port 9 (discard) on localhost: connection refused, no waiting
    monkeypatch.setitem(fetch_mod.SOURCES, "toxic_spans",
                        [Source("http://127.0.0.1:9/tsd_trial.csv", "toxic-spans/tsd_trial.csv")])
    with pytest.raises(OfflineError, match="127.0.0.1:9"):
        fetch("toxic_spans", tmp_path, timeout=2)


def test_download_checks_sha256(tmp_path, monkeypatch):
    payload = b'spans,text\n"[0]",x\n'
    good = hashlib.sha256(payload).hexdigest()
    _fake_sources(monkeypatch, payload, good)
    out = fetch("toxic_spans", tmp_path, opener=lambda req, timeout: _Resp(payload))
    assert out[0]["status"] == "downloaded" and out[0]["sha256"] == good
    assert (tmp_path / "toxic-spans" / "tsd_trial.csv").read_bytes() == payload
    again = fetch("toxic_spans", tmp_path, opener=lambda req, timeout: pytest.fail("no download"))
    assert again[0]["status"] == "present"

    _fake_sources(monkeypatch, payload, "0" * 64)
    with pytest.raises(DataError, match="sha256 mismatch"):
        fetch("toxic_spans", tmp_path / "other", opener=lambda req, timeout: _Resp(payload))
    assert not (tmp_path / "other" / "toxic-spans" / "tsd_trial.csv").exists()


def test_pinned_hashes_match_the_shared_files(data_dir):
    from rationales.data.fetch import SOURCES, sha256_of

    for sources in SOURCES.values():
        for s in sources:
            if s.sha256 is not None:
                assert sha256_of(data_dir / s.dest) == s.sha256, s.dest


test_pinned_hashes_match_the_shared_files = pytest.mark.data(test_pinned_hashes_match_the_shared_files)


def test_unknown_and_unfetchable_names():
    with pytest.raises(KeyError, match="authors"):
        fetch("xmutest")
