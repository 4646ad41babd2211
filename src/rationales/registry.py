"""Registries: methods, datasets, metrics, protocols and backbones found by name.

The CLI, the web page and the benchmark all list what a registry holds, so nothing
keeps a hand-made copy of the names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from .errors import ParameterError, UnknownNameError

T = TypeVar("T")


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """``unknown KIND 'x'. Did you mean 'y'? Known: a, b, c``: the one wording of that error."""
    known = sorted(known)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Known: {', '.join(known) or 'none'}"


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered object with a one-line description and free-form facts (flags)."""

    name: str
    obj: T
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, **self.info}


class Registry(Generic[T]):
    """Name → object, with a decorator to register and a helpful unknown-name error."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(
        self, name: str, description: str = "", **info: Any
    ) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj, description, **info)
            return obj

        return decorator

    def add(self, name: str, obj: T, description: str = "", **info: Any) -> None:
        if name in self._entries:
            raise ParameterError(f"{self.kind} {name!r} is already registered")
        if not description and getattr(obj, "__doc__", None):
            description = (obj.__doc__ or "").strip().splitlines()[0]
        self._entries[name] = Entry(name, obj, description, dict(info))

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(unknown_name(self.kind, name, self._entries)) from None

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def entries(self) -> list[Entry[T]]:
        return list(self._entries.values())
