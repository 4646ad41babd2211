"""CLI commands for the explain stage (registered on the main app)."""

from __future__ import annotations
