"""CLI commands for the data stage (registered on the main app)."""

from __future__ import annotations
