"""nbtorch.viz: see the tape. Graphs, a backward stepper, gradient flow and training curves.

Imported only when asked for (``import nbtorch`` never loads it).  ``graph``, ``Graph`` and
``record`` need numpy only: ``nbtorch.viz.graph(loss).to_svg()`` works without Jupyter.  The
widgets (``GraphView``, ``BackwardStepper``, ``GradFlow``, ``TrainingMonitor``, ``show``) need
the notebook extra (ipywidgets, anywidget) and are imported on first use.

In IPython or Jupyter, ``%load_ext nbtorch.viz`` shows tensors as rich HTML and adds the
``%%graph`` cell magic.
"""

from __future__ import annotations

import importlib
import sys
import types

from .graph import Graph, graph, record

__all__ = ["BackwardStepper", "GradFlow", "Graph", "GraphView", "TrainingMonitor", "graph",
           "load_ipython_extension", "record", "show", "unload_ipython_extension"]

# Widget classes live in modules that import ipywidgets/anywidget: loaded on first access.
_LAZY = {
    "GraphView": "graph_view",
    "BackwardStepper": "stepper",
    "GradFlow": "gradflow",
    "TrainingMonitor": "monitor",
    "show": "show",  # the function nbtorch.viz.show.show (see _Package)
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbtorch.viz' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # the module's dict, not setattr: _Package lets it through
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython) -> None:
    """``%load_ext nbtorch.viz``: rich tensor display and the ``%%graph`` cell magic."""
    from . import magic

    magic.load_ipython_extension(ipython)


def unload_ipython_extension(ipython) -> None:
    from . import magic

    unload = getattr(magic, "unload_ipython_extension", None)
    if unload is not None:
        unload(ipython)


class _Package(types.ModuleType):
    """Keeps ``nbtorch.viz.graph`` and ``nbtorch.viz.show`` the functions: importing the
    submodules of the same names would otherwise bind the modules there (Python sets a package
    attribute for each submodule it loads).  ``from nbtorch.viz.graph import Graph`` still
    reaches the module."""

    def __setattr__(self, name, value):
        if name in ("graph", "show") and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
