"""Forward engine vs a plain batched Hugging Face forward, caching, training throughput.

Measured side by side in one run (numbers depend on the machine; compare the ratios):

1. overhead: the engine answering a set of masked requests (fresh cache, one call per
   example as explainers make them) vs a plain loop that pads exactly the same batches
   and calls the model under ``torch.inference_mode()``. Ratio = engine / plain (goal
   ≤ 1.1). Also the ratio against a naive caller that runs every request (no dedup) in
   fixed batches.
2. caching: the same request set asked again (all cache hits) vs the first time.
3. training throughput (examples/s) per backbone, one epoch on the same examples.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/bench_engine.py

Data: --data-dir, else $RATIONALES_DATA, else ../shared/data (synthetic sentences if none).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from _data import data_dir


def _examples(n: int, data_dir: str | None):
    from rationales.types import Example

    try:
        from rationales.data import load_spec

        ds = load_spec("hatexplain:test", data_dir=data_dir)
        return list(ds)[:n], ds.label_names
    except Exception as exc:  # no real data here: a fixed synthetic set
        print(f"(hatexplain not available: {exc}; using synthetic sentences)")
        rng = np.random.default_rng(0)
        vocab = "the people of this city are kind awful lovely vile today again".split()
        return [Example(str(i), tuple(rng.choice(vocab, size=int(rng.integers(8, 40)))), label=i % 3)
                for i in range(n)], ["a", "b", "c"]


def _requests(clf, examples, masks_per_example: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    reqs = []
    for ex in examples:
        keep = rng.random((masks_per_example, len(ex.words))) < 0.7
        keep[0] = True  # the full input, as explainers ask for it
        reqs.append((ex, keep))
    return reqs


def _plain(clf, id_lists, batch_size: int, batches=None) -> float:
    import torch

    if batches is None:
        batches = [id_lists[i:i + batch_size] for i in range(0, len(id_lists), batch_size)]
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            longest = max(len(x) for x in batch)
            ids = torch.full((len(batch), longest), clf.pad_token_id, dtype=torch.long)
            att = torch.zeros_like(ids)
            for j, x in enumerate(batch):
                ids[j, :len(x)] = torch.tensor(x)
                att[j, :len(x)] = 1
            clf.model(input_ids=ids, attention_mask=att).logits.softmax(-1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="minilm-en")
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--masks", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-examples", type=int, default=64)
    parser.add_argument("--train-backbones", default="tfidf,minilm-en,e5-multilingual")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--data-dir", default=data_dir())
    args = parser.parse_args()

    from rationales.models import load_classifier
    from rationales.models.train import train
    from rationales.types import Dataset

    examples, names = _examples(max(args.examples, args.train_examples), args.data_dir)
    clf = load_classifier(args.backbone, label_names=names, max_length=128)
    reqs = _requests(clf, examples[: args.examples], args.masks)
    id_lists = [ids for ex, keep in reqs for ids in clf._ids_for_many(ex, keep, "delete")]
    unique = list(dict.fromkeys(id_lists))
    results: dict[str, object] = {"backbone": args.backbone, "requests": len(id_lists),
                                  "unique_requests": len(unique)}

    _plain(clf, unique[: args.batch_size], args.batch_size)  # warm-up
    # The plain baseline gets exactly the batches the engine runs: each request set
    # (one example's masks, as an explainer asks) deduplicated and sorted by length.
    # Rounds alternate engine and plain, and the minimum of each is kept, so a load
    # change on a shared machine hits both sides alike.
    per_call = [sorted(dict.fromkeys(clf._ids_for_many(ex, keep, "delete")), key=len)
                for ex, keep in reqs]
    plain_same, engine_first, engine_cached = [], [], []
    for round_ in range(args.rounds):
        if round_ % 2 == 0:  # alternate which side runs first
            plain_same.append(_plain(clf, unique, args.batch_size, batches=per_call))
        clf.engine.clear_cache()
        clf.engine.reset_stats()
        start = time.perf_counter()
        for ex, keep in reqs:
            clf.predict_proba_masked(ex, keep, "delete")
        engine_first.append(time.perf_counter() - start)
        stats_first = dict(clf.engine.stats)
        start = time.perf_counter()
        for ex, keep in reqs:
            clf.predict_proba_masked(ex, keep, "delete")
        engine_cached.append(time.perf_counter() - start)
        if round_ % 2 == 1:
            plain_same.append(_plain(clf, unique, args.batch_size, batches=per_call))
    plain_all = _plain(clf, id_lists, args.batch_size)       # a naive caller: no dedup
    results.update({
        "rounds": args.rounds,
        "plain_same_batches_s": round(min(plain_same), 3),
        "engine_first_s": round(min(engine_first), 3),
        "engine_cached_s": round(min(engine_cached), 4),
        "plain_all_requests_fixed_batches_s": round(plain_all, 3),
        "overhead_ratio_vs_plain_same_batches": round(min(engine_first) / min(plain_same), 3),
        "ratio_vs_plain_all_requests": round(min(engine_first) / plain_all, 3),
        "cache_speedup": round(min(engine_first) / max(min(engine_cached), 1e-9), 1),
        "engine_stats_first_pass": stats_first,
    })

    throughput = {}
    train_ds = Dataset(examples[: args.train_examples], list(names))
    for backbone in [b for b in args.train_backbones.split(",") if b]:
        # train_seconds times the fitting only (model loading excluded)
        trained = train(train_ds, backbone=backbone, epochs=1, batch_size=16, max_length=128,
                        progress=False)
        secs = trained.train_config["train_seconds"]
        throughput[backbone] = {"seconds": round(secs, 2),
                                "examples_per_s": round(len(train_ds) / secs, 2)}
    results["training_throughput"] = throughput
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
