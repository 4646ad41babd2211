"""Whole recipes as resumable functions, each with a CLI command.

- :func:`xmutest`: X-MuTeST for one language (``rationales xmutest``): stage 1 on human
  rationales, n-gram + LLM explanations and their union, stage 2 on the union, a
  baseline, evaluation and the report; every stage written to disk and skipped when done.
"""

from __future__ import annotations

from .xmutest import DEFAULT_BACKBONES, XmutestRun, xmutest

__all__ = ["DEFAULT_BACKBONES", "XmutestRun", "xmutest"]
