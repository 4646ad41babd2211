"""BEE vs integrated gradients from each fixed baseline, on every metric BEE can be tuned to.

For N posts of the `hatexplain` protocol (non-normal HateXplain test posts; target = the
model's prediction), in one run:

- IG from each baseline distribution alone (``bee`` with that one distribution, one
  draw, no learning: exactly IG from that baseline, see tests/methods/test_bee.py), the
  map scored on all four metrics;
- BEE tuned to each metric (``n_draws`` draws, learning its mixture over the posts in
  order, the mixture kept in a JSON file between posts), its kept map scored on all four.

Per post the order alternates (fixed baselines first on even posts, BEE first on odd
ones) so machine load falls on both alike. Metrics: comprehensiveness and sufficiency
at the top-5 words, AOPC (comprehensiveness over ERASER's 1/5/10/20/50 % bins), log-odds
= log p(target | x without the top 5) − log p(target | x); removal = delete.

    .venv/bin/python benchmarks/bench_bee.py --model models/demo-minilm --posts 100 --out reports/bee.json

Data: $RATIONALES_DATA or ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from _data import data_dir

METRICS = ("comprehensiveness", "sufficiency", "aopc", "log_odds")
BETTER = {"comprehensiveness": "↑", "sufficiency": "↓", "aopc": "↑", "log_odds": "↓"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/demo-minilm")
    ap.add_argument("--data", default="hatexplain:test")
    ap.add_argument("--posts", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--n-draws", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-words-from", default="hatexplain:validation",
                    help="random_words baseline: 'vocab' or the dataset the model was trained on")
    ap.add_argument("--out", default=None, help="write every number (per post too) as JSON here")
    args = ap.parse_args()

    from rationales.data import load_spec
    from rationales.evaluation.protocols import get_protocol
    from rationales.methods import get_explainer
    from rationales.methods.bee import DISTRIBUTIONS
    from rationales.models import load_classifier

    clf = load_classifier(args.model)
    posts = list(get_protocol("hatexplain").select(load_spec(args.data, data_dir=data_dir())))[: args.posts]
    targets = [int(t) for t in clf.predict(posts)]
    common = {"steps": args.steps, "seed": args.seed, "random_words_from": args.random_words_from}
    scorers = {m: get_explainer("bee", metric=m, **common) for m in METRICS}
    fixed = {d: get_explainer("bee", distributions=[d], n_draws=1, learn=False, **common) for d in DISTRIBUTIONS}
    tmp = Path(tempfile.mkdtemp(prefix="bench-bee-"))
    tuned = {m: get_explainer("bee", metric=m, n_draws=args.n_draws, mixture_path=str(tmp / f"{m}.json"), **common)
             for m in METRICS}
    rows = {f"IG[{d}]": {"scores": {m: [] for m in METRICS}, "seconds": []} for d in fixed}
    rows |= {f"BEE[{m}]": {"scores": {k: [] for k in METRICS}, "seconds": [], "chosen": []} for m in tuned}

    def run(label: str, explainer, ex, t) -> None:
        t0 = time.perf_counter()
        exp = explainer.explain_batch(clf, [ex], [t])[0]
        rows[label]["seconds"].append(time.perf_counter() - t0)
        for m, scorer in scorers.items():  # scoring is not part of the explainer's time
            rows[label]["scores"][m].append(scorer.score_maps(clf, ex, t, [np.asarray(exp.scores)])[0])
        if "chosen" in rows[label]:
            rows[label]["chosen"].append(exp.info["chosen_baseline"])

    t_start = time.perf_counter()
    for i, (ex, t) in enumerate(zip(posts, targets)):
        jobs = [(f"IG[{d}]", e) for d, e in fixed.items()]
        bees = [(f"BEE[{m}]", e) for m, e in tuned.items()]
        for label, e in (jobs + bees if i % 2 == 0 else bees + jobs):
            run(label, e, ex, t)
        print(f"post {i + 1}/{len(posts)} done, {time.perf_counter() - t_start:.0f} s", flush=True)
        if args.out and ((i + 1) % 10 == 0 or i + 1 == len(posts)):  # a partial table survives a stopped run
            write_out(args, rows, tmp, posts[: i + 1])
    print(table(args, rows, tmp, len(posts)))


def summarise(rows: dict) -> dict:
    return {label: {**{m: float(np.nanmean(r["scores"][m])) for m in METRICS},
                    "seconds_per_post": float(np.mean(r["seconds"]))} for label, r in rows.items()}


def table(args: argparse.Namespace, rows: dict, tmp: Path, n: int) -> str:
    summary = summarise(rows)
    mixtures = {m: json.loads((tmp / f"{m}.json").read_text())["mixture"] for m in METRICS}
    out = [f"{n} posts of {args.data} (hatexplain protocol), model {args.model}, steps={args.steps}, "
           f"BEE n_draws={args.n_draws}, random words from {args.random_words_from}, top-5 words, removal=delete",
           "", "| method | " + " | ".join(f"{m} {BETTER[m]}" for m in METRICS) + " | s/post |",
           "|---|" + "---:|" * (len(METRICS) + 1)]
    for label, s in summary.items():
        out.append(f"| {label} | " + " | ".join(f"{s[m]:.4f}" for m in METRICS) + f" | {s['seconds_per_post']:.2f} |")
    out += ["", "Does BEE win on the metric it was tuned for (vs the best fixed baseline)?"]
    for m in METRICS:
        sign = 1 if BETTER[m] == "↑" else -1
        best_fixed = max((k for k in summary if k.startswith("IG[")), key=lambda k: sign * summary[k][m])
        bee = summary[f"BEE[{m}]"][m]
        wins = sign * (bee - summary[best_fixed][m]) > 0
        out.append(f"- {m}: BEE {bee:.4f} vs best fixed {best_fixed} {summary[best_fixed][m]:.4f} -> "
                   f"{'wins' if wins else 'does not win'}; learned mixture "
                   + ", ".join(f"{a} {w:.2f}" for a, w in sorted(mixtures[m].items(), key=lambda x: -x[1])))
    return "\n".join(out)


def write_out(args: argparse.Namespace, rows: dict, tmp: Path, posts: list) -> None:
    mixtures = {m: json.loads((tmp / f"{m}.json").read_text()) for m in METRICS}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "summary": summarise(rows), "mixtures": mixtures,
                                          "rows": rows, "post_ids": [p.id for p in posts]}, indent=1))
    Path(args.out).with_suffix(".md").write_text(table(args, rows, tmp, len(posts)) + "\n")

if __name__ == "__main__":
    main()
