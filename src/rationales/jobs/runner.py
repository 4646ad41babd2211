"""The job runner: stream the input in chunks, compute what is not done, store per chunk.

One loop serves every engine. The driver (this process) reads the input, asks the store
which ``(example, method, params)`` keys are already done, and hands the rest to an
engine as a :class:`ChunkTask`; whenever a task's results come back they are written in
one transaction. A crash loses at most the chunks in flight, and rerunning the same
command recomputes exactly those: nothing is lost and nothing is written twice.

Memory stays flat with corpus size: the driver holds one chunk being planned plus the
tasks in flight (one for the local engine, ``2 × workers`` for Ray), never the corpus.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..errors import DataError, RationalesError
from ..types import Example, Explanation
from .inputs import BadRow, Record, count_rows, read_input
from .store import ErrorRow, ResultRow, Store, digest

ENGINES = ("local", "ray")
KINDS = ("explain", "evaluate", "benchmark")


# -- the model: loaded once on the driver, fingerprinted by its saved files -----------
def hash_directory(directory: str | Path) -> str:
    """sha256 over every file's relative path and bytes: equal folders, equal hashes."""
    root = Path(directory)
    h = hashlib.sha256()
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(root)).encode("utf-8") + b"\0")
        with open(p, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:20]


def model_fingerprint(classifier: Any, spec: str | Path | None = None) -> str:
    """What identifies the model's behaviour: the hash of the folder it is saved as.

    A model folder is hashed as it is; a backbone name or an in-memory classifier is
    saved to a temporary folder first, so a retrained or re-initialised model with the
    same name still gets a different fingerprint (and so different result keys).
    """
    if spec is not None and Path(spec).is_dir():
        return f"{type(classifier).__name__}:{hash_directory(spec)}"
    with tempfile.TemporaryDirectory(prefix="rationales-fp-") as tmp:
        classifier.save(tmp)
        return f"{type(classifier).__name__}:{hash_directory(tmp)}"


def load_model(model: Any) -> tuple[Any, str]:
    """A classifier and its fingerprint from a folder, a backbone name or a Classifier."""
    from ..models.base import Classifier

    if isinstance(model, Classifier):
        return model, model_fingerprint(model)
    from ..models import load_classifier

    clf = load_classifier(str(model))
    return clf, model_fingerprint(clf, model)


# -- methods and their keys ------------------------------------------------------------
@dataclass(frozen=True)
class MethodPlan:
    """One method of a job: its configured explainer and the hash its results are keyed by."""

    method: str
    explainer: Any
    params_hash: str
    key_params: dict[str, Any]


def plan_methods(methods: Sequence[str], params: dict[str, dict[str, Any]] | None, fingerprint: str,
                 target: Any, kind: str, protocol: str | None) -> list[MethodPlan]:
    """Configure each method and hash everything that changes its results."""
    from ..methods import get_explainer

    params = dict(params or {})
    unknown = sorted(set(params) - set(methods))
    if unknown:
        raise ValueError(f"params given for method(s) {unknown} that were not asked for: {list(methods)}")
    if len(set(methods)) != len(methods):
        raise ValueError(f"a method is listed twice: {list(methods)}")
    plans = []
    for m in methods:
        explainer = get_explainer(m, **params.get(m, {}))
        key = {"method": m, "params": explainer.params, "model": fingerprint,
               "target": target, "evaluation": protocol if kind != "explain" else None}
        plans.append(MethodPlan(m, explainer, digest(key), key))
    return plans


# -- a chunk of work and how to compute it (on the driver or on a Ray worker) -----------
@dataclass
class ChunkTask:
    """The examples of one chunk and, per example, the methods still to compute."""

    seq: int
    examples: list[Example]
    pending: list[list[str]]
    input_hashes: list[str]
    positions: list[int]
    errors: list[ErrorRow] = field(default_factory=list)
    skipped: int = 0
    rows: int = 0


@dataclass
class ChunkOutput:
    """What a worker returns: explanations (as dicts) and per-example metric values."""

    seq: int
    explanations: list[dict[str, Any]]
    metrics: dict[tuple[str, str], dict[str, float | None]]
    seconds: dict[str, float]
    non_mean_metrics: list[str] = field(default_factory=list)


def _failed(example: Example, method: str, params: dict[str, Any], target: int, error: BaseException) -> Explanation:
    return Explanation(example.id, example.words, [0.0] * len(example.words), target, method,
                       params=dict(params), failed=f"{type(error).__name__}: {error}")


def _is_job_error(e: BaseException) -> bool:
    """Errors of the set-up, not of one row: the model cannot do this method, an LLM or a
    model cannot load, the network is down. They stop the job (rerun resumes) instead of
    marking every row failed; per-row failures (LLM answers included) come back as failed
    explanations or as other exceptions."""
    return isinstance(e, RationalesError) and not isinstance(e, DataError)


def _explain_isolated(explainer: Any, classifier: Any, examples: list[Example], targets: list[int]) -> list[Explanation]:
    """Explain a batch; if it fails, explain one by one so only the bad example fails."""
    try:
        return list(explainer.explain(classifier, examples, targets))
    except Exception as e:
        if _is_job_error(e):
            raise
        out = []
        for ex, t in zip(examples, targets):
            try:
                out.extend(explainer.explain(classifier, [ex], [t]))
            except Exception as e1:  # noqa: BLE001 - recorded on the row, the job goes on
                if _is_job_error(e1):
                    raise
                out.append(_failed(ex, explainer.name, explainer.params, t, e1))
        return out


def compute_chunk(classifier: Any, plans: Sequence[MethodPlan], task: ChunkTask, target: Any,
                  protocol: str | None, label_names: Sequence[str] | None) -> ChunkOutput:
    """Run every pending (example, method) of a chunk; evaluate too when ``protocol`` is set."""
    from ..methods import resolve_targets

    targets = resolve_targets(classifier, task.examples, target)
    explanations: list[dict[str, Any]] = []
    metrics: dict[tuple[str, str], dict[str, float | None]] = {}
    seconds: dict[str, float] = {}
    non_mean: set[str] = set()
    for plan in plans:
        idx = [i for i, ms in enumerate(task.pending) if plan.method in ms]
        if not idx:
            continue
        t0 = time.perf_counter()
        exs = [task.examples[i] for i in idx]
        got = _explain_isolated(plan.explainer, classifier, exs, [targets[i] for i in idx])
        if protocol is not None:
            from ..evaluation import evaluate
            from ..types import Dataset

            names = list(label_names or classifier.label_names)
            ds = Dataset([task.examples[i] for i in idx], names)
            if True:
                # failed explanations go in too: evaluate counts them (failure_rate)
                for res in evaluate(classifier, got, ds, protocol=protocol, classification=False):
                    label = f"{protocol}/{res.label}"
                    values = [v for v in res.per_example.values() if v is not None]
                    # Only metrics whose value is the mean of per-example values can be
                    # aggregated across chunks; pooled (micro) variants cannot.
                    if not values or not math.isclose(sum(values) / len(values), res.value,
                                                      rel_tol=1e-9, abs_tol=1e-12):
                        non_mean.add(label)
                    for eid, v in res.per_example.items():
                        metrics.setdefault((str(eid), plan.method), {})[label] = v
        seconds[plan.method] = time.perf_counter() - t0
        explanations.extend(e.to_dict() for e in got)
    return ChunkOutput(task.seq, explanations, metrics, seconds, sorted(non_mean))


# -- engines -------------------------------------------------------------------------------
class LocalEngine:
    """Computes each chunk in this process, as it is submitted."""

    name = "local"

    def __init__(self, classifier: Any, plans: Sequence[MethodPlan], target: Any,
                 protocol: str | None, label_names: Sequence[str] | None) -> None:
        self.args = (classifier, plans)
        self.target, self.protocol, self.label_names = target, protocol, label_names
        self.workers = 1

    def submit(self, task: ChunkTask) -> Iterator[tuple[ChunkTask, ChunkOutput]]:
        clf, plans = self.args
        yield task, compute_chunk(clf, plans, task, self.target, self.protocol, self.label_names)

    def drain(self) -> Iterator[tuple[ChunkTask, ChunkOutput]]:
        return iter(())

    def close(self) -> None:
        pass


# -- the job ------------------------------------------------------------------------------
@dataclass
class JobSummary:
    """What a run did: rows read, results written now, skipped as done, failures, bad rows."""

    kind: str
    out: str
    engine: str
    workers: int
    run_id: int
    status: str
    rows: int = 0
    examples: int = 0
    new_results: int = 0
    skipped: int = 0
    failed: int = 0
    bad_rows: int = 0
    seconds: float = 0.0
    seconds_by_method: dict[str, float] = field(default_factory=dict)
    params_hashes: dict[str, str] = field(default_factory=dict)
    stored: int = 0
    metrics: list[dict[str, Any]] = field(default_factory=list)
    non_mean_metrics: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Input rows handled per second in this run (done + skipped + bad)."""
        return self.rows / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rate"] = None if math.isnan(self.rate) else self.rate
        return d


def _target_id(classifier: Any, target: int | str) -> int:
    names = list(classifier.label_names)
    if isinstance(target, str) and not target.lstrip("-").isdigit():
        if target not in names:
            raise ValueError(f"unknown target label {target!r}; the model's labels are {names}")
        return names.index(target)
    t = int(target)
    if not 0 <= t < len(names):
        raise ValueError(f"target {t} out of range for the model's labels {names}")
    return t


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    buf: list[Any] = []
    for it in items:
        buf.append(it)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def _plan_chunk(seq: int, items: list[Record | BadRow], plans: Sequence[MethodPlan], store: Store,
                retry_failed: bool) -> ChunkTask:
    """Decide, for one chunk of input rows, what is already done and what is left."""
    errors: list[ErrorRow] = []
    records: list[Record] = []
    for it in items:
        if isinstance(it, BadRow):
            errors.append(ErrorRow(it.source, it.line, it.error, it.id))
        else:
            records.append(it)
    keys = [(r.id, p.method, p.params_hash) for r in records for p in plans]
    done = store.done(keys, include_failed=not retry_failed)
    task = ChunkTask(seq, [], [], [], [], errors, 0, len(items))
    seen: dict[str, tuple[str, int]] = {}
    for r in records:
        ih = r.input_hash
        if r.id in seen:
            first_hash, first_line = seen[r.id]
            if first_hash != ih:
                errors.append(ErrorRow(r.source, r.line, f"id {r.id!r} is used again with a different text "
                                       f"(first at line {first_line}); ids must be unique", r.id))
            else:
                task.skipped += len(plans)
            continue
        seen[r.id] = (ih, r.line)
        pending = []
        for p in plans:
            stored = done.get((r.id, p.method, p.params_hash))
            if stored is None:
                pending.append(p.method)
            elif stored != ih:
                errors.append(ErrorRow(r.source, r.line, f"id {r.id!r} already has a {p.method} result for a "
                                       f"different text; ids must be unique (or use a new --out)", r.id))
            else:
                task.skipped += 1
        if not pending:
            continue
        try:
            ex = r.to_example()
        except DataError as e:
            errors.append(ErrorRow(r.source, r.line, str(e).split(": ", 1)[-1], r.id))
            continue
        task.examples.append(ex)
        task.pending.append(pending)
        task.input_hashes.append(ih)
        task.positions.append(r.pos)
    return task


def _rows_for(task: ChunkTask, out: ChunkOutput, plans: Sequence[MethodPlan]) -> list[ResultRow]:
    by_method = {p.method: p for p in plans}
    where = {ex.id: i for i, ex in enumerate(task.examples)}
    rows = []
    for d in out.explanations:
        i = where[d["example_id"]]
        plan = by_method[d["method"]]
        rows.append(ResultRow(d["example_id"], d["method"], plan.params_hash, task.input_hashes[i],
                              task.positions[i], d, d.get("failed"),
                              out.metrics.get((d["example_id"], d["method"]))))
    return rows


class _Progress:
    """A rich progress bar (rows, rate, ETA) on stderr, or nothing."""

    def __init__(self, enabled: bool, total: int | None, label: str) -> None:
        self.bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.bar = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"), TextColumn("ETA"), TimeRemainingColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[note]}"),
            console=Console(stderr=True), transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task(label, total=total, rate="-", note="")
        self.t0 = time.perf_counter()

    def update(self, rows: int, note: str) -> None:
        if self.bar is not None:
            dt = time.perf_counter() - self.t0
            self.bar.update(self.task, completed=rows, rate=f"{rows / dt:,.1f}" if dt > 0 else "-", note=note)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_job(
    kind: str,
    model: Any,
    input: str | Path,
    methods: Sequence[str] | str,
    out: str | Path,
    *,
    params: dict[str, dict[str, Any]] | None = None,
    target: int | str | None = None,
    protocol: str | None = None,
    chunk_size: int = 64,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    text_field: str | None = None,
    id_field: str | None = None,
    limit: int | None = None,
    retry_failed: bool = False,
    progress: bool = False,
    on_chunk: Callable[[JobSummary, Any], None] | None = None,
) -> JobSummary:
    """Run (or resume) a corpus job; see :func:`run_explain` for the parameters."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    if not methods:
        raise ValueError("give at least one method, e.g. methods=['occlusion']")
    if kind != "explain" and not protocol:
        raise ValueError(f"a {kind} job needs protocol= (e.g. 'hatexplain'); see rationales.protocols()")
    if engine == "ray":
        from .ray_runner import require_ray

        require_ray()  # fail before loading a model when Ray is missing

    classifier, fingerprint = load_model(model)
    if target is not None:
        # a label name and its id are the same target: hash the id
        target = _target_id(classifier, target)
    plans = plan_methods(list(methods), params, fingerprint, target, kind, protocol if kind != "explain" else None)
    eval_protocol = protocol if kind != "explain" else None
    job = {"kind": kind, "input": str(input), "methods": {p.method: p.params_hash for p in plans},
           "text_field": text_field, "id_field": id_field}
    job_hash = digest(job)
    store = Store(out)
    run_id = store.start_run(kind, job_hash, {**job, "model": str(model) if not hasattr(model, "predict_proba") else
                                             getattr(model, "name", type(model).__name__),
                                             "fingerprint": fingerprint, "target": target,
                                             "protocol": eval_protocol, "engine": engine,
                                             "chunk_size": chunk_size, "limit": limit})
    for p in plans:
        store.add_params(p.params_hash, p.method, p.key_params)

    summary = JobSummary(kind, str(out), engine, 1, run_id, "running",
                         params_hashes={p.method: p.params_hash for p in plans})
    eng: Any = None
    total = None if limit is None else limit
    if progress:
        n = count_rows(input)
        total = n if total is None else (min(total, n) if n is not None else total)
    bar = _Progress(progress, total, f"{kind} {','.join(methods)}")
    t0 = time.perf_counter()
    non_mean: set[str] = set()

    def write(task: ChunkTask, output: ChunkOutput | None) -> None:
        rows = _rows_for(task, output, plans) if output is not None else []
        summary.new_results += store.write_chunk(run_id, job_hash, rows, task.errors)
        summary.failed += sum(r.failed is not None for r in rows)
        summary.rows += task.rows
        summary.skipped += task.skipped
        summary.examples += len(task.examples)
        if output is not None:
            for m, s in output.seconds.items():
                summary.seconds_by_method[m] = summary.seconds_by_method.get(m, 0.0) + s
            non_mean.update(output.non_mean_metrics)
            store.mark_non_mean(output.non_mean_metrics)
        summary.seconds = time.perf_counter() - t0
        bar.update(summary.rows, f"{summary.new_results} new, {summary.skipped} done before, "
                                 f"{summary.failed} failed, {len(store_errors_seen)} bad rows")
        if on_chunk is not None:
            on_chunk(summary, eng)

    store_errors_seen: set[tuple[str, int]] = set()
    items: Iterable[Any] = read_input(input, text_field=text_field, id_field=id_field,
                                      label_names=getattr(classifier, "label_names", None))
    if limit is not None:
        items = (it for i, it in zip(range(limit), items))
    try:
        if engine == "ray":
            from .ray_runner import RayEngine

            eng = RayEngine(classifier, plans, target, eval_protocol, None, workers=workers, address=address)
        else:
            eng = LocalEngine(classifier, plans, target, eval_protocol, None)
        summary.workers = eng.workers
        for seq, chunk in enumerate(_chunks(items, chunk_size)):
            task = _plan_chunk(seq, chunk, plans, store, retry_failed)
            # Bad-row keys are tracked only for the bar's count of this run: at most one
            # tuple per bad row, so it grows with the bad rows, not with the corpus.
            store_errors_seen.update((e.source, e.line) for e in task.errors)
            if not task.examples:
                write(task, None)
                continue
            for done_task, output in eng.submit(task):
                write(done_task, output)
        for done_task, output in eng.drain():
            write(done_task, output)
        summary.status = "finished"
    except KeyboardInterrupt:
        summary.status = "interrupted"
        raise
    except BaseException:
        summary.status = "failed"
        raise
    finally:
        bar.close()
        if eng is not None:
            eng.close()
        summary.seconds = time.perf_counter() - t0
        summary.bad_rows = len(store.errors(job_hash))
        summary.stored = store.count([p.params_hash for p in plans])
        summary.non_mean_metrics = sorted(non_mean | store.non_mean())
        if eval_protocol is not None:
            summary.metrics = store.metric_means([p.params_hash for p in plans])
        store.finish_run(run_id, summary.status, summary.to_dict())
        store.close()
    return summary


def run_explain(model: Any, input: str | Path, methods: Sequence[str] | str, out: str | Path,
                **options: Any) -> JobSummary:
    """Explain every row of a corpus with each method, storing results as they are made.

    ``model``: a model folder, a backbone name or a Classifier. ``input``: a ``.jsonl``
    or ``.csv`` file (read as a stream) or ``NAME:SPLIT``. ``out``: the job folder (its
    ``results.sqlite`` is created or resumed). Options: ``params`` (method → keyword
    parameters), ``target`` (default: the predicted label), ``chunk_size`` (rows per
    transaction), ``engine`` ("local" or "ray", with ``address`` and ``workers``),
    ``text_field`` / ``id_field`` (column names), ``limit`` (first N rows only),
    ``retry_failed`` (recompute failed explanations), ``progress`` (a progress bar).

    Rerunning the same call after a crash or Ctrl-C skips what is stored and finishes
    the rest.
    """
    return run_job("explain", model, input, methods, out, **options)


def run_evaluate(model: Any, input: str | Path, methods: Sequence[str] | str, out: str | Path,
                 protocol: str = "hatexplain", **options: Any) -> JobSummary:
    """Explain and evaluate every row under a protocol, storing per-example metric values.

    The summary's ``metrics`` are means of the stored per-example values; metrics whose
    value is not such a mean (pooled ``micro`` variants) are listed in
    ``non_mean_metrics`` and should be computed with :func:`rationales.evaluation` on the
    exported explanations.
    """
    return run_job("evaluate", model, input, methods, out, protocol=protocol, **options)


def run_benchmark(model: Any, input: str | Path, methods: Sequence[str] | str, out: str | Path,
                  protocol: str = "hatexplain", **options: Any) -> JobSummary:
    """Evaluate several methods over a corpus; the summary has metric means and seconds per method."""
    return run_job("benchmark", model, input, methods, out, protocol=protocol, **options)


def job_status(out: str | Path) -> dict[str, Any]:
    """What a job folder holds: runs, parameter sets with result counts, bad rows."""
    with Store(out, create=False) as store:
        runs = store.runs()
        return {
            "store": str(store.path),
            "runs": runs,
            "param_sets": store.param_sets(),
            "results": store.count(),
            "failed": store.count(failed=True),
            "bad_rows": [e.to_dict() for e in store.errors()],
        }
