"""CAP's training table: cross-entropy vs the `hatexplain` loss vs `prior` with LIME, IG and
cap_hybrid priors; full data, few-shot, and adversarial test posts.

HateXplain, 3 classes, MiniLM (`minilm-en`): train on the validation split (the train
split is not in the shared data), test on the test split. Phases, in order (each one
resumes: a model, prior file or answer that exists is reused):

- ``base``: the cross-entropy model of each setting (full: every training post; few-shot:
  ``--shots`` posts a class, seeded). Its IG and LIME explanations are the small-model
  priors (and cap_hybrid's IG and LIME thirds), as in CAP.
- ``cap``: CAP priors from the LLM (``cap``, label names with one-line ``DESCRIPTIONS``)
  for the prior subset: the few-shot posts, then further training posts in a seeded order
  up to ``--cap-posts``. One post at a time, written as it comes (JSONL), so a cut run
  keeps what it has. The LLM's answers do not depend on the classifier.
- ``priors``: LIME, IG and cap_hybrid explanations (target = the gold label) of the
  posts each prior row uses, as JSONL for ``rationale_loss="prior"``.
- ``train``: every row's model (below), ``--seeds`` seeds for the few-shot rows.
- ``eval``: accuracy, macro-F1, AUROC and the hatespeech/offensive confusion on the test
  split and on its adversarial copy; plausibility and faithfulness of each trained model's
  own explanations (grad_input and integrated_gradients, `hatexplain` protocol, first
  ``--explain-posts`` posts).

Rows (full setting): ``ce``; ``hatexplain`` (human rationales); ``prior:lime`` and
``prior:ig`` with priors on every training post; ``prior:lime@S``, ``prior:ig@S`` and
``prior:cap_hybrid@S`` with priors on the CAP subset S only (the other posts are trained
with cross-entropy alone), so the three priors compare on the same posts. Few-shot: ``ce``,
``hatexplain``, ``prior:lime``, ``prior:ig``, ``prior:cap_hybrid`` (every few-shot post
has every prior).

Adversarial test posts (rules, no LLM): in each hatespeech or offensive test post, every
word of the human rationale (union of the annotators) with a vowel among its letters gets
its first vowel replaced by a look-alike (a→@, e→3, i→1, o→0, u→v): "kill" → "k1ll". A
reader still sees the same word, so the gold label stands; normal posts (no rationale)
are left as they are. This is the misspelling attack of Hosseini et al. (2017) on
toxicity classifiers, applied to the words that carry the label.

    RATIONALES_DATA=/work/shared/data .venv/bin/python benchmarks/bench_cap_train.py \\
        --work /tmp/cap-train --cap-posts 200 --out /tmp/cap-train/results.json

Data: $RATIONALES_DATA or ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from _data import data_dir

DESCRIPTIONS = {
    "hatespeech": "attacks, dehumanises or calls for harm against people for who they are "
                  "(race, religion, ethnicity, gender, sexual orientation, disability, origin)",
    "offensive": "insulting, vulgar or rude, but not an attack on a group for who they are",
    "normal": "neither hateful nor offensive",
}
LOOKALIKE = {"a": "@", "e": "3", "i": "1", "o": "0", "u": "v"}


def few_shot(examples: list[Any], n_labels: int, shots: int, seed: int) -> list[Any]:
    """``shots`` examples of each label, drawn with a seeded shuffle, in dataset order."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    chosen: list[int] = []
    per = [0] * n_labels
    for i in order:
        y = examples[i].label
        if per[y] < shots:
            per[y] += 1
            chosen.append(i)
    return [examples[i] for i in sorted(chosen)]


def obfuscate_word(word: str) -> str:
    """The first vowel replaced by its look-alike ("kill" → "k1ll"); unchanged without one."""
    for j, ch in enumerate(word):
        if ch.lower() in LOOKALIKE:
            return word[:j] + LOOKALIKE[ch.lower()] + word[j + 1:]
    return word


def adversarial(examples: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Each example with the words of its human rationale obfuscated (see the docstring)."""
    from dataclasses import replace

    out, changed_posts, changed_words = [], 0, 0
    for ex in examples:
        if not ex.rationale:
            out.append(ex)
            continue
        words = [obfuscate_word(w) if r else w for w, r in zip(ex.words, ex.rationale)]
        n = sum(a != b for a, b in zip(words, ex.words))
        changed_words += n
        changed_posts += n > 0
        out.append(replace(ex, words=tuple(words), meta={**ex.meta, "adversarial": n}))
    return out, {"posts_changed": changed_posts, "words_changed": changed_words, "posts": len(examples)}


def class_metrics(clf: Any, examples: list[Any]) -> dict[str, Any]:
    from rationales.evaluation.classification import classification_metrics

    probs = clf.predict_proba(examples)
    got = {r.name: r.value for r in classification_metrics([e.id for e in examples], [e.label for e in examples],
                                                           probs, clf.label_names)}
    names = list(clf.label_names)
    h, o = names.index("hatespeech"), names.index("offensive")
    pred = probs.argmax(1)
    gold = np.array([e.label for e in examples])
    return {"accuracy": got["accuracy"], "macro_f1": got["macro_f1"], "auroc": got["auroc"],
            "hate_as_offensive": float(np.mean(pred[gold == h] == o)),
            "offensive_as_hate": float(np.mean(pred[gold == o] == h)),
            "n": len(examples), "n_hate": int((gold == h).sum()), "n_offensive": int((gold == o).sum())}


def write_explanations(path: Path, exps: list[Any]) -> None:
    """The explanations as JSONL, written beside and then moved into place (a cut run
    leaves no half file that a rerun would take as done)."""
    from rationales.jsonio import write_jsonl

    tmp = path.with_suffix(".part")
    write_jsonl(tmp, (e.to_dict() for e in exps))
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/cap-train", help="models, priors and answers go here")
    ap.add_argument("--out", default=None, help="results JSON (default WORK/results.json)")
    ap.add_argument("--phases", default="base,cap,priors,train,eval")
    ap.add_argument("--llm", default="llamacpp:qwen2.5-1.5b")
    ap.add_argument("--cap-posts", type=int, default=200, help="size of the CAP prior subset S (full setting)")
    ap.add_argument("--cap-samples", type=int, default=8, help="cap's n_samples (LLM calls a post)")
    ap.add_argument("--lime-samples", type=int, default=200)
    ap.add_argument("--ig-steps", type=int, default=20)
    ap.add_argument("--shots", type=int, default=32)
    ap.add_argument("--seeds", type=int, default=3, help="seeds for the few-shot rows")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--few-epochs", type=int, default=10)
    ap.add_argument("--max-length", type=int, default=96)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--prior-weight", type=float, default=1.0)
    ap.add_argument("--explain-posts", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", default="", help="only these rows (comma list of SETTING/ROW), for reruns")
    args = ap.parse_args()

    import rationales as rx
    from rationales.jsonio import dumps
    from rationales.methods import explain
    from rationales.models import load_classifier
    from rationales.types import Dataset, Explanation

    work = Path(args.work)
    (work / "models").mkdir(parents=True, exist_ok=True)
    (work / "priors").mkdir(parents=True, exist_ok=True)
    out_path = Path(args.out) if args.out else work / "results.json"
    out: dict[str, Any] = json.loads(out_path.read_text()) if out_path.is_file() else {}

    def save() -> None:
        out_path.write_text(json.dumps(out, indent=1, ensure_ascii=False))

    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    train_ds = rx.load_dataset("hatexplain", split="val", data_dir=data_dir())
    test_ds = rx.load_dataset("hatexplain", split="test", data_dir=data_dir())
    names = list(train_ds.label_names)
    train = list(train_ds)
    few = few_shot(train, len(names), args.shots, seed=0)
    order = list(range(len(train)))
    random.Random(1).shuffle(order)
    few_ids = {e.id for e in few}
    subset = few + [train[i] for i in order if train[i].id not in few_ids][: max(0, args.cap_posts - len(few))]
    settings = {"full": train, "few": few}
    out["setup"] = {
        "train": f"hatexplain:validation ({len(train)} posts)", "test": f"hatexplain:test ({len(test_ds)} posts)",
        "labels": names, "backbone": "minilm-en", "epochs": args.epochs, "few_epochs": args.few_epochs,
        "shots": args.shots, "few_posts": len(few), "cap_subset": len(subset), "cap_samples": args.cap_samples,
        "lime_samples": args.lime_samples, "ig_steps": args.ig_steps, "max_length": args.max_length, "lr": args.lr,
        "prior_alignment": "kl", "prior_weight": args.prior_weight, "llm": args.llm, "descriptions": DESCRIPTIONS,
        "seeds_few": args.seeds}
    save()

    def fit(setting: str, examples: list[Any], seed: int, **kw: Any) -> tuple[Any, float]:
        t0 = time.perf_counter()
        clf = rx.train(Dataset(examples, names, name="hatexplain", split="validation"), backbone="minilm-en",
                       epochs=args.few_epochs if setting == "few" else args.epochs, batch_size=16, lr=args.lr,
                       max_length=args.max_length, seed=seed, threads=args.threads, progress=False,
                       prior_weight=args.prior_weight, **kw)
        return clf, time.perf_counter() - t0

    def base_model(setting: str) -> Any:
        folder = work / "models" / f"{setting}-ce-seed0"
        if not (folder / "config.json").is_file():
            clf, secs = fit(setting, settings[setting], 0)
            clf.save(folder)
            out.setdefault("base_seconds", {})[setting] = round(secs, 1)
            save()
            print(f"base {setting}: {secs:.0f} s", flush=True)
        return load_classifier(folder, backend="torch")

    if "base" in phases:
        for s in settings:
            base_model(s)

    cap_file = work / "priors" / "cap.jsonl"
    if "cap" in phases:
        done = {json.loads(line)["example_id"] for line in cap_file.open(encoding="utf-8")} if cap_file.is_file() else set()
        clf = base_model("full")  # label names and the post's probabilities only: CAP asks the LLM
        params = {"cap": {"llm": args.llm, "n_samples": args.cap_samples, "descriptions": DESCRIPTIONS}}
        secs = out.setdefault("cap_seconds", [])
        for i, ex in enumerate(subset):
            if ex.id in done:
                continue
            t0 = time.perf_counter()
            e = explain(clf, [ex], methods=["cap"], target=[ex.label], params=params)[0]
            secs.append(round(time.perf_counter() - t0, 2))
            with open(cap_file, "a", encoding="utf-8") as fh:
                fh.write(dumps(e.to_dict()) + "\n")
            out["cap_done"] = len(done) + len(secs)
            save()
            print(f"cap {i + 1}/{len(subset)} {secs[-1]:.1f} s failed={e.failed}", flush=True)

    def cap_answered() -> list[Any]:
        """The subset posts whose CAP prior exists and did not fail."""
        if not cap_file.is_file():
            return []
        ok = {d["example_id"] for d in map(json.loads, cap_file.open(encoding="utf-8")) if not d.get("failed")}
        return [ex for ex in subset if ex.id in ok]

    def prior_file(setting: str, method: str, posts: list[Any], tag: str) -> Path:
        path = work / "priors" / f"{setting}-{method}-{tag}.jsonl"
        if path.is_file():
            return path
        clf = base_model(setting)
        params: dict[str, Any] = {
            "lime": {"n_samples": args.lime_samples},
            "integrated_gradients": {"n_steps": args.ig_steps},
            "cap_hybrid": {"llm": args.llm, "cap": {"n_samples": args.cap_samples, "descriptions": DESCRIPTIONS},
                           "lime": {"n_samples": args.lime_samples},
                           "integrated_gradients": {"n_steps": args.ig_steps}},
        }
        t0 = time.perf_counter()
        exps: list[Explanation] = explain(clf, posts, methods=[method], target=[e.label for e in posts],
                                          params={method: params[method]}, progress=True)
        out.setdefault("prior_seconds", {})[path.stem] = round(time.perf_counter() - t0, 1)
        write_explanations(path, exps)
        save()
        return path

    def prior_rows(setting: str) -> dict[str, tuple[str, list[Any]]]:
        """Row name → (method, posts with the prior)."""
        if setting == "few":
            capped = [e for e in cap_answered() if e.id in few_ids]
            return {"prior:lime": ("lime", few), "prior:ig": ("integrated_gradients", few),
                    "prior:cap_hybrid": ("cap_hybrid", capped)}
        sub = cap_answered()
        return {"prior:lime": ("lime", train), "prior:ig": ("integrated_gradients", train),
                "prior:lime@S": ("lime", sub), "prior:ig@S": ("integrated_gradients", sub),
                "prior:cap_hybrid@S": ("cap_hybrid", sub)}

    if "priors" in phases:
        for s in settings:
            for method, posts in prior_rows(s).values():
                if posts:
                    prior_file(s, method, posts, "all" if len(posts) == len(settings[s]) else f"S{len(posts)}")

    only = {r.strip() for r in args.rows.split(",") if r.strip()}
    if "train" in phases or "eval" in phases:
        adv, adv_stats = adversarial(list(test_ds))
        out["adversarial"] = {**adv_stats, "rule": "first vowel of each human-rationale word → look-alike "
                                                   "(a→@ e→3 i→1 o→0 u→v); normal posts unchanged"}
        rows_out = out.setdefault("rows", {})
        for s in settings:
            priors = prior_rows(s)
            rows = ["ce", "hatexplain", *(r for r, (_m, posts) in priors.items() if posts)]
            for row in rows:
                for seed in range(args.seeds if s == "few" else 1):
                    if only and f"{s}/{row}" not in only:
                        continue
                    kw: dict[str, Any] = {}
                    n_prior = None
                    tag = row.replace(":", "_").replace("@", "_at_")
                    if row == "hatexplain":
                        kw = {"rationale_loss": "hatexplain"}
                    elif row.startswith("prior"):
                        method, posts = priors[row]
                        n_prior = len(posts)
                        kw = {"rationale_loss": "prior", "rationales_from": prior_file(
                            s, method, posts, "all" if n_prior == len(settings[s]) else f"S{n_prior}")}
                        tag += f"-{n_prior}" + (f"-w{args.prior_weight:g}" if args.prior_weight != 1.0 else "")
                    key = f"{s}/{row}/seed{seed}" + (f"/n{n_prior}" if n_prior is not None else "")
                    if n_prior is not None and args.prior_weight != 1.0:
                        key += f"/w{args.prior_weight:g}"
                    if key in rows_out and "test" in rows_out[key]:
                        continue
                    folder = work / "models" / f"{s}-{tag}-seed{seed}"
                    rec: dict[str, Any] = {"setting": s, "row": row, "seed": seed, "prior_posts": n_prior}
                    if not (folder / "config.json").is_file():
                        clf, secs = fit(s, settings[s], seed, **kw)
                        clf.save(folder)
                        rec["train_seconds"] = round(secs, 1)
                    clf = load_classifier(folder, backend="torch")
                    if "eval" in phases:
                        rec["test"] = class_metrics(clf, list(test_ds))
                        rec["adversarial"] = class_metrics(clf, adv)
                        run = rx.benchmark(clf, test_ds, ["grad_input", "integrated_gradients"], "hatexplain",
                                           limit=args.explain_posts, params={"integrated_gradients":
                                                                             {"n_steps": args.ig_steps}},
                                           progress=False)
                        rec["explanations"] = [{"method": r.method, "name": r.name, "variant": r.variant,
                                                "value": r.value, "n": r.n} for r in run.results
                                               if r.method in ("grad_input", "integrated_gradients")]
                    rows_out[key] = {**rows_out.get(key, {}), **rec}
                    save()
                    t = rec.get("test", {})
                    print(f"{key}: acc={t.get('accuracy', float('nan')):.4f} f1={t.get('macro_f1', float('nan')):.4f} "
                          f"adv_f1={rec.get('adversarial', {}).get('macro_f1', float('nan')):.4f}", flush=True)
    print(f"results: {out_path}")


if __name__ == "__main__":
    main()
