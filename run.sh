#!/usr/bin/env bash
# nbtorch's two entry points (see README.md):
#
#   ./run.sh lab  [jupyter args]   .venv with .[notebook], then JupyterLab on notebooks/
#   ./run.sh test [pytest args]    .venv with .[dev,notebook] (+ torch when it is on local disk),
#                                  then ruff and the whole pytest suite (doctests and notebooks too),
#                                  then the Binder check (tests/binder/check.sh; not with pytest args)
#
# Safe to run again: the .venv is reused, and pip runs only when pyproject.toml or the requested
# extras changed since the last install (a stamp file in .venv records that).
#
# Environment: PYTHON (interpreter to build .venv from, default python3), NBT_PORT (default 8888),
# NBT_TORCH=0 (never try to install torch), NBT_REINSTALL=1 (ignore the stamp),
# NBT_BROWSER_TESTS=0 (skip the real-browser tests in tests/browser/; default 1 under ./run.sh test),
# NBT_BINDER_CHECK=0 (skip the Binder check; it always runs in CI).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$PWD
VENV=$ROOT/.venv
PY=$VENV/bin/python
TORCH_VERSION=2.13.0    # the PyTorch that tests compare against (oracle); optional
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '==> [%4ss] %s\n' "$SECONDS" "$*"; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,7p' "$ROOT/run.sh" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

# --- system packages (HOOK) -------------------------------------------------------------------
# Debian packages the tests need, installed with apt-get when missing (as root, or through sudo).
# chromium: the real-browser tests (tests/browser/) drive Debian's /usr/bin/chromium with
# Playwright; Playwright's own browser download (`playwright install`) is never used.
SYSTEM_PACKAGES=(chromium)

install_system_packages() {
    local missing=() pkg
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "need Debian packages: ${missing[*]} (no apt-get here)"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root (or sudo) to apt-get install ${missing[*]}"
        sudo="sudo"
    fi
    say "apt-get install ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# --- .venv ------------------------------------------------------------------------------------
venv_ok() {
    [ -x "$PY" ] && "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null
}

make_venv() {
    if venv_ok; then
        say "reusing .venv ($("$PY" --version))"
        return 0
    fi
    local base=${PYTHON:-python3}
    command -v "$base" >/dev/null || die "$base not found; nbtorch needs Python 3.11 or newer"
    "$base" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
        || die "$base is $("$base" --version 2>&1); nbtorch needs Python 3.11 or newer (set PYTHON=...)"
    if ! "$base" -c 'import ensurepip, venv' 2>/dev/null; then
        # Debian splits venv out of python3; a fresh machine may lack it.
        local ver
        ver=$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        SYSTEM_PACKAGES+=("python${ver}-venv")
        install_system_packages
    fi
    [ -e "$VENV" ] && { say "removing broken .venv"; rm -rf "$VENV"; }
    say "creating .venv with $("$base" --version)"
    "$base" -m venv "$VENV"
    rm -f "$VENV/.nbtorch-stamp"
}

# pip install -e ".[extras]" unless the stamp says these extras (or more) were installed from this
# very pyproject.toml. Stamp lines read "EXTRAS SHA256", e.g. "dev,notebook 3f2a...".
installed_already() {
    local want=$1 hash=$2 extras line_hash extra ok
    [ -f "$VENV/.nbtorch-stamp" ] || return 1
    while read -r extras line_hash; do
        [ "$line_hash" = "$hash" ] || continue
        ok=1
        for extra in ${want//,/ }; do
            [[ ",$extras," == *",$extra,"* ]] || ok=0
        done
        [ "$ok" = 1 ] && return 0
    done <"$VENV/.nbtorch-stamp"
    return 1
}

install_project() {
    local extras=$1 hash
    hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "${NBT_REINSTALL:-0}" != 1 ] && installed_already "$extras" "$hash"; then
        say "nbtorch[$extras] already installed in .venv (pyproject.toml unchanged)"
        return 0
    fi
    say "pip install -e .[$extras]"
    "$PY" -m pip install -q -e ".[$extras]"
    echo "$extras $hash" >>"$VENV/.nbtorch-stamp"
}

# torch is the oracle of the tests, never a dependency: install it only when pip finds the wheel
# on this machine's disk (its configured find-links); never download it. Without it the
# torch comparisons skip and everything else still runs.
install_torch_if_local() {
    if [ "${NBT_TORCH:-1}" = 0 ]; then
        say "NBT_TORCH=0: not installing torch"
        return 0
    fi
    local have
    have=$("$PY" -c "import importlib.metadata as m; print(m.version('torch'))" 2>/dev/null || true)
    if [ "${have%%+*}" = "$TORCH_VERSION" ]; then
        say "torch $TORCH_VERSION already in .venv"
        return 0
    fi
    if ! timeout 60 "$PY" -m pip install -q --dry-run --no-index --no-deps \
        "torch==$TORCH_VERSION" >/dev/null 2>&1; then
        say "torch $TORCH_VERSION is not on local disk: skipping it (torch comparisons will skip)"
        return 0
    fi
    say "pip install torch==$TORCH_VERSION (from local disk)"
    if ! timeout 600 "$PY" -m pip install -q "torch==$TORCH_VERSION"; then
        say "torch install failed: going on without it (torch comparisons will skip)"
    fi
}

# --- commands ---------------------------------------------------------------------------------
cmd_lab() {
    make_venv
    install_project notebook
    local args=(--no-browser --ServerApp.ip=127.0.0.1 "--ServerApp.port=${NBT_PORT:-8888}"
                "--ServerApp.root_dir=$ROOT/notebooks"
                # the login link opens the course's first notebook, as the Binder badge does
                "--LabApp.default_url=/lab/tree/00_tensors_and_autograd.ipynb")
    [ "$(id -u)" -eq 0 ] && args+=(--ServerApp.allow_root=True)
    say "jupyter lab on http://127.0.0.1:${NBT_PORT:-8888}/ (the course in notebooks/); Ctrl+C to stop"
    exec "$PY" -m jupyterlab "${args[@]}" "$@"
}

cmd_test() {
    install_system_packages
    # chromium is installed now, so the browser tests must run: tests/browser/conftest.py fails
    # (instead of skipping) when NBT_BROWSER_TESTS=1 and the browser or Playwright is missing.
    # NBT_BROWSER_TESTS=0 leaves them out (skipped) on purpose, except in CI.
    case "${CI:-}" in
        "" | 0 | false) export NBT_BROWSER_TESTS=${NBT_BROWSER_TESTS:-1} ;;
        *) export NBT_BROWSER_TESTS=1 ;;
    esac
    make_venv
    install_project dev,notebook
    install_torch_if_local
    # Lint and tests both run, so that one report shows every failure; either failing fails.
    local lint=0 tests=0 t0=$SECONDS paths=(nbtorch tests bench notebooks conftest.py)
    say "ruff check ${paths[*]}"
    "$PY" -m ruff check "${paths[@]}" || lint=$?
    say "python -m pytest -q $*"
    "$PY" -m pytest -q "$@" || tests=$?
    say "ruff + pytest took $((SECONDS - t0)) s"
    # The Binder check builds its own fresh environment from binder/ and runs every notebook
    # there (about 2 minutes); a run restricted by pytest arguments leaves it out.
    local binder=0 check=${NBT_BINDER_CHECK:-1}
    case "${CI:-}" in "" | 0 | false) ;; *) check=1 ;; esac
    if [ "$check" = 1 ] && [ $# -eq 0 ]; then
        say "tests/binder/check.sh"
        bash "$ROOT/tests/binder/check.sh" || binder=$?
    fi
    [ "$lint" -eq 0 ] || say "FAILED: ruff found problems (see above)"
    [ "$tests" -eq 0 ] || say "FAILED: pytest exit status $tests"
    [ "$binder" -eq 0 ] || say "FAILED: the Binder check (tests/binder/check.sh) exit status $binder"
    [ "$lint" -eq 0 ] && [ "$tests" -eq 0 ] && [ "$binder" -eq 0 ]
}

case "${1:-}" in
    lab) shift; cmd_lab "$@" ;;
    test) shift; cmd_test "$@" ;;
    -h | --help | help) usage 0 ;;
    *) usage 2 >&2 ;;
esac
