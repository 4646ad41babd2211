"""What evaluating faithfulness costs, against the forward passes it needs.

For every method, explain N HateXplain test posts of the `hatexplain` protocol, then
evaluate faithfulness (comprehensiveness, sufficiency, AOPC over ERASER's bins, tau_loo)
for all methods at once, and measure side by side in one run:

- T_eval: wall time of the faithfulness evaluation;
- the forward passes it ran (inputs neither an explainer nor another method had asked);
- T_fwd: the time the engine needs for exactly those passes (the same inputs, cache
  cleared, run straight through the engine);
- ratio = T_eval / T_fwd (goal <= 1.2), and how many requests the cache answered;
- the same evaluation asking the engine one example at a time (``chunk=1``, what the
  evaluation did before it batched across examples), from the same cache state.

    .venv/bin/python benchmarks/bench_faithfulness.py --model models/demo-minilm --posts 200

Data: $RATIONALES_DATA or ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import OrderedDict

from _data import data_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/demo-minilm", help="model folder or backbone name")
    ap.add_argument("--data", default="hatexplain:test")
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--methods", default="attention,grad_input,integrated_gradients,occlusion,lime,ngram")
    ap.add_argument("--params", default=None, help='explainer parameters as JSON, e.g. {"lime": {"n_samples": 200}}')
    ap.add_argument("--removal", default="delete")
    args = ap.parse_args()

    from rationales.data import load_spec
    from rationales.evaluation.faithfulness import CHUNK, faithfulness
    from rationales.evaluation.protocols import ERASER_BINS, get_protocol
    from rationales.methods import explain
    from rationales.models import load_classifier
    from rationales.rules import hard_rationale

    clf = load_classifier(args.model)
    ds = load_spec(args.data, data_dir=data_dir())
    proto = get_protocol("hatexplain", removal=args.removal)
    posts = list(proto.select(ds))[: args.posts]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    params = json.loads(args.params) if args.params else {}
    engine = clf.engine

    t0 = time.perf_counter()
    exps = []
    for m in methods:
        exps += explain(clf, posts, methods=[m], params={m: params[m]} if m in params else None)
    t_explain = time.perf_counter() - t0

    snapshot = OrderedDict(engine._cache)  # what the explainers already asked
    by_id = {ex.id: ex for ex in posts}

    def evaluate(chunk: int) -> tuple[float, dict]:
        engine._cache.clear()
        engine._cache.update(snapshot)
        engine.reset_stats()
        t0 = time.perf_counter()
        res = faithfulness(clf, exps, by_id, hard=lambda e: hard_rationale(e, proto.hard),
                           hard_name=proto.hard, removal=args.removal, aopc_bins=ERASER_BINS,
                           tau_loo=True, chunk=chunk)
        return time.perf_counter() - t0, res

    t_one, res_one = evaluate(1)
    stats_one = dict(engine.stats)
    t_eval, res = evaluate(CHUNK)
    stats = dict(engine.stats)
    same = ("requests", "cache_hits", "forward_passes", "tokens")  # batches differ, that is the point
    assert all(stats[k] == stats_one[k] for k in same), (stats, stats_one)
    for m in res:  # the same numbers either way (batch composition moves float noise only)
        for a, b in zip(res[m], res_one[m]):
            assert a.name == b.name and a.n == b.n, (m, a, b)
            assert abs(a.value - b.value) <= 1e-5 or (a.value != a.value and b.value != b.value), (m, a, b)
    new_keys = [k for k in engine._cache if k not in snapshot]

    engine.clear_cache()
    engine.reset_stats()
    t0 = time.perf_counter()
    engine.run(new_keys)
    t_fwd = time.perf_counter() - t0
    assert engine.stats["forward_passes"] == stats["forward_passes"], (engine.stats, stats)

    print(f"model {args.model}, {len(posts)} posts of {ds.full_name} (protocol hatexplain, removal {args.removal}), "
          f"methods {', '.join(methods)}; threads {os.environ.get('OMP_NUM_THREADS', 'default')}")
    print(f"explaining: {t_explain:.1f} s for {len(exps)} explanations")
    print(f"faithfulness requests (masked inputs asked): {stats['requests']}")
    print(f"  answered from the engine's cache (asked by an explainer, another method or twice): "
          f"{stats['cache_hits']} ({stats['cache_hits'] / max(1, stats['requests']):.1%})")
    print(f"  forward passes run: {stats['forward_passes']} ({stats['tokens']} tokens)")
    print(f"evaluation time T_eval: {t_eval:.2f} s; engine time for exactly those passes T_fwd: {t_fwd:.2f} s")
    print(f"ratio T_eval / T_fwd = {t_eval / t_fwd:.2f} (goal <= 1.2)")
    print(f"one example per engine call instead (chunk=1, same cache state, same values): "
          f"{t_one:.2f} s in {stats_one['batches']} batches (vs {stats['batches']}), ratio "
          f"{t_one / t_fwd:.2f}; batching across {CHUNK} examples is {t_one / t_eval:.2f}x faster")


if __name__ == "__main__":
    main()
