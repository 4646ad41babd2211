"""`rationales explain` (the CLI, in-process) vs `rx.explain` on the same posts and model.

The CLI is a thin shell: it should cost what the Python API costs plus reading the data
and writing the file. Measured side by side on the first N HateXplain test posts:

- cli: ``rationales explain --model SPEC --data hatexplain:test --limit N --methods M
  --out TMP.jsonl`` through ``typer.testing.CliRunner`` on ``rationales.cli.app``;
- api: ``rx.explain(clf, posts, M)`` on the posts already loaded.

Both sides use one classifier object: it is loaded once (the time is printed apart) and
the CLI's ``load_classifier`` is patched to return it, so only the explaining is timed
(the CLI's side also reads the dataset and writes the JSONL). After one untimed warm-up
on 8 posts, the engine cache is cleared before every run; the order alternates over
``--repeat`` rounds. The CLI's
explanations are checked against the API's. ``--per-example`` also times the loop the
CLI used to run (each explainer called one example at a time), for reference.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/bench_cli.py [--model minilm-en]

Data: --data-dir, else $RATIONALES_DATA, else ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _data import data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm-en", help="backbone name or model folder (default: minilm-en, "
                        "an untrained head: the timing does not depend on the weights)")
    parser.add_argument("--n", type=int, default=100, help="HateXplain test posts")
    parser.add_argument("--methods", default="ngram,occlusion")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; each round runs both, order alternating")
    parser.add_argument("--per-example", action="store_true", help="also time the old one-example-at-a-time loop")
    parser.add_argument("--data-dir", default=data_dir())
    args = parser.parse_args()

    import numpy as np
    from typer.testing import CliRunner

    import rationales as rx
    import rationales.models
    from rationales.cli import app
    from rationales.data import load_spec

    ddir = str(args.data_dir) if args.data_dir else None
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    t0 = time.perf_counter()
    posts = list(load_spec("hatexplain:test", data_dir=ddir).examples[: args.n])
    t_data = time.perf_counter() - t0
    t0 = time.perf_counter()
    clf = rx.load_classifier(args.model)
    t_model = time.perf_counter() - t0
    rationales.models.load_classifier = lambda spec, **kw: clf  # the CLI explains with the same object
    print(f"model {args.model}: loaded in {t_model:.1f} s (not timed below); hatexplain:test read in "
          f"{t_data:.2f} s (the CLI reads it on every run); {len(posts)} posts, methods {','.join(methods)}")

    out = Path(tempfile.mkdtemp()) / "cli.jsonl"
    cli_args = ["explain", "--model", args.model, "--data", "hatexplain:test", "--limit", str(args.n),
                "--methods", ",".join(methods), "--out", str(out)] + (["--data-dir", ddir] if ddir else [])
    runner = CliRunner()
    api_result: list = []

    def run_cli() -> None:
        result = runner.invoke(app, cli_args)
        if result.exit_code != 0:
            raise SystemExit(f"the CLI failed:\n{result.output}")

    def run_api() -> None:
        api_result[:] = rx.explain(clf, posts, methods)

    def run_per_example() -> None:
        from rationales.methods.request import build_explainers, resolve_targets

        explainers = build_explainers(methods, None)
        targets = resolve_targets(clf, posts, None)
        [e.explain(clf, [ex], [t])[0] for ex, t in zip(posts, targets) for e in explainers]

    rx.explain(clf, posts[:8], methods)  # warm-up: the first forward passes pay one-time costs
    runs = {"cli": run_cli, "api": run_api}
    if args.per_example:
        runs["per_example"] = run_per_example
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(args.repeat):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            clf.engine.clear_cache()
            t0 = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - t0)
        print(f"round {r + 1}: " + "  ".join(f"{k} {seconds[k][-1]:.2f} s" for k in runs))

    cli_rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    same = len(cli_rows) == len(api_result) and all(
        row["method"] == e.method and np.allclose(row["scores"], e.scores, atol=1e-6)
        for row, e in zip(cli_rows, api_result))
    med = {k: statistics.median(v) for k, v in seconds.items()}
    summary = {"model": args.model, "posts": len(posts), "methods": methods, "rounds": args.repeat,
               "model_load_s": round(t_model, 2), "data_read_s": round(t_data, 2),
               "median_s": {k: round(v, 2) for k, v in med.items()},
               "cli_over_api": round(med["cli"] / med["api"], 3), "same_explanations": same}
    if args.per_example:
        summary["per_example_over_api"] = round(med["per_example"] / med["api"], 3)
    print(f"cli {med['cli']:.2f} s vs rx.explain {med['api']:.2f} s (median of {args.repeat}): "
          f"ratio {med['cli'] / med['api']:.3f}; same explanations: {same}")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
