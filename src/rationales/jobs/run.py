"""The job loop: stream the input in chunks, compute what is not done, store per chunk.

One loop serves every engine. The driver (this process) reads the input, asks the store
which ``(example, method, params)`` keys are already done, and hands the rest to an
engine as a :class:`~.plan.ChunkTask`; whenever a task's results come back they are
written in one transaction. A crash loses at most the chunks in flight, and rerunning
the same command recomputes exactly those: nothing is lost and nothing is written twice.

Memory stays flat with corpus size: the driver holds one chunk being planned plus the
tasks in flight (one for the local engine, ``2 × workers`` for Ray), never the corpus.
An evaluate job whose protocol depends on the data (``top_fraction=mean_gold``) reads
the input once more before the loop, also chunk by chunk, to resolve it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..errors import ParameterError
from ..evaluation.protocols import Protocol, get_protocol
from ..methods.request import check_request
from ..progress import Progress, ProgressLike, progress_from
from .compute import ChunkOutput, LocalEngine
from .inputs import Item, count_rows, read_input
from .plan import ChunkTask, MethodPlan, chunks, load_model, plan_chunk, plan_methods, resolve_protocol
from .ray_runner import RayEngine, require_ray
from .store import ResultRow, Store, digest

ENGINES = ("local", "ray")
KINDS = ("explain", "evaluate")


# -- what a run did ------------------------------------------------------------------------
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
    #: the protocol as resolved for the whole input (evaluate jobs)
    protocol: dict[str, Any] | None = None
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


# -- the options, checked before any work --------------------------------------------------
@dataclass(frozen=True)
class JobOptions:
    """How a job runs: the keyword options of :func:`run_job` (see :func:`run_explain`)."""

    params: dict[str, dict[str, Any]] | None = None
    target: int | str | None = None
    protocol: str | Protocol | None = None
    chunk_size: int = 64
    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    text_field: str | None = None
    id_field: str | None = None
    limit: int | None = None
    retry_failed: bool = False
    progress: ProgressLike = False
    #: called after every stored chunk with the summary so far and the engine
    on_chunk: Callable[[JobSummary, Any], None] | None = None

    @classmethod
    def for_kind(cls, kind: str, options: dict[str, Any]) -> "JobOptions":
        """The options of a ``kind`` job; an unknown kind, option or value is a ParameterError."""
        if kind not in KINDS:
            raise ParameterError(f"kind must be one of {KINDS}, got {kind!r}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ParameterError(f"unknown job option(s) {unknown}; the options are {known}")
        opts = cls(**options)
        if opts.engine not in ENGINES:
            raise ParameterError(f"engine must be one of {ENGINES}, got {opts.engine!r}")
        if opts.chunk_size < 1:
            raise ParameterError(f"chunk_size must be at least 1, got {opts.chunk_size}")
        if opts.target is not None and not isinstance(opts.target, (int, str)):
            raise ParameterError(f"a job's target is one label id or name for every row, got {opts.target!r}")
        if kind == "evaluate" and not opts.protocol:
            raise ParameterError("an evaluate job needs protocol= (e.g. 'hatexplain'); see rationales.protocols()")
        if kind == "explain" and opts.protocol:
            raise ParameterError("an explain job does not evaluate: drop protocol= or run an evaluate job")
        return opts


# -- a planned job ---------------------------------------------------------------------------
@dataclass
class _Job:
    """A checked and planned job: what the loop needs, nothing computed yet."""

    kind: str
    model: Any
    input: str | Path
    out: str | Path
    options: JobOptions
    classifier: Any
    fingerprint: str
    target: int | None
    protocol: Protocol | None
    plans: list[MethodPlan]

    def key(self) -> dict[str, Any]:
        """What identifies the job (its bad rows are recorded under this key's hash)."""
        return {"kind": self.kind, "input": str(self.input),
                "methods": {p.method: p.params_hash for p in self.plans},
                "text_field": self.options.text_field, "id_field": self.options.id_field}

    def config(self) -> dict[str, Any]:
        """The key plus how this run was made, kept with the run in the store."""
        model = self.model if not hasattr(self.model, "predict_proba") else getattr(
            self.model, "name", type(self.model).__name__)
        return {**self.key(), "model": str(model), "fingerprint": self.fingerprint, "target": self.target,
                "protocol": None if self.protocol is None else self.protocol.to_dict(),
                "engine": self.options.engine, "chunk_size": self.options.chunk_size,
                "limit": self.options.limit}

    def items(self) -> Iterator[Item]:
        """The input rows, streamed (the first ``limit`` only, when given)."""
        items: Iterable[Item] = read_input(self.input, text_field=self.options.text_field,
                                           id_field=self.options.id_field,
                                           label_names=list(self.classifier.label_names))
        limit = self.options.limit
        return iter(items) if limit is None else (it for _, it in zip(range(limit), items))

    def engine(self) -> LocalEngine | RayEngine:
        o = self.options
        if o.engine == "ray":
            return RayEngine(self.classifier, self.plans, self.target, self.protocol,
                             workers=o.workers, address=o.address)
        return LocalEngine(self.classifier, self.plans, self.target, self.protocol)


def _total(job: _Job) -> int | None:
    """Rows the progress bar expects (None when unknown)."""
    n = count_rows(job.input)
    limit = job.options.limit
    return limit if n is None else (n if limit is None else min(n, limit))


def _plan(kind: str, model: Any, input: str | Path, methods: Sequence[str] | str, out: str | Path,
          opts: JobOptions) -> _Job:
    """Check the request and fix every key before any explainer runs."""
    if opts.engine == "ray":
        require_ray()  # fail before loading a model when Ray is missing
    protocol = None if opts.protocol is None else get_protocol(opts.protocol)
    classifier, fingerprint = load_model(model)
    # the one request path: methods, capabilities, parameters and the target (an id)
    request = check_request(classifier, methods, opts.params, opts.target)
    job = _Job(kind, model, input, out, opts, classifier, fingerprint, request.target, protocol, [])
    if protocol is not None and protocol.needs_data:
        # resolved once for the whole input: every chunk is evaluated, and keyed, under it
        with Progress(_total(job) if opts.progress is True else None, "reading the input to resolve "
                      f"protocol {protocol.name!r}", enabled=opts.progress is True, unit="rows",
                      transient=True) as bar:
            job.protocol = resolve_protocol(protocol, _counted(job.items(), bar), classifier.label_names,
                                            str(input))
    job.plans = plan_methods(request, fingerprint, job.protocol)
    return job


def _counted(items: Iterable[Item], bar: Progress, every: int = 1024) -> Iterator[Item]:
    n = 0
    for n, it in enumerate(items, 1):
        if n % every == 0:
            bar.update(n)
        yield it
    bar.update(n)


# -- the loop ----------------------------------------------------------------------------------
class _Recorder:
    """Writes each computed chunk to the store and keeps the summary and the bar current."""

    def __init__(self, job: _Job, store: Store, summary: JobSummary, bar: Progress) -> None:
        self.job, self.store, self.summary, self.bar = job, store, summary, bar
        self.job_hash = digest(job.key())
        self.engine: Any = None
        # this run's bad rows, for the bar: one tuple per bad row, not per input row
        self.bad_seen: set[tuple[str, int]] = set()
        self.t0 = time.perf_counter()

    def write(self, task: ChunkTask, output: ChunkOutput | None) -> None:
        s = self.summary
        rows = _result_rows(task, output, self.job.plans) if output is not None else []
        s.new_results += self.store.write_chunk(s.run_id, self.job_hash, rows, task.errors)
        s.failed += sum(r.failed is not None for r in rows)
        s.rows += task.rows
        s.skipped += task.skipped
        s.examples += len(task.examples)
        self.bad_seen.update((e.source, e.line) for e in task.errors)
        if output is not None:
            for m, sec in output.seconds.items():
                s.seconds_by_method[m] = s.seconds_by_method.get(m, 0.0) + sec
            self.store.mark_non_mean(output.non_mean_metrics)
        s.seconds = time.perf_counter() - self.t0
        self.bar.update(s.rows, note=f"{s.new_results} new, {s.skipped} done before, {s.failed} failed, "
                                     f"{len(self.bad_seen)} bad rows")
        if self.job.options.on_chunk is not None:
            self.job.options.on_chunk(s, self.engine)

    def finish(self) -> None:
        """Totals from the store (this run and the ones before) into the summary and the run."""
        s, store = self.summary, self.store
        hashes = [p.params_hash for p in self.job.plans]
        s.seconds = time.perf_counter() - self.t0
        s.bad_rows = len(store.errors(self.job_hash))
        s.stored = store.count(hashes)
        if self.job.protocol is not None:
            s.metrics = store.metric_means(hashes)
            s.non_mean_metrics = sorted(store.metric_labels(hashes) & store.non_mean())
        store.finish_run(s.run_id, s.status, s.to_dict())


def _result_rows(task: ChunkTask, out: ChunkOutput, plans: Sequence[MethodPlan]) -> list[ResultRow]:
    by_method = {p.method: p for p in plans}
    where = {ex.id: i for i, ex in enumerate(task.examples)}
    rows = []
    for d in out.explanations:
        i = where[d["example_id"]]
        rows.append(ResultRow(d["example_id"], d["method"], by_method[d["method"]].params_hash,
                              task.input_hashes[i], task.positions[i], d, d.get("failed"),
                              out.metrics.get((d["example_id"], d["method"]))))
    return rows


def _execute(job: _Job) -> JobSummary:
    opts = job.options
    store = Store(job.out)
    recorder: _Recorder | None = None
    try:
        run_id = store.start_run(job.kind, digest(job.key()), job.config())
        for p in job.plans:
            store.add_params(p.params_hash, p.method, p.key_params)
        summary = JobSummary(job.kind, str(job.out), opts.engine, 1, run_id, "running",
                             params_hashes={p.method: p.params_hash for p in job.plans},
                             protocol=None if job.protocol is None else job.protocol.to_dict())
        bar = progress_from(opts.progress, _total(job) if opts.progress else None,
                            f"{job.kind} {','.join(p.method for p in job.plans)}", unit="rows")
        recorder = _Recorder(job, store, summary, bar)
        try:
            engine = recorder.engine = job.engine()
            summary.workers = engine.workers
            for seq, chunk in enumerate(chunks(job.items(), opts.chunk_size)):
                task = plan_chunk(seq, chunk, job.plans, store, opts.retry_failed)
                if not task.examples:
                    recorder.write(task, None)
                    continue
                for done, output in engine.submit(task):
                    recorder.write(done, output)
            for done, output in engine.drain():
                recorder.write(done, output)
            summary.status = "finished"
        except KeyboardInterrupt:
            summary.status = "interrupted"
            raise
        except BaseException:
            summary.status = "failed"
            raise
        finally:
            bar.close()
            if recorder.engine is not None:
                recorder.engine.close()
            recorder.finish()
    finally:
        store.close()
    return summary


# -- the front doors ---------------------------------------------------------------------------
def run_job(kind: str, model: Any, input: str | Path, methods: Sequence[str] | str, out: str | Path,
            **options: Any) -> JobSummary:
    """Run (or resume) a corpus job of ``kind`` ("explain" or "evaluate").

    ``options`` are those of :class:`JobOptions`; see :func:`run_explain`.
    """
    opts = JobOptions.for_kind(kind, options)
    return _execute(_plan(kind, model, input, methods, out, opts))


def run_explain(model: Any, input: str | Path, methods: Sequence[str] | str, out: str | Path,
                **options: Any) -> JobSummary:
    """Explain every row of a corpus with each method, storing results as they are made.

    ``model``: a model folder, a backbone name or a Classifier. ``input``: a ``.jsonl``
    or ``.csv`` file (read as a stream) or ``NAME:SPLIT``. ``out``: the job folder (its
    ``results.sqlite`` is created or resumed). Options: ``params`` (method → keyword
    parameters), ``target`` (a label id or name; default: the predicted label),
    ``chunk_size`` (rows per transaction), ``engine`` ("local" or "ray", with ``address``
    and ``workers``), ``text_field`` / ``id_field`` (column names), ``limit`` (first N
    rows only), ``retry_failed`` (recompute failed explanations), ``progress`` (True for
    a bar, or a callable ``progress(done, total)``), ``on_chunk`` (called after every
    stored chunk with the summary so far and the engine).

    Rerunning the same call after a crash or Ctrl-C skips what is stored and finishes
    the rest.
    """
    return run_job("explain", model, input, methods, out, **options)


def run_evaluate(model: Any, input: str | Path, methods: Sequence[str] | str, out: str | Path,
                 protocol: str | Protocol = "hatexplain", **options: Any) -> JobSummary:
    """Explain and evaluate every row under a protocol, storing per-example metric values.

    The protocol is resolved once for the whole input (``top_fraction=mean_gold`` is the
    mean gold fraction of every row it selects), so every chunk is evaluated under the
    same choices and a rerun resumes. The summary's ``metrics`` are means of the stored
    per-example values; metrics that the registry calls pooled under the protocol
    (:meth:`rationales.evaluation.Metric.aggregation`) are not such a mean: they are
    listed in ``non_mean_metrics`` and should be computed with
    :func:`rationales.evaluation.evaluate` on the exported explanations.
    """
    return run_job("evaluate", model, input, methods, out, protocol=protocol, **options)


def job_status(out: str | Path) -> dict[str, Any]:
    """What a job folder holds: runs, parameter sets with result counts, bad rows."""
    with Store(out, create=False) as store:
        return {
            "store": str(store.path),
            "runs": store.runs(),
            "param_sets": store.param_sets(),
            "results": store.count(),
            "failed": store.count(failed=True),
            "bad_rows": [e.to_dict() for e in store.errors()],
        }
