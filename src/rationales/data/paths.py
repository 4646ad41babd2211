"""Where datasets live: an explicit folder, $RATIONALES_DATA, or the download cache.

Below a data folder the layout mirrors the published files::

    hatexplain/      hatexplain_{train,validation,test}.jsonl and/or dataset.json,
                     post_id_divisions.json
    eraser-movies/   movies.tar.gz (or the extracted movies/ folder)
    toxic-spans/     tsd_trial.csv, tsd_train.csv, tsd_test.csv
    xmutest/         en/, hi/, te/ with the X-MuTeST CSVs
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import DataNotFoundError

ENV_VAR = "RATIONALES_DATA"


def cache_dir() -> Path:
    """The folder `rationales data fetch` downloads into ($XDG_CACHE_HOME/rationales/data)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rationales" / "data"


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The data folders to look in, in order.

    An explicit ``data_dir`` is the only place looked; otherwise $RATIONALES_DATA (when
    set) and then the download cache, so fetched files are found without configuration.
    """
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    out: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append(Path(env).expanduser())
    out.append(cache_dir())
    return out


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The first existing candidate folder (or the first candidate when none exists)."""
    dirs = candidate_dirs(data_dir)
    for d in dirs:
        if d.is_dir():
            return d
    return dirs[0]


def find_file(
    folder: str,
    names: Iterable[str],
    data_dir: str | os.PathLike | None = None,
) -> Path | None:
    """The first of ``folder/name`` that exists in the candidate data folders, or None."""
    names = list(names)
    for d in candidate_dirs(data_dir):
        for name in names:
            p = d / folder / name
            if p.exists():
                return p
    return None


def not_found(
    dataset: str,
    folder: str,
    expected: Iterable[str],
    data_dir: str | os.PathLike | None = None,
    *,
    fetchable: bool = True,
    extra: str = "",
) -> DataNotFoundError:
    """A DataNotFoundError that lists the files expected and every place looked."""
    looked = ", ".join(str(d / folder) for d in candidate_dirs(data_dir))
    files = ", ".join(expected)
    how = (
        f"Run `rationales data fetch {dataset}` to download them, or put them there by hand"
        if fetchable
        else "Put them there by hand"
    )
    msg = (
        f"dataset {dataset!r}: expected {files} in a folder {folder}/ under the data folder; "
        f"looked in {looked}. {how}, or point --data-dir / ${ENV_VAR} at a folder that "
        f"holds {folder}/."
    )
    if extra:
        msg += " " + extra
    return DataNotFoundError(msg)


@contextmanager
def replacing_folder(folder: Path, prefix: str) -> Iterator[Path]:
    """A hidden temporary sibling of ``folder`` (named ``prefix…``) to build into. When the
    block succeeds it becomes ``folder``, replacing one already there; on any failure it is
    removed and ``folder`` is left as it was."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=folder.parent))
    try:
        yield tmp
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
