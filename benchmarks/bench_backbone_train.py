"""Backbones side by side under one training recipe (EmbeddingGemma's in docs/models.md).

HateXplain val -> test, 3 classes, 2 epochs, max length 96, batch 16, lr 5e-5, seed 0,
embeddings frozen, bf16 autocast, 2 threads. Training is timed without evaluation; the
test split is then classified once through the engine (fp32). Prints one JSON line per
backbone: seconds per epoch, test forward seconds per post, peak RSS, accuracy, macro-F1,
AUROC. Run the backbones one after another on a quiet machine:

    RATIONALES_DATA=/work/shared/data .venv/bin/python benchmarks/bench_backbone_train.py \
        minilm-en e5-multilingual

``--steps N B1 B2 ...``: seconds per training step of each backbone measured side by side
in one process instead (the same recipe, one epoch on the same N batches of 16 posts, a
seeded sample; the backbones run in the order given, then reversed, and each one's two
timings are averaged, so a drift in machine load falls on all of them alike). Prints the
ratio to the first backbone and the seconds per epoch it implies for the 1,922 posts
(121 steps), for machines that are never quiet:

    .venv/bin/python benchmarks/bench_backbone_train.py --steps 8 minilm-en e5-multilingual embeddinggemma-300m

With ``RATIONALES_SAVE=DIR`` each trained model is saved to DIR/BACKBONE (for the
six-method explanation table: ``rationales benchmark --model DIR/BACKBONE ...``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import rationales as rx
from _data import data_dir
from rationales.evaluation.classification import classification_metrics


def run(backbone: str) -> dict:
    train = rx.load_dataset("hatexplain", split="val", data_dir=data_dir())
    test = rx.load_dataset("hatexplain", split="test", data_dir=data_dir())
    t0 = time.perf_counter()
    clf = rx.train(train, backbone=backbone, epochs=2, batch_size=16, lr=5e-5, max_length=96,
                   freeze="embeddings", bf16=True, seed=0, threads=2, progress=False)
    train_s = time.perf_counter() - t0
    if os.environ.get("RATIONALES_SAVE"):
        clf.save(os.path.join(os.environ["RATIONALES_SAVE"], backbone))
    t0 = time.perf_counter()
    probs = clf.predict_proba(list(test))
    forward_s = (time.perf_counter() - t0) / len(test)
    metrics = {r.name: r.value for r in classification_metrics([ex.id for ex in test], [ex.label for ex in test],
                                                                probs, clf.label_names)}
    return {"backbone": backbone, "train_seconds": round(train_s, 1), "s_per_epoch": round(train_s / 2, 1),
            "test_forward_s_per_post": round(forward_s, 4),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "metrics": {k: metrics[k] for k in ("accuracy", "macro_f1", "auroc")}}


def steps(n_batches: int, backbones: list[str]) -> dict:
    import random

    train = list(rx.load_dataset("hatexplain", split="val", data_dir=data_dir()))
    names = rx.load_dataset("hatexplain", split="val", data_dir=data_dir()).label_names
    sample = random.Random(0).sample(train, n_batches * 16)
    seconds: dict[str, list[float]] = {b: [] for b in backbones}
    for b in [*backbones, *reversed(backbones)]:
        clf = rx.train(rx.Dataset(sample, names), backbone=b, epochs=1, batch_size=16, lr=5e-5, max_length=96,
                       freeze="embeddings", bf16=True, seed=0, threads=2, progress=False)
        # the optimizer steps alone (train_config's throughput), without loading the model
        seconds[b].append(clf.train_config["throughput"]["step_seconds"] / n_batches)  # type: ignore[attr-defined]
        print(json.dumps({"backbone": b, "s_per_step": round(seconds[b][-1], 3)}), flush=True)
    per = {b: sum(v) / len(v) for b, v in seconds.items()}
    steps_per_epoch = -(-1922 // 16)
    return {"batches": n_batches, "s_per_step": {b: round(v, 3) for b, v in per.items()},
            "ratio_to_first": {b: round(v / per[backbones[0]], 2) for b, v in per.items()},
            "implied_s_per_epoch": {b: round(v * steps_per_epoch, 1) for b, v in per.items()},
            "timed": "the training steps (forward, backward, optimizer), not loading the model"}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--steps"]:
        print(json.dumps(steps(int(sys.argv[2]), sys.argv[3:])), flush=True)
        sys.exit(0)
    for name in sys.argv[1:] or ["minilm-en"]:
        # peak RSS is per process: run one backbone per process for a clean figure
        print(json.dumps(run(name)), flush=True)
