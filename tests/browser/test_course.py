"""The course as a student meets it: each notebook opened in a real JupyterLab, Run All Cells from
the Run menu, and every widget output drawn by its front end, with no error in a cell or in the
page; and the widget-heavy notebooks the same way in Notebook 7 (what a Binder link without
``urlpath=lab`` opens). (tests/notebooks/ checks what the notebooks compute; this checks what the
page shows.)"""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest

from tests.browser._lab import KERNEL_READY_MS, ROOT, SCREENSHOTS, TIMINGS, expect, open_file

COURSE = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUN_ALL_S = 180  # the slowest notebook takes under 10 s alone; a loaded CI machine is slower
WIDGET_ROOTS = ".nbt-gv, .nbt-stepper, .nbt-monitor, .nbt-gradflow, .nbt-show"
# A widget view's output is a Lumino panel that ipywidgets' renderer fills; others are plain
# rendered MIME outputs with a data-mime-type.
WIDGET_OUTPUT = ".jp-OutputArea-output.lm-Panel"


def _open(page, server, path):
    shutil.copy(path, server.root / path.name)
    return open_file(page, path.name).panel


def _check_widgets(page, panel, path, errors) -> int:
    """Every widget output in ``panel`` drew its one view; a notebook that imports viz has some."""
    setup = next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    views = panel.locator(WIDGET_OUTPUT)
    if "viz" in "".join(setup["source"]):
        assert views.count() > 0, f"{path.name} imports viz but shows no widget"
    for i in range(views.count()):  # each widget output drew its view, not an error box
        expect(views.nth(i).locator(WIDGET_ROOTS)).to_have_count(1, timeout=30_000)
        expect(views.nth(i).locator(WIDGET_ROOTS)).to_be_visible()
        assert "Error displaying widget" not in views.nth(i).inner_text()
    assert not errors, f"errors in the page: {errors}"
    return views.count()


def _run_all(page, panel, name: str) -> float:
    """Run > Run All Cells, then wait for the last code cell; fail at once on a traceback."""
    start = time.monotonic()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    last_prompt = panel.locator(".jp-CodeCell .jp-InputPrompt").last
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    while time.monotonic() - start < RUN_ALL_S:
        for text in errors.all_inner_texts():
            if "Traceback" in text or re.search(r"^\w+(Error|Exception)\b", text, re.M):
                raise AssertionError(f"{name} raised in the browser:\n{text}")
        if re.fullmatch(r"\[\d+\]:", last_prompt.inner_text().strip()):
            return time.monotonic() - start
        time.sleep(0.25)
    raise AssertionError(f"{name}: Run All did not finish in {RUN_ALL_S} s")


@pytest.mark.parametrize("path", COURSE, ids=[p.stem for p in COURSE])
def test_run_all_in_jupyterlab(lab_page, lab_server, path):
    panel = _open(lab_page, lab_server, path)
    seconds = _run_all(lab_page, panel, path.name)
    TIMINGS[f"Run All {path.stem}"] = seconds
    prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
    assert all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts), prompts  # every cell ran
    count = _check_widgets(lab_page, panel, path, lab_page.errors)
    TIMINGS[f"widgets {path.stem}"] = count
    if count:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        panel.locator(WIDGET_OUTPUT).first.scroll_into_view_if_needed()
        panel.locator(WIDGET_OUTPUT).first.screenshot(
            path=str(SCREENSHOTS / f"course_{path.stem}.png"))


NOTEBOOK7 = [p for p in COURSE if p.stem.startswith(("02_", "03_"))]  # stepper, graph, curves


@pytest.mark.parametrize("path", NOTEBOOK7, ids=[p.stem for p in NOTEBOOK7])
def test_run_all_in_notebook_7(chromium_browser, lab_server, path):
    """Notebook 7 (the `notebook` package, served by the same server at /notebooks/...)."""
    shutil.copy(path, lab_server.root / f"nb7_{path.name}")
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{lab_server.url}notebooks/nb7_{path.name}?token={lab_server.token}")
        # Notebook 7 itself reports a settings-schema error while it loads, before any cell runs:
        # only errors from running the course count.
        expect(page.locator(".jp-KernelName")).to_have_text(re.compile(r"Python 3"),
                                                            timeout=KERNEL_READY_MS)
        expect(page.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
            "data-status", "idle", timeout=KERNEL_READY_MS)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        panel = page.locator(".jp-NotebookPanel")
        TIMINGS[f"Notebook 7 Run All {path.stem}"] = _run_all(page, panel, path.name)
        assert _check_widgets(page, panel, path, errors) > 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"notebook7_{path.stem}.png"))
    finally:
        page.close()
