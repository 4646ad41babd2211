"""Figures from an LLM that answers: `llm`, `ngram`, `union`, `counterfactual`, zero-shot.

HateXplain test under the `hatexplain` protocol (first N posts), a classifier (the demo
MiniLM) and an LLM (Qwen2.5-1.5B through llama.cpp by default). Phases, in order; each
writes what it has to the JSON file as it goes, so a partial run is usable:

- ``llm``: the LLM's answers for the N posts (they do not depend on the classifier under
  the default few-shot prompt, so they are asked first and land in the answer cache):
  failure rate, hallucination rate, seconds per post;
- ``zeroshot``: the LLM as a binary classifier on 2 x (Z/2) posts (hateful/offensive vs
  normal, first in dataset order): accuracy and macro-F1, failures counted as wrong;
- ``benchmark``: `llm`, `ngram`, `union` through the protocol: token F1, IOU F1, AUPRC,
  comprehensiveness, sufficiency; also token F1 of each method's own hard rationale;
- ``counterfactual``: flip rate and mean words changed, per ``--cf-strategies`` (``plain``,
  ``causal``; they alternate post by post, so a cut run compares the same posts);
- ``posthoc``: ``llm_posthoc`` per strategy and LIME, post by post, under the protocol
  (plausibility and faithfulness on the posts done), seconds per post;
- ``nle``: ``nle`` from each of ``--nle-sources`` on the first ``--nle-posts`` test posts in
  file order (every label; the predicted label is explained), one post at a time: the means
  of its faithfulness values (coverage, listed words not in the post, both probability
  drops, listed words written in the text), failures, seconds per post;
- ``cf_match`` (no LLM): match statistics on ``--match-posts`` posts against ``--pool``;
- ``variants`` (not in the default list): each prompt variant on the first
  ``--variant-posts`` posts: parse rate, hallucinated phrases, token F1 of the named words
  against the gold rationale (instance macro), seconds per post.

    .venv/bin/python benchmarks/bench_llm.py --model models/demo-minilm --posts 100 \\
        --out /tmp/bench_llm.json

Data: $RATIONALES_DATA or ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _data import data_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/demo-minilm")
    ap.add_argument("--llm", default="qwen2.5-1.5b")
    ap.add_argument("--posts", type=int, default=100)
    ap.add_argument("--zeroshot-posts", type=int, default=200)
    ap.add_argument("--cf-posts", type=int, default=100)
    ap.add_argument("--cf-strategies", default="plain", help="counterfactual strategies, e.g. causal,plain")
    ap.add_argument("--match-posts", type=int, default=100)
    ap.add_argument("--posthoc-posts", type=int, default=50)
    ap.add_argument("--posthoc-samples", type=int, default=8, help="llm_posthoc's n_samples")
    ap.add_argument("--posthoc-strategies", default="perturbation,prediction,instruction,explanation")
    ap.add_argument("--nle-posts", type=int, default=50)
    ap.add_argument("--nle-sources", default="ngram,lime", help="nle's `from` methods (lime: 200 samples)")
    ap.add_argument("--pool", default="hatexplain:validation", help="cf_match's pool")
    ap.add_argument("--prompt", default="fewshot")
    ap.add_argument("--phases", default="llm,zeroshot,benchmark,counterfactual")
    ap.add_argument("--variant-posts", type=int, default=20)
    ap.add_argument("--out", default="bench_llm.json")
    args = ap.parse_args()

    from rationales.data import load_spec
    from rationales.evaluation.protocols import get_protocol
    from rationales.llm import get_backend
    from rationales.llm.prompts import RATIONALE_SCHEMA, prompt_lang, rationale_messages
    from rationales.types import Dataset
    from rationales.words import detect_lang

    out: dict[str, Any] = {"args": vars(args), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    path = Path(args.out)

    def save() -> None:
        path.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")

    ds = load_spec("hatexplain:test", data_dir=data_dir())
    proto = get_protocol("hatexplain").resolve(ds)
    posts = list(proto.select(ds))[: args.posts]
    backend = get_backend(args.llm)
    out["llm"] = backend.describe()
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]

    if "llm" in phases:
        from rationales.llm.parse import ParseError, parse_phrases
        from rationales.llm.phrases import map_phrases

        rec: dict[str, Any] = {"n": 0, "failed": 0, "hallucinated": 0, "phrases": 0, "seconds": 0.0, "posts": []}
        out["llm_answers"] = rec
        t_load = time.perf_counter()
        backend.prepare()
        out["llm_load_seconds"] = time.perf_counter() - t_load
        for ex in posts:
            msgs = rationale_messages(ex.words, "", prompt_lang(ex.lang or detect_lang(ex.words)), args.prompt)
            t0 = time.perf_counter()
            reply = backend.chat_many([msgs], max_new_tokens=128, schema=RATIONALE_SCHEMA)[0]
            dt = time.perf_counter() - t0
            ok, phrases, bad = reply.ok, None, 0
            if ok:
                try:
                    phrases = parse_phrases(reply.text or "")
                except ParseError:
                    ok = False
            if phrases is not None:
                m = map_phrases(ex.words, phrases)
                bad = len(m.unmatched)
                rec["phrases"] += len(phrases)
            rec["n"] += 1
            rec["failed"] += int(not ok)
            rec["hallucinated"] += bad
            rec["seconds"] += dt
            rec["posts"].append({"id": ex.id, "answer": reply.text, "ok": ok, "seconds": round(dt, 2),
                                 "cached": reply.cached})
            rec["failure_rate"] = rec["failed"] / rec["n"]
            rec["hallucination_rate"] = rec["hallucinated"] / max(1, rec["phrases"])
            rec["seconds_per_post"] = rec["seconds"] / rec["n"]
            save()
            print(f"llm {rec['n']}/{len(posts)} {dt:.1f}s ok={ok} {str(reply.text)[:80]!r}", flush=True)

    if "variants" in phases:
        from rationales.evaluation.plausibility import token_prf
        from rationales.llm.parse import ParseError, parse_phrases
        from rationales.llm.phrases import map_phrases
        from rationales.llm.prompts import PROMPT_VARIANTS

        labels = {ex.id: ds.label_names[ex.label] if ex.label is not None else "" for ex in posts}
        out["variants"] = {}
        for variant in PROMPT_VARIANTS:
            sub = posts[: args.variant_posts]
            t0 = time.perf_counter()
            items, parsed, bad, named = [], 0, 0, 0
            for ex in sub:
                msgs = rationale_messages(ex.words, labels[ex.id], prompt_lang(ex.lang or detect_lang(ex.words)), variant)
                reply = backend.chat_many([msgs], max_new_tokens=128, schema=RATIONALE_SCHEMA)[0]
                mask = [0] * len(ex.words)
                try:
                    phrases = parse_phrases(reply.text or "") if reply.ok else None
                except ParseError:
                    phrases = None
                if phrases is not None:
                    parsed += 1
                    m = map_phrases(ex.words, phrases)
                    mask, bad, named = list(m.mask), bad + len(m.unmatched), named + len(phrases)
                items.append((ex.id, proto.gold_mask(ex), mask))
            f1 = token_prf(items, average="instance_macro")[2]
            out["variants"][variant] = {"n": len(sub), "parse_rate": parsed / len(sub), "phrases": named,
                                        "hallucinated": bad, "token_f1": f1.value,
                                        "seconds_per_post": (time.perf_counter() - t0) / len(sub)}
            save()
            print(f"variant {variant}: {out['variants'][variant]}", flush=True)

    if "zeroshot" in phases:
        from sklearn.metrics import f1_score

        from rationales.llm.zeroshot import classify

        normal = ds.label_names.index("normal")
        labelled = [ex for ex in ds if ex.label is not None]
        half = args.zeroshot_posts // 2
        hateful = [ex for ex in labelled if ex.label != normal][:half]
        harmless = [ex for ex in labelled if ex.label == normal][:half]
        # interleaved, so a run cut short is still balanced
        chosen = [ex for pair in zip(hateful, harmless) for ex in pair]
        gold = [int(ex.label != normal) for ex in chosen]
        zs: dict[str, Any] = {"n": 0}
        out["zeroshot"] = zs
        preds: list[int | None] = []
        t0 = time.perf_counter()
        for i in range(0, len(chosen), 10):
            res = classify(chosen[i: i + 10], backend)
            preds += res.predictions
            g = gold[: len(preds)]
            filled = [p if p is not None else 1 - y for p, y in zip(preds, g)]  # a failure counts as wrong
            zs.update(n=len(preds), failed=sum(p is None for p in preds),
                      accuracy=sum(int(p == y) for p, y in zip(filled, g)) / len(g),
                      macro_f1=float(f1_score(g, filled, average="macro")),
                      seconds_per_post=(time.perf_counter() - t0) / len(preds),
                      variant="binary: hatespeech/offensive = 1, normal = 0; balanced; failures count as wrong")
            save()
            print(f"zeroshot {len(preds)}/{len(chosen)} acc={zs['accuracy']:.3f} f1={zs['macro_f1']:.3f}", flush=True)

    if set(phases) & {"benchmark", "counterfactual", "posthoc", "nle"}:  # cf_match loads its own
        from rationales.models import load_classifier

        clf = load_classifier(args.model)
        out["model"] = args.model

    if "benchmark" in phases:
        from rationales.evaluation.benchmark import benchmark
        from rationales.evaluation.plausibility import token_prf
        from rationales.rules import own_rationale

        llm_params = {"llm": backend, "prompt": args.prompt}
        run = benchmark(clf, ds, ["llm", "ngram", "union"], "hatexplain", limit=args.posts,
                        params={"llm": llm_params, "union": llm_params}, progress=False)
        out["benchmark"] = {
            "n_examples": run.n_examples, "protocol": run.protocol_text, "timing": run.timing,
            "results": [{"method": r.method, "name": r.name, "variant": r.variant, "value": r.value, "n": r.n}
                        for r in run.results],
        }
        own: dict[str, Any] = {}
        by_id = {ex.id: ex for ex in posts}
        for m in ("llm", "ngram", "union"):
            exps = [e for e in run.explanations if e.method == m]
            items = [(e.example_id, proto.gold_mask(by_id[e.example_id]),
                      own_rationale(e) or [0] * len(e.words)) for e in exps]
            p, r, f = token_prf(items, average="instance_macro")
            own[m] = {"token_precision": p.value, "token_recall": r.value, "token_f1": f.value, "n": f.n,
                      "failed": sum(e.failed is not None for e in exps),
                      "llm_failed": sum("llm_failed" in e.info for e in exps),
                      "hallucinated": sum(int(e.info.get("n_hallucinated", 0) or 0) for e in exps)}
        out["own_rationale"] = own
        save()
        print(json.dumps(out["own_rationale"], indent=1), flush=True)

    if "posthoc" in phases:
        from rationales.evaluation import evaluate
        from rationales.methods import explain

        # One post at a time, every strategy (and LIME) on it before the next post: each
        # answer is cached as it comes and a run cut short compares the methods on the same
        # posts; the metrics are recomputed on the posts done after each one.
        strategies = [x.strip() for x in args.posthoc_strategies.split(",") if x.strip()]
        ph: dict[str, Any] = {"n_samples": args.posthoc_samples, "posts": 0,
                              "seconds": {m: 0.0 for m in [*strategies, "lime"]}}
        out["posthoc"] = ph
        done: list[Any] = []
        exps_all: list[Any] = []
        for ex in posts[: args.posthoc_posts]:
            for strategy in strategies:
                t0 = time.perf_counter()
                e = explain(clf, [ex], methods=["llm_posthoc"], params={"llm_posthoc": {
                    "llm": backend, "strategy": strategy, "n_samples": args.posthoc_samples}})[0]
                ph["seconds"][strategy] += time.perf_counter() - t0
                exps_all.append(replace(e, method=f"llm_posthoc:{strategy}"))
            t0 = time.perf_counter()
            exps_all += explain(clf, [ex], methods=["lime"])
            ph["seconds"]["lime"] += time.perf_counter() - t0
            done.append(ex)
            ph["posts"] = len(done)
            results = evaluate(clf, exps_all, Dataset(list(done), list(ds.label_names), name=ds.name, split=ds.split),
                               "hatexplain", classification=False)
            ph["results"] = [{"method": r.method, "name": r.name, "variant": r.variant, "value": r.value, "n": r.n}
                             for r in results]
            ph["seconds_per_post"] = {m: v / len(done) for m, v in ph["seconds"].items()}
            ph["failed"] = {m: sum(e.failed is not None for e in exps_all if e.method == m)
                            for m in {e.method for e in exps_all}}
            ph["hallucinated"] = {m: sum(int(e.info.get("n_hallucinated", 0) or 0) for e in exps_all
                                         if e.method == m) for m in {e.method for e in exps_all}}
            ph["answers"] = [{"id": e.example_id, "method": e.method, "answer": e.info.get("answer")}
                             for e in exps_all if e.method.startswith("llm_posthoc")]
            save()
            print(f"posthoc {len(done)} posts {time.strftime('%H:%M:%S')} "
                  f"{ {m: round(v, 1) for m, v in ph['seconds_per_post'].items()} }", flush=True)

    if "counterfactual" in phases:
        from rationales.methods import explain

        # Strategies alternate post by post, so a run cut short has them on the same posts.
        strategies = [x.strip() for x in args.cf_strategies.split(",") if x.strip()]
        out["counterfactual"] = {}
        for i in range(min(args.cf_posts, len(posts))):
            chunk = posts[i: i + 1]
            for strategy in strategies:
                cf = out["counterfactual"].setdefault(strategy, {
                    "n": 0, "flipped": 0, "failed": 0, "words_changed": [], "verified_words_changed": [],
                    "probability_change": [], "llm_calls": 0, "seconds": 0.0, "failures": []})
                t0 = time.perf_counter()
                exps = explain(clf, chunk, methods=["counterfactual"],
                               params={"counterfactual": {"llm": backend, "strategy": strategy}})
                cf["seconds"] += time.perf_counter() - t0
                for e in exps:
                    cf["n"] += 1
                    cf["failed"] += int(e.failed is not None)
                    cf["llm_calls"] += int(e.info.get("llm_calls", e.info.get("tries", 0)) or 0)
                    if e.failed is not None:
                        cf["failures"].append(e.failed[:160])
                    if "words_changed" in e.info:
                        cf["verified_words_changed"].append(int(e.info["words_changed"]))
                        cf["probability_change"].append(float(e.info["probability_change"]))
                    if e.info.get("flipped"):
                        cf["flipped"] += 1
                        cf["words_changed"].append(int(e.info.get("words_changed", 0)))
                    cf.setdefault("examples", []).append({
                        "id": e.example_id, "post": " ".join(e.words), "edited": e.info.get("edited"),
                        "concept": e.info.get("concept"), "flipped": e.info.get("flipped"),
                        "scores": {w: round(v, 3) for w, v in zip(e.words, e.scores) if v}})
                cf["flip_rate"] = cf["flipped"] / cf["n"]
                cf["mean_words_changed"] = (sum(cf["words_changed"]) / len(cf["words_changed"])
                                            if cf["words_changed"] else None)
                cf["mean_probability_change"] = (sum(cf["probability_change"]) / len(cf["probability_change"])
                                                 if cf["probability_change"] else None)
                cf["seconds_per_post"] = cf["seconds"] / cf["n"]
                save()
                print(f"counterfactual {strategy} {cf['n']} flip={cf['flip_rate']:.2f} failed={cf['failed']} "
                      f"{cf['seconds_per_post']:.1f}s/post", flush=True)

    if "nle" in phases:
        from rationales.methods import explain

        # Sources alternate post by post, so a run cut short has them on the same posts.
        keys = ("highlight_coverage", "not_in_post_rate", "probability_drop", "highlight_drop", "listed_in_text")
        sources = [x.strip() for x in args.nle_sources.split(",") if x.strip()]
        nle_out: dict[str, Any] = {"posts": "HateXplain test, file order, every label; the predicted label",
                                   "k": 5, "removal": "delete"}
        out["nle"] = nle_out
        for ex in list(ds)[: args.nle_posts]:
            for src in sources:
                rec = nle_out.setdefault(src, {"n": 0, "failed": 0, "seconds": 0.0, "values": {k: [] for k in keys},
                                               "not_in_post": [], "texts": []})
                t0 = time.perf_counter()
                e = explain(clf, [ex], methods=["nle"], params={"nle": {
                    "llm": backend, "from": src, "k": 5,
                    "from_params": {"n_samples": 200} if src == "lime" else {}}})[0]
                rec["seconds"] += time.perf_counter() - t0
                rec["n"] += 1
                rec["seconds_per_post"] = rec["seconds"] / rec["n"]
                if e.failed is not None:
                    rec["failed"] += 1
                    continue
                for k in keys:
                    if e.info.get(k) is not None:
                        rec["values"][k].append(float(e.info[k]))
                rec["not_in_post"] += list(e.info.get("named_not_in_post", []))
                rec["texts"].append({"id": e.example_id, "nle": e.info.get("nle")})
                rec["mean"] = {k: (sum(v) / len(v) if v else None) for k, v in rec["values"].items()}
            save()
            print(f"nle {nle_out[sources[0]]['n']} posts {time.strftime('%H:%M:%S')} "
                  f"{ {s_: round(nle_out[s_]['seconds_per_post'], 1) for s_ in sources if 'seconds_per_post' in nle_out[s_]} }",
                  flush=True)

    if "cf_match" in phases:
        from rationales.methods import explain
        from rationales.models import load_classifier

        clf = load_classifier(args.model)
        sub = posts[: args.match_posts]
        t0 = time.perf_counter()
        exps = explain(clf, sub, methods=["cf_match"], params={"cf_match": {"pool": args.pool}})
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        explain(clf, sub, methods=["cf_match"], params={"cf_match": {"pool": args.pool}})
        warm = time.perf_counter() - t1
        ok = [e for e in exps if e.failed is None]
        rules = [e.info["match"]["rule"] for e in ok]
        out["cf_match"] = {
            "n": len(exps), "failed": len(exps) - len(ok), "pool": args.pool,
            "pool_size": ok[0].info["pool_size"] if ok else None,
            "other_label_rate": rules.count("other label") / max(1, len(ok)),
            "mean_similarity": sum(e.info["match"]["similarity"] for e in ok) / max(1, len(ok)),
            "mean_words_scored": sum(sum(1 for s in e.scores if s > 0) for e in ok) / max(1, len(ok)),
            "mean_words": sum(len(e.words) for e in ok) / max(1, len(ok)),
            "seconds_first_call": seconds, "seconds_per_post_warm": warm / max(1, len(exps)),
            "examples": [{"post": " ".join(e.words), "match": e.info["match"]["text"],
                          "match_label": e.info["match"]["label"]} for e in ok[:3]],
        }
        save()
        print(json.dumps({k: v for k, v in out["cf_match"].items() if k != "examples"}), flush=True)
    out["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    save()


if __name__ == "__main__":
    main()
