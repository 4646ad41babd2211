"""Conformance suites: the checks every explainer and every classifier must pass.

Like scikit-learn's ``check_estimator``, they are plain functions a plugin author calls
on their own explainer or classifier, in any test runner (they need no pytest): each
raises ``AssertionError`` with a message naming the broken promise, or returns.

>>> from rationales.testing import check_classifier, check_explainer
>>> check_classifier(my_classifier)                 # doctest: +SKIP
>>> check_explainer("my_method", my_classifier)     # doctest: +SKIP

The project's own tests run them over every registered explainer and every backbone.
"""

from __future__ import annotations

from .classifiers import check_classifier, classifier_examples
from .explainers import ATOL, TEXTS, check_explainer, check_explanation, clear_cache, conformance_examples, same_scores

__all__ = ["ATOL", "TEXTS", "check_classifier", "check_explainer", "check_explanation",
           "classifier_examples", "clear_cache", "conformance_examples", "same_scores"]
