"""%load_ext nbtorch.viz in a real IPython shell: rich tensor HTML (escaped), the %%graph magic."""

from __future__ import annotations

import importlib

import pytest

interactiveshell = pytest.importorskip("IPython.core.interactiveshell")

import nbtorch as torch  # noqa: E402
from nbtorch.viz import magic  # noqa: E402

graph_module = importlib.import_module("nbtorch.viz.graph")


@pytest.fixture
def shell():
    ip = interactiveshell.InteractiveShell.instance()
    ip.run_cell("import nbtorch as torch", store_history=False)
    ip.run_line_magic("load_ext", "nbtorch.viz")
    yield ip
    ip.run_line_magic("unload_ext", "nbtorch.viz")
    interactiveshell.InteractiveShell.clear_instance()


@pytest.fixture
def shown(monkeypatch):
    """What the magic passes to IPython's display()."""
    objects = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: objects.extend(objs))
    return objects


def html_of(ip, obj) -> str:
    data, _ = ip.display_formatter.format(obj)
    return data.get("text/html", "")


def test_tensors_display_as_rich_html(shell):
    t = torch.arange(12.0).reshape(3, 4).requires_grad_()
    html = html_of(shell, t)
    for fact in ("<td>(3, 4)</td>", "<td>torch.float32</td>", "<td>cpu</td>", "<td>True</td>",
                 "<td>0 to 11</td>"):
        assert fact in html, fact
    assert 'class="nbt-tensor-heat"' in html and "data:image/png;base64," in html
    y = (t * 2).sum()
    assert "<td>SumBackward0</td>" in html_of(shell, y)
    assert "nbt-tensor-heat" not in html_of(shell, y)  # a scalar: no heatmap
    assert html_of(shell, torch.nn.Linear(2, 2).weight)  # Parameter is a Tensor: same formatter
    assert "text/plain" in shell.display_formatter.format(t)[0]  # the repr is still there


def test_everything_in_the_html_is_escaped(shell):
    t = torch.ones(2, 2)
    t._name = "<script>alert(1)</script>"
    html = html_of(shell, t)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_non_finite_values_are_counted(shell):
    html = html_of(shell, torch.tensor([1.0, float("nan"), float("inf")]))
    assert "NaN 1, Inf 1" in html


def test_graph_of_named_tensors(shell, shown):
    shell.run_cell(
        "%%graph loss\n"
        "w = torch.tensor([1.0, 2.0], requires_grad=True)\n"
        "hidden = (w * 3).tanh()\n"
        "loss = hidden.sum()\n")
    (view,) = shown
    g = view.graph if isinstance(view.graph, dict) else view.to_dict()
    labels = [n.get("label") for n in g["nodes"]]
    assert labels[0] == "Sum" and "Tanh" in labels and "Mul" in labels
    assert "loss" in g["nodes"][0]["names"]


def test_graph_of_the_last_expression(shell, shown):
    shell.run_cell(
        "%%graph\n"
        "a = torch.ones(3, requires_grad=True)\n"
        "(a.exp() * 2).mean()\n")
    (view,) = shown
    assert view.graph["nodes"][0]["label"] == "Mean"


def test_graph_of_everything_recorded(shell, shown):
    shell.run_cell(
        "%%graph\n"
        "b = torch.ones(3, requires_grad=True)\n"
        "out = b.relu().sum()\n")
    (view,) = shown
    assert "Relu" in [n["label"] for n in view.graph["nodes"]]


def test_graph_without_anywidget_is_the_static_graph(shell, shown, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_anywidget(name, *args, **kwargs):
        if name == "anywidget":
            raise ImportError("no anywidget")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_anywidget)
    shell.run_cell("%%graph y\nx = torch.ones(2, requires_grad=True)\ny = x * x\n")
    (g,) = shown
    assert isinstance(g, graph_module.Graph)
    assert g.to_svg().startswith("<svg")


def test_graph_magic_errors(shell, shown, capsys):
    shell.run_cell("%%graph nope\nz = 1\n")
    assert "no variable named 'nope'" in capsys.readouterr().out
    shell.run_cell("%%graph z\nz = 1\n")
    assert "z is a int, not a tensor" in capsys.readouterr().out
    shell.run_cell("%%graph\nq = 2 + 2\n")
    assert "recorded no operation" in capsys.readouterr().out
    shell.run_cell("%%graph\nraise ValueError('boom')\n")  # the error shows; nothing drawn
    assert shown == []


def test_unload_removes_everything():
    ip = interactiveshell.InteractiveShell.instance()
    try:
        formatter = ip.display_formatter.formatters["text/html"]
        magic.load_ipython_extension(ip)
        assert "graph" in ip.magics_manager.magics["cell"]
        assert formatter.lookup_by_type(torch.Tensor) is magic.tensor_html
        magic.unload_ipython_extension(ip)
        assert "graph" not in ip.magics_manager.magics["cell"]
        with pytest.raises(KeyError):
            formatter.lookup_by_type(torch.Tensor)
        magic.unload_ipython_extension(ip)  # twice is fine
    finally:
        interactiveshell.InteractiveShell.clear_instance()
