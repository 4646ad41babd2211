"""Reports: the terminal table, JSON/CSV/Markdown files and a self-contained HTML page."""

from __future__ import annotations

from .files import write_all
from .table import markdown_table, print_results, print_run, print_strata, result_matrix

__all__ = ["markdown_table", "print_results", "print_run", "print_strata", "result_matrix", "write_all"]
