"""The dataset registry and the front door every loader goes through."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..errors import ParameterError
from ..registry import Registry
from ..types import Dataset
from .reading import Problems

#: name -> loader(split, *, data_dir, problems, **options) -> Dataset
DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")

# name -> finder(data_dir) -> [(split, options)] for what is present on disk; kept apart
# from the registry entries because those must stay JSON-serialisable.
_FINDERS: dict[str, Callable[[str | os.PathLike | None], list[tuple[str | None, dict]]]] = {}


def register(
    name: str,
    description: str,
    *,
    splits: list[str],
    options: dict[str, str],
    find: Callable[[str | os.PathLike | None], list[tuple[str | None, dict]]] | None = None,
    aliases: dict[str, str] | None = None,
) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Register a loader with its splits and options (option name -> what it does)."""

    def decorator(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        DATASETS.add(name, fn, description, splits=list(splits), options=dict(options),
                     split_aliases=dict(aliases or {}))
        if find is not None:
            _FINDERS[name] = find
        return fn

    return decorator


def load_dataset(
    name: str,
    split: str | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    on_error: str = "raise",
    **options: Any,
) -> Dataset:
    """Load a registered dataset (``rationales.data.datasets()`` lists them).

    ``data_dir`` overrides $RATIONALES_DATA and the download cache. ``on_error="skip"``
    skips malformed rows and counts them (by reason) in ``ds.report`` instead of raising.
    """
    entry = DATASETS.entry(name)
    known = entry.info["options"]
    unknown = sorted(set(options) - set(known))
    if unknown:
        listed = ", ".join(f"{k} ({v})" for k, v in known.items()) or "none"
        raise ParameterError(f"dataset {name!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options: {listed}")
    split = entry.info["split_aliases"].get(split, split) if split is not None else None
    if split is not None and entry.info["splits"] and split not in entry.info["splits"]:
        raise ParameterError(f"dataset {name!r} has no split {split!r}; "
                         f"its splits: {', '.join(entry.info['splits'])}")
    problems = Problems(on_error)
    ds = entry.obj(split, data_dir=data_dir, problems=problems, **options)
    ds.report = problems.report(**ds.report)
    return ds


def datasets() -> list[dict[str, Any]]:
    """The registered datasets: name, description, splits and options."""
    return [
        {"name": e.name, "description": e.description, "splits": e.info["splits"],
         "options": e.info["options"]}
        for e in DATASETS.entries()
    ]


def available(data_dir: str | os.PathLike | None = None) -> list[tuple[str, str | None, dict]]:
    """(name, split, options) for every dataset split whose files are present."""
    out: list[tuple[str, str | None, dict]] = []
    for name in DATASETS.names():
        finder = _FINDERS.get(name)
        if finder is None:
            continue
        for split, opts in finder(data_dir):
            out.append((name, split, opts))
    return out


_FILE_LOADERS = {".csv": "csv", ".jsonl": "jsonl", ".tsv": "csv"}


# -- loader options: KEY=VALUE, one syntax for every command ---------------------------
def parse_option_value(text: str) -> Any:
    """A loader option's value: JSON when it parses (``3``, ``true``, ``["a", "b"]``), else
    the text itself (``te``, ``/data/telugu/``)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_options(items: Iterable[str] | None) -> dict[str, Any]:
    """Loader options from ``KEY=VALUE`` strings (``-o lang=te -o path=/data/te/``).

    The one parser behind ``-o/--opt`` on every command and the ``?KEY=VALUE&...`` part of
    a spec; a later KEY overrides an earlier one.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").isalnum():
            raise ParameterError(f"loader option {item!r}: expected KEY=VALUE such as lang=te "
                                 "or labels=binary")
        out[key] = parse_option_value(value.strip())
    return out


def split_options(spec: str) -> tuple[str, dict[str, Any]]:
    """``"xmutest:test?lang=te&path=/d/te"`` -> (``"xmutest:test"``, {"lang": "te", "path": "/d/te"}).

    A spec without ``?`` (or a file whose name holds one) comes back unchanged with no options.
    """
    base, sep, query = spec.partition("?")
    if not sep or Path(spec).exists():
        return spec, {}
    return base, parse_options(part for part in query.split("&") if part)


def with_options(spec: str, options: Mapping[str, Any] | None) -> str:
    """``spec`` with ``options`` written into it (``NAME:SPLIT?KEY=VALUE&...``), for places
    that pass a dataset on as one string (corpus jobs, the server); options already in
    the spec are kept unless ``options`` names them again."""
    if not options:
        return spec
    base, given = split_options(spec)
    merged = {**given, **options}
    query = "&".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in merged.items())
    return f"{base}?{query}"


def load_spec(
    spec: str,
    data_dir: str | os.PathLike | None = None,
    *,
    on_error: str = "raise",
    **options: Any,
) -> Dataset:
    """Load ``NAME[:SPLIT]`` (``hatexplain:test``) or a path to a .csv / .jsonl file.

    Loader options are keyword arguments or written into the spec after ``?``
    (``"xmutest:train?lang=te"``); keyword arguments win.
    """
    spec, given = split_options(spec)
    options = {**given, **options}
    suffix = Path(spec).suffix.lower()
    if suffix in _FILE_LOADERS:
        return load_dataset(_FILE_LOADERS[suffix], None, data_dir=data_dir, on_error=on_error,
                            path=spec, **options)
    name, split = parse_spec(spec)
    return load_dataset(name, split, data_dir=data_dir, on_error=on_error, **options)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``"hatexplain:test"`` -> ("hatexplain", "test"); a file path -> (path, None)."""
    spec, _ = split_options(spec)
    if Path(spec).suffix.lower() in _FILE_LOADERS:
        return spec, None
    name, sep, split = spec.partition(":")
    if not name:
        raise ParameterError(f"expected NAME[:SPLIT] such as 'hatexplain:test', got {spec!r}")
    return name, (split or None) if sep else None
