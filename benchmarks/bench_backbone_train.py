"""Backbones side by side under one training recipe (EmbeddingGemma's in docs/models.md).

HateXplain val -> test, 3 classes, 2 epochs, max length 96, batch 16, lr 5e-5, seed 0,
embeddings frozen, bf16 autocast, 2 threads. Training is timed without evaluation; the
test split is then classified once through the engine (fp32). Prints one JSON line per
backbone: seconds per epoch, test forward seconds per post, peak RSS, accuracy, macro-F1,
AUROC. Run the backbones one after another on a quiet machine:

    RATIONALES_DATA=/work/shared/data .venv/bin/python benchmarks/bench_backbone_train.py \
        minilm-en e5-multilingual

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


if __name__ == "__main__":
    for name in sys.argv[1:] or ["minilm-en"]:
        # peak RSS is per process: run one backbone per process for a clean figure
        print(json.dumps(run(name)), flush=True)
