"""Explanation accuracy vs fine-tuning depth (GECOBench's central experiment), on MiniLM.

For each freeze scheme (``none`` = all layers, ``embeddings``, ``encoder`` = head only, and
``--top-layers`` counts) it trains MiniLM on GECO ``gender_all`` train, then records the
test accuracy and every explainer's mass accuracy, top-k precision and ROC AUC on the test
split, with the uniform-random baseline, and GECOBench's relative mass accuracy
``log(ma / ma_ref - 1)`` against the ``--reference`` scheme (default: head only). Prints one table and writes JSON (and a PNG plot
with --plot).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_geco.py --epochs 2 --test-limit 200 \
        --methods occlusion,integrated_gradients,lime,ngram --out reports/geco-depth

It is slow on 2 cores (one training run per scheme); ``--train-limit`` and
``--test-limit`` cut it down for a smoke run, and the numbers then say so.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import rationales as rx
from _data import data_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="all", choices=["all", "subj"])
    ap.add_argument("--schemes", default="none,embeddings,encoder", help="freeze schemes, comma-separated")
    ap.add_argument("--top-layers", default="3", help="also train only the top N layers (comma list; '' = none)")
    ap.add_argument("--methods", default="occlusion,integrated_gradients,lime,ngram")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--train-limit", type=int, default=None, help="first N training sentences (smoke runs)")
    ap.add_argument("--test-limit", type=int, default=200, help="test sentences explained")
    ap.add_argument("--param", action="append", default=["lime.n_samples=200"], help="METHOD.NAME=VALUE")
    ap.add_argument("--out", type=Path, default=Path("reports/geco-depth"))
    ap.add_argument("--reference", default="encoder",
                    help="the scheme whose explanations are the reference of relative mass accuracy")
    ap.add_argument("--plot", action="store_true")
    args = ap.parse_args()

    ddir = data_dir()
    train = rx.load_dataset("geco", "train", variant=args.variant, data_dir=ddir)
    test = rx.load_dataset("geco", "test", variant=args.variant, data_dir=ddir)
    if args.train_limit:
        train = train[: args.train_limit]
    params: dict[str, dict[str, object]] = {}
    for item in args.param:
        key, _, value = item.partition("=")
        method, _, name = key.partition(".")
        params.setdefault(method, {})[name] = json.loads(value)
    methods = [m for m in args.methods.split(",") if m]
    params = {m: p for m, p in params.items() if m in methods}
    schemes: list[str | int] = [s for s in args.schemes.split(",") if s]
    schemes += [int(n) for n in args.top_layers.split(",") if n.strip()]

    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    explained = {}
    for scheme in schemes:
        t0 = time.perf_counter()
        clf = rx.train(train, backbone="minilm-en", epochs=args.epochs, max_length=args.max_length,
                       batch_size=16, lr=5e-5, freeze=scheme, progress=False)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = rx.benchmark(clf, test, methods, "geco", limit=args.test_limit, params=params, progress=False)
        explain_s = time.perf_counter() - t0
        acc = run.value("accuracy")
        explained[str(scheme)] = run.explanations
        counts = clf.train_config["freeze_counts"]
        for m in run.methods:
            rows.append({"scheme": str(scheme), "method": m, "accuracy": acc, **counts,
                         "train_seconds": round(train_s, 1), "benchmark_seconds": round(explain_s, 1),
                         **{k: run.value(k, m) for k in ("mass_accuracy", "top_k_precision", "gt_roc_auc",
                                                         "pair_difference", "token_f1", "comprehensiveness")}})
        print(f"{scheme}: accuracy {acc:.3f}, trained {counts['trainable_parameters']:,} parameters in "
              f"{train_s:.0f} s; benchmark {explain_s:.0f} s", flush=True)
    # GECOBench's relative mass accuracy, log(ma / ma_ref - 1), against the reference scheme's
    # explanation of the same sentence by the same method (defined only where ma > ma_ref)
    from rationales.evaluation.ground_truth import relative_mass_accuracy_result

    ref = explained.get(args.reference)
    for r in rows:
        if ref is None or r["scheme"] == args.reference:
            r.update(relative_mass_accuracy=None, share_above_reference=None)
            continue
        res = relative_mass_accuracy_result(explained[r["scheme"]], ref, test, method=r["method"])
        r.update(relative_mass_accuracy=res.value if res.n else None, relative_n=res.n,
                 share_above_reference=res.params["share_above_reference"])
    (args.out / "geco_depth.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                                            "train_size": len(train), "rows": rows}, indent=1))
    head = (f"{'scheme':<11} {'method':<22} {'acc':>6} {'mass acc':>9} {'top-k P':>8} {'GT AUC':>7} {'pair diff':>9} "
            f"{'rel. MA':>8} {'>ref':>5}")
    print(head)
    for r in rows:
        print(f"{r['scheme']:<11} {r['method']:<22} {r['accuracy']:>6.3f} {r['mass_accuracy']:>9.3f} "
              f"{r['top_k_precision']:>8.3f} {r['gt_roc_auc']:>7.3f} {r['pair_difference']:>9.3f} "
              f"{_num(r['relative_mass_accuracy']):>8} {_num(r['share_above_reference'], 2):>5}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for m in dict.fromkeys(r["method"] for r in rows):
            mine = [r for r in rows if r["method"] == m]
            ax.plot([r["scheme"] for r in mine], [r["mass_accuracy"] for r in mine], marker="o", label=m)
        ax.set_xlabel("fine-tuned: none = all layers … encoder = head only")
        ax.set_ylabel("mass accuracy (|scores| on the ground truth)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.out / "geco_depth.png", dpi=120)
    print(f"written: {args.out}")


def _num(v: float | None, digits: int = 3) -> str:
    return "—" if v is None or v != v else f"{v:.{digits}f}"


if __name__ == "__main__":
    main()
