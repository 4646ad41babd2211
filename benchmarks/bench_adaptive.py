"""Adaptive against fixed sampling for LIME and KernelSHAP, side by side in one run.

For each method, over N posts the ``hatexplain`` protocol selects (non-normal HateXplain
test posts, their predicted label as target), the fixed budget (``stop=fixed``,
``n_samples`` 500) and the stopping rule (``stop=adaptive``, capped at the same 500)
are run in alternating order, each from a cleared engine cache (the adaptive samples
are a prefix of the fixed stream, so a warm cache would answer them for free).
Reported per method and mode: samples per post, forward passes per post, seconds per
post (wall and process CPU: on a shared machine the CPU seconds are the steadier
figure), and for the adaptive run against the fixed one: AOPC comprehensiveness (ERASER
bins, top-fraction hard rationales, ``removal`` delete) of each and their difference
(goal: within 0.01), and the mean top-5 overlap |top5 ∩ top5'| / 5. Goal: adaptive
needs at most half the samples.

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_adaptive.py --n 100

Data: $RATIONALES_DATA or ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from _data import data_dir


def overlap(a, b, k: int = 5) -> float:
    """|top-k(a) ∩ top-k(b)| / k (k at most the words of the post)."""
    ta, tb = set(np.flatnonzero(a.top_k(k))), set(np.flatnonzero(b.top_k(k)))
    return len(ta & tb) / max(1, min(k, len(a.words)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/demo-minilm")
    ap.add_argument("--n", type=int, default=100, help="posts (default 100)")
    ap.add_argument("--skip", type=int, default=0,
                    help="skip the first N selected posts (a held-out check of a rule tuned on them)")
    ap.add_argument("--methods", default="lime,kernel_shap")
    ap.add_argument("--n-samples", type=int, default=500, help="the fixed budget and the adaptive cap")
    ap.add_argument("--param", action="append", default=[],
                    help="adaptive parameter NAME=VALUE (round_size, tol, top_k), applied to both methods")
    ap.add_argument("--json", default=None, help="also write the rows here")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from rationales.data import load_spec
    from rationales.evaluation.faithfulness import faithfulness
    from rationales.evaluation.protocols import ERASER_BINS, get_protocol
    from rationales.methods import get_explainer, resolve_targets
    from rationales.models import load_classifier

    clf = load_classifier(args.model)
    ds = load_spec("hatexplain:test", data_dir=data_dir())
    posts = list(get_protocol("hatexplain").select(ds))[args.skip: args.skip + args.n]
    targets = resolve_targets(clf, posts, None)
    by_id = {ex.id: ex for ex in posts}
    extra = {k: float(v) if k == "tol" else int(v) for k, v in (p.split("=", 1) for p in args.param)}
    print(f"{args.model}, {len(posts)} hatexplain-protocol test posts (from #{args.skip}), "
          f"torch threads {torch.get_num_threads()}, "
          f"fixed n_samples {args.n_samples}, adaptive {extra or 'defaults'}\n", flush=True)

    def run(method: str, stop: str):
        explainer = get_explainer(method, n_samples=args.n_samples, stop=stop, **(extra if stop == "adaptive" else {}))
        clf.engine.clear_cache()
        clf.engine.reset_stats()
        t0, c0 = time.perf_counter(), time.process_time()
        exps = explainer.explain(clf, posts, targets)
        took, cpu = time.perf_counter() - t0, time.process_time() - c0
        return exps, took, cpu, clf.engine.stats["forward_passes"]

    rows = []
    header = (f"{'method':12} {'mode':9} {'samples/post':>12} {'passes/post':>11} {'s/post':>7} {'cpu s/post':>10} "
              f"{'AOPC comp':>9} {'Δ vs fixed':>10} {'top-5 overlap':>13}")
    print(header)
    print("-" * len(header))
    for i, method in enumerate(args.methods.split(",")):
        order = ["fixed", "adaptive"] if i % 2 == 0 else ["adaptive", "fixed"]
        got = {stop: run(method, stop) for stop in order}
        aopc = {}
        for stop, (exps, _, _, _) in got.items():
            res = faithfulness(clf, exps, by_id, hard=lambda e: e.hard("top_k=5"), hard_name="top_k=5",
                               aopc_bins=ERASER_BINS, tau_loo=False)[method]
            aopc[stop] = next(r for r in res if r.name == "aopc_comprehensiveness").value
        ov = float(np.mean([overlap(a, b) for a, b in zip(got["adaptive"][0], got["fixed"][0])]))
        for stop in ("fixed", "adaptive"):
            exps, took, cpu, passes = got[stop]
            samples = float(np.mean([e.info.get("samples", 0) for e in exps]))
            reasons: dict[str, int] = {}
            for e in exps:
                reasons[e.info.get("stop_reason", "?")] = reasons.get(e.info.get("stop_reason", "?"), 0) + 1
            diff = aopc[stop] - aopc["fixed"]
            print(f"{method:12} {stop:9} {samples:12.1f} {passes / len(posts):11.1f} {took / len(posts):7.3f} "
                  f"{cpu / len(posts):10.3f} "
                  f"{aopc[stop]:9.4f} {diff:+10.4f} {ov if stop == 'adaptive' else 1.0:13.3f}   {reasons}",
                  flush=True)
            rows.append({"method": method, "mode": stop, "samples_per_post": samples,
                         "passes_per_post": passes / len(posts), "seconds_per_post": took / len(posts),
                         "cpu_seconds_per_post": cpu / len(posts),
                         "aopc_comprehensiveness": aopc[stop], "aopc_diff_vs_fixed": diff,
                         "top5_overlap_vs_fixed": ov if stop == "adaptive" else 1.0, "stop_reasons": reasons})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
