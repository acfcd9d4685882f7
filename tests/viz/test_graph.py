"""nbtorch.viz.graph: extraction of the tape (nodes, order, names, modules, summaries, flags) on
MLP, CNN and LSTM graphs, the wire format and its JSON round trip, record(), DOT and the static
outputs; test_write_fixtures writes the front end's fixture files."""

from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import nbtorch
import nbtorch.viz
from nbtorch import nn
from nbtorch.autograd import backward_steps, events
from nbtorch.nn import functional as F
from nbtorch.viz.graph import FLAGS, VERSION, Graph, graph, record, summarize

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "extensions" / "tests" / "fixtures"
TAPE_KEYS = {"id", "op", "kind", "shapes", "dtype", "device", "names", "saved"}
NODE_KEYS = TAPE_KEYS | {"label", "module", "param", "var", "value", "grad", "flags"}
SUMMARY_KEYS = {"shape", "dtype", "numel", "mean", "std", "min", "max", "norm", "nan", "inf"}


# --- models ---------------------------------------------------------------------------------------


def mlp():
    nbtorch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = nbtorch.randn(5, 4)
    target = nbtorch.tensor([0, 1, 2, 1, 0])
    return model, x, target


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(2 * 3 * 3, 3)

    def forward(self, x):
        features = self.features(x)
        flat = features.flatten(1)
        return self.classifier(flat)


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 5, batch_first=True)
        self.head = nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def mlp_graph(recording=True):
    model, x, target = mlp()
    with record() if recording else _nothing():
        logits = model(x)
        loss = F.cross_entropy(logits, target)
    return graph(loss, names={"loss": loss, "logits": logits}, params=model), model, loss


def cnn_graph():
    nbtorch.manual_seed(0)
    model = SmallCNN()
    x = nbtorch.randn(2, 1, 8, 8)
    with record():
        loss = F.cross_entropy(model(x), nbtorch.tensor([0, 2]))
    loss.backward(retain_graph=True)
    return graph(loss, names={"loss": loss}, params=model), model, loss


def lstm_graph():
    nbtorch.manual_seed(0)
    model = Tagger()
    x = nbtorch.randn(2, 3, 4)
    with record():
        loss = model(x).pow(2).mean()
    loss.backward(retain_graph=True)
    return graph(loss, names={"loss": loss}, params=model), model, loss


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def tape_size(*tensors) -> int:
    """grad_fn nodes plus leaves reachable from ``tensors``, counted independently."""
    seen = set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    leaves = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for child, _ in node.next_functions:
            if child is None:
                continue
            if child.name() == "AccumulateGrad":
                leaves.add(id(child.variable))
            else:
                stack.append(child)
    return len(seen) + len(leaves)


def by_label(g: Graph, label: str) -> dict:
    (found,) = [n for n in g.nodes if n["label"] == label]
    return found


# --- extraction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [mlp_graph, cnn_graph, lstm_graph], ids=["mlp", "cnn", "lstm"])
def test_nodes_are_the_grad_fns_and_leaves_in_the_engines_order(build):
    g, model, loss = build()
    assert len(g) == tape_size(loss) == len(g.nodes)
    assert [n["id"] for n in g.nodes] == list(range(len(g)))
    steps = [s.name for s in backward_steps([loss], [nbtorch.ones(())], retain_graph=True)]
    assert [n["op"] for n in g.nodes] == steps
    for n in g.nodes:
        assert set(n) == NODE_KEYS
        assert set(n["flags"]) <= set(FLAGS)
    leaves = [n for n in g.nodes if n["kind"] == "leaf"]
    assert sorted(n["param"] for n in leaves) == sorted(name for name, _ in
                                                       model.named_parameters())
    assert g.outputs == [0]
    for src, dst, k, nr in g.edges:
        assert src > dst  # a node's id comes after the nodes it sends gradients to
        assert g.grad_fn(dst).next_functions[k] == (g.grad_fn(src), nr)


def test_order_and_contents_are_deterministic():
    first, second = mlp_graph()[0].to_dict(), mlp_graph()[0].to_dict()
    assert first == second


def test_mlp_names_values_and_modules():
    g, model, loss = mlp_graph()
    out = g.nodes[0]
    assert out["kind"] == "output" and "loss" in out["names"] and out["label"] == "NllLoss"
    assert out["value"]["shape"] == []
    assert out["value"]["mean"] == pytest.approx(loss.item(), rel=1e-5)
    logits = [n for n in g.nodes if "logits" in n["names"]]
    assert len(logits) == 1 and logits[0]["module"] == "2"
    assert logits[0]["value"]["shape"] == [5, 3]
    w0 = g.nodes[g.find("0.weight")[0]]
    assert w0["kind"] == "leaf" and w0["module"] == "0" and w0["label"] == "0.weight"
    data = model[0].weight._data.astype(np.float64)
    s = w0["value"]
    assert s["shape"] == [8, 4] and s["dtype"] == "float32" and s["numel"] == 32
    assert s["mean"] == pytest.approx(data.mean(), rel=1e-5)
    assert s["std"] == pytest.approx(data.std(ddof=1), rel=1e-5)
    assert s["min"] == pytest.approx(data.min(), rel=1e-5)
    assert s["max"] == pytest.approx(data.max(), rel=1e-5)
    assert s["norm"] == pytest.approx(np.linalg.norm(data), rel=1e-5)
    assert w0["grad"] is None  # no backward yet
    np.testing.assert_array_equal(g.value(w0["id"]), model[0].weight._data)
    relu = by_label(g, "Relu")
    assert relu["module"] == "1" and relu["value"]["min"] >= 0  # the value ReLU saved
    assert g.modules == {"": "Sequential", "0": "Linear", "1": "ReLU", "2": "Linear"}


def test_without_record_only_leaves_know_their_module():
    g, _, _ = mlp_graph(recording=False)
    assert {n["module"] for n in g.nodes if n["kind"] != "leaf"} == {None}
    assert {n["module"] for n in g.nodes if n["kind"] == "leaf"} == {"0", "2"}
    assert all(n["var"] is None for n in g.nodes)


def test_cnn_module_paths_gradients_and_summaries():
    g, model, loss = cnn_graph()
    conv = by_label(g, "Convolution")
    assert conv["module"] == "features.0" and conv["shapes"] == [[2, 2, 6, 6]]
    assert by_label(g, "MaxPool2DWithIndices")["module"] == "features.2"
    assert by_label(g, "Addmm")["module"] == "classifier"
    assert by_label(g, "View")["module"] == ""  # the model's own forward: flatten
    assert g.modules["features"] == "Sequential" and g.modules[""] == "SmallCNN"
    assert g.modules["features.0"] == "Conv2d"
    weight = g.nodes[g.find("features.0.weight")[0]]
    assert weight["module"] == "features.0"
    grad = model.features[0].weight.grad._data.astype(np.float64)
    assert weight["grad"]["norm"] == pytest.approx(np.linalg.norm(grad), rel=1e-5)
    np.testing.assert_array_equal(g.grad(weight["id"]), model.features[0].weight.grad._data)
    assert by_label(g, "View")["var"] == "flat"


def test_lstm_graph():
    g, model, loss = lstm_graph()
    lstm = [n for n in g.nodes if n["op"].startswith("LSTM")]
    assert len(lstm) == 1 and lstm[0]["module"] == "lstm"
    params = {n["param"] for n in g.nodes if n["kind"] == "leaf"}
    assert "lstm.weight_ih_l0" in params and "head.bias" in params
    assert all(n["grad"] is not None for n in g.nodes if n["kind"] == "leaf")
    assert g.modules["lstm"] == "LSTM" and g.modules[""] == "Tagger"


def test_json_round_trip_and_copy():
    for build in (mlp_graph, cnn_graph, lstm_graph):
        g = build()[0]
        d = g.to_dict()
        assert d["version"] == VERSION == 1
        assert set(d) == {"version", "nodes", "edges", "outputs", "modules"}
        text = json.dumps(d, allow_nan=False)
        assert json.loads(text) == d == json.loads(g.to_json())
        for n in d["nodes"]:
            for key in ("value", "grad"):
                assert n[key] is None or set(n[key]) == SUMMARY_KEYS
        d["nodes"][0]["names"].append("changed")
        assert "changed" not in g.nodes[0]["names"]  # to_dict() is a copy


def test_summaries_count_nan_and_inf():
    s = summarize(np.array([1.0, np.nan, np.inf, -np.inf, 3.0], dtype=np.float32))
    assert (s["nan"], s["inf"], s["numel"]) == (1, 2, 5)
    assert (s["mean"], s["min"], s["max"]) == (2.0, 1.0, 3.0)
    assert s["norm"] == pytest.approx(np.sqrt(10))
    empty = summarize(np.array([np.nan]))
    assert empty["mean"] is None and empty["std"] is None
    assert summarize(nbtorch.tensor([1, 2, 3]))["dtype"] == "int64"
    assert summarize(np.array([True, False]))["mean"] == 0.5
    json.dumps(empty, allow_nan=False)


def test_names_argument_forms():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y, z = x * 2, x.exp()
    g = graph(y, z, names=["y", "z"])
    assert g.nodes[g.outputs[0]]["names"] == ["y"] and g.nodes[g.outputs[1]]["names"] == ["z"]
    assert graph(y, names="why").nodes[0]["names"] == ["why"]
    assert graph(y, names={"input": x}).nodes[1]["names"] == ["input"]
    with pytest.raises(ValueError, match="2 names for 1 tensors"):
        graph(y, names=["a", "b"])
    with pytest.raises(TypeError, match="expects tensors"):
        graph(np.ones(2))
    assert len(graph()) == 0 and len(graph(nbtorch.ones(2))) == 0


def test_params_as_a_dict():
    w = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    g = graph((w * 2).sum(), params={"encoder.w": w})
    leaf = g.nodes[-1]
    assert leaf["param"] == "encoder.w" and leaf["module"] == "encoder"
    assert leaf["names"] == ["encoder.w"]


def test_retained_gradients_are_summarized():
    x = nbtorch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    g = graph(loss, names={"h": h})
    (hid,) = g.find("h")
    assert g.nodes[hid]["grad"]["max"] == pytest.approx(12.0)
    np.testing.assert_allclose(g.grad(hid), 2 * h._data)


# --- record() -------------------------------------------------------------------------------------


def test_record_names_variables_at_their_source_line():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    w = nbtorch.tensor([0.5, -1.0], requires_grad=True)
    with record():
        hidden = x * w
        out = hidden.relu().sum()  # two nodes on one line: the variable holds the last
        h = out
        for _ in range(2):
            h = h * 2
    g = graph(h)
    assert by_label(g, "Relu")["var"] is None
    vars_ = [(n["label"], n["var"]) for n in g.nodes]
    assert ("Sum", "out") in vars_ and vars_.count(("Mul", "h")) == 1
    assert g.nodes[0]["var"] == "h"  # a one-line loop body: the latest node keeps the name
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with record():
        z = model(x)
    # as in PyTorch, a 1-d input goes through views around addmm(bias, x, weight.t())
    assert [(n["label"], n["var"]) for n in graph(z).nodes if n["kind"] != "leaf"] == [
        ("View", "z"), ("Addmm", None), ("View", None), ("T", None), ("Tanh", None),
        ("View", None), ("Addmm", None), ("View", None), ("T", None)]
    assert [n for n in g.nodes if n["var"] == "hidden"][0]["op"] == "MulBackward0"
    assert "hidden" in [n for n in g.nodes if n["var"] == "hidden"][0]["names"]


def _hand_loss(logits, target):
    log_probs = nbtorch.log(nbtorch.softmax(logits, dim=1))
    return F.nll_loss(log_probs, target)


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        x = self.fc1(x).relu()
        return self.fc2(x)


def test_record_names_what_the_users_functions_return():
    """``loss = my_loss(model(x), y)``: ``loss`` names the last node my_loss records, not
    model(x)'s, which runs first on that line; names inside the function stay."""
    nbtorch.manual_seed(0)
    x, target = nbtorch.randn(8, 4), nbtorch.randint(0, 3, (8,))
    model, net = nn.Linear(4, 3), _Net()
    with record():
        loss = _hand_loss(model(x), target)
        out = net(x)
    ops = lambda t: [(n["label"], n["var"]) for n in graph(t).nodes if n["kind"] != "leaf"]  # noqa: E731
    assert ops(loss) == [("NllLoss", "loss"), ("Log", "log_probs"), ("Softmax", None),
                         ("Addmm", None), ("T", None)]
    assert ops(out) == [("Addmm", "out"), ("T", None), ("Relu", "x"), ("Addmm", None),
                        ("T", None)]


def test_record_costs_nothing_outside_and_cleans_up():
    assert not events.LISTENERS
    with record() as rec:
        assert rec.active and len(events.LISTENERS) == 1
        with pytest.raises(RuntimeError, match="already active"):
            rec.__enter__()
    assert not rec.active and not events.LISTENERS
    y = nbtorch.ones(2, requires_grad=True) * 3
    assert "_metadata" not in y.grad_fn.__dict__  # nothing was tagged outside record()


def test_record_graph_of_what_was_recorded():
    model, x, target = mlp()
    with record() as rec:
        loss = F.cross_entropy(model(x), target)
    g = rec.graph(params=model)
    assert len(g) == tape_size(loss)
    assert g.nodes[0]["op"] == "NllLossBackward0" and g.nodes[0]["shapes"] == [[]]
    assert g.nodes[0]["var"] == "loss" and g.outputs == [0]
    assert g.nodes[0]["dtype"] == "float32" and g.nodes[0]["device"] == "cpu"
    del loss, g
    assert len(rec.graph()) == 0  # freed graphs are forgotten


def test_record_forgets_freed_nodes_in_a_loop():
    model, x, target = mlp()
    with record() as rec:
        for _ in range(100):
            loss = F.cross_entropy(model(x), target)
    assert len(rec._recorded) < 300
    assert len(rec.nodes()) == tape_size(loss) - 4  # the leaves are not recorded ops


def test_submodule_called_alone_and_a_second_model():
    nbtorch.manual_seed(0)
    first, second = SmallCNN(), SmallCNN()
    x = nbtorch.randn(1, 1, 8, 8)
    with record():
        y = first(x)
        z = second(x)
    a, b = graph(y), graph(z)
    assert by_label(a, "Convolution")["module"] == "features.0"
    # the second live model of the same class is named after its class
    assert by_label(b, "Convolution")["module"] == "SmallCNN.features.0"
    third = SmallCNN()
    with record():
        w = third.features(x)  # a module called on its own is a top-level model
    assert by_label(graph(w), "Convolution")["module"] == "0"  # a new recording: a new top
    with record():
        again = second(x)  # named before: keeps its paths
    assert by_label(graph(again), "Convolution")["module"] == "SmallCNN.features.0"


def test_module_stack_survives_a_forward_that_raises():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("no")

    model = nn.Sequential(nn.Linear(2, 2))
    broken = Broken()
    x = nbtorch.ones(1, 2)
    with record() as rec:
        with pytest.raises(ValueError):
            broken(x)
        y = model(x)
        z = y * 2
    assert rec._stack == [] or rec._stack[0][2] == "Broken"
    assert by_label(graph(z), "Addmm")["module"].endswith("0")


# --- flags ----------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_nan_origin_is_flagged():
    x = nbtorch.tensor([-1.0, 4.0], requires_grad=True)
    with nbtorch.autograd.detect_anomaly():
        y = x.sqrt().exp().sum()
    g = graph(y)
    sqrt = by_label(g, "Sqrt")
    assert "nan_origin" in sqrt["flags"]
    assert "nan_origin" not in by_label(g, "Exp")["flags"]
    assert "nonfinite" in by_label(g, "Exp")["flags"]  # exp saved its (NaN) output
    assert g.nodes[0]["value"]["nan"] == 1


def test_inplace_modification_is_flagged():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = y.sum()
    y.add_(1)  # exp saved y for its backward
    g = graph(z)
    assert "inplace_modified" in by_label(g, "Exp")["flags"]
    assert by_label(g, "Exp")["value"] is None  # the saved value is gone
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()
    assert "inplace_modified" in by_label(graph(z), "Exp")["flags"]


def test_nonfinite_gradients_are_flagged():
    x = nbtorch.tensor([0.0, 1.0], requires_grad=True)
    x.sqrt().sum().backward()
    g = graph(x)
    assert "nonfinite_grad" in g.nodes[0]["flags"] and g.nodes[0]["grad"]["inf"] == 1


# --- pictures and text ----------------------------------------------------------------------------


def test_to_svg_has_one_node_group_per_node():
    g, _, _ = cnn_graph()
    root = ET.fromstring(g.to_svg())
    groups = [e for e in root.iter("{http://www.w3.org/2000/svg}g")
              if "nbt-node" in e.get("class", "").split()]
    assert len(groups) == len(g)
    assert sorted(int(e.get("data-id")) for e in groups) == list(range(len(g)))


def test_collapsed_modules_are_single_boxes():
    g, _, _ = cnn_graph()
    placed = g.layout(collapsed=["features"])
    members = placed["members"]["module:features"]
    assert sorted(members) == sorted(n["id"] for n in g.nodes if (n["module"] or "").startswith(
        "features"))
    root = ET.fromstring(g.to_svg(collapsed=["features"]))
    groups = [e for e in root.iter("{http://www.w3.org/2000/svg}g")
              if "nbt-node" in e.get("class", "").split()]
    assert len(groups) == len(g) - len(members) + 1


def test_repr_mimebundle():
    g, _, _ = mlp_graph()
    bundle = g._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/html", "text/plain"}
    assert bundle["text/plain"] == repr(g) == f"Graph({len(g)} nodes, {len(g.edges)} edges)"
    html = bundle["text/html"]
    assert html.startswith('<img class="nbt-static"') and "<script" not in html
    encoded = html.split("base64,")[1].split('"')[0]
    assert base64.b64decode(encoded).decode() == bundle["image/svg+xml"]
    assert set(g._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert "text/html" not in g._repr_mimebundle_(exclude=["text/html"])


def test_to_dot_clusters_modules_and_escapes_names():
    g, _, _ = cnn_graph()
    dot = g.to_dot()
    assert dot.startswith("digraph nbtorch {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(g.edges)
    for n in g.nodes:
        assert f"  n{n['id']} [" in dot
    assert 'subgraph "cluster_features" {' in dot and 'subgraph "cluster_features.0" {' in dot
    assert dot.index('"cluster_features"') < dot.index('"cluster_features.0"')
    x = nbtorch.tensor([1.0], requires_grad=True)
    hostile = graph(x * 2, names={'a"b\\c\n}': x}).to_dot()
    assert 'label="a\\"b\\\\c\\n}' in hostile


def test_hostile_names_are_escaped_in_svg():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    svg = graph(y, names={"<script>alert(1)</script>": x, 'q"\x00': y}).to_svg()
    ET.fromstring(svg)  # well-formed
    assert "<script>" not in svg and "&lt;script&gt;" in svg


# --- the package ----------------------------------------------------------------------------------


def test_viz_imports_no_widget_library():
    code = ("import sys, nbtorch, nbtorch.viz as viz; x = nbtorch.ones(2, requires_grad=True); "
            "viz.graph(x * 2).to_svg(); "
            "print(sorted(m for m in ('ipywidgets', 'anywidget', 'traitlets', 'IPython') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    assert out.strip() == "[]"


def test_package_exports():
    assert nbtorch.viz.graph is graph and nbtorch.viz.Graph is Graph
    assert nbtorch.viz.record is record
    import nbtorch.viz.graph as module  # noqa: F401  (the submodule stays importable)

    assert nbtorch.viz.graph is graph  # still the function
    with pytest.raises(AttributeError):
        nbtorch.viz.NoSuchWidget  # noqa: B018
    assert {"GraphView", "BackwardStepper", "GradFlow", "TrainingMonitor", "show",
            "load_ipython_extension"} <= set(nbtorch.viz.__all__)


@pytest.mark.parametrize("name, module", [("GraphView", "graph_view"), ("BackwardStepper",
                                                                           "stepper"),
                                          ("GradFlow", "gradflow"),
                                          ("TrainingMonitor", "monitor")])
def test_widget_classes_load_lazily(name, module):
    pytest.importorskip("anywidget")
    try:
        imported = __import__(f"nbtorch.viz.{module}", fromlist=[name])
    except ImportError as e:  # written by another helper; not there yet
        pytest.skip(f"nbtorch.viz.{module} is not importable yet: {e}")
    if not hasattr(imported, name):
        pytest.skip(f"nbtorch.viz.{module} has no {name} yet")
    assert getattr(nbtorch.viz, name) is getattr(imported, name)


def test_show_stays_the_function_after_importing_its_module():
    pytest.importorskip("anywidget")
    try:
        from nbtorch.viz.show import show
    except ImportError as e:
        pytest.skip(f"nbtorch.viz.show is not importable yet: {e}")
    assert nbtorch.viz.show is show  # the function, not the module of the same name
    from nbtorch.viz import show as again

    assert again is show


def test_load_ipython_extension_delegates_to_magic(monkeypatch):
    try:
        from nbtorch.viz import magic
    except ImportError as e:
        pytest.skip(f"nbtorch.viz.magic is not importable yet: {e}")
    calls = []
    monkeypatch.setattr(magic, "load_ipython_extension", calls.append)
    sentinel = object()
    nbtorch.viz.load_ipython_extension(sentinel)
    assert calls == [sentinel]


# --- fixtures for the front-end tests (node --test extensions/tests/) -----------------------------


def _write(path: pathlib.Path, data) -> None:
    text = json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"
    if not path.exists() or path.read_text() != text:  # rewrite only on change: no churn
        path.write_text(text)


def test_write_fixtures():
    """graph_{mlp,cnn,lstm}.json: ``Graph.to_dict()``; layout_*.json: ``Graph.layout()`` (and
    the CNN with ``features`` collapsed), read by extensions/tests/*.test.mjs."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, build in (("mlp", mlp_graph), ("cnn", cnn_graph), ("lstm", lstm_graph)):
        g = build()[0]
        _write(FIXTURES / f"graph_{name}.json", g.to_dict())
        _write(FIXTURES / f"layout_{name}.json", g.layout())
        assert json.loads((FIXTURES / f"graph_{name}.json").read_text()) == g.to_dict()
    _write(FIXTURES / "layout_cnn_collapsed.json", cnn_graph()[0].layout(["features"]))
