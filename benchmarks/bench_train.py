"""Real training runs: a backbone trained on HateXplain val, evaluated on HateXplain test.

Runs each rationale-loss setting in turn (none, hatexplain, xmutest), prints accuracy,
macro-F1, AUROC (one-vs-rest) and wall time, and writes the models and a summary JSON
under --out. Example (about 10 minutes a MiniLM run on 2 CPU cores)::

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/bench_train.py \
        --backbone minilm-en --out models/bench
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _data import data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="minilm-en")
    parser.add_argument("--losses", default="none,hatexplain,xmutest")
    parser.add_argument("--train", default="hatexplain:val")
    parser.add_argument("--eval", default="hatexplain:test")
    parser.add_argument("--data-dir", default=data_dir(),
                        help="default: $RATIONALES_DATA, else ../shared/data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--rationale-weight", type=float, default=0.001)
    parser.add_argument("--alpha", type=float, default=0.7,
                        help="weight of the attention BCE in the xmutest loss (1 - alpha weights the CE)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="models/bench")
    parser.add_argument("--tag", default="", help="appended to the model folders and summary name, "
                        "e.g. --tag=-w1 for a --rationale-weight 1 run beside the default one")
    args = parser.parse_args()

    from rationales.data import load_spec
    from rationales.models.train import train

    train_ds = load_spec(args.train, data_dir=args.data_dir)
    eval_ds = load_spec(args.eval, data_dir=args.data_dir)
    out = Path(args.out)
    rows = []
    for kind in args.losses.split(","):
        loss = None if kind == "none" else kind
        start = time.perf_counter()
        clf = train(train_ds, backbone=args.backbone, eval_data=eval_ds, rationale_loss=loss,
                    rationale_weight=args.rationale_weight, alpha=args.alpha, epochs=args.epochs,
                    batch_size=args.batch_size, lr=args.lr, max_length=args.max_length,
                    seed=args.seed, out=out / f"{args.backbone}-{kind}{args.tag}", progress=False)
        wall = time.perf_counter() - start
        m = clf.metrics["eval"]
        row = {"backbone": args.backbone, "rationale_loss": kind, "accuracy": m["accuracy"],
               "macro_f1": m["macro_f1"], "auroc": m["auroc"],
               "best_epoch": clf.train_config.get("best_epoch"),
               "train_seconds": clf.train_config.get("train_seconds"), "wall_seconds": round(wall, 1),
               "config": {k: clf.train_config[k] for k in
                          ("epochs", "batch_size", "lr", "max_length", "seed", "rationale_weight",
                           "rationale_gamma", "alpha")}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"summary-{args.backbone}{args.tag}.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"\n{'backbone':<16}{'loss':<12}{'acc':>8}{'macroF1':>9}{'AUROC':>8}{'seconds':>9}")
    for r in rows:
        print(f"{r['backbone']:<16}{r['rationale_loss']:<12}{r['accuracy']:>8.4f}{r['macro_f1']:>9.4f}"
              f"{r['auroc']:>8.4f}{r['wall_seconds']:>9.1f}")


if __name__ == "__main__":
    main()
