"""The front end's DOM-free logic, under pytest: ``node --test extensions/tests/`` (node's built-in
test runner) on the fixtures the Python tests write. Skipped where node is not installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.viz import fixture_io


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_tests_of_every_widget_pass():
    try:
        import anywidget  # noqa: F401
    except ImportError:  # the committed fixtures are what node reads
        pass
    else:
        from tests.viz.test_graph_view import write_fixtures

        write_fixtures()  # GraphView's, fresh from this checkout's Python side
    result = subprocess.run(
        [shutil.which("node"), "--test", "extensions/tests/"],
        cwd=fixture_io.ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


WIDGETS = ["graph_view.js", "stepper.js", "monitor.js", "gradflow.js", "show.js"]


@pytest.mark.parametrize("name", WIDGETS)
def test_each_widget_is_loaded_as_one_self_contained_module(name, tmp_path):
    """anywidget loads a widget's module from a string, where a relative import cannot resolve:
    _live.esm() inlines the shared helpers, once, in place of the import line."""
    from nbtorch.viz import _live

    source = _live.esm(name)
    assert not re.search(r"^(import|export) [^\n]* from ", source, re.M)  # nothing left to fetch
    imported = re.findall(r'^import \{([\w ,]*)\} from "\./_shared\.js";',
                          (_live.EXTENSIONS / name).read_text(encoding="utf-8"), re.M)
    for helper in imported[0].replace(" ", "").split(","):  # each declared once, before its use
        assert len(re.findall(rf"^export (const|function) {helper}\b", source, re.M)) == 1
    assert "export default" in source
    if shutil.which("node") is not None:  # node parses it as a module with no imports left
        module = tmp_path / name.replace(".js", ".mjs")
        module.write_text(source, encoding="utf-8")
        result = subprocess.run([shutil.which("node"), "--check", str(module)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
