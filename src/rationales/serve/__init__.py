"""The web page and JSON API over the public functions (``rationales serve``)."""

from __future__ import annotations

from .app import create_app
from .limits import Limits

__all__ = ["Limits", "create_app"]
