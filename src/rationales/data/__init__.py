"""The data layer: real datasets with human word rationales, read exactly as published.

::

    from rationales.data import load_dataset, load_spec, datasets, dataset_stats
    ds = load_dataset("hatexplain", split="test")           # or load_spec("hatexplain:test")
    ds = load_dataset("csv", path="my.csv", text_column="text", label_column="label")
    dataset_stats(ds)

Each loader is registered by name (``datasets()`` lists them with their splits and
options). Data folders are found in this order: ``data_dir=``, $RATIONALES_DATA, the
download cache (``rationales data fetch NAME``).
"""

from __future__ import annotations

# Importing a loader module registers it: these imports are for that side effect.
from . import eraser as _eraser  # noqa: F401
from . import geco as _geco  # noqa: F401
from . import hatexplain as _hatexplain  # noqa: F401
from . import tabular as _tabular  # noqa: F401
from . import toxic_spans as _toxic_spans  # noqa: F401
from . import xmutest as _xmutest  # noqa: F401
from .base import DATASETS, available, datasets, load_dataset, load_spec, parse_spec
from .paths import cache_dir, candidate_dirs, resolve_data_dir
from .stats import dataset_stats

__all__ = [
    "DATASETS", "available", "cache_dir", "candidate_dirs", "dataset_stats", "datasets",
    "load_dataset", "load_spec", "parse_spec", "resolve_data_dir",
]
