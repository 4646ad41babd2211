"""CLI commands for the evaluate stage (registered on the main app)."""

from __future__ import annotations
