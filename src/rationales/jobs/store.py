"""The job store: one SQLite file that survives crashes and knows what is done.

Why SQLite: it is in the standard library, one file, and its transactions are atomic
and durable, so a chunk of results is either wholly written or not at all, whatever
kills the process. WAL mode lets ``rationales run status`` read while a job writes.

Every result is keyed by ``(example_id, method, params_hash)``; ``params_hash`` covers
the method's full parameters, the target rule and the model's fingerprint, so a changed
model or parameter is a different key (both results stay, side by side), never a
silent mix. The primary key makes a duplicate write impossible.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from ..errors import RationalesError

SCHEMA_VERSION = "1"
STORE_FILE = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    job_hash TEXT NOT NULL,
    config TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS params (
    params_hash TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    params TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    example_id TEXT NOT NULL,
    method TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    pos INTEGER NOT NULL,
    failed TEXT,
    payload TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (example_id, method, params_hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS results_order ON results (params_hash, pos);
CREATE TABLE IF NOT EXISTS metrics (
    example_id TEXT NOT NULL,
    method TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (example_id, method, params_hash, metric)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS errors (
    job_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    example_id TEXT,
    error TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (job_hash, source, line)
) WITHOUT ROWID;
"""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (and hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(value: Any, n: int = 16) -> str:
    """A short sha256 of a value's canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()[:n]


@dataclass(frozen=True)
class ResultRow:
    """One stored result to write: an explanation (``payload``) and optional metric values."""

    example_id: str
    method: str
    params_hash: str
    input_hash: str
    pos: int
    payload: dict[str, Any]
    failed: str | None = None
    metrics: dict[str, float | None] | None = None


@dataclass(frozen=True)
class ErrorRow:
    """An input row that could not be used, with where it was and why."""

    source: str
    line: int
    error: str
    example_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "example_id": self.example_id,
                "error": self.error}


class Store:
    """A job folder's results database (``<out>/results.sqlite``)."""

    def __init__(self, out: str | Path, *, create: bool = True) -> None:
        self.dir = Path(out)
        self.path = self.dir / STORE_FILE
        if not create and not self.path.is_file():
            raise RationalesError(
                f"{self.path} does not exist: no job has written to {self.dir} yet "
                f"(run `rationales run explain ... --out {self.dir}` first)"
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per chunk.
        self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed chunk survives a power cut too, not only a killed process;
        # it costs one fsync per chunk, which is negligible beside the model's work.
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(_SCHEMA)
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise RationalesError(
                f"{self.path} was written by store schema {row[0]}, this version reads "
                f"{SCHEMA_VERSION}; use a new --out folder"
            )

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- runs and parameter sets ---------------------------------------------------------
    def start_run(self, kind: str, job_hash: str, config: dict[str, Any]) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (kind, job_hash, config, started, status) VALUES (?, ?, ?, ?, 'running')",
            (kind, job_hash, canonical_json(config), time.time()),
        )
        assert cur.lastrowid is not None  # an INSERT always sets it
        return cur.lastrowid

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE runs SET finished=?, status=?, summary=? WHERE run_id=?",
            (time.time(), status, canonical_json(summary), run_id),
        )

    def add_params(self, params_hash: str, method: str, params: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO params VALUES (?, ?, ?)", (params_hash, method, canonical_json(params))
        )

    def runs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT run_id, kind, job_hash, config, started, finished, status, summary FROM runs ORDER BY run_id"
        ).fetchall()
        return [
            {"run_id": r[0], "kind": r[1], "job_hash": r[2], "config": json.loads(r[3]),
             "started": r[4], "finished": r[5], "status": r[6],
             "summary": json.loads(r[7]) if r[7] else None}
            for r in rows
        ]

    def param_sets(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT p.params_hash, p.method, p.params, COUNT(r.example_id), "
            "SUM(r.failed IS NOT NULL) FROM params p LEFT JOIN results r "
            "ON r.params_hash = p.params_hash GROUP BY p.params_hash ORDER BY p.method, p.params_hash"
        ).fetchall()
        return [{"params_hash": h, "method": m, "params": json.loads(p), "results": n,
                 "failed": int(f or 0)} for h, m, p, n, f in rows]

    # -- what is done ------------------------------------------------------------------
    def done(self, keys: Sequence[tuple[str, str, str]], *, include_failed: bool = True) -> dict[tuple[str, str, str], str]:
        """Which of ``(example_id, method, params_hash)`` are stored: key → input hash."""
        out: dict[tuple[str, str, str], str] = {}
        # SQLite caps bound variables; 300 keys × 3 stays far below the limit.
        for start in range(0, len(keys), 300):
            part = keys[start:start + 300]
            where = " OR ".join(["(example_id=? AND method=? AND params_hash=?)"] * len(part))
            if not include_failed:
                where = f"({where}) AND failed IS NULL"
            args = [v for k in part for v in k]
            for eid, m, h, ih in self.conn.execute(
                f"SELECT example_id, method, params_hash, input_hash FROM results WHERE {where}", args
            ):
                out[(eid, m, h)] = ih
        return out

    # -- writing: one transaction per chunk --------------------------------------------
    def write_chunk(self, run_id: int, job_hash: str, results: Iterable[ResultRow],
                    errors: Iterable[ErrorRow] = ()) -> int:
        """Write a chunk's results and error rows atomically; returns how many results were new."""
        now = time.time()
        new = 0
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for r in results:
                # A failed result may be recomputed (--retry-failed): replace only those.
                if r.failed is None:
                    cur.execute("DELETE FROM results WHERE example_id=? AND method=? AND params_hash=? "
                                "AND failed IS NOT NULL", (r.example_id, r.method, r.params_hash))
                cur.execute(
                    "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (r.example_id, r.method, r.params_hash, r.input_hash, r.pos, r.failed,
                     canonical_json(r.payload), run_id, now),
                )
                new += cur.rowcount
                for name, value in (r.metrics or {}).items():
                    cur.execute(
                        "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?)",
                        (r.example_id, r.method, r.params_hash, name, value),
                    )
            for e in errors:
                cur.execute(
                    "INSERT OR REPLACE INTO errors VALUES (?, ?, ?, ?, ?, ?)",
                    (job_hash, e.source, e.line, e.example_id, e.error, run_id),
                )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return new

    # -- reading -----------------------------------------------------------------------
    def count(self, params_hashes: Sequence[str] | None = None, *, failed: bool | None = None) -> int:
        where, args = self._where(params_hashes=params_hashes)
        if failed is not None:
            where += (" AND " if where else " WHERE ") + ("failed IS NOT NULL" if failed else "failed IS NULL")
        return int(self.conn.execute(f"SELECT COUNT(*) FROM results{where}", args).fetchone()[0])

    def errors(self, job_hash: str | None = None) -> list[ErrorRow]:
        q = "SELECT source, line, error, example_id FROM errors"
        args: list[Any] = []
        if job_hash is not None:
            q += " WHERE job_hash=?"
            args.append(job_hash)
        return [ErrorRow(s, int(n), e, i) for s, n, e, i in self.conn.execute(q + " ORDER BY source, line", args)]

    def _where(self, *, params_hashes: Sequence[str] | None = None,
               methods: Sequence[str] | None = None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if params_hashes:
            clauses.append(f"params_hash IN ({','.join('?' * len(params_hashes))})")
            args += list(params_hashes)
        if methods:
            clauses.append(f"method IN ({','.join('?' * len(methods))})")
            args += list(methods)
        return ((" WHERE " + " AND ".join(clauses)) if clauses else "", args)

    def iter_results(self, *, params_hashes: Sequence[str] | None = None,
                     methods: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        """Stored results in input order (then method), one dict each, streamed."""
        where, args = self._where(params_hashes=params_hashes, methods=methods)
        cur = self.conn.execute(
            "SELECT example_id, method, params_hash, input_hash, pos, failed, payload FROM results"
            f"{where} ORDER BY pos, method, params_hash", args,
        )
        for eid, m, h, ih, pos, failed, payload in cur:
            yield {"example_id": eid, "method": m, "params_hash": h, "input_hash": ih,
                   "pos": pos, "failed": failed, "explanation": json.loads(payload)}

    def iter_metrics(self, *, params_hashes: Sequence[str] | None = None,
                     methods: Sequence[str] | None = None) -> Iterator[tuple[str, str, str, str, float | None]]:
        where, args = self._where(params_hashes=params_hashes, methods=methods)
        yield from self.conn.execute(
            f"SELECT example_id, method, params_hash, metric, value FROM metrics{where}", args
        )

    def metric_labels(self, params_hashes: Sequence[str]) -> set[str]:
        """The metric labels stored for these parameter sets."""
        where, args = self._where(params_hashes=params_hashes)
        return {label for (label,) in self.conn.execute(f"SELECT DISTINCT metric FROM metrics{where}", args)}

    def mark_non_mean(self, labels: Iterable[str]) -> None:
        """Remember metrics whose value is not a mean of per-example values (the registry's
        "pooled" aggregation under the job's protocol)."""
        for label in labels:
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES (?, '1')", (f"non_mean/{label}",))

    def non_mean(self) -> set[str]:
        return {k.split("/", 1)[1] for (k,) in self.conn.execute("SELECT key FROM meta WHERE key LIKE 'non_mean/%'")}

    def metric_means(self, params_hashes: Sequence[str]) -> list[dict[str, Any]]:
        """Per (method, params, metric): mean of the stored per-example values and n.

        Metrics marked non-mean (pooled variants) are left out: averaging their
        per-example values would give a number under the wrong variant name.
        """
        skip = self.non_mean()
        where, args = self._where(params_hashes=params_hashes)
        rows = self.conn.execute(
            f"SELECT method, params_hash, metric, AVG(value), COUNT(value), SUM(value IS NULL) "
            f"FROM metrics{where} GROUP BY method, params_hash, metric ORDER BY method, metric", args
        ).fetchall()
        return [{"method": m, "params_hash": h, "metric": name, "value": v, "n": int(n),
                 "excluded": int(x or 0)} for m, h, name, v, n, x in rows if name not in skip]
