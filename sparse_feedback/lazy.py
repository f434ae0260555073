"""Package namespaces that import their submodules on first use.

A stage package re-exports its public names (``from sparse_feedback.analysis import consistency``) but
must not import pandas, SQLAlchemy or torch just because one of its light modules (its ``cli``, its
config) was imported — that is what keeps ``sparse-feedback --help`` instant. A package calls
:func:`lazy_package` with ``{name: submodule}`` and each name is imported on first access.

>>> import sys
>>> from sparse_feedback import analysis
>>> "consistency" in dir(analysis) and callable(analysis.consistency)
True
"""

from __future__ import annotations

import importlib
import sys
import types


class _LazyPackage(types.ModuleType):
    """A package whose exported names resolve on first access (and then stay what the package exports,
    even where a submodule has the same name as the function it exports)."""

    def __getattribute__(self, name: str):
        exports = types.ModuleType.__getattribute__(self, "__dict__").get("_lazy_exports")
        if exports is None or name not in exports:
            return types.ModuleType.__getattribute__(self, name)
        resolved = types.ModuleType.__getattribute__(self, "_lazy_resolved")
        if name not in resolved:
            package = types.ModuleType.__getattribute__(self, "__name__")
            module = importlib.import_module(exports[name], package)
            resolved[name] = getattr(module, name)
        return resolved[name]

    def __setattr__(self, name: str, value) -> None:
        """An exported name set from outside (``monkeypatch.setattr(judge, "make_backend", ...)``) is what
        the package then exports; the import system binding a same-named submodule leaves it alone."""
        types.ModuleType.__setattr__(self, name, value)
        exports = types.ModuleType.__getattribute__(self, "__dict__").get("_lazy_exports") or {}
        submodule = f"{types.ModuleType.__getattribute__(self, '__name__')}.{name}"
        if name in exports and getattr(value, "__name__", None) != submodule:
            types.ModuleType.__getattribute__(self, "_lazy_resolved")[name] = value

    def __delattr__(self, name: str) -> None:
        types.ModuleType.__getattribute__(self, "_lazy_resolved").pop(name, None)
        if name in types.ModuleType.__getattribute__(self, "__dict__"):
            types.ModuleType.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._lazy_exports))


def lazy_package(package: str, exports: dict[str, list[str] | tuple[str, ...]]) -> list[str]:
    """Make ``package`` resolve ``exports`` (``{".submodule" or "absolute.module": [names]}``) lazily;
    returns ``__all__``."""
    module = sys.modules[package]
    module.__class__ = _LazyPackage
    module._lazy_exports = {name: submodule for submodule, names in exports.items() for name in names}
    module._lazy_resolved = {}
    return sorted(module._lazy_exports)
