"""Benchmark corpus jobs on a synthetic corpus built from HateXplain posts.

Prints, measured side by side in one run:
  * posts/s for `ngram` and `occlusion` on MiniLM: local engine, Ray with 1 and 2 workers
    (and the 2-worker / 1-worker scaling ratio);
  * peak RSS of a fresh process running a whole job at each corpus size (tf-idf model,
    occlusion), and its ratio to the smallest size (goal: within 1.5×);
  * the cost of rerunning a finished job (resume: everything is skipped) vs running it;
  * the cost of the streaming pass that resolves ERASER's top_fraction=mean_gold over the
    whole input before an evaluate job's loop (HateXplain's union rationales as gold).

    nice -n 10 .venv/bin/python benchmarks/bench_jobs.py [--sizes 1000,10000,100000]
        [--throughput-posts 64] [--skip-ray]

Memory over a long job (issue 20), on its own: ``--rss-rows N`` runs one explain job over
N unique posts (each with a random number appended as a last word, so no cache answers
it) and prints the process's RSS and cache sizes every ``--rss-every`` rows, then the
MB-per-1,000-rows slope after the first ``--rss-every`` rows.

    nice -n 10 .venv/bin/python benchmarks/bench_jobs.py --rss-rows 20000 \
        [--rss-model tfidf|minilm-en|FOLDER] [--rss-method occlusion]

Data: $RATIONALES_DATA or ../shared/data (hatexplain/*.jsonl).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _data import SHARED


def data_root() -> Path:
    for c in [os.environ.get("RATIONALES_DATA"), str(SHARED)]:
        if c and (Path(c) / "hatexplain").is_dir():
            return Path(c)
    sys.exit("HateXplain not found: set RATIONALES_DATA or put it at ../shared/data")


def hatexplain_posts() -> list[dict]:
    """The real posts' words and, where annotators marked some, the union of their masks."""
    posts = []
    for split in ("test", "validation"):
        with open(data_root() / "hatexplain" / f"hatexplain_{split}.jsonl", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line) if line.strip() else {}
                words, masks = row.get("post_tokens"), row.get("rationales") or []
                if words:
                    union = [int(any(m[i] for m in masks)) for i in range(len(words))] if masks else None
                    posts.append({"words": words, "rationale": union})
    return posts


def write_corpus(path: Path, n: int, rationales: bool = False, unique: bool = False) -> Path:
    """n posts cycling through the real HateXplain posts, each with its own id.

    ``unique``: append a random number as a last word, so every post is new to the caches.
    """
    import random

    posts = hatexplain_posts()
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            p = posts[i % len(posts)]
            words = p["words"] + [str(i * 1000 + rng.randrange(1000))] if unique else p["words"]
            row = {"id": f"s{i}", "words": words}
            if rationales and p["rationale"] is not None and not unique:
                row["rationale"] = p["rationale"]
            f.write(json.dumps(row) + "\n")
    return path


def train_tfidf(out: Path) -> Path:
    from rationales.data import load_spec
    from rationales.models.tfidf import TfidfClassifier

    os.environ.setdefault("RATIONALES_DATA", str(data_root()))
    ds = load_spec("hatexplain:validation")
    TfidfClassifier(ds.label_names).fit(ds.examples).save(out)
    return out


# -- one job in a fresh process, for peak RSS ------------------------------------------------
def _child(model: str, src: str, out: str, method: str) -> None:
    from rationales.jobs import run_explain

    t0 = time.perf_counter()
    s = run_explain(model, src, [method], out, chunk_size=64)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - t0, "loop_seconds": s.seconds, "rss_mb": rss_mb, "new": s.new_results,
                      "skipped": s.skipped, "rows": s.rows}))


def child_job(model: Path, src: Path, out: Path, method: str) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", str(model), str(src), str(out), method],
                       capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if r.returncode != 0:
        sys.exit(r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def prepass_row(src: Path, n: int, job_seconds: float) -> tuple[str, ...]:
    """Time the streaming pass that resolves ERASER's mean gold fraction over ``src``."""
    from rationales.evaluation import get_protocol
    from rationales.jobs.inputs import read_input
    from rationales.jobs.plan import resolve_protocol

    labels = ["hatespeech", "normal", "offensive"]
    t0 = time.perf_counter()
    resolved = resolve_protocol(get_protocol("eraser"), read_input(src, label_names=labels), labels, str(src))
    dt = time.perf_counter() - t0
    return ("pre-pass", f"eraser mean_gold over {n} posts", f"{dt:.2f} s ({n / dt:,.0f} rows/s)",
            resolved.hard, f"{dt / job_seconds:.3f}× the occlusion tf-idf job loop")


def rss_per_rows(model_spec: str, n: int, method: str, every: int) -> None:
    """One explain job over ``n`` unique posts; RSS and cache sizes every ``every`` rows."""
    import psutil

    from rationales.jobs import run_explain
    from rationales.models import load_classifier
    from rationales.models.engine import classifier_caches

    tmp = Path(tempfile.mkdtemp(prefix="bench-jobs-rss-"))
    if model_spec == "tfidf":
        model_spec = str(train_tfidf(tmp / "tfidf"))
    clf = load_classifier(model_spec, num_labels=3) if model_spec == "minilm-en" else load_classifier(model_spec)
    src = write_corpus(tmp / "unique.jsonl", n, unique=True)
    proc = psutil.Process()
    points: list[tuple[int, float]] = []
    t0 = time.perf_counter()
    print(f"# rss per {every} rows: {method} on {clf.name}, {n} unique posts, cpus={os.cpu_count()}")
    print(f"{'rows':>7} {'seconds':>8} {'RSS MB':>7} {'caches MB':>9}  entries", flush=True)

    def mark(summary, engine) -> None:
        done = summary.new_results + summary.skipped
        if done // every > len(points) - 1 or not points:
            caches = {k: c.info() for k, c in classifier_caches(clf).items()}
            rss = proc.memory_info().rss / 2**20
            points.append((done, rss))
            print(f"{done:>7} {time.perf_counter() - t0:>8.0f} {rss:>7.0f} "
                  f"{sum(c['bytes'] for c in caches.values()) / 2**20:>9.1f}  "
                  + ", ".join(f"{k} {c['entries']}" for k, c in caches.items()), flush=True)

    s = run_explain(clf, src, [method], tmp / "job", chunk_size=50, on_chunk=mark)
    after = [p for p in points if p[0] >= every]
    if len(after) >= 2:
        slope = (after[-1][1] - after[0][1]) / (after[-1][0] - after[0][0]) * 1000
        print(f"rows {s.rows}, new {s.new_results}, {time.perf_counter() - t0:.0f} s; RSS {points[0][1]:.0f} MB "
              f"at {points[0][0]} rows, {after[0][1]:.0f} at {after[0][0]}, {after[-1][1]:.0f} at {after[-1][0]}, "
              f"peak {max(p[1] for p in points):.0f}; after the first {every} rows: {slope:.2f} MB per 1,000 rows")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--throughput-posts", type=int, default=64)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true", help="only peak RSS and resume")
    ap.add_argument("--rss-rows", type=int, default=0, help="only the RSS-per-rows job, over this many posts")
    ap.add_argument("--rss-every", type=int, default=1000)
    ap.add_argument("--rss-model", default="tfidf", help="tfidf (trained here), minilm-en or a model folder")
    ap.add_argument("--rss-method", default="occlusion")
    a = ap.parse_args()
    if a.rss_rows:
        return rss_per_rows(a.rss_model, a.rss_rows, a.rss_method, a.rss_every)
    sizes = [int(s) for s in a.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    rows: list[tuple[str, ...]] = []

    # -- throughput on MiniLM --------------------------------------------------------------
    from rationales.jobs import run_explain
    from rationales.models import load_classifier

    clf = None if a.skip_throughput else load_classifier("minilm-en", num_labels=3)
    src = write_corpus(tmp / "tp.jsonl", a.throughput_posts)
    tp: dict[tuple[str, str], float] = {}
    engines = [("local", None)] + ([] if a.skip_ray else [("ray", 1), ("ray", 2)])
    for method in () if a.skip_throughput else ("ngram", "occlusion"):
        for engine, workers in engines:
            name = engine if workers is None else f"ray×{workers}"
            out = tmp / f"tp-{method}-{name}"
            first: list[tuple[float, int]] = []

            def mark(summary, engine, first=first) -> None:
                if not first:
                    first.append((time.perf_counter(), summary.new_results))

            t0 = time.perf_counter()
            s = run_explain(clf, src, [method], out, chunk_size=4, engine=engine, workers=workers, on_chunk=mark)
            t1 = time.perf_counter()
            # steady state: from the first stored chunk to the end (start-up and model
            # shipping excluded; they are reported beside it)
            tp[(method, name)] = (s.new_results - first[0][1]) / (t1 - first[0][0])
            rows.append(("throughput", f"{method} MiniLM {name}", f"{a.throughput_posts} posts",
                         f"{tp[(method, name)]:.2f} posts/s", f"{t1 - t0:.1f} s total incl. start-up"))
        if not a.skip_ray:
            rows.append(("scaling", f"{method} ray×2 / ray×1", "", f"{tp[(method, 'ray×2')] / tp[(method, 'ray×1')]:.2f}×", ""))
            rows.append(("scaling", f"{method} ray×2 / local", "", f"{tp[(method, 'ray×2')] / tp[(method, 'local')]:.2f}×", ""))

    # -- peak RSS by corpus size (tf-idf, occlusion), resume cost ------------------------------
    model = train_tfidf(tmp / "tfidf")
    rss = {}
    for n in sizes:
        src = write_corpus(tmp / f"c{n}.jsonl", n)
        run1 = child_job(model, src, tmp / f"rss{n}", "occlusion")
        rss[n] = run1["rss_mb"]
        rows.append(("peak RSS", f"occlusion tfidf, {n} posts", f"{run1['seconds']:.1f} s",
                     f"{run1['rss_mb']:.0f} MB", f"{run1['rss_mb'] / rss[sizes[0]]:.2f}× the {sizes[0]}-post run"))
        if n == sizes[-1]:
            again = child_job(model, src, tmp / f"rss{n}", "occlusion")
            assert again["new"] == 0 and again["skipped"] == n, again
            rows.append(("resume", f"rerun finished job, {n} posts",
                         f"{again['seconds']:.2f} s (loop {again['loop_seconds']:.2f} s)",
                         f"{again['seconds'] / run1['seconds']:.3f}× the first run",
                         f"loop: {again['loop_seconds'] / run1['loop_seconds']:.3f}× the first loop, "
                         f"{n / again['loop_seconds']:.0f} rows/s skipped"))
            rows.append(prepass_row(write_corpus(tmp / f"g{n}.jsonl", n, rationales=True), n, run1["loop_seconds"]))

    width = [max(len(r[i]) for r in rows) for i in range(5)]
    print(f"# bench_jobs  (cpus={os.cpu_count()}, throughput posts={a.throughput_posts}, sizes={sizes})")
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, width)))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(*sys.argv[2:6])
    else:
        main()
