"""What the browser tests share: the "can we run?" gate, and JupyterLab page helpers.

Importing this module decides the fate of a browser test module:

- everything present (Debian's chromium, Playwright, psutil, JupyterLab, anywidget): tests run;
- something missing and ``NBT_BROWSER_TESTS`` is not ``1``: the module is skipped, with the reason
  (a developer without chromium still gets a green suite);
- something missing and ``NBT_BROWSER_TESTS=1`` (``./run.sh test`` and so CI export it once
  chromium is installed): the module still loads, and ``conftest.py`` FAILS each test with the
  reason, so CI can never turn green by skipping them;
- ``NBT_BROWSER_TESTS=0``: skipped on purpose.
"""

from __future__ import annotations

import json
import pathlib
import re
import time

import pytest

from tests.browser._env import ARTIFACTS, MODE, PROBLEMS, REQUIRED, ROOT, TIMINGS  # noqa: F401

SCREENSHOTS = ARTIFACTS / "screenshots"

if MODE == "0":
    pytest.skip("NBT_BROWSER_TESTS=0: browser tests switched off", allow_module_level=True)
if PROBLEMS and not REQUIRED:
    pytest.skip("browser tests need: " + "; ".join(PROBLEMS), allow_module_level=True)

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # REQUIRED and missing: conftest.py fails every test with PROBLEMS
    Locator = Page = expect = None

KERNEL_READY_MS = 60_000  # JupyterLab load + kernel start; 8-12 s on 2 cores, more under load
CELL_DONE_MS = 60_000
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def notebook_json(cells: list[str]) -> str:
    """A v4 notebook of code cells, without outputs (the test runs them in the browser)."""
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": KERNEL, "language_info": {"name": "python"}},
            "cells": [
                {
                    "cell_type": "code",
                    "id": f"cell-{i}",
                    "metadata": {},
                    "source": src,
                    "outputs": [],
                    "execution_count": None,
                }
                for i, src in enumerate(cells)
            ],
        },
        indent=1,
    )


class Notebook:
    """One open notebook in the shared JupyterLab page: run cells, read outputs."""

    def __init__(self, page: Page, name: str):
        self.page, self.name = page, name
        # Several notebooks stay open in one page; only the current one is visible.
        self.panel = page.locator(".jp-NotebookPanel:visible")
        self._before: dict[int, str] = {}  # prompt text before the run, by cell index

    def cell(self, i: int) -> Locator:
        return self.panel.locator(".jp-Notebook .jp-Cell").nth(i)

    def output(self, i: int) -> Locator:
        return self.cell(i).locator(".jp-OutputArea-output")

    def start(self, i: int) -> None:
        """Run cell i without waiting for it to finish (Ctrl+Enter stays on the cell)."""
        prompt = self.cell(i).locator(".jp-InputPrompt")
        self._before[i] = prompt.inner_text().strip()  # "[ ]:" or the last run's "[n]:"
        self.cell(i).locator(".cm-content").click()
        self.page.keyboard.press("Control+Enter")

    def running(self, i: int) -> bool:
        return "*" in self.cell(i).locator(".jp-InputPrompt").inner_text()

    def wait_running(self, i: int) -> None:
        expect(self.cell(i).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\*\]"))

    def wait_done(self, i: int, timeout_ms: int = CELL_DONE_MS) -> None:
        """Wait for this run of cell i to finish ("[*]:" -> a new "[n]:"); fail on a traceback."""
        prompt = self.cell(i).locator(".jp-InputPrompt")
        expect(prompt).not_to_have_text(self._before.pop(i), timeout=timeout_ms)
        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout_ms)
        # An error shows as a traceback output: say so now, rather than "element not found" later.
        stderr = self.cell(i).locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        )
        for text in stderr.all_inner_texts():
            if "Traceback" in text or re.search(r"^\w+(Error|Exception)\b", text, re.M):
                raise AssertionError(f"cell {i} of {self.name} raised:\n{text}")

    def run(self, i: int, timeout_ms: int = CELL_DONE_MS) -> None:
        self.start(i)
        self.wait_done(i, timeout_ms)

    def text(self, i: int) -> str:
        return self.output(i).all_inner_texts()[-1].strip() if self.output(i).count() else ""

    def screenshot(self, locator: Locator, name: str) -> pathlib.Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path))
        return path


def open_notebook(page: Page, server, name: str, cells: list[str]) -> Notebook:
    """Write `name` into the server's root and open it in the already loaded JupyterLab.

    The app loads once per session (8-12 s); a notebook opens from the file browser in 1-2 s.
    """
    (server.root / name).write_text(notebook_json(cells))
    return open_file(page, name)


def open_file(page: Page, name: str) -> Notebook:
    """Open the notebook ``name`` from the server's root in the loaded JupyterLab, by
    double-clicking it in the file browser, and wait until its kernel is ready."""
    page.locator('.jp-FileBrowser [data-command="filebrowser:refresh"]').first.click()
    item = page.locator(".jp-DirListing-itemText", has_text=re.compile(rf"^{re.escape(name)}$"))
    expect(item).to_be_visible(timeout=KERNEL_READY_MS)
    item.dblclick()
    expect(page.locator(".lm-TabBar-tab.jp-mod-current", has_text=name)).to_be_visible(
        timeout=KERNEL_READY_MS
    )
    # NOT the toolbar's execution indicator: it reads "idle" while the kernel is still
    # "Initializing", and a Ctrl+Enter pressed then is lost. The status bar names the kernel
    # only once it is connected.
    expect(page.locator("#jp-main-statusbar")).to_contain_text(
        re.compile(r"Python 3 \(ipykernel\) \| Idle"), timeout=KERNEL_READY_MS
    )
    return Notebook(page, name)


def close_current_notebook(page: Page) -> None:
    """Save (so no "unsaved changes" dialog) and close the current tab; the user setting
    kernelShutdown=true stops its kernel, so kernels do not pile up over the session."""
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current")
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"), timeout=CELL_DONE_MS)
    tab.locator(".lm-TabBar-tabCloseIcon").click()


class Stopwatch:
    def __init__(self):
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.t0
