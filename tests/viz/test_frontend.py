"""The front end's DOM-free logic, under pytest: ``node --test extensions/tests/`` (node's built-in
test runner) on the fixtures the Python tests write. Skipped where node is not installed."""

from __future__ import annotations

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
