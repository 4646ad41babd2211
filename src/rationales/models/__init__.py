"""Classifiers: shipped backbones, local model folders, and the shared forward engine.

``load_classifier`` takes a registered backbone name (``minilm-en``, ``e5-multilingual``,
``tfidf``), a folder written by ``save`` (it holds a ``rationales.json`` manifest), or
any local Hugging Face model folder. Hub ids are tried only when the hub is reachable;
offline they fail at once with a message saying what to do.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from ..errors import ModelError, OfflineError
from .backbones import BACKBONES, hf_folder_classifier
from .base import Classifier, as_examples
from .engine import ForwardEngine

MANIFEST = "rationales.json"
HUB_HOST = "huggingface.co"


def backbones() -> list[dict[str, Any]]:
    """Every registered backbone: name, description, languages, differentiable."""
    return [e.to_dict() for e in BACKBONES.entries()]


def load_classifier(name_or_dir: str | Path, *, backend: str | None = None, **options: Any) -> Classifier:
    """A classifier from a backbone name, a saved model folder, or a Hugging Face folder.

    ``options`` go to the backbone factory (``label_names``, ``num_labels``, ``seed``,
    ``max_length``, engine settings) or, for a saved folder, override what it stored
    (engine settings).

    ``backend``: what runs a saved transformer's forward. ``auto`` (the default) uses the
    backend ``rationales optimize`` wrote into the folder (``backend.json``) when it still
    matches the weights, else torch with a warning; ``torch`` always uses torch (so does
    ``RATIONALES_BACKEND=torch`` when ``backend`` is not given); a backend's name
    (``onnx``, ``onnx-int8``, ``openvino-bf16``, ``torch-bf16``) requires that one.
    Gradient and attention explainers always run on torch.
    ``describe()["forward_backend"]`` says which one runs.
    """
    from .onnx_backend import resolve_choice

    choice = resolve_choice(backend)
    target = str(name_or_dir)
    path = Path(target).expanduser()
    if path.is_dir():
        return _load_folder(path, choice, **options)
    if choice not in ("auto", "torch"):
        raise ModelError(f"backend={choice!r} needs a model folder that `rationales optimize` wrote it into; "
                         f"{target!r} is not a folder")
    if target in BACKBONES:
        return BACKBONES.get(target)(**options)
    if path.exists():
        raise ModelError(f"{path} is a file; expected a model folder or a backbone name")
    looks_local = target.startswith((".", "/", "~")) or os.sep in target and target.count("/") != 1
    if looks_local:
        raise ModelError(
            f"model folder {target} does not exist. Known backbones: {', '.join(BACKBONES.names())}"
        )
    return _load_hub(target, **options)


def _load_folder(path: Path, backend: str = "auto", **options: Any) -> Classifier:
    manifest_file = path / MANIFEST
    if manifest_file.is_file():
        kind = json.loads(manifest_file.read_text()).get("kind")
        if kind == "transformer":
            from .onnx_backend import attach_saved
            from .transformer import TransformerClassifier

            clf = TransformerClassifier.load(path, **options)
            attach_saved(clf, path, backend)
            return clf
        if backend not in ("auto", "torch"):
            raise ModelError(f"backend={backend!r}: {path} holds a {kind} model; ONNX backends are for "
                             f"transformer classifiers")
        if kind == "tfidf":
            from .tfidf import TfidfClassifier

            return TfidfClassifier.load(path, **options)
        raise ModelError(f"{manifest_file}: unknown model kind {kind!r}")
    if (path / "config.json").is_file():
        if backend not in ("auto", "torch"):
            raise ModelError(f"backend={backend!r}: {path} is a plain Hugging Face folder; save it with "
                             f"rationales (classifier.save(folder)) and run `rationales optimize` on that")
        return hf_folder_classifier(path, **options)
    raise ModelError(
        f"{path} is neither a saved rationales model (no {MANIFEST}) nor a Hugging Face "
        f"model folder (no config.json)"
    )


def hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers within ``timeout`` seconds (and is allowed)."""
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get(
            "TRANSFORMERS_OFFLINE", "") not in ("", "0"):
        return False
    import concurrent.futures

    def connect() -> bool:
        try:
            with socket.create_connection((HUB_HOST, 443), timeout=timeout):
                return True
        except OSError:
            return False

    # name resolution has no timeout of its own: bound the whole check from outside
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(connect).result(timeout=timeout + 0.5)
    except concurrent.futures.TimeoutError:
        return False
    finally:
        pool.shutdown(wait=False)


def _load_hub(model_id: str, **options: Any) -> Classifier:
    """A hub model id: from the local HF cache if there, else downloaded when online."""
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(model_id, local_files_only=True)
    except Exception:
        folder = None
    if folder is None:
        if not hub_reachable():
            raise OfflineError(
                f"{model_id!r} is not a registered backbone ({', '.join(BACKBONES.names())}), "
                f"not a local folder, and {HUB_HOST} cannot be reached to download it. "
                f"Download it on a machine with internet (e.g. `huggingface-cli download "
                f"{model_id} --local-dir DIR`) and pass DIR, or use a shipped backbone."
            )
        try:
            folder = snapshot_download(model_id)
        except Exception as exc:
            raise ModelError(f"could not download {model_id!r} from {HUB_HOST}: {exc}") from exc
    options.setdefault("name", model_id)
    options.setdefault("backbone", model_id)
    return hf_folder_classifier(folder, **options)


__all__ = ["BACKBONES", "Classifier", "ForwardEngine", "as_examples", "backbones",
           "load_classifier"]
