"""Plain JSON out of anything the package returns: one home for JSON safety.

Every JSON the package writes (``--json`` output, explanation JSONL, reports, the web
API) goes through :func:`json_safe` and :func:`dumps`, so it is strict JSON and valid
UTF-8 whatever the input:

- numpy numbers and arrays become Python numbers and lists; tuples and sets become lists;
  objects with ``to_dict`` are written as that dict; anything else as its ``str``;
- NaN and ±infinity (which JSON does not have) become ``null``;
- an *unpaired surrogate* in a string (what Python makes of a byte that is not UTF-8 in a
  command-line argument or a file name, e.g. ``$'caf\\xe9'`` → ``'caf\\udce9'``) cannot be
  encoded as UTF-8; it is written as its JSON escape ``\\udce9``. The output stays valid
  UTF-8, and a JSON reader gets the same Python string back (nothing is lost or replaced).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import regex

_SURROGATE = regex.compile(r"[\ud800-\udfff]")


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON values (see the module docstring for each rule)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict())
    try:  # numpy scalars and arrays, without importing numpy here
        import numpy as np

        if isinstance(value, np.ndarray):
            return json_safe(value.tolist())
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return json_safe(float(value))
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return str(value)


def finite(value: Any) -> float | None:
    """A float, or None for None, NaN and ±infinity."""
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def escape_surrogates(text: str) -> str:
    """JSON text with every unpaired surrogate written as its ``\\uXXXX`` escape."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """Strict JSON text of ``value`` that encodes as UTF-8 whatever its strings hold."""
    text = json.dumps(json_safe(value), ensure_ascii=False, indent=indent, sort_keys=sort_keys,
                      allow_nan=False)
    return escape_surrogates(text)


def write_json(path: str | Path, value: Any, *, indent: int | None = 1) -> Path:
    """Write ``value`` as one JSON document (UTF-8); the folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(value, indent=indent) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> int:
    """Write one JSON value per line (UTF-8); returns the number of lines written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(dumps(row) + "\n")
            n += 1
    return n


__all__ = ["dumps", "escape_surrogates", "finite", "json_safe", "write_json", "write_jsonl"]
