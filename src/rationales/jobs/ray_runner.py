"""The Ray engine: the same job on a Ray cluster, with the driver still owning the store.

Why Ray actors (not Ray Data): each actor loads the model once and keeps it (and its
forward-engine cache) for the whole job, and the driver keeps doing what it does for the
local engine: it streams the input, checks the store for done keys, records bad rows
with their file and line, and writes each chunk's results in one SQLite transaction as
they come back. Ray Data would move reading and writing into its own streaming executor
and datasinks, which cannot share the single store transaction that makes resume exact.

Backpressure: at most ``2 × workers`` chunks are in flight, so the driver's memory stays
flat however large the corpus. A killed worker is restarted by Ray (``max_restarts``)
and reloads the model; its in-flight chunk is retried (``max_task_retries``), and if a
chunk still fails because its actor died, the driver resubmits it to another actor.
Results are written only when a chunk completes, so a retried chunk is never written twice.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Sequence

from ..errors import ParameterError, RationalesError
from ..evaluation.protocols import Protocol
from .compute import ChunkOutput, compute_chunk
from .plan import ChunkTask, MethodPlan

INSTALL_HINT = "pip install 'rationales[ray]'  (or: pip install 'ray>=2.30')"


def require_ray() -> Any:
    """Import Ray or say how to install it."""
    try:
        import ray
    except ImportError:
        raise RationalesError(
            f"--engine ray needs Ray, which is not installed. Install it with: {INSTALL_HINT}"
        ) from None
    return ray


def _pack_model(classifier: Any) -> dict[str, Any]:
    """The classifier as its saved folder's files, for models that do not pickle
    (a transformer's forward engine holds locks); workers load it with ``load_classifier``."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="rationales-ray-") as tmp:
        classifier.save(tmp)
        root = Path(tmp)
        return {"saved_folder": {str(p.relative_to(root)): p.read_bytes()
                                 for p in sorted(root.rglob("*")) if p.is_file()}}


def _unpack_model(model: Any) -> Any:
    if not (isinstance(model, dict) and "saved_folder" in model):
        return model
    import tempfile
    from pathlib import Path

    from ..models import load_classifier

    with tempfile.TemporaryDirectory(prefix="rationales-ray-") as tmp:
        for rel, data in model["saved_folder"].items():
            p = Path(tmp) / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        return load_classifier(tmp)


class _Worker:
    """A Ray actor: holds the classifier and the configured explainers for the whole job."""

    def __init__(self, classifier: Any, plans: list[MethodPlan], target: int | None,
                 protocol: Protocol | None, threads: int) -> None:
        classifier = _unpack_model(classifier)
        try:
            import torch

            # Ray gives each actor one CPU slot; torch would otherwise start a thread per core
            # in every actor and the workers would fight over the same cores.
            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass
        self.classifier = classifier
        self.plans = plans
        self.target, self.protocol = target, protocol

    def pid(self) -> int:
        return os.getpid()

    def run(self, task: ChunkTask) -> ChunkOutput:
        return compute_chunk(self.classifier, self.plans, task, self.target, self.protocol)


class RayEngine:
    """Sends chunks to ``workers`` Ray actors and yields each chunk's output as it completes."""

    name = "ray"

    def __init__(self, classifier: Any, plans: Sequence[MethodPlan], target: int | None,
                 protocol: Protocol | None, *, workers: int | None = None,
                 address: str | None = None, cpus_per_worker: float = 1.0,
                 in_flight_per_worker: int = 2, max_resubmits: int = 3) -> None:
        ray = require_ray()
        self.ray = ray
        self.started_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if address is None and workers is not None:
                kwargs["num_cpus"] = int(max(1, workers * cpus_per_worker))
            ray.init(address=address, **kwargs)
            self.started_ray = True
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_worker))
        if workers < 1:
            raise ParameterError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        # One copy of the model in the object store; each actor deserialises it once.
        # Kept referenced for the whole job: a restarted actor re-reads it from the store.
        try:
            self.clf_ref = clf_ref = ray.put(classifier)
        except Exception:  # noqa: BLE001 - not picklable: ship its saved folder instead
            self.clf_ref = clf_ref = ray.put(_pack_model(classifier))
        actor_cls = ray.remote(_Worker).options(
            num_cpus=cpus_per_worker, max_restarts=3, max_task_retries=3
        )
        threads = int(max(1, cpus_per_worker))
        self.actors = [actor_cls.remote(clf_ref, list(plans), target, protocol, threads)
                       for _ in range(workers)]
        self.max_in_flight = in_flight_per_worker * workers
        self.max_resubmits = max_resubmits
        self.in_flight: dict[Any, tuple[ChunkTask, int, int]] = {}  # ref -> (task, actor index, tries)
        self.next_actor = 0

    def _send(self, task: ChunkTask, tries: int) -> None:
        i = self.next_actor % len(self.actors)
        self.next_actor += 1
        ref = self.actors[i].run.remote(task)
        self.in_flight[ref] = (task, i, tries)

    def _collect(self, block: bool) -> Iterator[tuple[ChunkTask, ChunkOutput]]:
        ray = self.ray
        while self.in_flight and (block or len(self.in_flight) >= self.max_in_flight):
            ready, _ = ray.wait(list(self.in_flight), num_returns=1)
            ref = ready[0]
            task, _, tries = self.in_flight.pop(ref)
            try:
                output = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as e:
                if tries >= self.max_resubmits:
                    raise RationalesError(
                        f"chunk {task.seq} failed {tries + 1} times because its Ray worker died: {e}. "
                        "Rerun the same command to resume."
                    ) from e
                self._send(task, tries + 1)
                continue
            except ray.exceptions.RayTaskError as e:
                raise e.as_instanceof_cause() from None
            yield task, output

    def submit(self, task: ChunkTask) -> Iterator[tuple[ChunkTask, ChunkOutput]]:
        self._send(task, 0)
        yield from self._collect(block=False)

    def drain(self) -> Iterator[tuple[ChunkTask, ChunkOutput]]:
        yield from self._collect(block=True)

    def worker_pids(self) -> list[int]:
        return self.ray.get([a.pid.remote() for a in self.actors])

    def close(self) -> None:
        for a in self.actors:
            try:
                self.ray.kill(a)
            except Exception:  # noqa: BLE001 - an actor that is already gone is fine
                pass
        self.actors = []
        self.clf_ref = None
        if self.started_ray:
            self.ray.shutdown()
