"""The benchmark reports the page links to: found by listing a folder, never by a request's path.

Only files the listing produced are ever served (``/api/reports/{key}`` looks its key up
in the listing), so no path sent by a client is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: file kinds listed from the reports folder (benchmark reports and their tables)
REPORT_SUFFIXES = (".html", ".md", ".json", ".csv")
#: how many folder levels below the reports folder are searched
REPORT_DEPTH = 3
#: the most files one listing returns (the newest)
REPORT_MAX = 200


def list_reports(folder: Path | None) -> list[dict[str, Any]]:
    """Report files under ``folder`` (a few levels deep), newest first, keyed by relative path.

    Hidden files and folders and symbolic links are skipped. Each entry holds ``key``,
    ``name``, ``folder``, ``kind``, ``bytes``, ``modified`` and ``path`` (the file, for
    serving; never sent to a client).
    """
    if folder is None or not folder.is_dir():
        return []
    root = folder.resolve()
    found: list[dict[str, Any]] = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if len(rel.parts) > REPORT_DEPTH or path.suffix.lower() not in REPORT_SUFFIXES:
            continue
        if path.is_symlink() or not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        stat = path.stat()
        found.append({"key": rel.as_posix(), "name": path.name, "folder": rel.parent.as_posix(),
                      "kind": path.suffix.lower().lstrip("."), "bytes": stat.st_size,
                      "modified": stat.st_mtime, "path": path})
    found.sort(key=lambda r: (-r["modified"], r["key"]))
    return found[:REPORT_MAX]


def public(report: dict[str, Any]) -> dict[str, Any]:
    """A listed report as sent to a client: everything but its path on this machine."""
    return {k: v for k, v in report.items() if k != "path"}


__all__ = ["REPORT_SUFFIXES", "list_reports", "public"]
