"""Let a subpackage stand in for the public function of the same name.

``rationales.explain`` and ``rationales.evaluate`` are both subpackages and the public
functions ``rx.explain(...)`` / ``rx.evaluate(...)``. Once a subpackage is imported,
Python binds the *module* to the parent's attribute of that name, shadowing the lazily
exported function; so the module itself is made callable and forwards to the function.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Callable


def make_module_callable(module_name: str, func: Callable[..., Any]) -> None:
    """Calling the module ``module_name`` calls ``func`` with the same arguments."""

    class _CallableModule(types.ModuleType):
        __doc__ = f"This module, callable as :func:`{func.__name__}`."

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

    sys.modules[module_name].__class__ = _CallableModule
