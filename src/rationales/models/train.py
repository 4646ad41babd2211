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

``rationale_loss="prior"`` reads the same JSONL as soft priors instead: the model's own
gradient × input attribution is aligned with each example's scores
(:func:`rationales.models.losses.prior_loss`).

Throughput: batches are grouped by length (:func:`length_grouped_batches`) so that little
of each batch is padding; ``grad_accum`` accumulates gradients over several batches per
optimizer step, and ``bf16`` runs the forward and backward under bfloat16 autocast where
the CPU has native bf16 (:func:`bf16_support`).
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import InputError, ModelError, ParameterError
from ..progress import Progress
from ..types import Dataset, Example
from .base import Classifier
from .engine import set_threads
from .machine_rationales import read_machine_rationales, read_priors

RATIONALE_LOSSES = (None, "hatexplain", "xmutest", "prior")
#: the losses that supervise the [CLS] attention (the model runs with eager attention)
ATTENTION_LOSSES = ("hatexplain", "xmutest")
#: batches per length bucket (:func:`length_grouped_batches`)
BUCKET_BATCHES = 50


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
    freeze: str | int | None = None,
    prior_alignment: str = "kl",
    prior_weight: float = 1.0,
    prior_temperature: float = 0.5,
    group_by_length: bool = True,
    grad_accum: int = 1,
    bf16: bool = False,
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
    of top encoder layers to train; None (the default): the backbone's own default
    (:func:`default_freeze`: ``"embeddings"`` for ``embeddinggemma-300m``, else ``"none"``).
    Frozen parameters get no optimizer state.

    ``rationale_loss="prior"``: CE + prior_weight · alignment between the model's
    gradient × input attribution (summed to words) and the scores of the explanations in
    ``rationales_from`` (required; any method's ``rationales explain --out`` JSONL).
    ``prior_alignment``: ``"kl"`` (KL(softmax(prior/T) ‖ softmax(attribution/T)), T =
    ``prior_temperature``) or ``"mse"``, both on scores divided by their largest
    absolute value (:mod:`rationales.models.losses` says why). Examples without a prior
    are trained with CE only; the training config counts them.

    ``group_by_length``: batches of similar token length (sorted within buckets of
    50 batches; the buckets and the batches are shuffled, seeded), so little of each batch
    is padding; False draws random batches. ``grad_accum``: batches per optimizer step
    (the effective batch is batch_size × grad_accum; the warm-up and decay count optimizer
    steps). ``bf16``: bfloat16 autocast on the CPU where it has native bf16 (AVX512-BF16
    or AMX); elsewhere a warning, and fp32.
    """
    if rationale_loss not in RATIONALE_LOSSES:
        raise ParameterError(f"rationale_loss must be one of {RATIONALE_LOSSES}, got {rationale_loss!r}")
    if epochs < 1 or batch_size < 1:
        raise ParameterError("epochs and batch_size must be at least 1")
    if isinstance(grad_accum, bool) or not isinstance(grad_accum, int) or grad_accum < 1:
        raise ParameterError(f"grad_accum must be a whole number of batches, at least 1; got {grad_accum!r}")
    if rationale_loss == "prior":
        from .losses import PRIOR_ALIGNMENTS

        if prior_alignment not in PRIOR_ALIGNMENTS:
            raise ParameterError(f"prior_alignment must be one of {PRIOR_ALIGNMENTS}, got {prior_alignment!r}")
        if not prior_temperature > 0:
            raise ParameterError(f"prior_temperature must be above 0, got {prior_temperature}")
        if rationales_from is None:
            raise ParameterError("rationale_loss='prior' needs rationales_from= (--rationales-from): a JSONL "
                                 "of explanations of the training examples (e.g. from `rationales explain "
                                 "--out`) whose scores are the priors")
    train_ds = _as_dataset(train_data, label_names)
    names = list(train_ds.label_names)
    if any(ex.label is None for ex in train_ds):
        raise InputError(f"{train_ds.full_name}: every training example needs a label")
    eval_ds = _as_dataset(eval_data, names) if eval_data is not None else None
    if eval_ds is not None and list(eval_ds.label_names) != names:
        raise ParameterError(f"eval data labels {eval_ds.label_names} differ from training labels {names}")

    examples = list(train_ds)
    stage2: dict[str, Any] | None = None
    priors: dict[str, tuple[tuple[float, ...], int]] | None = None
    if rationale_loss == "prior":
        assert rationales_from is not None
        priors, stage2 = read_priors(rationales_from, examples, len(names))
    elif rationales_from is not None:
        examples, stage2 = read_machine_rationales(rationales_from, examples, machine_rationale)
    freeze = default_freeze(backbone) if freeze is None else freeze
    config = {
        "train_data": train_ds.full_name, "n_train": len(examples),
        "eval_data": eval_ds.full_name if eval_ds is not None else None,
        "backbone": backbone if isinstance(backbone, str) else getattr(backbone, "backbone", backbone.name),
        "rationale_loss": rationale_loss, "rationale_weight": rationale_weight,
        "rationale_gamma": rationale_gamma, "alpha": alpha, "epochs": epochs,
        "batch_size": batch_size, "lr": lr, "warmup": warmup, "weight_decay": weight_decay,
        "max_length": max_length, "seed": seed, "rationales_from": stage2, "freeze": freeze,
        "n_with_rationale": sum(ex.rationale is not None for ex in examples),
        "group_by_length": bool(group_by_length), "grad_accum": grad_accum, "bf16": bool(bf16),
    }
    if rationale_loss == "prior":
        assert priors is not None
        config.update(prior_alignment=prior_alignment, prior_weight=prior_weight,
                      prior_temperature=prior_temperature, n_with_prior=len(priors))
    clf = _initial_classifier(backbone, names, seed, max_length)
    if clf.differentiable:
        set_threads(threads)  # process-wide, like every torch thread setting
        _fit_transformer(clf, examples, eval_ds, config, progress=progress, priors=priors)
    else:
        if freeze != "none":
            raise ModelError(f"backbone {config['backbone']!r} has no layers to freeze; freeze= applies to transformers")
        if rationale_loss is not None:
            what = "gradients to align with a prior" if rationale_loss == "prior" else "attention to supervise"
            raise ModelError(
                f"backbone {config['backbone']!r} has no {what}; "
                f"use a transformer backbone for rationale_loss={rationale_loss!r}")
        if grad_accum != 1 or bf16:
            raise ModelError(f"backbone {config['backbone']!r} is not trained in batches; grad_accum= and "
                             f"bf16= apply to transformers")
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
            clf = load_classifier(path, backend="torch")  # its weights change: no exported forward
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


def _batch(clf: Any, examples: Sequence[Example],
           priors: dict[str, tuple[tuple[float, ...], int]] | None = None) -> dict[str, Any]:
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
    batch = {"input_ids": ids, "attention_mask": att, "word_index": word_index, "labels": labels,
             "rationales": [ex.rationale for ex in examples]}
    if priors is not None:
        n_words = max(1, max(len(ex.words) for ex in examples))
        prior = torch.zeros((len(examples), n_words), dtype=torch.float32)
        has_prior = torch.zeros((len(examples), n_words), dtype=torch.bool)
        targets = labels.clone()
        for i, ex in enumerate(examples):
            found = priors.get(ex.id)
            if found is None:
                continue
            scores, target = found
            prior[i, :len(scores)] = torch.tensor(scores, dtype=torch.float32)
            has_prior[i, :len(scores)] = True
            targets[i] = target
        batch.update(prior=prior, has_prior=has_prior, prior_targets=targets)
    return batch


# -- batches ---------------------------------------------------------------------------
def random_batches(n: int, batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """A random order of ``range(n)`` cut into batches of ``batch_size`` (the last may be short)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: np.random.RandomState,
                           bucket_batches: int = BUCKET_BATCHES) -> list[np.ndarray]:
    """Batches of similar length, in a random order: every index exactly once.

    The indices are shuffled and cut into buckets of ``bucket_batches`` batches; each
    bucket is sorted by length (longest first) and cut into batches; the batches of all
    buckets are then shuffled together. Padding is what the longest example of a batch
    adds to the others, so sorted batches pad little, while the buckets keep which
    examples meet in a batch random from epoch to epoch. Only the last bucket can end
    in a short batch, so there are ``ceil(n / batch_size)`` batches, as without grouping.
    """
    if batch_size < 1 or bucket_batches < 1:
        raise ParameterError("batch_size and bucket_batches must be at least 1")
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    order = rng.permutation(len(lengths_arr))
    size = batch_size * bucket_batches
    batches: list[np.ndarray] = []
    for start in range(0, len(order), size):
        bucket = order[start:start + size]
        bucket = bucket[np.argsort(-lengths_arr[bucket], kind="stable")]
        batches += [bucket[i:i + batch_size] for i in range(0, len(bucket), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def padded_tokens(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> int:
    """Tokens the model runs for ``batches`` when each is padded to its longest example."""
    return int(sum(len(b) * max(lengths[i] for i in b) for b in batches if len(b)))


# -- optimizer and precision -------------------------------------------------------------
NO_DECAY = ("bias", "LayerNorm.weight", "layernorm", "layer_norm", "norm.weight")


def build_optimizer(model: Any, lr: float, weight_decay: float) -> Any:
    """AdamW over the trainable parameters only (frozen ones get no optimizer state);
    biases and normalisation weights without weight decay."""
    import torch

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ModelError("every parameter is frozen: nothing to train")
    decay = [p for n, p in named if not any(k in n for k in NO_DECAY)]
    plain = [p for n, p in named if any(k in n for k in NO_DECAY)]
    groups = [g for g in ({"params": decay, "weight_decay": weight_decay},
                          {"params": plain, "weight_decay": 0.0}) if g["params"]]
    return torch.optim.AdamW(groups, lr=lr)


def bf16_support() -> tuple[bool, str]:
    """Whether bfloat16 autocast is worth using on this CPU, and why (or why not).

    Native bf16 needs AVX512-BF16 or AMX; without either torch emulates it, slower
    than fp32. The check then runs one autocast matmul, which must come out in bf16.
    """
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    found = [bool(check()) for check in checks if callable(check)]
    if found and not any(found):
        return False, f"this CPU ({capability}) has neither AVX512-BF16 nor AMX; bf16 would be emulated, slower than fp32"
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = torch.ones(2, 2) @ torch.ones(2, 2)
    except (RuntimeError, TypeError) as exc:
        return False, f"bf16 autocast failed on this CPU ({capability}): {exc}"
    if out.dtype != torch.bfloat16:
        return False, f"autocast did not run a matmul in bf16 on this CPU ({capability})"
    how = "native bf16 (AVX512-BF16 or AMX)" if found else "bf16 autocast (native support not reported)"
    return True, f"{how}, CPU capability {capability}"


FREEZE_SCHEMES = ("none", "embeddings", "encoder")


def default_freeze(backbone: Any) -> str | int:
    """The freeze scheme a backbone trains with when none is given: its registry entry's
    ``train_defaults["freeze"]`` (EmbeddingGemma: ``"embeddings"``, which saves the
    optimiser state of its 201M-parameter embedding matrix), else ``"none"``."""
    from .backbones import BACKBONES

    if isinstance(backbone, str) and backbone in BACKBONES:
        scheme = BACKBONES.entry(backbone).info.get("train_defaults", {}).get("freeze")
        if scheme is not None:
            return scheme
    return "none"


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


def _precision(config: dict[str, Any]) -> Any:
    """The autocast context for the training forward and backward (bf16 or none)."""
    import torch

    if not config["bf16"]:
        config["bf16_used"] = False
        return contextlib.nullcontext
    ok, why = bf16_support()
    config["bf16_used"], config["bf16_note"] = ok, why
    if not ok:
        warnings.warn(f"bf16=True: {why}; training in fp32", RuntimeWarning, stacklevel=3)
        return contextlib.nullcontext
    return lambda: torch.autocast("cpu", dtype=torch.bfloat16)


def _step_loss(clf: Any, b: dict[str, Any], config: dict[str, Any]) -> tuple[Any, dict[str, float]]:
    """One batch's training loss (CE, or CE with the configured rationale loss) and its
    parts for the history (``ce``, and ``rationale`` or ``prior``)."""
    import torch

    from .losses import cls_attention, combined_loss, prior_loss, token_targets, word_attribution

    kind = config["rationale_loss"]
    model = clf.model
    if kind == "prior" and bool(b["has_prior"].any()):
        embeds = clf.embeddings()(b["input_ids"])
        if not embeds.requires_grad:  # frozen embeddings: still differentiate w.r.t. them
            embeds.requires_grad_(True)
        logits = model(inputs_embeds=embeds, attention_mask=b["attention_mask"]).logits.float()
        ce = torch.nn.functional.cross_entropy(logits, b["labels"])
        has = b["has_prior"].any(dim=1)
        chosen = logits.log_softmax(-1).gather(1, b["prior_targets"][:, None])[:, 0]
        (grad,) = torch.autograd.grad(chosen[has].sum(), embeds, create_graph=True)
        per_token = (grad.float() * embeds.float()).sum(-1)
        attribution, has_tokens = word_attribution(per_token, b["word_index"], b["prior"].shape[1])
        r = prior_loss(attribution, b["prior"], has_tokens & b["has_prior"],
                       config["prior_alignment"], config["prior_temperature"])
        return ce + config["prior_weight"] * r, {"ce": float(ce.detach()), "prior": float(r.detach())}
    supervise = kind in ATTENTION_LOSSES
    out = model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], output_attentions=supervise)
    ce = torch.nn.functional.cross_entropy(out.logits.float(), b["labels"])
    if not supervise:
        return ce, {"ce": float(ce.detach())}
    attention = cls_attention(out.attentions[-1].float())
    target, valid = token_targets(b["word_index"], b["rationales"])
    return combined_loss(kind, ce, attention, target, valid, weight=config["rationale_weight"],
                         gamma=config["rationale_gamma"], alpha=config["alpha"])


def _fit_transformer(clf: Any, examples: list[Example], eval_ds: Dataset | None,
                     config: dict[str, Any], *, progress: bool,
                     priors: dict[str, tuple[tuple[float, ...], int]] | None = None) -> None:
    import torch
    from transformers import get_linear_schedule_with_warmup

    from .transformer import eager_attention

    kind = config["rationale_loss"]
    seed = config["seed"]
    batch_size, accum = config["batch_size"], config["grad_accum"]
    _seed_everything(seed)
    model = clf.model
    config["freeze_counts"] = freeze(model, config["freeze"])
    lengths = [len(clf.encode(ex).input_ids) for ex in examples]
    n_batches = math.ceil(len(examples) / batch_size)
    steps_per_epoch = math.ceil(n_batches / accum)  # optimizer steps
    total = steps_per_epoch * config["epochs"]
    optimizer = build_optimizer(model, config["lr"], config["weight_decay"])
    config["optimizer_parameters"] = int(sum(p.numel() for g in optimizer.param_groups for p in g["params"]))
    scheduler = get_linear_schedule_with_warmup(optimizer, int(round(config["warmup"] * total)), total)
    precision = _precision(config)
    order_rng = np.random.RandomState(seed)
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    best_metrics: dict[str, Any] | None = None
    tokens = padded = 0
    step_seconds = 0.0
    start = time.perf_counter()
    bar = Progress(total, "training", enabled=progress)
    try:
        with eager_attention(model) if kind in ATTENTION_LOSSES else contextlib.nullcontext():
            for epoch in range(1, config["epochs"] + 1):
                model.train()
                if config["group_by_length"]:
                    batches = length_grouped_batches(lengths, batch_size, order_rng)
                else:
                    batches = random_batches(len(examples), batch_size, order_rng)
                losses: list[float] = []
                parts: dict[str, list[float]] = {}
                epoch_start = time.perf_counter()
                for s in range(steps_per_epoch):
                    group = batches[s * accum:(s + 1) * accum]
                    n_group = sum(len(idx) for idx in group)
                    optimizer.zero_grad(set_to_none=True)
                    step_loss = 0.0
                    for idx in group:
                        b = _batch(clf, [examples[i] for i in idx], priors)
                        with precision():
                            loss, step_parts = _step_loss(clf, b, config)
                        # weighted by examples, so the accumulated gradient is the gradient
                        # of the mean loss over the whole effective batch
                        share = len(idx) / n_group
                        (loss * share).backward()
                        step_loss += float(loss.detach()) * share
                        for name, value in step_parts.items():
                            parts.setdefault(name, []).append(value)
                        tokens += int(b["attention_mask"].sum())
                        padded += int(b["attention_mask"].numel())
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    losses.append(step_loss)
                    bar.advance(note=f"epoch {epoch} loss {np.mean(losses[-20:]):.4f}")
                step_seconds += time.perf_counter() - epoch_start
                model.eval()
                clf.engine.clear_cache()
                # a part's mean over the batches that had it (a batch without any prior
                # has no prior part)
                record: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses)),
                                          "parts": {k: float(np.mean(v)) for k, v in parts.items()},
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
    config["throughput"] = {
        "tokens": tokens, "padded_tokens": padded,
        "padding_share": round(1 - tokens / padded, 4) if padded else 0.0,
        "step_seconds": round(step_seconds, 2),
        "tokens_per_second": round(tokens / step_seconds, 1) if step_seconds > 0 else None,
    }
    clf.metrics = {"eval": best_metrics, "best_epoch": config["best_epoch"],
                   "history": [{k: v for k, v in h.items() if k != "losses"} for h in history]}
    clf.history = history
