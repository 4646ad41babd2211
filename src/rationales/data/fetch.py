"""Download the public dataset files into the cache folder, checking their sha256.

Offline, a download fails at once (short connect timeout) with an :class:`OfflineError`
that says where to put the files by hand. Hashes are pinned where we hold the very same
file (``../shared/data/SHA256SUMS``); HateXplain's ``dataset.json`` is not among those,
so its hash is computed and reported rather than checked.
"""

from __future__ import annotations

import hashlib
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import DataError, OfflineError, UnknownNameError
from .paths import cache_dir

CONNECT_TIMEOUT = 10.0  # seconds; also the limit between two received chunks
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Source:
    """One public file: where it comes from, where it goes, what its sha256 must be."""

    url: str
    dest: str  # relative to the data folder
    sha256: str | None = None


_HX = "https://raw.githubusercontent.com/hate-alert/HateXplain/master/Data/"
_TS = "https://raw.githubusercontent.com/ipavlopoulos/toxic_spans/master/"

SOURCES: dict[str, list[Source]] = {
    "hatexplain": [
        Source(_HX + "dataset.json", "hatexplain/dataset.json"),
        Source(_HX + "post_id_divisions.json", "hatexplain/post_id_divisions.json",
               "c2fb0d89862e7897b11ea3e9380753f15a793482b4b70ad0532dfb1212212835"),
    ],
    "eraser-movies": [
        Source("https://www.eraserbenchmark.com/zipped/movies.tar.gz",
               "eraser-movies/movies.tar.gz",
               "66e18d4e6c9df9e9f5544572b0bfe92a39673f74ecbfc3859b46cedb2f5b2dee"),
    ],
    "toxic_spans": [
        Source(_TS + "data/tsd_trial.csv", "toxic-spans/tsd_trial.csv",
               "6bb8e9a16470c0269ac8727fd8bb77df68d8fb27955d9f5ff29ad724505622e8"),
        Source(_TS + "SemEval2021/data/tsd_train.csv", "toxic-spans/tsd_train.csv",
               "b538ea2d64ed7c306ff8f010a25a5286bef6ce61d469042482ba64efc1ddd6cd"),
        Source(_TS + "SemEval2021/data/tsd_test.csv", "toxic-spans/tsd_test.csv",
               "74f4dd086667fdad6198539ff9201d1f25f3a94c5169da1e7643a949974bf6b8"),
    ],
}
ALIASES = {"eraser": "eraser-movies", "movies": "eraser-movies", "toxic-spans": "toxic_spans"}


def fetchable() -> list[str]:
    return list(SOURCES)


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _by_hand(name: str, dest: Path) -> str:
    lines = ["Download by hand and put the files here (or point $RATIONALES_DATA at a folder "
             "laid out the same way):"]
    for s in SOURCES[name]:
        lines.append(f"  {s.url}\n    -> {dest / s.dest}")
    return "\n".join(lines)


def fetch(
    name: str,
    dest: str | os.PathLike | None = None,
    *,
    force: bool = False,
    verify: bool = True,
    timeout: float = CONNECT_TIMEOUT,
    opener: Callable[..., Any] = urllib.request.urlopen,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> list[dict[str, Any]]:
    """Download ``name``'s public files into ``dest`` (default: the cache folder).

    Returns one record per file: path, url, sha256, whether it was downloaded or already
    present, and whether the hash was checked against a pinned value. Files already
    present with the right hash are kept. ``opener`` is ``urllib.request.urlopen``
    (replaceable in tests).
    """
    key = ALIASES.get(name, name)
    if key not in SOURCES:
        raise UnknownNameError(f"no download known for {name!r}; fetchable: {', '.join(SOURCES)}"
                       + (" (X-MuTeST is not redistributed: obtain it from its authors)"
                          if name.startswith("xmutest") else ""))
    root = Path(dest).expanduser() if dest is not None else cache_dir()
    out: list[dict[str, Any]] = []
    for src in SOURCES[key]:
        target = root / src.dest
        record = {"path": str(target), "url": src.url, "pinned": src.sha256 is not None}
        if target.exists() and not force:
            digest = sha256_of(target)
            if src.sha256 is None or digest == src.sha256 or not verify:
                out.append({**record, "sha256": digest, "status": "present"})
                continue
        digest = _download(src, target, key, root, timeout, opener, progress, verify)
        out.append({**record, "sha256": digest, "status": "downloaded"})
    return out


def _download(src: Source, target: Path, name: str, root: Path, timeout: float,
              opener: Callable[..., Any], progress, verify: bool) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    try:
        req = urllib.request.Request(src.url, headers={"User-Agent": "rationales-data-fetch"})
        with opener(req, timeout=timeout) as resp, open(part, "wb") as f:
            total = resp.headers.get("Content-Length") if getattr(resp, "headers", None) else None
            total = int(total) if total and str(total).isdigit() else None
            done = 0
            while True:
                chunk = resp.read(_CHUNK)
                if not chunk:
                    break
                f.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(src.dest, done, total)
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as e:
        part.unlink(missing_ok=True)
        if isinstance(e, urllib.error.HTTPError):
            raise OfflineError(f"{src.url}: HTTP {e.code} {e.reason}.\n"
                               + _by_hand(name, root)) from None
        reason = getattr(e, "reason", None) or e
        raise OfflineError(f"cannot download {src.url} ({reason}); are you offline?\n"
                           + _by_hand(name, root)) from None
    digest = h.hexdigest()
    if verify and src.sha256 is not None and digest != src.sha256:
        part.unlink(missing_ok=True)
        raise DataError(f"sha256 mismatch for {src.url}: expected {src.sha256}, got {digest}. "
                        "The published file changed or the download was corrupted; nothing was "
                        "written. Retry, or check the file and pass --no-verify.",
                        path=str(target))
    os.replace(part, target)
    return digest
