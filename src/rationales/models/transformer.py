"""A Hugging Face sequence classifier over words, with the shared forward engine.

Each example's words are tokenised once, with the fast tokenizer's
``is_split_into_words`` and ``word_ids()``: that gives, per subword id, the word it came
from. Perturbing words then means deleting or replacing ids; text is never decoded and
re-tokenised (the split could change and a metric would silently measure something
else).

Truncation policy: an example keeps its leading words while their subword ids, the
special tokens and any backbone prefix fit ``max_length``; a word that does not fit
whole is dropped with everything after it. ``n_words_used`` says how many words the
model saw, so explanations can cover (and mark) exactly those.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import ModelError
from ..types import Example
from ..words import encodable
from .base import EngineClassifier, InputLike, as_examples, check_removal
from .engine import ForwardEngine, LRUCache, approx_bytes

MANIFEST = "rationales.json"
FORMAT_VERSION = 1

#: the encoding cache's default byte bound (about 3 KB per 25-word post, 40 KB per 300)
DEFAULT_ENCODING_CACHE_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Encoding:
    """One example tokenised once.

    ``input_ids`` include the special tokens and any backbone prefix (e5's
    ``passage: ``); ``word_index[t]`` is the word position token ``t`` belongs to, or -1
    for special and prefix tokens; ``n_words_used`` counts the leading words that fit
    ``max_length`` (the rest were truncated).
    """

    input_ids: tuple[int, ...]
    word_index: tuple[int, ...]
    n_words_used: int
    #: how many words the example has (``n_words_used`` of them fit)
    n_words: int = 0

    @property
    def truncated(self) -> bool:
        """True when some words did not fit ``max_length``."""
        return self.n_words_used < self.n_words

    def approx_bytes(self) -> int:
        """Approximate memory of this encoding (the object, its fields and their ints)."""
        return (sys.getsizeof(self) + sys.getsizeof(self.__dict__)
                + approx_bytes(self.input_ids) + approx_bytes(self.word_index))


def _encoding_entry_bytes(obj: object) -> int:
    return obj.approx_bytes() if isinstance(obj, Encoding) else approx_bytes(obj)


def quiet_transformers() -> None:
    """Silence transformers' load reports and progress bars (we report what matters)."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:  # pragma: no cover - older transformers
        logging.getLogger("transformers").setLevel(logging.ERROR)


class TransformerClassifier(EngineClassifier):
    """A transformer classifier (``AutoModelForSequenceClassification`` + fast tokenizer).

    ``prefix`` is text the backbone expects before every input (e5: ``"passage: "``);
    its ids are inserted after the leading special tokens and marked -1 in
    ``word_index``. ``word_prefix`` is put before every word when it is tokenised
    (EmbeddingGemma: ``" "``, since its tokenizer marks no word start in split words
    and would otherwise read them as glued together). ``engine_options`` go to :class:`ForwardEngine` (``token_budget``,
    ``max_batch_size``, ``cache_size``, ``cache_bytes``, ``batch_overhead_tokens``,
    ``onednn``; ``threads`` is deprecated: torch's thread count is process-wide, see
    :func:`rationales.models.engine.set_threads`).
    ``encoding_cache_size`` and ``encoding_cache_bytes`` bound the cache of examples'
    encodings (50,000 entries, 64 MiB; None: no byte bound); :meth:`caches` gives both
    caches.

    It is a :class:`~rationales.models.base.DifferentiableClassifier` and an
    :class:`~rationales.models.base.AttentionClassifier` (gradient and attention
    explainers work on it).
    """

    differentiable = True

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        label_names: Iterable[str],
        *,
        name: str = "transformer",
        backbone: str | None = None,
        max_length: int | None = None,
        prefix: str = "",
        word_prefix: str = "",
        train_config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        encoding_cache_size: int = 50_000,
        encoding_cache_bytes: int | None = DEFAULT_ENCODING_CACHE_BYTES,
        **engine_options: Any,
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ModelError(
                f"{name}: a fast tokenizer is required (word_ids() maps subwords to words); "
                f"got {type(tokenizer).__name__}. Save the model with a tokenizer.json."
            )
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.label_names = [str(n) for n in label_names]
        if len(self.label_names) != model.config.num_labels:
            raise ModelError(
                f"{name}: {len(self.label_names)} label names {self.label_names} for a model "
                f"with {model.config.num_labels} outputs"
            )
        self.name = name
        self.backbone = backbone or name
        self.prefix = prefix
        self.word_prefix = word_prefix
        self.train_config = dict(train_config or {})
        self.metrics = dict(metrics or {})
        given: list[Any] = [getattr(model.config, "max_position_embeddings", None), max_length,
                            getattr(tokenizer, "model_max_length", None)]
        # XLM-R style models offset positions by pad_token_id + 1
        if getattr(model.config, "model_type", "") in ("xlm-roberta", "roberta") and given[0]:
            given[0] = given[0] - 2
        limits = [int(x) for x in given if x is not None and 0 < int(x) < 10**7]
        self.max_length: int = min(limits) if limits else 512
        self.mask_token_id = tokenizer.mask_token_id
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._head, self._tail = self._special_layout()
        self._prefix_ids: tuple[int, ...] = (
            tuple(tokenizer(prefix.strip(), add_special_tokens=False)["input_ids"]) if prefix else ()
        )
        self._encodings = LRUCache(encoding_cache_size, encoding_cache_bytes,
                                   sizeof=_encoding_entry_bytes)
        self.engine = ForwardEngine(self._run_batch, **engine_options)
        #: what runs the engine's forward: torch, or an ONNX backend (models/onnx_backend.py)
        self.forward_backend: dict[str, Any] = {"name": "torch"}

    def caches(self) -> dict[str, LRUCache]:
        """Every cache this model holds, by name: engine results and encodings."""
        return {"engine": self.engine.cache, "encodings": self._encodings}

    # -- tokenisation, once per example ---------------------------------------------
    def _special_layout(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The special ids the tokenizer puts before and after a text's ids."""
        enc = self.tokenizer(["hello"], is_split_into_words=True, add_special_tokens=True)
        ids, wids = list(enc["input_ids"]), enc.word_ids()
        first = next(i for i, w in enumerate(wids) if w is not None)
        last = max(i for i, w in enumerate(wids) if w is not None)
        return tuple(ids[:first]), tuple(ids[last + 1:])

    def encode(self, example: Example | InputLike) -> Encoding:
        """The example's ids (special tokens and prefix included) and per-token word index."""
        words = tuple(example.words) if isinstance(example, Example) else tuple(
            as_examples(example)[0].words)
        hit = self._encodings.lookup(words)
        if hit is not None:
            return hit
        head = self._head + self._prefix_ids
        budget = self.max_length - len(head) - len(self._tail)
        ids: list[int] = []
        wids: list[int] = []
        n_used = 0
        if words:
            enc = self.tokenizer([self.word_prefix + encodable(w) for w in words], is_split_into_words=True,
                                 add_special_tokens=False)
            all_ids, all_w = list(enc["input_ids"]), enc.word_ids()
            # word positions whose ids end where: keep words whose last id fits the budget
            ends: dict[int, int] = {}
            for t, w in enumerate(all_w):
                if w is not None:
                    ends[w] = t + 1
            cut = 0
            n_used = len(words)
            for w in range(len(words)):
                end = ends.get(w, cut)
                if end > budget:
                    n_used = w
                    break
                cut = end
            ids = all_ids[:cut]
            wids = [w if w is not None else -1 for w in all_w[:cut]]
        out = Encoding(
            input_ids=head + tuple(ids) + self._tail,
            word_index=(-1,) * len(head) + tuple(wids) + (-1,) * len(self._tail),
            n_words_used=n_used,
            n_words=len(words),
        )
        self._encodings[words] = out
        return out

    def n_words_used(self, example: Example) -> int:
        return self.encode(example).n_words_used

    def ids_for(self, example: Example, keep_row: Any, removal: str = "delete") -> tuple[int, ...]:
        """Input ids with the words where ``keep_row`` is False deleted or masked."""
        return self._ids_for_many(example, np.asarray(keep_row, dtype=bool)[None, :], removal)[0]

    def _ids_for_many(self, example: Example, keep: np.ndarray, removal: str) -> list[tuple[int, ...]]:
        check_removal(removal)
        n = len(example.words)
        if keep.ndim != 2 or keep.shape[1] != n:
            raise ValueError(
                f"example {example.id!r}: keep mask has shape {keep.shape}; expected "
                f"(n_masks, {n}) for its {n} words"
            )
        enc = self.encode(example)
        wi = np.asarray(enc.word_index, dtype=np.int64)
        special = wi < 0
        if n == 0:
            present = np.ones((keep.shape[0], len(wi)), dtype=bool)
        else:
            present = special[None, :] | keep[:, np.where(special, 0, wi)]
        # Keys reuse the encoding's own int objects: a key then costs 8 bytes a token in
        # the engine cache, not 36 (a fresh int object each, as from ndarray.tolist()).
        ids = enc.input_ids
        if removal == "delete":
            return [tuple(compress(ids, row)) for row in present.tolist()]
        fill = self.mask_token_id if self.mask_token_id is not None else self.pad_token_id
        return [tuple([t if k else fill for t, k in zip(ids, row)]) for row in present.tolist()]

    # -- probabilities through the engine ------------------------------------------
    def predict_proba(self, inputs: InputLike | Iterable[InputLike]) -> np.ndarray:
        examples = as_examples(inputs)
        if not examples:
            return np.zeros((0, self.num_labels))
        return self.engine([self.encode(ex).input_ids for ex in examples])

    def masked_keys(self, example: Example, keep: np.ndarray, removal: str) -> list[tuple[int, ...]]:
        return self._ids_for_many(example, keep, removal)

    def _batch_tensors(self, batch: list[tuple[int, ...]]) -> tuple[Any, Any]:
        import torch

        longest = max(len(ids) for ids in batch)
        input_ids = torch.full((len(batch), longest), self.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(batch), longest), dtype=torch.long)
        for i, ids in enumerate(batch):
            input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention[i, : len(ids)] = 1
        device = next(self.model.parameters()).device
        return input_ids.to(device), attention.to(device)

    def _run_batch(self, batch: list[tuple[int, ...]]) -> np.ndarray:
        input_ids, attention = self._batch_tensors(batch)
        logits = self.model(input_ids=input_ids, attention_mask=attention).logits
        return logits.float().softmax(-1).cpu().numpy()

    # -- access for gradient and attention explainers ------------------------------
    def embeddings(self) -> Any:
        """The model's input (word) embedding module."""
        return self.model.get_input_embeddings()

    def forward_from_embeddings(self, inputs_embeds: Any, attention_mask: Any | None = None) -> Any:
        """Class probabilities (batch, n_labels) from input embeddings; differentiable."""
        out = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
        return out.logits.softmax(-1)

    def attentions(self, example: Example | InputLike) -> np.ndarray:
        """Attention weights for the unperturbed input: (layers, heads, tokens, tokens)."""
        import torch

        ids = self.encode(example if isinstance(example, Example) else as_examples(example)[0]).input_ids
        with eager_attention(self.model), torch.inference_mode():
            out = self.model(input_ids=torch.tensor([ids], device=next(self.model.parameters()).device),
                             output_attentions=True)
        return torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()

    def invalidate(self) -> None:
        """Drop cached probabilities (call after changing the weights); an exported forward
        backend no longer matches the weights either, so the forward goes back to torch."""
        if self.forward_backend.get("name") != "torch":
            self.engine.run_batch = self._run_batch
            self.forward_backend = {"name": "torch"}
        self.engine.clear_cache()

    # -- save / load -----------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "transformer",
            "name": self.name,
            "backbone": self.backbone,
            "label_names": list(self.label_names),
            "max_length": self.max_length,
            "prefix": self.prefix,
            "word_prefix": self.word_prefix,
            "train_config": self.train_config,
            "metrics": self.metrics,
        }

    def save(self, directory: str | Path) -> Path:
        """Write weights (safetensors), tokenizer, label names, config and metrics."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.model.config.id2label = dict(enumerate(self.label_names))
        self.model.config.label2id = {n: i for i, n in enumerate(self.label_names)}
        self.model.save_pretrained(out, safe_serialization=True)
        self.tokenizer.save_pretrained(out)
        (out / MANIFEST).write_text(json.dumps(self.manifest(), indent=2, ensure_ascii=False) + "\n")
        if self.metrics:
            (out / "metrics.json").write_text(json.dumps(self.metrics, indent=2) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path, **options: Any) -> "TransformerClassifier":
        """Load a folder written by :meth:`save`."""
        folder = Path(directory)
        manifest = json.loads((folder / MANIFEST).read_text())
        if manifest.get("kind") != "transformer":
            raise ModelError(f"{folder}: {MANIFEST} says kind {manifest.get('kind')!r}, not 'transformer'")
        model, tokenizer = load_hf(folder)
        kwargs = dict(
            name=manifest.get("name", folder.name), backbone=manifest.get("backbone"),
            max_length=manifest.get("max_length"), prefix=manifest.get("prefix", ""),
            word_prefix=manifest.get("word_prefix", ""),
            train_config=manifest.get("train_config"), metrics=manifest.get("metrics"),
        )
        kwargs.update(options)
        return cls(model, tokenizer, manifest["label_names"], **kwargs)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "backbone": self.backbone, "max_length": self.max_length,
                "prefix": self.prefix, "forward_backend": dict(self.forward_backend),
                "engine": self.engine.describe()}


def load_hf(folder: str | Path, num_labels: int | None = None,
            label_names: list[str] | None = None) -> tuple[Any, Any]:
    """Model + fast tokenizer from a local folder, never touching the network."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    quiet_transformers()
    from .gemma import register_model_type

    register_model_type(folder)  # a saved EmbeddingGemma classifier loads through the Auto classes
    kwargs: dict[str, Any] = {}
    if label_names is not None:
        kwargs.update(num_labels=len(label_names), id2label=dict(enumerate(label_names)),
                      label2id={n: i for i, n in enumerate(label_names)})
    elif num_labels is not None:
        kwargs["num_labels"] = num_labels
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, use_fast=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(folder), local_files_only=True, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load a Hugging Face model from {folder}: {exc}") from exc
    return model.eval(), tokenizer


class eager_attention:
    """Context manager: use eager attention (which returns weights) inside the block."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.previous: str | None = None

    def __enter__(self) -> Any:
        self.previous = getattr(self.model.config, "_attn_implementation", None)
        if self.previous not in (None, "eager"):
            set_attention(self.model, "eager")
        return self.model

    def __exit__(self, *exc: Any) -> None:
        if self.previous not in (None, "eager"):
            set_attention(self.model, self.previous)


def set_attention(model: Any, implementation: str) -> None:
    """Switch a loaded model's attention implementation (transformers ≥ 4.48 API)."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation(implementation)
    else:  # pragma: no cover - older transformers
        model.config._attn_implementation = implementation
