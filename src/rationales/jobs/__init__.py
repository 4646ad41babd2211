"""Corpus-scale jobs: stream the input, store results per chunk, resume, scale out on Ray.

Python::

    from rationales.jobs import run_explain, export, job_status
    s = run_explain("models/hx", "posts.jsonl", ["ngram", "occlusion"], "results/day1")
    export("results/day1", "results/day1.parquet")

The CLI mirrors it: ``rationales run explain|evaluate|export|status``.

Modules: :mod:`.plan` (model, keys, the resolved protocol, what each chunk still needs),
:mod:`.compute` (a chunk's explanations and metrics; the local engine), :mod:`.ray_runner`
(the Ray engine), :mod:`.run` (the loop and the front doors), :mod:`.store`,
:mod:`.inputs`, :mod:`.export`.
"""

from __future__ import annotations

from .export import FORMATS, export, read_export
from .inputs import BadRow, Record, read_input
from .plan import load_model, model_fingerprint
from .run import JobOptions, JobSummary, job_status, run_evaluate, run_explain, run_job
from .store import Store

__all__ = [
    "FORMATS", "BadRow", "JobOptions", "JobSummary", "Record", "Store", "export", "job_status",
    "load_model", "model_fingerprint", "read_export", "read_input", "run_evaluate", "run_explain",
    "run_job",
]
