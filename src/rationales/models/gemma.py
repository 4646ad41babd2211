"""The ``embeddinggemma-300m`` backbone: EmbeddingGemma with mean pooling and a linear head.

EmbeddingGemma-300m (Google DeepMind, Gemma Terms of Use) is a Gemma3 encoder with
bidirectional attention: 24 layers, hidden 768, a 262,144-piece SentencePiece (BPE)
vocabulary, 303M parameters of which 201M are the embedding matrix. It is fetched once
with ``rationales models fetch embeddinggemma-300m --accept-license gemma`` (see
:mod:`rationales.llm.models`) into ``<cache>/models/embeddinggemma-300m/model/``.

The classifier (:func:`gemma_classifier`):

- mean-pools the last hidden states over the attended tokens (the pooling the model
  was trained with; transformers' own sequence-classification head pools the last
  token instead), then dropout and a new, seeded linear head;
- puts the task prefix ``task: classification | query: `` before every input, inside
  the backbone as e5's ``passage: `` is (callers pass plain words);
- tokenises each word with a leading space (``word_prefix=" "``): split into words,
  Gemma's tokenizer would mark no word start and read the words as glued together;
  with it the ids are exactly those of the whole text, ``<bos>`` + prefix + words +
  ``<eos>``, and every subword belongs to one word;
- runs with SDPA attention, switched to eager when attentions are asked for.

A saved classifier's ``config.json`` has the model type ``rationales_embeddinggemma``;
:func:`register_model_type` (called by ``load_hf``) makes the Auto classes load it.
transformers ≥ 4.56 is needed: older versions ignore ``use_bidirectional_attention``
and silently run the model as a causal decoder.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import ModelError
from .base import Classifier

NAME = "embeddinggemma-300m"
PREFIX = "task: classification | query: "
WORD_PREFIX = " "
MODEL_TYPE = "rationales_embeddinggemma"
MIN_TRANSFORMERS = (4, 56)


def model_folder() -> Path:
    """The installed EmbeddingGemma folder; a :class:`ModelError` naming the fetch command if absent."""
    from ..llm.models import known_model

    return known_model(NAME).require()


def _check_transformers() -> None:
    import transformers

    got = tuple(int(x) for x in transformers.__version__.split(".")[:2] if x.isdigit())
    if got < MIN_TRANSFORMERS:
        raise ModelError(f"{NAME} needs transformers >= 4.56 (found {transformers.__version__}): older "
                         "versions run it as a causal model without saying so; pip install -U transformers")


@functools.cache
def model_classes() -> tuple[Any, Any]:
    """The config and model classes (built once, registered with the Auto classes)."""
    import torch
    from torch import nn
    from transformers import AutoConfig, AutoModelForSequenceClassification
    from transformers.modeling_outputs import SequenceClassifierOutput
    from transformers.models.gemma3.configuration_gemma3 import Gemma3TextConfig
    from transformers.models.gemma3.modeling_gemma3 import Gemma3PreTrainedModel, Gemma3TextModel

    _check_transformers()

    class EmbeddingGemmaConfig(Gemma3TextConfig):
        """Gemma3TextConfig under its own model type, so the Auto classes find our head."""

        model_type = MODEL_TYPE

    class _Layers:
        def __init__(self, layers: Any) -> None:
            self.layer = layers

    class GemmaEncoder(Gemma3TextModel):
        """Gemma3TextModel that also answers to BERT's names (``embeddings``,
        ``encoder.layer``), which ``rationales.models.train.freeze`` reads."""

        @property
        def embeddings(self) -> Any:
            return self.embed_tokens

        @property
        def encoder(self) -> Any:
            return _Layers(self.layers)

    class EmbeddingGemmaForSequenceClassification(Gemma3PreTrainedModel):
        """A bidirectional Gemma3 encoder, mean pooling over attended tokens, dropout, a linear head."""

        config_class = EmbeddingGemmaConfig

        def __init__(self, config: Any) -> None:
            super().__init__(config)
            self.num_labels = config.num_labels
            self.model = GemmaEncoder(config)
            self.dropout = nn.Dropout(getattr(config, "classifier_dropout", None) or 0.1)
            self.score = nn.Linear(config.hidden_size, config.num_labels)
            self.post_init()

        def get_input_embeddings(self) -> Any:
            return self.model.embed_tokens

        def set_input_embeddings(self, value: Any) -> None:
            self.model.embed_tokens = value

        def forward(self, input_ids: Any = None, attention_mask: Any = None, inputs_embeds: Any = None,
                    labels: Any = None, output_attentions: bool | None = None,
                    output_hidden_states: bool | None = None, **kwargs: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds,
                             use_cache=False, output_attentions=bool(output_attentions),
                             output_hidden_states=bool(output_hidden_states))
            hidden = out.last_hidden_state
            if attention_mask is None:
                mask = torch.ones(hidden.shape[:2], dtype=hidden.dtype, device=hidden.device)
            else:
                mask = attention_mask.to(hidden.dtype)
            pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1.0)
            logits = self.score(self.dropout(pooled))
            loss = None
            if labels is not None:
                loss = nn.functional.cross_entropy(logits.float(), labels)
            return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                            attentions=out.attentions)

    AutoConfig.register(MODEL_TYPE, EmbeddingGemmaConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(EmbeddingGemmaConfig, EmbeddingGemmaForSequenceClassification,
                                                exist_ok=True)
    return EmbeddingGemmaConfig, EmbeddingGemmaForSequenceClassification


def register_model_type(folder: str | Path) -> None:
    """Register the classes when ``folder`` holds a saved EmbeddingGemma classifier (cheap otherwise)."""
    config = Path(folder) / "config.json"
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError):
        return
    if model_type == MODEL_TYPE:
        model_classes()


def gemma_config(folder: str | Path, label_names: Sequence[str]) -> Any:
    """The classifier's config from an EmbeddingGemma folder's ``config.json``, checked."""
    from .transformer import quiet_transformers

    quiet_transformers()
    config_cls, _ = model_classes()
    raw = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    if raw.get("model_type") not in ("gemma3_text", MODEL_TYPE) or not raw.get("use_bidirectional_attention"):
        raise ModelError(f"{folder}: not a bidirectional Gemma3 encoder (model_type "
                         f"{raw.get('model_type')!r}, use_bidirectional_attention "
                         f"{raw.get('use_bidirectional_attention')!r})")
    names = list(label_names)
    return config_cls.from_pretrained(
        str(folder), local_files_only=True, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)}, use_cache=False, tie_word_embeddings=False,
        classifier_dropout=0.1)


def gemma_classifier(
    folder: str | Path | None = None,
    *,
    num_labels: int | None = None,
    label_names: Sequence[str] | None = None,
    seed: int = 0,
    name: str | None = None,
    max_length: int | None = None,
    tokenizer: Any = None,
    **engine_options: Any,
) -> Classifier:
    """EmbeddingGemma (the fetched one, or ``folder``) with a new head seeded by ``seed``.

    ``tokenizer``: an already loaded tokenizer for ``folder`` (its ``tokenizer.json`` is
    33 MB and takes seconds to read). ``engine_options`` go to the forward engine.
    """
    from .backbones import label_list

    folder = Path(folder) if folder is not None else model_folder()  # not installed: fail before importing torch
    names = label_list(num_labels, label_names)

    import torch
    from transformers import AutoTokenizer

    from .transformer import TransformerClassifier

    config = gemma_config(folder, names)
    _, model_cls = model_classes()
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = model_cls.from_pretrained(str(folder), config=config, local_files_only=True,
                                          dtype=torch.float32, attn_implementation="sdpa")
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load EmbeddingGemma from {folder}: {exc}") from exc
    finally:
        torch.random.set_rng_state(state)
    if tokenizer is None:
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return TransformerClassifier(model.eval(), tokenizer, names, name=name or NAME, backbone=NAME,
                                 prefix=PREFIX, word_prefix=WORD_PREFIX, max_length=max_length,
                                 **engine_options)
