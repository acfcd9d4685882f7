#!/usr/bin/env bash
# The Binder check, offline and without Docker: does binder/ alone give a working class?
#
#   bash tests/binder/check.sh          (./run.sh test runs it after pytest; NBT_BINDER_CHECK=0 skips)
#
# 1. binder/runtime.txt names the Python it is checked with (python3.11 when the machine has it).
# 2. repo2docker's own build plan for this repository (--no-build prints the Dockerfile, no daemon):
#    the Python version, `pip install -r binder/requirements.txt` and postBuild are in it.
#    The plan also runs binder/start before the server.
# 3. A FRESH virtual environment gets `pip install -r binder/requirements.txt` from the repository
#    root, as repo2docker does; JupyterLab must list the widget extensions; postBuild must run.
# 4. Every notebook executes there, through binder/start, its kernel importing the INSTALLED
#    nbtorch, with its time and the kernel's peak memory reported (tests/binder/run_notebooks.py).
# Also reported: the environment's install time and size. Not covered: conda, the real mybinder
# launch and Binder's 2 GiB limit itself (the per-kernel budget stands in for it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
say() { printf '==> [binder %4ss] %s\n' "$SECONDS" "$*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1 JUPYTER_PLATFORM_DIRS=1
# nothing from this user's Jupyter setup (kernels, settings) may leak into the check
export JUPYTER_CONFIG_DIR=$tmp/config JUPYTER_DATA_DIR=$tmp/data JUPYTER_RUNTIME_DIR=$tmp/runtime
unset PYTHONPATH

want=$(sed -n 's/^python-\([0-9]*\.[0-9]*\).*/\1/p' binder/runtime.txt)
[ -n "$want" ] || { echo "binder/runtime.txt: expected a line like python-3.11"; exit 1; }
python=python$want
if ! command -v "$python" >/dev/null; then
    python=python3
    say "WARNING: no $python here; checking with $($python --version) instead of Binder's $want"
fi
say "runtime.txt: python-$want; checking with $("$python" --version)"

if [ "${NBT_R2D_PLAN:-1}" = 1 ]; then
    "$python" -m venv "$tmp/r2d"
    "$tmp/r2d/bin/pip" install -q jupyter-repo2docker
    "$tmp/r2d/bin/jupyter-repo2docker" --no-build --debug --no-run . >"$tmp/Dockerfile" 2>&1 || {
        cat "$tmp/Dockerfile"; exit 1; }
    for expected in "python=$want" 'pip install --no-cache-dir -r "binder/requirements.txt"' \
                    "./binder/postBuild" 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"'; do
        grep -qF -- "$expected" "$tmp/Dockerfile" || {
            echo "repo2docker's plan lacks: $expected"; cat "$tmp/Dockerfile"; exit 1; }
    done
    say "repo2docker's plan: python=$want, pip install -r binder/requirements.txt, postBuild, start"
fi

env=$tmp/binder
"$python" -m venv "$env"
start=$SECONDS
"$env/bin/pip" install -q -r binder/requirements.txt
say "pip install -r binder/requirements.txt: $((SECONDS - start)) s"
"$env/bin/python" - <<'PY'
# Sizes on disk: the whole environment, and what nbtorch[notebook] adds to JupyterLab (Binder's
# base image already has JupyterLab and its dependencies).
import importlib.metadata as md
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name as canon

dists = {canon(d.metadata["Name"]): d for d in md.distributions()}
size = {name: sum(f.stat().st_size for f in map(d.locate_file, d.files or []) if f.is_file())
        for name, d in dists.items()}


def closure(name, extras=()):
    seen, todo = set(), [(canon(name), tuple(extras))]
    while todo:
        name, extras = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        for spec in dists[name].requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras or ("",)):
                todo.append((canon(req.name), tuple(req.extras)))
    return seen


added = closure("nbtorch", ["notebook"]) - closure("jupyterlab")
mib = lambda names: sum(size[n] for n in names) / 2**20  # noqa: E731
print(f"==> [binder] environment: {mib(size):.0f} MiB in {len(size)} distributions; "
      f"nbtorch[notebook] adds {mib(added):.0f} MiB to JupyterLab's ({len(added)} distributions: "
      f"nbtorch {mib(['nbtorch']):.1f}, numpy {mib(['numpy']):.0f}, "
      f"matplotlib and the rest {mib(added - {'nbtorch', 'numpy'}):.0f})")
PY

extensions=$("$env/bin/jupyter" labextension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
for ext in anywidget @jupyter-widgets/jupyterlab-manager; do
    grep -q "$ext .*enabled.*OK" <<<"$extensions" || {
        echo "JupyterLab lacks the labextension $ext:"; echo "$extensions"; exit 1; }
done
say "labextensions: anywidget and jupyterlab-manager enabled"

NB_PYTHON_PREFIX=$env PATH="$env/bin:$PATH" bash binder/postBuild
grep -q fetchNews "$env/share/jupyter/lab/settings/overrides.json"
say "postBuild: ok"

start=$SECONDS
import_s=$("$env/bin/python" -c 'import time; t = time.perf_counter(); import nbtorch; print(f"{time.perf_counter() - t:.2f}")')
say "import nbtorch: $import_s s"
(cd "$tmp" && PATH="$env/bin:$PATH" "$OLDPWD/binder/start" "$env/bin/python" \
    "$OLDPWD/tests/binder/run_notebooks.py" "$OLDPWD"/notebooks/*.ipynb)
say "all notebooks: $((SECONDS - start)) s"
