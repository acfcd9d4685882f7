"""binder/ and the README's launch link agree with the project. (tests/binder/check.sh, which
./run.sh test runs after pytest, builds the environment and runs the notebooks in it.)"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import tomllib
import urllib.parse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"


def test_runtime_is_a_python_nbtorch_supports():
    (line,) = (BINDER / "runtime.txt").read_text().split()
    version = tuple(map(int, re.fullmatch(r"python-(\d+)\.(\d+)", line).groups()))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = tuple(map(int, re.fullmatch(r">=(\d+)\.(\d+)", requires).groups()))
    assert version >= minimum


def test_requirements_install_this_repository_with_the_widgets():
    lines = [s for line in (BINDER / "requirements.txt").read_text().splitlines()
             if (s := line.split("#")[0].strip())]
    assert lines == [".[notebook]"]  # versions live in pyproject.toml's extra, nowhere else
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    names = {re.split(r"[<>=!~ \[]", spec)[0] for spec in extras["notebook"]}
    assert {"jupyterlab", "ipywidgets", "anywidget", "matplotlib"} <= names


def test_no_file_overrides_requirements():
    """repo2docker lets environment.yml or a Dockerfile win over requirements.txt/runtime.txt."""
    present = {p.name for p in BINDER.iterdir()}
    assert present <= {"requirements.txt", "runtime.txt", "postBuild", "start"}
    assert not (ROOT / ".binder").exists()  # binder/ and .binder/ together are an error
    for script in ("postBuild", "start"):
        assert os.access(BINDER / script, os.X_OK)
        assert (BINDER / script).read_text().startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in (BINDER / "postBuild").read_text()
    assert (BINDER / "start").read_text().rstrip().endswith('exec "$@"')


def _threads_under_start(**env) -> dict[str, str]:
    """The BLAS thread variables that binder/start hands to the command it runs."""
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    clean.pop("CPU_LIMIT", None)
    out = subprocess.run([str(BINDER / "start"), "env"], env={**clean, **env}, check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines()
                if line.split("=", 1)[0] in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))


def _cgroup_quota() -> bool:
    try:
        return pathlib.Path("/sys/fs/cgroup/cpu.max").read_text().split()[0] != "max"
    except (OSError, IndexError):
        return False


@pytest.mark.skipif(_cgroup_quota(), reason="this machine's cgroup CPU quota takes precedence")
@pytest.mark.parametrize(("limit", "threads"), [("1.0", "1"), ("0.5", "1"), ("2", "2"),
                                                ("4.0", "4")])
def test_start_gives_blas_one_thread_per_cpu_of_the_quota(limit, threads):
    assert _threads_under_start(CPU_LIMIT=limit) == {"OPENBLAS_NUM_THREADS": threads,
                                                     "OMP_NUM_THREADS": threads}


def test_start_leaves_threads_alone_without_a_limit_or_when_set():
    if not _cgroup_quota():
        assert _threads_under_start() == {}
    assert _threads_under_start(CPU_LIMIT="1", OPENBLAS_NUM_THREADS="3")[
        "OPENBLAS_NUM_THREADS"] == "3"


def test_readme_badge_opens_the_course_in_jupyterlab():
    readme = (ROOT / "README.md").read_text()
    badges = re.findall(r"\]\((https://mybinder\.org/v2/gh/[^)]+)\)", readme)
    assert badges, "the README has no Binder link"
    for link in badges:
        url = urllib.parse.urlparse(link)
        query = urllib.parse.parse_qs(url.query)
        (urlpath,) = query["urlpath"]
        assert urlpath.startswith("lab/tree/"), link  # JupyterLab, not the classic tree
        assert (ROOT / urlpath.removeprefix("lab/tree/")).exists(), link
    assert "https://mybinder.org/badge_logo.svg" in readme
