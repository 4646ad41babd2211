"""Corpus-scale jobs: stream the input, store results per chunk, resume, scale out on Ray.

Python::

    from rationales.jobs import run_explain, export, job_status
    s = run_explain("models/hx", "posts.jsonl", ["ngram", "occlusion"], "results/day1")
    export("results/day1", "results/day1.parquet")

The CLI mirrors it: ``rationales run explain|evaluate|benchmark|export|status``.
"""

from __future__ import annotations

from .export import FORMATS, export, read_export
from .inputs import BadRow, Record, read_input
from .runner import (JobSummary, job_status, load_model, model_fingerprint, run_benchmark,
                     run_evaluate, run_explain, run_job)
from .store import Store

__all__ = [
    "FORMATS", "BadRow", "JobSummary", "Record", "Store", "export", "job_status", "load_model",
    "model_fingerprint", "read_export", "read_input", "run_benchmark", "run_evaluate",
    "run_explain", "run_job",
]
