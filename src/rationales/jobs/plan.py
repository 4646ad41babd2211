"""What a job will compute, decided on the driver before any explainer runs.

The model and its fingerprint, each method's configured explainer and the hash its
results are keyed by, the evaluation protocol resolved over the whole input, and, chunk
by chunk, which ``(example, method)`` pairs are not stored yet (a :class:`ChunkTask`).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..errors import DataError
from ..evaluation.protocols import Protocol
from ..methods.request import Request
from ..types import Dataset, Example
from .inputs import BadRow, Item, Record
from .store import ErrorRow, Store, digest


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


def plan_methods(request: Request, fingerprint: str, protocol: Protocol | None) -> list[MethodPlan]:
    """Key each checked method by everything that changes its results: its full parameters,
    the model, the target and, for evaluate jobs, the resolved protocol."""
    plans = []
    for method, explainer in zip(request.methods, request.explainers):
        key = {"method": method, "params": explainer.params, "model": fingerprint,
               "target": request.target, "evaluation": None if protocol is None else protocol.to_dict()}
        plans.append(MethodPlan(method, explainer, digest(key), key))
    return plans


# -- the protocol, resolved once over the whole input ---------------------------------
def resolve_protocol(protocol: Protocol, items: Iterable[Item], label_names: Sequence[str],
                     source: str, chunk_size: int = 1024) -> Protocol:
    """``protocol`` with its data-dependent choices fixed over every usable row of ``items``.

    Streams (:meth:`Protocol.resolve_from`): one chunk of examples is held at a time, and
    the value equals :meth:`Protocol.resolve` on the whole input as one dataset.
    """
    if not protocol.needs_data:
        return protocol

    def parts() -> Iterator[Dataset]:
        for chunk in chunks((it for it in items if isinstance(it, Record)), chunk_size):
            examples = []
            for record in chunk:
                try:
                    examples.append(record.to_example())
                except DataError:
                    continue  # a bad row: the job records it and never evaluates it
            yield Dataset(examples, list(label_names))

    return protocol.resolve_from(parts(), source)


# -- chunks: what is done and what is left ----------------------------------------------
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


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    buf: list[Any] = []
    for it in items:
        buf.append(it)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def plan_chunk(seq: int, items: list[Item], plans: Sequence[MethodPlan], store: Store,
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
