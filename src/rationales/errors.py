"""Errors that name the bad input and what would be right."""

from __future__ import annotations


class RationalesError(Exception):
    """Base class of every error this package raises on purpose."""


class ParameterError(RationalesError, ValueError, TypeError):
    """A parameter, option or request field is wrong: unknown, out of range, badly written.

    It is also a ``ValueError`` and a ``TypeError``, the built-in errors such mistakes
    raised before, so existing ``except`` clauses still catch it.
    """


class InputError(RationalesError, ValueError):
    """An input cannot be used as given: an empty or whitespace-only text, no examples."""


class UnknownNameError(RationalesError, KeyError):
    """A name is not in a registry (method, dataset, metric, protocol, backbone, model).

    The message names the closest known name and lists them all.
    """

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class DataError(RationalesError, ValueError):
    """A data file or row is malformed. The message names the file, line and field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None, reason: str | None = None) -> None:
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f" line {line}"
            if field is not None:
                where += f", field {field!r}"
            where += ": "
        super().__init__(where + message)
        self.path, self.line, self.field = path, line, field
        #: a short reason, used to group skipped rows in a load report
        self.reason = reason or (f"{field}: {message}" if field else message)


class DataNotFoundError(RationalesError, FileNotFoundError):
    """A dataset's files are not where we looked; the message says where to put them."""


class ModelError(RationalesError):
    """A model cannot be loaded or cannot do what was asked (e.g. gradients on tf-idf)."""


class OfflineError(RationalesError, ConnectionError):
    """A download was needed but the network is unreachable; says how to proceed by hand."""
