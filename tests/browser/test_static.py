"""What a saved notebook shows where no widget code runs (GitHub, nbviewer, nbconvert HTML).

A notebook with one cell per widget is executed with nbclient WITHOUT widget state
(``store_widget_state=False``: with saved state, nbconvert picks the widget view, whose code comes
from a CDN, and drops our picture), converted to HTML with nbconvert's lab template (what
nbviewer uses), and opened in chromium: every widget's output must be its static picture, a
visible, decodable ``<img class="nbt-static">`` of an SVG, never a blank.
"""

from __future__ import annotations

import base64
import os
import re
import xml.etree.ElementTree as ET

import pytest

from tests.browser._lab import ARTIFACTS, ROOT, SCREENSHOTS, expect

SETUP = """\
import nbtorch as torch
from nbtorch import nn, viz
from IPython.display import display
_ = torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
x, target = torch.randn(16, 4), torch.randn(16, 2)
loss = nn.functional.mse_loss(model(x), target)
"""

# One cell per widget; what its saved picture must say (alt text), to show it is up to date.
WIDGETS = {
    "GraphView": ("viz.GraphView(loss, params=model)", r"10 nodes, 9 edges"),
    "BackwardStepper": (
        "stepper = viz.BackwardStepper(loss, params=model)\nstepper.step(3)\nstepper",
        r"step 2",
    ),
    # Displayed before the loop; finish() refreshes the saved picture to the last step.
    "TrainingMonitor": (
        "mon = viz.TrainingMonitor(total=20)\ndisplay(mon)\n"
        "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for step in range(20):\n"
        "    opt.zero_grad()\n"
        "    l = nn.functional.mse_loss(model(x), target)\n"
        "    l.backward()\n"
        "    opt.step()\n"
        "    mon.log(step, loss=l.item())\n"
        "mon.finish()",
        r"step 19",
    ),
    "GradFlow": (
        "flow = viz.GradFlow(model)\ndisplay(flow)\n"
        "for _ in range(5):\n"
        "    model.zero_grad()\n"
        "    nn.functional.mse_loss(model(x), target).backward()\n"
        "    flow.update()\n"
        "flow.refresh_static()",
        r"5 updates",
    ),
    "show": ("viz.show(model[0].weight, name='weight')", r"weight"),
}
# Our text/html fallback; nbconvert's sanitizer reorders the attributes.
IMG = re.compile(r'<img\b[^>]*\bclass="nbt-static"[^>]*>')
SRC = re.compile(r'\bsrc="data:image/svg\+xml;base64,([^"]+)"')
ALT = re.compile(r'\balt="([^"]*)"')


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook, run by nbclient without widget state, and its nbconvert HTML."""
    import nbclient  # jupyterlab brings these three (imported here: no browser, no jupyterlab:
    import nbconvert  # the module is skipped by _lab instead of failing to import)
    import nbformat

    cwd = tmp_path_factory.mktemp("static")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)]
    nb.cells += [nbformat.v4.new_code_cell(code) for code, _ in WIDGETS.values()]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "IPYTHONDIR": str(cwd / ".ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        startup_timeout=60,
        store_widget_state=False,
        resources={"metadata": {"path": str(cwd)}},
    ).execute(env=env)
    assert "widgets" not in nb.metadata
    html, _ = nbconvert.HTMLExporter(template_name="lab").from_notebook_node(nb)
    out = ARTIFACTS / "static"
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / "widgets.ipynb")
    (out / "widgets.html").write_text(html)
    return {"nb": nb, "html": html, "path": out / "widgets.html"}


@pytest.mark.parametrize("name", list(WIDGETS))
def test_saved_output_carries_a_picture(executed, name):
    cell = executed["nb"].cells[1 + list(WIDGETS).index(name)]
    bundles = [o["data"] for o in cell.outputs if "data" in o and "text/html" in o["data"]]
    assert len(bundles) == 1, f"{name}: expected one displayed widget, got {cell.outputs}"
    data = bundles[0]
    assert "application/vnd.jupyter.widget-view+json" in data  # the live view, for JupyterLab
    svg = ET.fromstring(data["image/svg+xml"])  # well-formed, and not empty
    assert svg.tag.endswith("svg") and len(list(svg.iter())) > 5
    img = IMG.search(data["text/html"])
    assert img, data["text/html"][:300]
    src = SRC.search(img.group(0))
    assert src and base64.b64decode(src.group(1)).decode() == data["image/svg+xml"]
    alt = ALT.search(img.group(0)).group(1)
    assert re.search(WIDGETS[name][1], alt), f"{name}: saved picture is stale: {alt!r}"


def test_nbconvert_html_shows_every_picture(executed, browser_page):
    html = executed["html"]
    # no widget state: nbconvert has nothing to load from a CDN and shows our <img> instead
    assert "application/vnd.jupyter.widget-state+json" not in html
    assert len(IMG.findall(html)) == len(WIDGETS)

    page = browser_page
    page.goto(executed["path"].as_uri(), wait_until="load")
    cells = page.locator(".jp-Cell.jp-CodeCell")
    expect(cells).to_have_count(1 + len(WIDGETS))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(WIDGETS, start=1):
        img = cells.nth(i).locator(".jp-OutputArea-output img.nbt-static")
        expect(img).to_have_count(1)
        expect(img).to_be_visible()
        # decoded and laid out: a broken data URI has naturalWidth 0
        width, height = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        assert width > 50 and height > 20, (name, width, height)
        img.screenshot(path=str(SCREENSHOTS / f"static_{name}.png"))
    page.screenshot(path=str(ARTIFACTS / "static" / "widgets.png"), full_page=True)
