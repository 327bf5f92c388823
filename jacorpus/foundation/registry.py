"""Open registries of named classes (recipe steps, source types, ...) that other packages can extend.

A class is found by its recipe name from three places, in this order:
- registered by decorator in jacorpus itself (``registry.register(name)``; the modules that do it are imported
  lazily through ``builtin_modules``, so ``import jacorpus`` stays light);
- an entry point of an installed package in the registry's group, e.g. in the plugin's ``pyproject.toml``::

      [project.entry-points."jacorpus.steps"]
      min_length = "my_plugin.steps:MinLength"

- ``module:Class`` written in the recipe itself (``my_plugin.steps:MinLength``), for code on the Python path that
  is not packaged.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class RegistryError(LookupError):
    pass


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str, base: type, builtin_modules: list[str] | None = None,
                 builtin_names: dict[str, str] | None = None) -> None:
        self.kind, self.group, self.base = kind, group, base
        # the modules that register jacorpus' own names, all imported by ``load``; by default those of builtin_names
        self.builtin_modules = (builtin_modules if builtin_modules is not None
                                else list(dict.fromkeys((builtin_names or {}).values())))
        # name -> the built-in module that registers it: ``find`` of such a name imports that module only (a corpus
        # run loads its recipe's steps, not all ten with the dedup machinery: 0.04 CPU-s less in ``load_recipe``
        # alone, about 0.1 with the dedup import of pipelines/local.py; docs/engines.md)
        self.builtin_names = builtin_names or {}
        self._plugin_names: frozenset[str] | None = None  # the entry points' names, read once
        self.types: dict[str, type[T]] = {}
        self.loaded = False

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def wrap(cls: type[T]) -> type[T]:
            self.add(name, cls)
            return cls

        return wrap

    def add(self, name: str, cls: type) -> None:
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise RegistryError(f"{self.kind} {name!r}: {cls!r} is not a {self.base.__name__} subclass")
        if self.types.get(name, cls) is not cls:
            raise RegistryError(f"{self.kind} name {name!r} registered twice")
        self.types[name] = cls

    def load(self) -> dict[str, type[T]]:
        """Every registered name: jacorpus' own, then the installed entry points of ``group``."""
        if not self.loaded:
            for module in self.builtin_modules:
                importlib.import_module(module)
            for entry in metadata.entry_points(group=self.group):
                try:
                    self.add(entry.name, entry.load())
                except RegistryError:
                    raise
                except Exception as exc:  # a broken plugin names itself instead of failing somewhere later
                    raise RegistryError(f"{self.kind} {entry.name!r} from entry point {entry.value!r}: "
                                        f"{type(exc).__name__}: {exc}") from exc
            self.loaded = True
        return self.types

    def find(self, name: str) -> type[T] | None:
        """The class of ``name`` (a registered name or ``module:Class``); None when no such name is registered."""
        if ":" not in name:
            if not self.loaded and name in self.builtin_names:
                return self._find_builtin(name)
            return self.load().get(name)
        module_name, _, attribute = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"{self.kind} {name!r}: cannot import it ({type(exc).__name__}: {exc})") from exc
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise RegistryError(f"{self.kind} {name!r} is not a {self.base.__name__} subclass")
        return cls

    def _find_builtin(self, name: str) -> type[T]:
        importlib.import_module(self.builtin_names[name])
        # a plugin of the same name is the error ``load`` reports (the entry points' names are read, none loaded)
        if self._plugin_names is None:
            self._plugin_names = frozenset(entry.name for entry in metadata.entry_points(group=self.group))
        if name in self._plugin_names:
            raise RegistryError(f"{self.kind} name {name!r} registered twice")
        if name not in self.types:
            raise RegistryError(f"{self.kind} {name!r}: {self.builtin_names[name]} registers no such name")
        return self.types[name]

    def known(self) -> list[str]:
        return sorted(self.load())
