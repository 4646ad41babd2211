"""The explainer registry: every method found by name (the CLI, the page and jobs list it)."""

from __future__ import annotations

from typing import Any

from ..registry import Registry

#: name → explainer class (a subclass of :class:`rationales.methods.base.Explainer`)
EXPLAINERS: Registry[Any] = Registry("explainer")


def register(cls: Any) -> Any:
    """Class decorator: add an explainer to the registry under ``cls.name``."""
    EXPLAINERS.add(
        cls.name,
        cls,
        needs_gradients=cls.needs_gradients,
        needs_attentions=cls.needs_attentions,
        needs_llm=cls.needs_llm,
        stochastic=cls.stochastic,
        params=dict(cls.defaults),
    )
    return cls
