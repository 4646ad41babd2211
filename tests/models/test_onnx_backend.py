"""The ONNX Runtime forward backend, `optimize` and the saved-backend life cycle, on a tiny BERT."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from rationales.errors import ModelError, ParameterError  # noqa: E402
from rationales.models import load_classifier  # noqa: E402
from rationales.models import onnx_backend as ob  # noqa: E402

TEXTS = ["you are all wonderful people", "go back where you came from", "what a day",
         "i hate mondays and rainy weather so much", "they said so", "ok",
         "the quick brown fox jumps over the lazy dog again and again", "what a day"]


@pytest.fixture(scope="module")
def saved(tokenizer, tmp_path_factory):
    """A tiny BERT saved by rationales, and its fp32 ONNX export (made once)."""
    from rationales.models.tiny import tiny_classifier

    folder = tmp_path_factory.mktemp("tiny") / "model"
    tiny_classifier(label_names=("neg", "mid", "pos"), seed=3, tokenizer=tokenizer, max_length=32).save(folder)
    work = tmp_path_factory.mktemp("onnx")
    clf = load_classifier(folder, backend="torch")
    return folder, ob.build(clf, "onnx", work)


@pytest.fixture()
def model_dir(saved, tmp_path):
    """A fresh copy of the saved model folder (tests write backend.json into it)."""
    folder = tmp_path / "model"
    shutil.copytree(saved[0], folder)
    return folder


def keys_of(clf, texts=TEXTS):
    return [clf.encode(t).input_ids for t in texts]


def torch_probs(clf, batch):
    import torch

    with torch.inference_mode():
        return clf._run_batch(batch)


def test_export_matches_torch_on_batches_of_any_shape(saved):
    folder, onnx_file = saved
    clf = load_classifier(folder, backend="torch")
    runner = ob.OnnxForward(onnx_file, clf.pad_token_id, threads=1)
    keys = keys_of(clf)
    for batch in (keys, keys[:1], keys[2:5]):  # batch sizes 8, 1, 3; padded to different lengths
        np.testing.assert_allclose(runner(batch), torch_probs(clf, batch), atol=1e-5)


def test_int8_and_bf16_give_probabilities_close_to_torch(saved, tmp_path):
    pytest.importorskip("openvino")
    folder, onnx_file = saved
    clf = load_classifier(folder, backend="torch")
    shutil.copyfile(onnx_file, tmp_path / "model.onnx")
    keys = keys_of(clf)
    ref = torch_probs(clf, keys)
    assert ob.build(clf, "torch-bf16", tmp_path) is None  # nothing to export
    for name in ("onnx-int8", "openvino-bf16", "torch-bf16"):
        runner = ob.make_runner(clf, name, ob.build(clf, name, tmp_path), threads=1)
        out = torch_probs(type("C", (), {"_run_batch": staticmethod(runner)})(), keys)
        assert out.shape == ref.shape
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
        assert 0 < np.abs(out - ref).max() < 0.05, name  # not the same numbers, but close


def test_the_engine_still_dedups_caches_and_batches(saved):
    folder, onnx_file = saved
    clf = load_classifier(folder, backend="torch")
    ob.use_backend(clf, "onnx", onnx_file, threads=1)
    calls = []
    runner = clf.engine.run_batch
    clf.engine.run_batch = lambda batch: calls.append(len(batch)) or runner(batch)
    clf.engine.reset_stats()
    first = clf.predict_proba(TEXTS)
    assert clf.engine.stats["forward_passes"] == 7 and clf.engine.stats["cache_hits"] == 1  # "what a day" twice
    assert sum(calls) == 7 and clf.engine.stats["batches"] == len(calls)
    again = clf.predict_proba(TEXTS)
    assert clf.engine.stats["forward_passes"] == 7 and clf.engine.stats["cache_hits"] == 1 + 8
    np.testing.assert_array_equal(first, again)
    assert clf.describe()["forward_backend"]["name"] == "onnx"
    ob.use_torch(clf)
    np.testing.assert_allclose(clf.predict_proba(TEXTS), first, atol=1e-5)
    assert clf.describe()["forward_backend"] == {"name": "torch"}


def test_agreement_by_hand():
    ref = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.3, 0.3, 0.4]])
    cand = np.array([[0.6, 0.3, 0.1], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4]])
    # argmax 0,1,2 vs 0,0,2: one flip; per row max |Δp| = 0.1, 0.2, 0.0
    got = ob.agreement(ref, cand)
    assert got["argmax_agreement"] == pytest.approx(2 / 3) and got["flips"] == 1 and got["n"] == 3
    assert got["mean_abs_dp"] == pytest.approx(0.1) and got["max_abs_dp"] == pytest.approx(0.2)
    assert ob.judge(2.0, got, 0.995, 1.0).startswith("argmax agreement 0.6667 < 0.995 (1 of 3")
    same = ob.agreement(ref, ref)
    assert ob.judge(0.9, same, 0.995, 1.0) == "0.90x torch's speed, below the 1.0x required"
    assert ob.judge(1.1, same, 0.995, 1.0) is None
    with pytest.raises(ValueError, match="compared with"):
        ob.agreement(ref, cand[:2])


def test_timing_alternates_order_and_restores_the_engine(saved):
    clf = load_classifier(saved[0], backend="torch")
    order = []

    def runner(name):
        return lambda batch: order.append(name) or np.full((len(batch), 3), 1 / 3)

    own = clf.engine.run_batch
    seconds, cpu, probs = ob.time_backends(clf, keys_of(clf, TEXTS[:1]), {"a": runner("a"), "b": runner("b")},
                                      rounds=3)
    assert order == ["a", "b", "b", "a", "a", "b"]  # every run misses the cache
    assert [len(s) for s in seconds.values()] == [3, 3] == [len(c) for c in cpu.values()] and set(probs) == {"a", "b"}
    assert clf.engine.run_batch == own


def test_optimize_writes_the_backend_and_load_uses_it(model_dir):
    result = ob.optimize(model_dir, TEXTS, backends="onnx", rounds=1, min_speedup=0.0, threads=1)
    assert result["accepted"] == "onnx" and result["n"] == 7  # unique inputs
    row = result["candidates"][0]
    assert row["argmax_agreement"] == 1.0 and row["max_abs_dp"] < 1e-5 and row["reason"] is None
    info = json.loads((model_dir / "backend.json").read_text())
    assert info["file"] == "model.onnx" and (model_dir / "model.onnx").is_file()
    assert info["source_weights"]["sha256"] == ob.weights_hash(model_dir)
    clf = load_classifier(model_dir)
    assert clf.describe()["forward_backend"]["name"] == "onnx"
    torch_clf = load_classifier(model_dir, backend="torch")
    np.testing.assert_allclose(clf.predict_proba(TEXTS), torch_clf.predict_proba(TEXTS), atol=1e-5)
    assert torch_clf.describe()["forward_backend"]["name"] == "torch"
    clf.invalidate()  # the weights changed: the export no longer matches them
    assert clf.describe()["forward_backend"]["name"] == "torch" and clf.engine.run_batch == clf._run_batch


def test_bf16_is_saved_without_a_file_and_used_on_load(model_dir):
    result = ob.optimize(model_dir, TEXTS, backends="torch-bf16", rounds=1, min_speedup=0.0)
    assert result["accepted"] == "torch-bf16" and result["onnxruntime"] is None
    assert [p.split("/")[-1] for p in result["written"]] == ["backend.json"]
    assert json.loads((model_dir / "backend.json").read_text())["file"] is None
    clf = load_classifier(model_dir)
    assert clf.describe()["forward_backend"]["name"] == "torch-bf16"
    np.testing.assert_allclose(clf.predict_proba(TEXTS), load_classifier(model_dir, backend="torch").predict_proba(TEXTS),
                               atol=0.05)


def test_a_rejected_backend_says_why_and_removes_the_previous_one(model_dir):
    ob.optimize(model_dir, TEXTS, backends="onnx", rounds=1, min_speedup=0.0, threads=1)
    result = ob.optimize(model_dir, TEXTS, backends="onnx", rounds=1, min_speedup=1e9, threads=1)
    assert result["accepted"] is None and "below the 1000000000.0x required" in result["candidates"][0]["reason"]
    assert not (model_dir / "backend.json").exists() and not (model_dir / "model.onnx").exists()
    assert load_classifier(model_dir).describe()["forward_backend"]["name"] == "torch"


def test_a_stale_backend_is_ignored_with_a_warning(model_dir):
    ob.optimize(model_dir, TEXTS, backends="onnx", rounds=1, min_speedup=0.0, threads=1)
    clf = load_classifier(model_dir, backend="torch")
    import torch

    with torch.no_grad():
        clf.model.classifier.bias += 1.0
    clf.save(model_dir)  # new weights; backend.json still names the old ones
    with pytest.warns(RuntimeWarning, match="stale"):
        again = load_classifier(model_dir)
    assert again.describe()["forward_backend"]["name"] == "torch"
    with pytest.raises(ModelError, match="stale"):
        load_classifier(model_dir, backend="onnx")


def test_backend_choice_and_environment(model_dir, monkeypatch):
    with pytest.raises(ModelError, match="no backend.json: run `rationales optimize"):
        load_classifier(model_dir, backend="onnx")
    with pytest.raises(ParameterError, match="expected one of auto, torch, onnx"):
        load_classifier(model_dir, backend="onnx-fp16")
    ob.optimize(model_dir, TEXTS, backends="onnx", rounds=1, min_speedup=0.0, threads=1)
    with pytest.raises(ModelError, match="holds the 'onnx' backend, not 'onnx-int8'"):
        load_classifier(model_dir, backend="onnx-int8")
    monkeypatch.setenv(ob.BACKEND_ENV, "torch")
    assert load_classifier(model_dir).describe()["forward_backend"]["name"] == "torch"
    assert load_classifier(model_dir, backend="auto").describe()["forward_backend"]["name"] == "onnx"
    monkeypatch.setenv(ob.BACKEND_ENV, "onnx")
    with pytest.raises(ParameterError, match=r"\$RATIONALES_BACKEND='onnx': expected auto or torch"):
        load_classifier(model_dir)


def test_missing_onnxruntime_is_a_clear_error(model_dir, monkeypatch):
    ob.optimize(model_dir, TEXTS, backends="onnx", rounds=1, min_speedup=0.0, threads=1)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(ModelError, match=r"needs onnxruntime, which is not installed: pip install 'rationales\[fast\]'"):
        ob.optimize(model_dir, TEXTS, backends="onnx")
    with pytest.warns(RuntimeWarning, match="needs onnxruntime"):
        clf = load_classifier(model_dir)
    assert clf.describe()["forward_backend"]["name"] == "torch"


def test_optimize_rejects_bad_arguments(model_dir, tmp_path):
    with pytest.raises(ParameterError, match="expected a comma list of onnx"):
        ob.optimize(model_dir, TEXTS, backends="onnx,tensorrt")
    with pytest.raises(ParameterError, match="min_agreement=99.5"):
        ob.optimize(model_dir, TEXTS, min_agreement=99.5)
    with pytest.raises(ModelError, match="not a model folder saved by rationales"):
        ob.optimize(tmp_path, TEXTS)


def test_cli_optimize_end_to_end(model_dir, tmp_path):
    from typer.testing import CliRunner

    from rationales.cli import app

    data = tmp_path / "posts.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    out = tmp_path / "result.json"
    args = ["optimize", "--model", str(model_dir), "--data", str(data), "--backends", "onnx", "--rounds", "1",
            "--min-speedup", "0", "--threads", "1", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "onnx accepted, written to" in result.output and "model.onnx, backend.json" in result.output
    saved = json.loads(out.read_text())
    assert saved["accepted"] == "onnx" and "posts" in saved["data"]
    assert json.loads((model_dir / "backend.json").read_text())["backend"] == "onnx"
    bad = CliRunner().invoke(app, ["optimize", "--model", str(model_dir), "--data", str(data), "--backends", "gpu"])
    assert bad.exit_code == 2 and "--backends" in bad.output
