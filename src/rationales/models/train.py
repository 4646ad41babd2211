"""Fine-tune a classifier, optionally supervising its [CLS] attention with rationales.

::

    import rationales as rx
    train = rx.load_dataset("hatexplain", split="val")
    test = rx.load_dataset("hatexplain", split="test")
    clf = rx.train(train, backbone="minilm-en", eval_data=test, rationale_loss="xmutest",
                   out="models/hx-minilm")

Stage 2 (X-MuTeST): ``rationales_from="explanations.jsonl"`` replaces each training
example's rationale by a machine rationale read from a JSONL of
``Explanation.to_dict()`` lines (what the explainers write); see
:mod:`rationales.models.machine_rationales`. ``machine_rationale`` is a rule of
:mod:`rationales.rules` (``xmutest``, ``top_k=K``, ``top_fraction=F``, ``threshold=T``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import InputError, ModelError, ParameterError
from ..progress import Progress
from ..types import Dataset, Example
from .base import Classifier
from .engine import set_threads
from .machine_rationales import read_machine_rationales

RATIONALE_LOSSES = (None, "hatexplain", "xmutest")


# -- training --------------------------------------------------------------------------
def _as_dataset(data: Dataset | Iterable[Example], label_names: Sequence[str] | None) -> Dataset:
    if isinstance(data, Dataset):
        return data
    examples = list(data)
    if label_names is None:
        raise ParameterError("pass a Dataset, or label_names= with a list of Examples")
    return Dataset(examples, list(label_names))


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(
    train_data: Dataset | Iterable[Example],
    *,
    backbone: str | Classifier = "minilm-en",
    eval_data: Dataset | Iterable[Example] | None = None,
    rationale_loss: str | None = None,
    rationale_weight: float = 0.001,
    rationale_gamma: float = 5.0,
    alpha: float = 0.7,
    epochs: int = 3,
    batch_size: int = 16,
    lr: float = 2e-5,
    warmup: float = 0.1,
    weight_decay: float = 0.01,
    max_length: int | None = 128,
    seed: int = 0,
    out: str | Path | None = None,
    rationales_from: str | Path | None = None,
    machine_rationale: str = "xmutest",
    label_names: Sequence[str] | None = None,
    progress: bool = True,
    threads: int | None = None,
    freeze: str | int = "none",
) -> Classifier:
    """Fine-tune ``backbone`` on ``train_data``; returns the best classifier by macro-F1.

    ``backbone``: a registered name, a model folder, or a Classifier to continue from.
    ``rationale_loss``: None, ``"hatexplain"`` (CE + rationale_weight · CE(attention,
    softmax(rationale_gamma · mask))) or ``"xmutest"`` ((1 − alpha) · CE + alpha ·
    BCE(attention, mask)). ``warmup`` is the fraction of steps with a linear warm-up,
    followed by linear decay. With ``eval_data`` the model is evaluated each epoch and
    the best epoch by macro-F1 is kept. ``out``: folder to save the model and metrics.
    ``freeze``: how deep to fine-tune (:func:`freeze`): ``"none"`` (all layers),
    ``"embeddings"`` (all but the embeddings), ``"encoder"`` (the head only) or the number
    of top encoder layers to train.
    """
    if rationale_loss not in RATIONALE_LOSSES:
        raise ParameterError(f"rationale_loss must be one of {RATIONALE_LOSSES}, got {rationale_loss!r}")
    if epochs < 1 or batch_size < 1:
        raise ParameterError("epochs and batch_size must be at least 1")
    train_ds = _as_dataset(train_data, label_names)
    names = list(train_ds.label_names)
    if any(ex.label is None for ex in train_ds):
        raise InputError(f"{train_ds.full_name}: every training example needs a label")
    eval_ds = _as_dataset(eval_data, names) if eval_data is not None else None
    if eval_ds is not None and list(eval_ds.label_names) != names:
        raise ParameterError(f"eval data labels {eval_ds.label_names} differ from training labels {names}")

    examples = list(train_ds)
    stage2: dict[str, Any] | None = None
    if rationales_from is not None:
        examples, stage2 = read_machine_rationales(rationales_from, examples, machine_rationale)
    config = {
        "train_data": train_ds.full_name, "n_train": len(examples),
        "eval_data": eval_ds.full_name if eval_ds is not None else None,
        "backbone": backbone if isinstance(backbone, str) else getattr(backbone, "backbone", backbone.name),
        "rationale_loss": rationale_loss, "rationale_weight": rationale_weight,
        "rationale_gamma": rationale_gamma, "alpha": alpha, "epochs": epochs,
        "batch_size": batch_size, "lr": lr, "warmup": warmup, "weight_decay": weight_decay,
        "max_length": max_length, "seed": seed, "rationales_from": stage2, "freeze": freeze,
        "n_with_rationale": sum(ex.rationale is not None for ex in examples),
    }
    clf = _initial_classifier(backbone, names, seed, max_length)
    if clf.differentiable:
        set_threads(threads)  # process-wide, like every torch thread setting
        _fit_transformer(clf, examples, eval_ds, config, progress=progress)
    else:
        if freeze != "none":
            raise ModelError(f"backbone {config['backbone']!r} has no layers to freeze; freeze= applies to transformers")
        if rationale_loss is not None:
            raise ModelError(
                f"backbone {config['backbone']!r} has no attention to supervise; "
                f"use a transformer backbone for rationale_loss={rationale_loss!r}")
        fit = getattr(clf, "fit", None)
        if not callable(fit):
            raise ModelError(f"model {clf.name!r} is neither a transformer nor has fit(examples); "
                             f"it cannot be trained here")
        start = time.perf_counter()
        fit(examples)
        config["train_seconds"] = round(time.perf_counter() - start, 2)
        if eval_ds is not None:
            clf.metrics = {"eval": _evaluate(clf, eval_ds)}
    clf.train_config = config
    if out is not None:
        clf.save(out)
    return clf


def _initial_classifier(backbone: str | Classifier, names: list[str], seed: int,
                        max_length: int | None) -> Classifier:
    from . import load_classifier

    if isinstance(backbone, Classifier):
        clf = backbone
    else:
        path = Path(backbone)
        if path.is_dir() and (path / "rationales.json").is_file():
            clf = load_classifier(path)
        elif backbone == "tfidf":
            clf = load_classifier("tfidf", label_names=names, seed=seed)
        else:
            clf = load_classifier(backbone, label_names=names, seed=seed, max_length=max_length)
    if list(clf.label_names) != names:
        raise ModelError(
            f"model {clf.name!r} has labels {clf.label_names}, the training data {names}; "
            f"train from a backbone name to get a new head")
    return clf


def _evaluate(clf: Classifier, ds: Dataset) -> dict[str, Any]:
    """The same accuracy / macro-F1 / AUROC as ``rationales evaluate`` reports."""
    from ..evaluation.classification import classification_summary

    labelled = [ex for ex in ds if ex.label is not None]
    probs = clf.predict_proba(labelled)
    return classification_summary(probs, [int(ex.label or 0) for ex in labelled], clf.label_names,
                                  f"on={ds.full_name} ({len(labelled)} labelled)")


def _batch(clf: Any, examples: Sequence[Example]) -> dict[str, Any]:
    import torch

    encs = [clf.encode(ex) for ex in examples]
    longest = max(len(e.input_ids) for e in encs)
    ids = torch.full((len(encs), longest), clf.pad_token_id, dtype=torch.long)
    att = torch.zeros((len(encs), longest), dtype=torch.long)
    word_index = torch.full((len(encs), longest), -1, dtype=torch.long)
    for i, e in enumerate(encs):
        n = len(e.input_ids)
        ids[i, :n] = torch.tensor(e.input_ids)
        att[i, :n] = 1
        word_index[i, :n] = torch.tensor(e.word_index)
    labels = torch.tensor([int(ex.label or 0) for ex in examples], dtype=torch.long)
    # words past the truncation point have no tokens, so the rationale needs no cut
    return {"input_ids": ids, "attention_mask": att, "word_index": word_index, "labels": labels,
            "rationales": [ex.rationale for ex in examples]}


FREEZE_SCHEMES = ("none", "embeddings", "encoder")


def freeze(model: Any, scheme: str | int) -> dict[str, int]:
    """Set ``requires_grad`` for a fine-tuning depth (GECOBench's central experiment).

    ``"none"``: train every parameter; ``"embeddings"``: everything but the input
    embeddings; ``"encoder"``: the classification head only (embeddings, encoder layers
    and pooler frozen); an integer N: the top N encoder layers, the pooler and the head.
    Returns the counts of trainable and frozen parameters.
    """
    base = getattr(model, "base_model", None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if base is None or layers is None or getattr(base, "embeddings", None) is None:
        raise ModelError(f"cannot freeze {type(model).__name__}: it has no base_model.embeddings / "
                         f"base_model.encoder.layer (a BERT-style encoder)")
    n_layers = len(layers)
    if isinstance(scheme, str) and scheme.strip().isdigit():
        scheme = int(scheme)
    if isinstance(scheme, int):
        if not 0 <= scheme <= n_layers:
            raise ParameterError(f"freeze={scheme}: the model has {n_layers} encoder layers; give 0..{n_layers}")
    elif scheme not in FREEZE_SCHEMES:
        raise ParameterError(f"freeze={scheme!r}; use one of {FREEZE_SCHEMES} or the number of top layers to train")
    for p in model.parameters():
        p.requires_grad = True
    if scheme == "embeddings":
        frozen = list(base.embeddings.parameters())
    elif scheme == "encoder":
        frozen = list(base.parameters())
    elif isinstance(scheme, int):
        frozen = list(base.embeddings.parameters())
        for layer in list(layers)[: n_layers - scheme]:
            frozen += list(layer.parameters())
    else:
        frozen = []
    for p in frozen:
        p.requires_grad = False
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable_parameters": int(trainable),
            "frozen_parameters": int(sum(p.numel() for p in model.parameters()) - trainable)}


def _fit_transformer(clf: Any, examples: list[Example], eval_ds: Dataset | None,
                     config: dict[str, Any], *, progress: bool) -> None:
    import torch
    from transformers import get_linear_schedule_with_warmup

    from .losses import cls_attention, combined_loss, token_targets
    from .transformer import eager_attention

    kind = config["rationale_loss"]
    seed = config["seed"]
    _seed_everything(seed)
    model = clf.model
    config["freeze_counts"] = freeze(model, config["freeze"])
    steps_per_epoch = math.ceil(len(examples) / config["batch_size"])
    total = steps_per_epoch * config["epochs"]
    no_decay = ("bias", "LayerNorm.weight", "layernorm", "layer_norm")
    groups = [
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and not any(k in n for k in no_decay)],
         "weight_decay": config["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and any(k in n for k in no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config["lr"])
    scheduler = get_linear_schedule_with_warmup(optimizer, int(round(config["warmup"] * total)), total)
    order_rng = np.random.RandomState(seed)
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    best_metrics: dict[str, Any] | None = None
    start = time.perf_counter()
    bar = Progress(total, "training", enabled=progress)
    try:
        with eager_attention(model) if kind else contextlib.nullcontext():
            for epoch in range(1, config["epochs"] + 1):
                model.train()
                order = order_rng.permutation(len(examples))
                losses: list[float] = []
                for s in range(steps_per_epoch):
                    chunk = [examples[i] for i in order[s * config["batch_size"]:(s + 1) * config["batch_size"]]]
                    b = _batch(clf, chunk)
                    out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"],
                                output_attentions=bool(kind))
                    ce = torch.nn.functional.cross_entropy(out.logits, b["labels"])
                    attention = target = valid = None
                    if kind:
                        attention = cls_attention(out.attentions[-1])
                        target, valid = token_targets(b["word_index"], b["rationales"])
                    loss, parts = combined_loss(kind, ce, attention, target, valid,
                                                weight=config["rationale_weight"],
                                                gamma=config["rationale_gamma"], alpha=config["alpha"])
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    losses.append(float(loss.detach()))
                    bar.advance(note=f"epoch {epoch} loss {np.mean(losses[-20:]):.4f}")
                model.eval()
                clf.engine.clear_cache()
                record: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses)),
                                          "losses": [round(x, 6) for x in losses]}
                if eval_ds is not None:
                    metrics = _evaluate(clf, eval_ds)
                    record["eval"] = metrics
                    bar.print(f"epoch {epoch}: loss {record['train_loss']:.4f}  accuracy "
                             f"{metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}")
                    if best is None or metrics["macro_f1"] > best[0]:
                        best = (metrics["macro_f1"], epoch, copy.deepcopy(model.state_dict()))
                        best_metrics = metrics
                else:
                    bar.print(f"epoch {epoch}: loss {record['train_loss']:.4f}")
                history.append(record)
    finally:
        bar.close()
        model.eval()
        for p in model.parameters():  # a frozen model is frozen only while it trains
            p.requires_grad = True
    if best is not None:
        model.load_state_dict(best[2])
    clf.engine.clear_cache()
    config["train_seconds"] = round(time.perf_counter() - start, 2)
    config["best_epoch"] = best[1] if best is not None else config["epochs"]
    clf.metrics = {"eval": best_metrics, "best_epoch": config["best_epoch"],
                   "history": [{k: v for k, v in h.items() if k != "losses"} for h in history]}
    clf.history = history
