"""The explainer conformance suite lives in the package: :mod:`rationales.testing`.

Kept as a re-export so the tests here keep their imports; new code imports
``rationales.testing`` (as a plugin author would).
"""

from __future__ import annotations

from rationales.testing import ATOL, TEXTS, check_explainer, check_explanation, clear_cache, conformance_examples, same_scores

__all__ = ["ATOL", "TEXTS", "check_explainer", "check_explanation", "clear_cache",
           "conformance_examples", "same_scores"]
