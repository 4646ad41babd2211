"""Explainers on MiniLM: time per explanation, forward passes, overhead over the engine.

Measured side by side in one run (numbers depend on the machine; compare the ratios):

1. For each method, over N HateXplain test posts (fresh engine cache per method):
   seconds per explanation, engine forward passes per explanation, and the overhead
   ratio = the method's time ÷ the time a fresh engine needs to run exactly the same
   requests (recorded while the method ran, replayed in the same order). Goal ≤ 1.2.
   Gradient methods (``gradient``, ``grad_input``, ``integrated_gradients``) run outside
   the engine (it caches probabilities, not gradients): their passes are the engine's
   ``gradient_forwards`` / ``backward_passes`` counters, and their ratio is the method's
   time ÷ the time of exactly the forward (+ backward) batches it ran, recorded at
   ``forward_from_embeddings`` and replayed as plain forward + backward calls on the same
   tensors. Goal ≤ 1.1. (``attention`` reads attention weights: no ratio.)
2. ``ngram`` against the naive X-MuTeST way (their notebook's ``calculate_logits``):
   tokenise each n-gram's text and run one unbatched forward per n-gram. Speed-up =
   naive time ÷ ngram time. Goal ≥ 10×. The largest score difference between the two
   is printed too (non-zero only where re-tokenising an n-gram's text splits it
   differently from the full text's tokenisation).

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/bench_explainers.py --n 100

Data: $RATIONALES_DATA or ../shared/data (hatexplain/hatexplain_test.jsonl).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np

from _data import SHARED, data_dir

GRADIENT_METHODS = {"gradient", "grad_input", "integrated_gradients"}
NO_RATIO = {"attention"}

#: what the timings read: wall time, or this process's CPU time (``--clock cpu``: steadier
#: on a machine shared with other jobs; the engine and models run in this process)
clock = time.perf_counter


def load_posts(n: int):
    from rationales.data import load_spec

    ds = load_spec("hatexplain:test", data_dir=data_dir() or SHARED)
    return list(ds.examples[:n]), list(ds.label_names)


class Recorder:
    """Wraps an engine's ``run`` to record every request (a list of keys) in order."""

    def __init__(self, engine) -> None:
        self.engine, self.calls = engine, []
        self._run = engine.run

    def __enter__(self):
        def run(keys):
            self.calls.append(list(keys))
            return self._run(keys)

        self.engine.run = run
        return self

    def __exit__(self, *exc) -> None:
        del self.engine.run


class GradientRecorder:
    """Wraps ``forward_from_embeddings`` to record every batch a gradient method runs:
    (embeddings, attention mask, whether it was differentiated)."""

    def __init__(self, clf) -> None:
        self.clf, self.calls = clf, []
        self._forward = clf.forward_from_embeddings

    def __enter__(self):
        def forward(embeds, attention_mask=None):
            self.calls.append((embeds.detach().clone(), None if attention_mask is None else attention_mask.clone(),
                               embeds.requires_grad))
            return self._forward(embeds, attention_mask)

        self.clf.forward_from_embeddings = forward
        return self

    def __exit__(self, *exc) -> None:
        del self.clf.forward_from_embeddings

    def replay(self) -> float:
        """Seconds for the recorded batches as plain forward (+ backward) calls."""
        import torch

        start = clock()
        for embeds, mask, grad in self.calls:
            if grad:
                x = embeds.clone().requires_grad_(True)
                with torch.enable_grad():
                    probs = self.clf.forward_from_embeddings(x, mask)
                    torch.autograd.grad(probs[:, 0].sum(), x)
            else:
                with torch.no_grad():
                    self.clf.forward_from_embeddings(embeds, mask)
        return clock() - start


def fresh_engine(clf):
    from rationales.models.engine import ForwardEngine

    e = clf.engine
    return ForwardEngine(e.run_batch, length=e.length, token_budget=e.token_budget,
                         max_batch_size=e.max_batch_size, cache_size=e.cache_size,
                         threads=e.threads, no_grad=e.no_grad,
                         batch_overhead_tokens=e.batch_overhead_tokens)


def bench_method(clf, method, params, examples, targets, repeat=1):
    """(explanations, best method time, forward passes, best replay time) over ``repeat``
    alternating runs; the minimum filters out time lost to other processes."""
    from rationales.methods import get_explainer

    explainer = get_explainer(method, **params)
    took = engine_time = float("inf")
    for _ in range(repeat):
        clf.engine.clear_cache()
        clf.engine.reset_stats()
        if method in GRADIENT_METHODS:
            with GradientRecorder(clf) as grec:
                start = clock()
                exps = explainer.explain(clf, examples, targets)
                took = min(took, clock() - start)
            passes = sum(len(embeds) for embeds, _, _ in grec.calls)  # sequences run on the gradient path
            engine_time = min(engine_time, grec.replay())
            continue
        with Recorder(clf.engine) as rec:
            start = clock()
            exps = explainer.explain(clf, examples, targets)
            took = min(took, clock() - start)
        passes = clf.engine.stats["forward_passes"]
        replay = fresh_engine(clf)
        start = clock()
        for keys in rec.calls:
            replay.run(keys)
        engine_time = min(engine_time, clock() - start)
        assert replay.stats["forward_passes"] == passes, "replay ran a different set of passes"
    return exps, took, passes, engine_time


def naive_xmutest(clf, examples, sizes=(1, 2, 3), weights=(0.5, 0.3, 0.2)):
    """X-MuTeST's notebook: each n-gram's text tokenised and run alone, one at a time."""
    import torch

    model, tok = clf.model, clf.tokenizer

    def probs(words):
        inputs = tok(" ".join(words), return_tensors="pt", truncation=True, max_length=clf.max_length)
        with torch.inference_mode():
            return model(**inputs).logits.softmax(-1)[0].numpy()

    out = []
    for ex in examples:
        words = list(ex.words[: clf.n_words_used(ex)])
        full = probs(ex.words)
        total, count = defaultdict(float), defaultdict(int)
        for n, w in zip(sizes, weights):
            for s in range(len(words) - n + 1):
                diff = float(np.abs(full - probs(words[s:s + n])).mean())
                for pos in range(s, s + n):
                    total[pos] += w * diff
                    count[pos] += 1
        r = np.array([total[i] / count[i] for i in range(len(words))])
        r = r / r.sum() if r.sum() > 0 else r
        out.append(np.concatenate([r.max() - r, np.zeros(len(ex.words) - len(words))]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="HateXplain test posts (default 100)")
    ap.add_argument("--model", default="minilm-en", help="model folder or backbone name (default minilm-en)")
    ap.add_argument("--methods", default=None, help="comma list (default: every non-LLM method)")
    ap.add_argument("--naive-n", type=int, default=None, help="posts for the naive ngram run (default --n)")
    ap.add_argument("--repeat", type=int, default=1, help="alternating runs per method; the minimum is kept")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time with the wall clock (default) or this process's CPU time")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    ap.add_argument("--param", action="append", default=[], help="METHOD.NAME=VALUE, e.g. lime.n_samples=200")
    args = ap.parse_args()
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    import torch

    torch.set_num_threads(args.threads)
    from rationales.cli.explain import parse_params
    from rationales.methods import EXPLAINERS, resolve_targets
    from rationales.models import load_classifier

    methods = (args.methods.split(",") if args.methods else
               [m for m in EXPLAINERS.names() if not EXPLAINERS.get(m).needs_llm])
    params = parse_params(args.param, methods)
    examples, labels = load_posts(args.n)
    clf = (load_classifier(args.model, label_names=labels) if args.model == "minilm-en"
           else load_classifier(args.model))
    targets = resolve_targets(clf, examples, None)
    words = np.mean([min(len(e.words), clf.n_words_used(e)) for e in examples])
    print(f"{args.model} ({clf.max_length} max tokens), {len(examples)} HateXplain test posts "
          f"(mean {words:.1f} words seen), torch threads {torch.get_num_threads()}, "
          f"params {params or 'defaults'}, best of {args.repeat}, {args.clock} clock\n", flush=True)

    # warm-up: imports (captum, sklearn) and first-call allocations stay out of the timings
    from rationales.methods import get_explainer
    from rationales.types import Example

    warm = Example("warm", ("warm", "up", "text"))
    for m in methods:
        small = {"n_samples": 8} if EXPLAINERS.get(m).stochastic else {}
        get_explainer(m, **{**params.get(m, {}), **small}).explain(clf, [warm], [0])

    rows, ngram_time, ngram_exps = [], None, None
    header = f"{'method':22} {'s/expl':>8} {'passes/expl':>12} {'engine s/expl':>14} {'overhead':>9}"
    print(header)
    print("-" * len(header))
    for m in methods:
        exps, took, passes, engine_time = bench_method(clf, m, params.get(m, {}), examples, targets,
                                                       args.repeat)
        n = len(examples)
        if m in NO_RATIO:
            ratio = "n/a"
        else:
            ratio = f"{took / engine_time:.2f}" if engine_time > 0 else "inf"
        print(f"{m:22} {took / n:8.4f} {passes / n:12.1f} {engine_time / n:14.4f} {ratio:>9}", flush=True)
        rows.append((m, took, passes, engine_time))
        if m == "ngram":
            ngram_time, ngram_exps = took, exps
    if GRADIENT_METHODS & set(methods):
        print("(gradient methods: passes = sequences run forward on the gradient path, each also "
              "back-propagated except IG's two endpoint rows; engine s = the replay of exactly those "
              "forward (+ backward) batches)")

    if ngram_time is not None:
        k = args.naive_n or len(examples)
        start = clock()
        naive = naive_xmutest(clf, examples[:k])
        naive_time = clock() - start
        per_naive, per_ours = naive_time / k, ngram_time / len(examples)
        worst = max(float(np.abs(np.asarray(e.scores) - s).max()) for e, s in zip(ngram_exps, naive))
        print(f"\nngram vs naive X-MuTeST (one unbatched forward per n-gram, {k} posts):")
        print(f"  naive {per_naive:.4f} s/expl, ngram {per_ours:.4f} s/expl, "
              f"speed-up {per_naive / per_ours:.1f}x; max |score difference| {worst:.2e}")


if __name__ == "__main__":
    main()
