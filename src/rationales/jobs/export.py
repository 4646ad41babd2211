"""Export a job's stored results to JSONL, CSV or Parquet, streamed in input order.

One row per ``(example, method, params)``: the explanation's fields, its key, and the
per-example metric values when the job evaluated. Lists and dicts are native in JSONL
and Parquet (``words``/``scores`` as lists; ``params``/``info``/``metrics`` as JSON text
in Parquet so the schema stays fixed) and JSON text in CSV cells. :func:`read_export`
reads any of the three back to the same dicts.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import ParameterError, RationalesError
from .store import Store, canonical_json

FORMATS = ("jsonl", "csv", "parquet")
COLUMNS = ("example_id", "method", "params_hash", "target", "failed", "words", "scores",
           "params", "info", "metrics")
_JSON_IN_CSV = ("words", "scores", "params", "info", "metrics")
_JSON_IN_PARQUET = ("params", "info", "metrics")


def _format(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ParameterError(f"cannot tell the export format of {str(path)!r}: give format= one of {FORMATS} "
                         f"or a .jsonl/.csv/.parquet file name")
    return fmt


def iter_rows(store: Store, *, methods: Sequence[str] | None = None,
              params_hashes: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """The stored results as flat export rows (see COLUMNS), in input order."""
    metric_cur = store.conn.cursor()
    for r in store.iter_results(methods=methods, params_hashes=params_hashes):
        e = r["explanation"]
        metrics = {name: value for name, value in metric_cur.execute(
            "SELECT metric, value FROM metrics WHERE example_id=? AND method=? AND params_hash=? ORDER BY metric",
            (r["example_id"], r["method"], r["params_hash"]))}
        yield {"example_id": r["example_id"], "method": r["method"], "params_hash": r["params_hash"],
               "target": e["target"], "failed": r["failed"], "words": e["words"], "scores": e["scores"],
               "params": e.get("params") or {}, "info": e.get("info") or {}, "metrics": metrics}


def _latest_hashes(store: Store) -> list[str]:
    runs = store.runs()
    if not runs:
        return []
    return list(runs[-1]["config"]["methods"].values())


def export(out: str | Path, path: str | Path, *, format: str | None = None,
           methods: Sequence[str] | None = None, params_hashes: Sequence[str] | None = None,
           latest: bool = False, batch_rows: int = 2048) -> int:
    """Write a job folder's results to ``path``; returns the number of rows written.

    ``latest`` keeps only the parameter sets of the most recent run (a store can hold
    results of several models or parameter sets side by side).
    """
    path = Path(path)
    fmt = _format(path, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with Store(out, create=False) as store:
        hashes = list(params_hashes or []) + (_latest_hashes(store) if latest else [])
        rows = iter_rows(store, methods=methods, params_hashes=hashes or None)
        if fmt == "jsonl":
            with open(path, "w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    n += 1
        elif fmt == "csv":
            with open(path, "w", encoding="utf-8", newline="") as f:
                w = csv.DictWriter(f, fieldnames=COLUMNS)
                w.writeheader()
                for row in rows:
                    w.writerow({k: canonical_json(v) if k in _JSON_IN_CSV else ("" if v is None else v)
                                for k, v in row.items()})
                    n += 1
        else:
            n = _write_parquet(rows, path, batch_rows)
    return n


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 - loads the submodule callers use as pyarrow.parquet
    except ImportError:
        raise RationalesError("Parquet export needs pyarrow: pip install pyarrow "
                              "(or export to .jsonl / .csv)") from None
    return pyarrow


def _write_parquet(rows: Iterator[dict[str, Any]], path: Path, batch_rows: int) -> int:
    pa = _pyarrow()
    schema = pa.schema([
        ("example_id", pa.string()), ("method", pa.string()), ("params_hash", pa.string()),
        ("target", pa.int64()), ("failed", pa.string()), ("words", pa.list_(pa.string())),
        ("scores", pa.list_(pa.float64())), ("params", pa.string()), ("info", pa.string()),
        ("metrics", pa.string()),
    ])
    n = 0
    # Row groups of batch_rows: the export streams like the job did.
    with pa.parquet.ParquetWriter(str(path), schema) as writer:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            cols = {k: [r[k] for r in batch] for k in COLUMNS}
            for k in _JSON_IN_PARQUET:
                cols[k] = [canonical_json(v) for v in cols[k]]
            writer.write_table(pa.table(cols, schema=schema))
            batch.clear()

        for row in rows:
            batch.append(row)
            n += 1
            if len(batch) >= batch_rows:
                flush()
        if batch:
            flush()
    return n


def read_export(path: str | Path, format: str | None = None) -> Iterator[dict[str, Any]]:
    """Read an exported file back into the rows :func:`export` wrote."""
    path = Path(path)
    fmt = _format(path, format)
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)
    elif fmt == "csv":
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                out: dict[str, Any] = {}
                for k in COLUMNS:
                    v = row[k]
                    if k in _JSON_IN_CSV:
                        out[k] = json.loads(v)
                    elif k == "target":
                        out[k] = int(v)
                    elif k == "failed":
                        out[k] = v or None
                    else:
                        out[k] = v
                yield out
    else:
        pa = _pyarrow()
        pf = pa.parquet.ParquetFile(str(path))
        for batch in pf.iter_batches():
            for row in batch.to_pylist():
                for k in _JSON_IN_PARQUET:
                    row[k] = json.loads(row[k])
                yield row
