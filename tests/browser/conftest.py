"""Fixtures for the real-browser tests: a throw-away JupyterLab server and Debian's chromium.

- ``lab_server``: ``python -m jupyterlab`` in a subprocess, on a port the OS picks, with a random
  token and its own config, data (trust database), runtime, settings and workspace folders, so
  nothing of the user's Jupyter setup leaks in or out. Stopped by PID (it and its kernels); the
  fixture fails if anything had to be killed. Its log goes to ``artifacts/browser/server.log``.
- ``chromium_browser``: Playwright driving ``/usr/bin/chromium`` (apt's; never
  ``playwright install``), with the flags a root, screenless, offline container needs.
- ``browser_page``: a fresh page without JupyterLab (nbconvert's HTML).
- ``lab_page``: one JupyterLab page for all tests (the app loads once, 8-12 s); each test opens
  its notebook from the file browser (``_lab.open_notebook``), and what it opened is saved and
  closed afterwards. Page errors fail the test; a failing test leaves a screenshot in
  ``artifacts/browser/failures/``.

The fixtures are package-scoped (this folder is a package): the server and the browser live as
long as the browser tests, not the rest of the suite. Every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser import _env
from tests.browser._env import ARTIFACTS, CHROMIUM, ROOT

LOGS = ARTIFACTS / "browser"
SERVER_START_S = 60
SERVER_STOP_S = 20
ACTION_TIMEOUT_MS = 20_000

# Playwright adds --headless and a fresh temporary --user-data-dir itself.
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # offline: no calls home
    "--disable-component-update",
    "--disable-sync",
    # Debian's wrapper means to add this when /dev/shm is small, but its test breaks
    # ("[: ...: unexpected operator"); containers often have 64 MB of shm.
    "--disable-dev-shm-usage",
]

USER_SETTINGS = {
    # No "get Jupyter news?" toast over the page (it shows even with news_url=None).
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # Every cell in the DOM (the default windowing may leave off-screen cells out);
    # closing a notebook stops its kernel, so kernels do not pile up over the session.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "kernelShutdown": True},
}


@pytest.fixture(scope="package", autouse=True)
def _browser_required():
    """NBT_BROWSER_TESTS=1 (./run.sh test, CI) and no browser: fail, never skip. (Without
    NBT_BROWSER_TESTS=1 the test modules were skipped already, when importing _lab.)"""
    if _env.PROBLEMS:
        pytest.fail("NBT_BROWSER_TESTS=1 but " + "; ".join(_env.PROBLEMS), pytrace=False)


@dataclasses.dataclass
class LabServer:
    url: str  # http://127.0.0.1:PORT/
    token: str
    root: pathlib.Path  # the folder it serves; tests write their notebooks here
    proc: subprocess.Popen
    log: pathlib.Path
    env: dict
    startup_s: float = 0.0

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(
            self.url + path.lstrip("/"),
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            return json.loads(body) if body else None

    def lab_url(self, path: str = "") -> str:
        return f"{self.url}lab{'/tree/' + path if path else ''}?token={self.token}"


def _stop_by_pid(proc: subprocess.Popen) -> list[int]:
    """SIGTERM the server (it shuts its kernels down), then SIGKILL it and any child (kernel)
    still there, each by its own PID. Returns the PIDs that had to be killed."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    killed = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=SERVER_STOP_S)
        except subprocess.TimeoutExpired:
            killed.append(proc.pid)
            proc.kill()
            proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=5)
    for p in alive:
        p.kill()
    psutil.wait_procs(alive, timeout=5)
    return killed + [p.pid for p in alive]


@pytest.fixture(scope="package")
def lab_server(tmp_path_factory) -> LabServer:
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    for plugin, values in USER_SETTINGS.items():
        f = base / "settings" / f"{plugin}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_DATA_DIR": str(base / "data"),  # trust db; labextensions still in sys.prefix
        "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(base / "ipython"),  # no user profile or startup files in the kernels
        # kernels import nbtorch from this checkout, whatever else is installed
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.port=0",  # the OS picks a free port (no probe-then-bind race)
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",  # CI runs as root
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    log = base / "server.log"
    with open(log, "wb") as logf:
        proc = subprocess.Popen(
            cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=root
        )
    info_file = base / "runtime" / f"jpserver-{proc.pid}.json"  # where the port is read back
    t0 = time.monotonic()
    try:
        server = None
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited rc={proc.returncode}:\n{log.read_text()}")
            if time.monotonic() - t0 > SERVER_START_S:
                raise TimeoutError(
                    f"jupyter lab not ready in {SERVER_START_S} s:\n{log.read_text()}"
                )
            if server is None and info_file.exists():
                try:
                    port = json.loads(info_file.read_text())["port"]
                    server = LabServer(f"http://127.0.0.1:{port}/", token, root, proc, log, env)
                except (ValueError, KeyError):
                    pass  # half-written
            if server is not None:
                try:
                    server.api("api/status")
                    server.startup_s = time.monotonic() - t0
                    break
                except OSError:
                    pass
            time.sleep(0.2)
        _env.TIMINGS["server start"] = server.startup_s
        yield server
    finally:
        killed = _stop_by_pid(proc)
        LOGS.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, LOGS / "server.log")
        _env.TIMINGS.save()
        assert not killed, f"had to SIGKILL PIDs {killed} (see {LOGS / 'server.log'})"


@pytest.fixture(scope="package")
def chromium_browser(browser_type_launch_args):
    """Debian's chromium through Playwright. Started here rather than through pytest-playwright's
    session-wide `browser`, so that it stops with the browser tests; pytest-playwright's
    command-line options (--headed, --slowmo) still apply through browser_type_launch_args."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            **browser_type_launch_args,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            timeout=30_000,
        )
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def lab_app(chromium_browser, lab_server):
    """One page with JupyterLab loaded, shared by the tests (see lab_page)."""
    from playwright.sync_api import expect

    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    page.set_default_navigation_timeout(60_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.add_init_script(_env.WS_PROBE)
    t0 = time.monotonic()
    page.goto(lab_server.lab_url())
    expect(page.locator(".jp-DirListing-content")).to_be_visible(timeout=60_000)
    _env.TIMINGS["JupyterLab load"] = time.monotonic() - t0
    yield page
    context.close()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh page with no JupyterLab behind it (for files such as nbconvert's HTML)."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.nbt_call_failed = report.failed
    return report


@pytest.fixture
def lab_page(request, lab_app):
    """The shared JupyterLab page, with this test's page errors and a screenshot if it fails."""
    from tests.browser import _lab

    page = lab_app
    page.errors.clear()
    open_before = page.locator("#jp-main-dock-panel .lm-TabBar-tab").count()
    yield page
    if getattr(request.node, "nbt_call_failed", False):
        failures = LOGS / "failures"
        failures.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(failures / f"{request.node.name}.png"))
    # Close what this test opened, so the next one starts from the same app state.
    try:
        while page.locator("#jp-main-dock-panel .lm-TabBar-tab").count() > open_before:
            _lab.close_current_notebook(page)
    except Exception:  # a stuck dialog, say: start over from a fresh load
        page.goto(page.url.split("/lab")[0] + "/lab")
        _lab.expect(page.locator(".jp-DirListing-content")).to_be_visible(timeout=60_000)
