"""Real training runs: a backbone trained on HateXplain val, evaluated on HateXplain test.

Runs each rationale-loss setting in turn (none, hatexplain, xmutest), prints accuracy,
macro-F1, AUROC (one-vs-rest) and wall time, and writes the models and a summary JSON
under --out. Example (about 10 minutes a MiniLM run on 2 CPU cores)::

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/bench_train.py \
        --backbone minilm-en --out models/bench

``--throughput`` measures training speed instead, side by side in one process on the
same posts, model, max length, batch size and epochs, alternating the order each round:

- ``rx``: ``rx.train`` (length-grouped batches, the default);
- ``rx-random``: ``rx.train(group_by_length=False)`` (random batches);
- ``plain``: a plain Hugging Face loop (``AutoModelForSequenceClassification``, AdamW,
  linear schedule with 10 % warm-up, random batches padded to their longest post, grad
  clipping at 1.0, as the Trainer does), tokenised with ``is_split_into_words`` and
  truncated at ``--max-length``.

It prints wall seconds, training tokens (not padding) per second, the process's CPU
seconds (on a shared machine wall time also counts other jobs' turns on the cores) and
the padding share of each run. ``--posts N`` takes N posts from ``--train`` (several specs joined by
``+``), cycling through them again when there are fewer::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_train.py --throughput \
        --train hatexplain:val --posts 800 --epochs 1 --rounds 2 --out models/bench-tp
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _data import data_dir


def _posts(spec: str, n: int | None, data_dir):  # type: ignore[no-untyped-def]
    from rationales.data import load_spec
    from rationales.types import Dataset, Example

    parts = [load_spec(one, data_dir=data_dir) for one in spec.split("+")]
    pool = [ex for ds in parts for ex in ds]
    n = n or len(pool)
    # a post drawn a second time gets a new id (its words, and so its length, are the same)
    chosen = [pool[i % len(pool)] if i < len(pool) else
              Example(f"{pool[i % len(pool)].id}#{i // len(pool)}", pool[i % len(pool)].words,
                      pool[i % len(pool)].label) for i in range(n)]
    name = f"{spec} ({n} posts, {len(pool)} distinct)"
    return Dataset(chosen, parts[0].label_names, name=name)


def _plain_hf(ds, args):  # type: ignore[no-untyped-def]
    """A plain Hugging Face training loop; returns (wall seconds, tokens, padded tokens)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from rationales.words import encodable

    start = time.perf_counter()
    if args.backbone == "e5-multilingual":
        from rationales.models.e5 import build_e5_folder
        folder, prefix = build_e5_folder(), ["passage:"]
    elif args.backbone == "minilm-en":
        from rationales.models.backbones import minilm_path
        folder, prefix = minilm_path(), []
    else:
        folder, prefix = Path(args.backbone), []
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(folder), local_files_only=True, num_labels=len(ds.label_names))
    enc = tokenizer([prefix + [encodable(w) for w in ex.words] for ex in ds], is_split_into_words=True,
                    truncation=True, max_length=args.max_length)
    rows = [{"input_ids": ids, "attention_mask": mask} for ids, mask in zip(enc["input_ids"], enc["attention_mask"])]
    labels = torch.tensor([int(ex.label) for ex in ds])
    steps = -(-len(rows) // args.batch_size) * args.epochs
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    generator = torch.Generator().manual_seed(args.seed)
    tokens = padded = 0
    model.train()
    for _ in range(args.epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        for s in range(0, len(order), args.batch_size):
            idx = order[s:s + args.batch_size]
            batch = tokenizer.pad([rows[i] for i in idx], return_tensors="pt")
            out = model(**batch, labels=labels[idx])
            optimizer.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            tokens += int(batch["attention_mask"].sum())
            padded += int(batch["attention_mask"].numel())
    return time.perf_counter() - start, tokens, padded


def throughput(args) -> None:  # type: ignore[no-untyped-def]
    import os

    from rationales.models.train import train

    ds = _posts(args.train, args.posts, args.data_dir)
    arms = args.arms.split(",")
    print(f"{ds.name}; backbone {args.backbone}, {args.epochs} epoch(s), batch {args.batch_size}, "
          f"max length {args.max_length}, {args.rounds} round(s), threads {args.threads}, "
          f"load before: {os.getloadavg()}", flush=True)
    # untimed warm-up: imports, the model files into the page cache, first-call setup
    train(ds[:args.batch_size], backbone=args.backbone, epochs=1, batch_size=args.batch_size,
          max_length=args.max_length, progress=False, threads=args.threads)
    rows = []
    for r in range(args.rounds):
        order = arms[r % len(arms):] + arms[:r % len(arms)]  # each round starts one arm later
        for arm in order:
            cpu = time.process_time()
            if arm == "plain":
                import torch
                torch.set_num_threads(args.threads)
                wall, tokens, padded = _plain_hf(ds, args)
            else:
                start = time.perf_counter()
                clf = train(ds, backbone=args.backbone, epochs=args.epochs, batch_size=args.batch_size,
                            lr=args.lr, max_length=args.max_length, seed=args.seed, progress=False,
                            threads=args.threads, group_by_length=arm == "rx")
                wall = time.perf_counter() - start
                tp = clf.train_config["throughput"]
                tokens, padded = tp["tokens"], tp["padded_tokens"]
            cpu = time.process_time() - cpu
            row = {"round": r, "arm": arm, "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                   "tokens": tokens,
                   "padded_tokens": padded, "padding_share": round(1 - tokens / padded, 4),
                   "tokens_per_second": round(tokens / wall, 1), "load": os.getloadavg()[0]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"throughput-{args.backbone}{args.tag}.json").write_text(
        json.dumps({"data": ds.name, "args": vars(args), "rows": rows}, indent=2, default=str) + "\n")
    # CPU seconds (the process's, all its threads) matter on a shared machine: wall time
    # there also counts the other jobs' turns on the cores
    print(f"\n{'arm':<11}{'wall s (each round)':<26}{'mean s':>8}{'tokens/s':>10}{'CPU s':>8}"
          f"{'tokens/CPU s':>14}{'padding':>9}")
    for arm in arms:
        mine = [x for x in rows if x["arm"] == arm]
        walls = [x["wall_seconds"] for x in mine]
        mean = sum(walls) / len(walls)
        cpu_mean = sum(x["cpu_seconds"] for x in mine) / len(mine)
        print(f"{arm:<11}{', '.join(f'{w:.1f}' for w in walls):<26}{mean:>8.1f}"
              f"{mine[0]['tokens'] / mean:>10.1f}{cpu_mean:>8.1f}{mine[0]['tokens'] / cpu_mean:>14.1f}"
              f"{mine[0]['padding_share']:>9.1%}")
    if "plain" in arms:
        for key in ("wall_seconds", "cpu_seconds"):
            base = sum(x[key] for x in rows if x["arm"] == "plain")
            for arm in arms:
                if arm != "plain":
                    mine_total = sum(x[key] for x in rows if x["arm"] == arm)
                    print(f"plain / {arm}, {key.replace('_', ' ')}: {base / mine_total:.2f}")


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
    parser.add_argument("--throughput", action="store_true",
                        help="measure training speed against a plain Hugging Face loop instead")
    parser.add_argument("--posts", type=int, default=None, help="--throughput: how many posts")
    parser.add_argument("--rounds", type=int, default=2, help="--throughput: rounds, order rotated each")
    parser.add_argument("--arms", default="rx,plain,rx-random", help="--throughput: runs compared")
    parser.add_argument("--threads", type=int, default=1, help="--throughput: torch threads")
    args = parser.parse_args()
    if args.throughput:
        throughput(args)
        return

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
