"""Collection rules for `python -m pytest`, which also runs the doctests in nbtorch/."""

import importlib.util

# nbtorch/viz needs the notebook extra (ipywidgets, anywidget). Where it is not installed, leave
# viz's doctests out instead of failing to import the modules.
collect_ignore = []
if any(importlib.util.find_spec(name) is None for name in ("ipywidgets", "anywidget")):
    collect_ignore.append("nbtorch/viz")
