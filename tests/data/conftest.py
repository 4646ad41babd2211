"""Real datasets loaded once per session (each load reads and checks every file)."""

from __future__ import annotations

import pytest

from rationales.data import load_dataset


@pytest.fixture(scope="session")
def real(data_dir):
    """load(name, split, **options) with a per-session cache."""
    cache: dict = {}

    def load(name, split, **options):
        key = (name, split, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = load_dataset(name, split, data_dir=data_dir, **options)
        return cache[key]

    return load
