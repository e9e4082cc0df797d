"""Imports deferred until they are used, so that `planner solve` starts fast.

PuLP imports `orloge` (its solver-log parser) when it starts, and orloge builds pydantic
schemas for CP-SAT logs: about 0.2 s of every start of planner, for a parser only needed when
a solver log is parsed. A stand-in module is registered under orloge's name before PuLP is
imported; PuLP only reads orloge's attributes inside functions, and the first such read
imports the real orloge and hands over to it. (The standard library's LazyLoader does not do
here: `import orloge` itself reads the module's `__spec__`, which loads it.) This module is
imported first by planner/__init__.py.

`loading` lets planner/__init__.py load planner's modules (and pandas, PuLP, pydantic...) with
one pass of Python's cyclic garbage collector instead of a hundred and more: collections during
those imports scan again and again the tens of thousands of objects they make (modules, classes,
functions, alive for good).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import Any

DEFERRED = ("orloge",)


class _StandIn(types.ModuleType):
    """A module that imports the real one at its first attribute read and becomes its view."""

    def __getattr__(self, attribute: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def defer(name: str) -> None:
    """Put off importing module `name` until an attribute of it is read (if it is installed and
    not imported yet)."""
    if name not in sys.modules and importlib.util.find_spec(name) is not None:
        sys.modules[name] = _StandIn(name)


for _name in DEFERRED:
    defer(_name)


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Pause cyclic garbage collection while the block imports modules, then, if it was on,
    collect the young generations once and resume: what the imports made is scanned once and
    moves to the oldest generation, instead of being scanned collection after collection."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.collect(1)
            gc.enable()
