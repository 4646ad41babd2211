"""Forward backends side by side: torch eager fp32 vs ONNX Runtime fp32 / int8, OpenVINO and torch bf16.

On a trained model folder (default models/demo-minilm) over the first N HateXplain test
posts, each backend runs every post through the classifier's own forward engine (the
same length-sorted, token-budget batches; cache emptied before each run), for 1 and 2
threads, rounds in alternating order. Reported per backend: posts/s (best round, wall
clock), CPU seconds (best round, every thread's), the speed ratio to torch (wall and
CPU), and agreement with torch fp32 (argmax agreement, flips, mean and max of the per-post
max_c |Δp_c|).

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/bench_backends.py \\
        --model models/demo-minilm --n 256 --threads 1,2 --rounds 3

Exports go to a temporary folder: the model folder is not changed (that is what
`rationales optimize` does). The machine's load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from _data import data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/demo-minilm")
    parser.add_argument("--data", default="hatexplain:test")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="onnx,onnx-int8,openvino-bf16,torch-bf16")
    parser.add_argument("--json", default=None, help="also write the rows as JSON here")
    args = parser.parse_args()

    import torch

    from rationales.data import load_spec
    from rationales.models import load_classifier
    from rationales.models import onnx_backend as ob

    where = data_dir()
    examples = list(load_spec(args.data, data_dir=where))[: args.n]
    clf = load_classifier(args.model, backend="torch")
    keys = list(dict.fromkeys(clf.encode(ex).input_ids for ex in examples))
    names = ob.parse_backends(args.backends)
    print(f"{len(keys)} unique posts of {args.data} ({sum(map(len, keys))} tokens); "
          f"load: {os.getloadavg()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name in names:
            t0 = time.perf_counter()
            files[name] = ob.build(clf, name, tmp)
            print(f"built {name} in {time.perf_counter() - t0:.1f} s", flush=True)
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            runners = {"torch": clf._run_batch}
            runners.update({n: ob.make_runner(clf, n, files[n], threads=threads) for n in names})
            wall, cpu, probs = ob.time_backends(clf, keys, runners, rounds=args.rounds)
            ref_wall, ref_cpu = min(wall["torch"]), min(cpu["torch"])
            for name in runners:
                agree = ob.agreement(probs["torch"], probs[name])
                row = {"backend": name, "threads": threads, "posts_per_s": len(keys) / min(wall[name]),
                       "wall_s": min(wall[name]), "cpu_s": min(cpu[name]),
                       "speedup_wall": ref_wall / min(wall[name]), "speedup_cpu": ref_cpu / min(cpu[name]),
                       "all_wall_s": wall[name], **agree}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"load after: {os.getloadavg()}")
    print("\n| backend | threads | posts/s | speed-up (wall) | speed-up (CPU) | argmax agreement | flips "
          "| mean \\|Δp\\| | max \\|Δp\\| |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {r['threads']} | {r['posts_per_s']:.1f} | {r['speedup_wall']:.2f} | "
              f"{r['speedup_cpu']:.2f} | {r['argmax_agreement']:.4f} | {r['flips']} | {r['mean_abs_dp']:.4f} | "
              f"{r['max_abs_dp']:.4f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
