"""rationales: train, explain and audit text classifiers at the level people read: words.

The public API (the CLI mirrors it)::

    import rationales as rx
    ds = rx.load_dataset("hatexplain", split="test")
    clf = rx.load_classifier("minilm-en")            # a backbone name or a model folder
    exps = rx.explain(clf, ds[:10], methods=["ngram", "occlusion"])
    res = rx.evaluate(clf, exps, ds, protocol="hatexplain")

Heavy dependencies (torch, transformers) load on first use, so ``import rationales``
stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from .types import Dataset, Example, Explanation, MetricResult

__version__ = "0.1.0"

# public name -> (module, attribute); resolved on first access
_LAZY = {
    "load_dataset": ("rationales.data", "load_dataset"),
    "datasets": ("rationales.data", "datasets"),
    "segment": ("rationales.words", "segment"),
    "load_classifier": ("rationales.models", "load_classifier"),
    "backbones": ("rationales.models", "backbones"),
    "train": ("rationales.models.train", "train"),
    "optimize": ("rationales.models.onnx_backend", "optimize"),
    "explain": ("rationales.methods", "explain"),
    "explainers": ("rationales.methods", "explainers"),
    "evaluate": ("rationales.evaluation", "evaluate"),
    "metrics": ("rationales.evaluation", "metrics"),
    "protocols": ("rationales.evaluation", "protocols"),
    "benchmark": ("rationales.evaluation.benchmark", "benchmark"),
    "simulate": ("rationales.evaluation.simulate", "simulate"),
    "write_report": ("rationales.report", "write_all"),
    "pipelines": ("rationales.pipelines", ""),  # the module itself: rx.pipelines.xmutest(...)
}

__all__ = ["Dataset", "Example", "Explanation", "MetricResult", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        if attr:
            value = getattr(value, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rationales' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
