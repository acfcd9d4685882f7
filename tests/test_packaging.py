"""What the package promises beyond its code: a light import, numpy as the only dependency, a
wheel that carries the widgets' front end, notebooks committed clean, a README example that runs."""

from __future__ import annotations

import doctest
import json
import os
import pathlib
import subprocess
import sys
import tomllib
import zipfile

import pytest

import nbtorch

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Modules that `import nbtorch` must not load: the core announces, nbtorch.viz displays; CuPy is
# loaded only when a GPU is asked for; PyTorch is only ever the tests' oracle.
FORBIDDEN = (
    "IPython",
    "ipykernel",
    "ipywidgets",
    "anywidget",
    "traitlets",
    "comm",
    "matplotlib",
    "cupy",
    "cupyx",
    "torch",
)


def test_import_loads_no_jupyter_cupy_or_torch():
    code = "import json, sys, nbtorch; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    loaded = {name.split(".")[0] for name in json.loads(out)}
    bad = sorted(n for n in loaded if n in FORBIDDEN or n.startswith(("jupyter", "nbformat")))
    assert not bad, f"`import nbtorch` loaded {bad}"


def test_core_dependency_is_numpy_only():
    project = PYPROJECT["project"]
    assert project["dependencies"] == ["numpy>=1.26"]
    assert project["requires-python"] == ">=3.11"
    assert set(project["optional-dependencies"]) >= {"cuda", "notebook", "dev"}
    assert project["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "nbtorch/__init__.py"


def test_wheel_ships_the_front_end(tmp_path):
    """extensions/ goes into the wheel as nbtorch/_extensions; tests and notebooks stay out."""
    hatchling_wheel = pytest.importorskip("hatchling.builders.wheel")
    builder = hatchling_wheel.WheelBuilder(str(ROOT))
    (wheel,) = builder.build(directory=str(tmp_path), versions=["standard"])
    names = zipfile.ZipFile(wheel).namelist()
    assert "nbtorch/__init__.py" in names
    shipped = {
        p.relative_to(ROOT / "extensions").as_posix()
        for p in (ROOT / "extensions").rglob("*")
        if p.is_file()
    }
    assert shipped and {f"nbtorch/_extensions/{p}" for p in shipped} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "notebooks/", "bench/"))]
    meta = zipfile.ZipFile(wheel).read(f"nbtorch-{nbtorch.__version__}.dist-info/METADATA")
    requires = [line for line in meta.decode().splitlines() if line.startswith("Requires-Dist:")]
    assert [r for r in requires if "extra ==" not in r] == ["Requires-Dist: numpy>=1.26"]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_committed_clean(path):
    """No outputs, no execution counts and no widget state in the repository: the tests run the
    notebooks; learners run their own copies."""
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb["metadata"]
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {i} has outputs"
            assert cell["execution_count"] is None, f"cell {i} has an execution count"
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.reads(path.read_text(), as_version=4))


def test_readme_example():
    """The ``>>>`` example in README.md is real."""
    result = doctest.testfile(
        str(ROOT / "README.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0
