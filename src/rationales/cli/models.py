"""CLI commands for the models stage (registered on the main app)."""

from __future__ import annotations
