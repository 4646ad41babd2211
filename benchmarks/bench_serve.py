"""Load check for `rationales serve`: N concurrent clients on loopback for a bounded time.

Starts the server (`rationales serve --model minilm-en`) in a subprocess on 127.0.0.1
and a free port, then for each method (occlusion, ngram) and each client count runs that
many keep-alive clients for ``--seconds``, each posting one distinct post after another
(distinct so the forward engine's cache does not answer for the model). Prints requests/s,
p50 and p95 latency, p95/p50 and errors, side by side. Goal: 0 errors and p95 under
2 × p50 at 4 clients.

    nice -n 10 .venv/bin/python benchmarks/bench_serve.py --clients 1 4 --seconds 20

Soak mode (``--soak SECONDS``): one method (the first of ``--methods``), N clients (the
first of ``--clients``), each post made unique by a random number appended as a last word
(so no cache answers it), for the whole duration. The server's RSS is sampled every
``--sample-s`` seconds and its cache sizes read from /api/health each minute; it prints
RSS per minute, the MB-per-request slope after ``--warmup-s`` (a least-squares fit of RSS
against requests answered), p50/p95/p99 and errors. Goal (issue 20): slope < 0.05 MB per
request, 0 errors.

    nohup .venv/bin/python benchmarks/bench_serve.py --soak 1800 --clients 16 \
        --methods occlusion --json soak.json > soak.log &

Posts come from HateXplain's test split when the real data is found ($RATIONALES_DATA or
../shared/data), else from a fixed seeded generator. Only loopback is ever contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from _data import ROOT, SHARED, data_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_posts(n: int) -> tuple[list[list[str]], str]:
    """Distinct posts as word lists, and where they came from."""
    path = (data_dir() or SHARED) / "hatexplain" / "hatexplain_test.jsonl"
    if path.is_file():
        posts, seen = [], set()
        for line in path.read_text(encoding="utf-8").splitlines():
            words = json.loads(line)["post_tokens"]
            key = tuple(words)
            if 5 <= len(words) <= 60 and key not in seen:
                seen.add(key)
                posts.append(words)
        return posts[:n], f"HateXplain test ({path})"
    rng = random.Random(0)
    vocab = ("you are the a this that people go back home stupid idiot nice day friend country "
             "never always should leave stay love hate why what who all them us").split()
    return [[rng.choice(vocab) for _ in range(rng.randint(8, 30))] for _ in range(n)], "generated (seed 0)"


class Client(threading.Thread):
    """One keep-alive client posting posts from a shared queue until the deadline.

    ``unique``: append a random number to each post as a last word (never seen before).
    ``done`` holds when each answered request finished (monotonic seconds).
    """

    def __init__(self, port: int, method: str, posts: list[list[str]], lock: threading.Lock,
                 cursor: list[int], deadline: float, unique: bool = False) -> None:
        super().__init__(daemon=True)
        self.port, self.method, self.posts, self.lock, self.cursor = port, method, posts, lock, cursor
        self.deadline, self.unique = deadline, unique
        self.latencies: list[float] = []
        self.done: list[float] = []
        self.errors: list[str] = []
        self.rng = random.Random(id(self))

    def next_post(self) -> list[str]:
        with self.lock:
            i = self.cursor[0]
            self.cursor[0] += 1
        post = self.posts[i % len(self.posts)]
        # the request number makes it unique; the random digits make it look like traffic
        return post + [str(i * 1000 + self.rng.randrange(1000))] if self.unique else post

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while time.monotonic() < self.deadline:
            body = json.dumps({"words": self.next_post(), "methods": [self.method], "faithfulness": True})
            start = time.perf_counter()
            try:
                conn.request("POST", "/api/explain", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                payload = resp.read()
                if resp.status != 200:
                    self.errors.append(f"{resp.status}: {payload[:200]!r}")
                    continue
                json.loads(payload)
            except Exception as exc:  # counted, and the connection is opened anew
                self.errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                continue
            self.latencies.append(time.perf_counter() - start)
            self.done.append(time.monotonic())
        conn.close()


def post_once(port: int, method: str, words: list[str]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/api/explain", json.dumps({"words": words, "methods": [method]}),
                     {"Content-Type": "application/json"})
        conn.getresponse().read()
    finally:
        conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_phase(port: int, method: str, clients: int, seconds: float, posts: list[list[str]],
              cursor: list[int]) -> dict:
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    threads = [Client(port, method, posts, lock, cursor, deadline) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    lat = [x for t in threads for x in t.latencies]
    errors = [e for t in threads for e in t.errors]
    p50, p95 = percentile(lat, 0.5), percentile(lat, 0.95)
    return {"method": method, "clients": clients, "requests": len(lat), "errors": len(errors),
            "first_error": errors[0] if errors else None, "seconds": round(elapsed, 2),
            "requests_per_s": len(lat) / elapsed, "p50_ms": 1000 * p50, "p95_ms": 1000 * p95,
            "p95_over_p50": p95 / p50 if p50 else float("nan"),
            "mean_ms": 1000 * statistics.fmean(lat) if lat else float("nan")}


def get_json(port: int, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def slope_mb_per_request(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS (MB) against requests answered."""
    if len(points) < 2:
        return float("nan")
    xs, ys = [float(p[0]) for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else float("nan")


def soak(port: int, pid: int, method: str, clients: int, seconds: float, posts: list[list[str]],
         cursor: list[int], sample_s: float, warmup_s: float) -> dict:
    """Run ``clients`` unique-post clients for ``seconds``, sampling the server's RSS."""
    import psutil

    proc = psutil.Process(pid)
    lock = threading.Lock()
    started = time.monotonic()
    threads = [Client(port, method, posts, lock, cursor, started + seconds, unique=True)
               for _ in range(clients)]
    for t in threads:
        t.start()

    def answered() -> int:
        return sum(len(t.latencies) for t in threads)

    def errors() -> int:
        return sum(len(t.errors) for t in threads)

    samples: list[dict] = []  # every sample_s: t, requests answered, RSS
    minutes: list[dict] = []
    print(f"{'minute':>6} {'requests':>8} {'req/s':>6} {'RSS MB':>7} {'caches MB':>9} {'errors':>6}", flush=True)
    next_minute = 60.0
    while any(t.is_alive() for t in threads):
        time.sleep(min(sample_s, max(0.05, started + seconds - time.monotonic() + 0.05)))
        now = time.monotonic() - started
        samples.append({"t": now, "requests": answered(), "rss_mb": proc.memory_info().rss / 2**20})
        if now >= next_minute or not any(t.is_alive() for t in threads):
            try:
                cache_mb = get_json(port, "/api/health")["memory"]["cache_bytes"] / 2**20
            except Exception:  # an older server without the memory report
                cache_mb = float("nan")
            before = minutes[-1]["requests"] if minutes else 0
            row = {"minute": len(minutes) + 1, "t": round(now, 1), "requests": samples[-1]["requests"],
                   "rss_mb": round(samples[-1]["rss_mb"], 1), "cache_mb": round(cache_mb, 1), "errors": errors(),
                   "req_per_s": (samples[-1]["requests"] - before) / (now - (minutes[-1]["t"] if minutes else 0))}
            minutes.append(row)
            print(f"{row['minute']:>6} {row['requests']:>8} {row['req_per_s']:>6.2f} {row['rss_mb']:>7.0f} "
                  f"{row['cache_mb']:>9.1f} {row['errors']:>6}", flush=True)
            next_minute += 60.0
    for t in threads:
        t.join()
    lat = [x for t in threads for x in t.latencies]
    errs = [e for t in threads for e in t.errors]
    after = [(s["requests"], s["rss_mb"]) for s in samples if s["t"] >= warmup_s]
    return {"method": method, "clients": clients, "seconds": round(time.monotonic() - started, 1),
            "requests": len(lat), "errors": len(errs), "first_error": errs[0] if errs else None,
            "requests_per_s": len(lat) / (time.monotonic() - started),
            "p50_ms": 1000 * percentile(lat, 0.5), "p95_ms": 1000 * percentile(lat, 0.95),
            "p99_ms": 1000 * percentile(lat, 0.99),
            "rss_start_mb": samples[0]["rss_mb"] if samples else float("nan"),
            "rss_after_warmup_mb": after[0][1] if after else float("nan"),
            "rss_end_mb": samples[-1]["rss_mb"] if samples else float("nan"),
            "rss_peak_mb": max((s["rss_mb"] for s in samples), default=float("nan")),
            "slope_mb_per_request": slope_mb_per_request(after), "warmup_s": warmup_s,
            "minutes": minutes, "samples": samples}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="minilm-en", help="model folder or backbone name")
    ap.add_argument("--methods", nargs="+", default=["occlusion", "ngram"])
    ap.add_argument("--clients", nargs="+", type=int, default=[1, 4])
    ap.add_argument("--seconds", type=float, default=20.0, help="duration of each phase")
    ap.add_argument("--warmup", type=int, default=3, help="requests per method before measuring")
    ap.add_argument("--workers", type=int, default=2, help="the server's explain threads")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--soak", type=float, default=None, metavar="SECONDS",
                    help="soak mode: unique posts for this long, RSS sampled (see above)")
    ap.add_argument("--sample-s", type=float, default=10.0, help="soak: seconds between RSS samples")
    ap.add_argument("--warmup-s", type=float, default=60.0, help="soak: seconds left out of the slope")
    ap.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                    help="one more argument for `rationales serve` (repeat), e.g. --serve-arg=--cache-mb=128")
    args = ap.parse_args()
    if args.soak is None and (args.seconds <= 0 or args.seconds > 600):
        ap.error("--seconds must be in (0, 600]")

    posts, source = load_posts(5000)
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"),
               TOKENIZERS_PARALLELISM="false", RATIONALES_SERVE_TOKEN="")
    cmd = [sys.executable, "-c", "from rationales.cli import main; main()", "serve",
           "--model", args.model, "--port", str(port), "--workers", str(args.workers),
           "--log-level", "warning", "--reports", str(ROOT / "reports"), *args.serve_arg]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                print("server exited:", server.stderr.read()[-2000:], file=sys.stderr)
                return 1
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    print("server did not start within 180 s", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        cursor = [0]
        for m in args.methods:  # warm-up: the first requests pay for lazy imports
            for _ in range(args.warmup):
                post_once(port, m, posts[cursor[0] % len(posts)])
                cursor[0] += 1
        if args.soak is not None:
            return print_soak(args, port, server.pid, posts, source, cursor)
        print(f"model {args.model}, server workers {args.workers}, posts: {source}, "
              f"{args.seconds:g} s per phase, loopback port {port}")
        header = (f"{'method':<10} {'clients':>7} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
                  f"{'p95/p50':>7} {'errors':>6}")
        print(header)
        print("-" * len(header))
        results = []
        for m in args.methods:
            for n in args.clients:
                r = run_phase(port, m, n, args.seconds, posts, cursor)
                results.append(r)
                print(f"{m:<10} {n:>7} {r['requests']:>8} {r['requests_per_s']:>7.2f} {r['p50_ms']:>8.1f} "
                      f"{r['p95_ms']:>8.1f} {r['p95_over_p50']:>7.2f} {r['errors']:>6}", flush=True)
                if r["first_error"]:
                    print(f"  first error: {r['first_error']}")
        if cursor[0] > len(posts):
            print(f"note: {cursor[0]} requests for {len(posts)} distinct posts; later ones hit the cache")
        for r in results:
            if r["clients"] == 4:
                ok = r["errors"] == 0 and r["p95_over_p50"] < 2.0
                print(f"goal at 4 clients, {r['method']}: 0 errors and p95 < 2×p50 -> {'met' if ok else 'NOT met'}")
        if args.json:
            args.json.write_text(json.dumps({"model": args.model, "source": source, "results": results}, indent=2))
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def print_soak(args: argparse.Namespace, port: int, pid: int, posts: list[list[str]], source: str,
               cursor: list[int]) -> int:
    method, clients = args.methods[0], args.clients[0]
    print(f"soak: model {args.model}, {method}, {clients} clients, unique posts from {source}, "
          f"{args.soak:g} s, server workers {args.workers}, serve args {args.serve_arg or 'default'}, "
          f"loopback port {port}", flush=True)
    r = soak(port, pid, method, clients, args.soak, posts, cursor, args.sample_s, args.warmup_s)
    health = get_json(port, "/api/health").get("memory")
    print(f"requests {r['requests']}, errors {r['errors']}, {r['requests_per_s']:.2f} req/s, "
          f"p50 / p95 / p99 {r['p50_ms']:,.0f} / {r['p95_ms']:,.0f} / {r['p99_ms']:,.0f} ms")
    print(f"RSS start {r['rss_start_mb']:.0f} MB, after warm-up ({r['warmup_s']:g} s) "
          f"{r['rss_after_warmup_mb']:.0f} MB, end {r['rss_end_mb']:.0f} MB, peak {r['rss_peak_mb']:.0f} MB")
    ok = r["errors"] == 0 and r["slope_mb_per_request"] < 0.05
    print(f"slope after warm-up: {r['slope_mb_per_request']:.4f} MB per request "
          f"(goal < 0.05 and 0 errors -> {'met' if ok else 'NOT met'})")
    if r["first_error"]:
        print(f"first error: {r['first_error']}")
    if health:
        print("caches at the end:", json.dumps(health["caches"]))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "source": source, "soak": r, "health": health},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
