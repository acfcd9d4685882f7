"""GraphView: what the traitlets carry, collapsing, the node-values request and its binary answer,
the static bundle and refresh_static, live mode and its throttling; and the fixtures that
extensions/tests/graph_view.test.mjs reads (extensions/tests/fixtures/graph_view_*.json)."""

from __future__ import annotations

import base64
import re
import warnings

import numpy as np
import pytest

pytest.importorskip("anywidget")

import nbtorch as torch  # noqa: E402
from nbtorch import nn, viz  # noqa: E402
from nbtorch.autograd import events  # noqa: E402
from nbtorch.viz import _live, graph_view, svg  # noqa: E402
from nbtorch.viz.graph import VERSION, summarize  # noqa: E402
from nbtorch.viz.graph_view import GraphView, downsample  # noqa: E402
from tests.viz import fixture_io  # noqa: E402


def mlp_loss(backward: bool = True):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x, target = torch.randn(16, 4), torch.randn(16, 2)
    with viz.record():
        loss = nn.functional.mse_loss(model(x), target)
    if backward:
        loss.backward(retain_graph=True)
    return model, loss


def flagged_graph():
    """NaN from a log of a negative number (origin: Log), and a saved output modified in place."""
    x = torch.tensor([1.0, -1.0], requires_grad=True)
    w = torch.tensor([0.5, 2.0], requires_grad=True)
    y = x.log()
    z = y * 2
    a = w.exp()
    b = a * 1.0
    a.add_(1)
    loss = z.sum() + b.sum()
    return viz.graph(loss, names={"x": x, "w": w, "y": y, "z": z})


class Sent:
    """Captures what a widget sends to the browser (the comm's messages)."""

    def __init__(self, widget, monkeypatch):
        self.messages = []
        monkeypatch.setattr(widget, "_send", lambda msg, buffers=None: self.messages.append(
            (msg, list(buffers or []))))

    def custom(self):
        return [(m["content"], b) for m, b in self.messages if m.get("method") == "custom"]

    def updates(self):
        return [m["state"] for m, _ in self.messages if m.get("method") == "update"]


def same_graph(a: dict, b: dict) -> bool:
    """The same nodes and edges (a recorded graph lacks only the values of unnamed outputs)."""
    def key(d):
        return d["edges"], [(n["op"], n["kind"], n["module"], n["names"]) for n in d["nodes"]]
    return key(a) == key(b)


def from_browser(widget, data: dict, buffers=()) -> None:
    """A comm message from the front end, as the kernel hands it to the widget."""
    widget._handle_msg({"content": {"data": data}, "buffers": list(buffers)})


# --- what the traitlets carry -------------------------------------------------------------------


def test_traitlets_carry_the_wire_dict_and_its_layout():
    model, loss = mlp_loss()
    view = GraphView(loss, params=model)
    g = viz.graph(loss, params=model)
    assert view.graph == g.to_dict()
    assert view.graph["version"] == VERSION
    assert view.collapsed == []
    assert view.positions == g.layout([])
    assert sorted(p["id"] for p in view.positions["nodes"]) == list(range(len(g)))
    assert view.query == "" and view.recording is False and not view.live
    assert (_live.EXTENSIONS / "graph_view.js").is_file() and "export default" in view._esm
    names = {n["id"]: n["names"] for n in view.graph["nodes"]}
    assert any("0.weight" in v for v in names.values())
    assert repr(view) == f"GraphView({len(g)} nodes, {len(g.edges)} edges)"


def test_sources_a_graph_a_record_or_tensors():
    model, loss = mlp_loss()
    g = viz.graph(loss, params=model)
    assert GraphView(g).graph == g.to_dict()
    with viz.record() as rec:
        out = (model(torch.ones(1, 4)) ** 2).sum()
    view = GraphView(rec, params=model)
    assert same_graph(view.graph, viz.graph(out, params=model).to_dict())
    with pytest.raises(TypeError, match="expects tensors, a Graph or a record"):
        GraphView([1, 2])
    with pytest.raises(TypeError, match="needs tensors"):
        GraphView()


def test_names_and_the_magics_call():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    view = GraphView(y, names={"x": x, "y": y})
    assert view.matches("x") == [n["id"] for n in view.graph["nodes"] if "x" in n["names"]]
    assert "y" in view.graph["nodes"][0]["names"]


def test_search_matches_op_label_names_and_module():
    model, loss = mlp_loss()
    view = GraphView(loss, params=model)
    by_id = {n["id"]: n for n in view.graph["nodes"]}
    assert view.matches("") == [] and view.matches("   ") == []
    assert {by_id[i]["op"] for i in view.matches("ADDMM")} == {"AddmmBackward0"}
    weights = view.matches("weight")
    assert sorted(by_id[i]["names"][0] for i in weights) == ["0.weight", "2.weight"]
    assert all(by_id[i]["module"] == "2" for i in view.matches("2.")) or view.matches("2.")


# --- collapsing modules -------------------------------------------------------------------------


def test_collapsed_modules_are_one_box_and_the_browser_can_expand_them(monkeypatch):
    model, loss = mlp_loss()
    view = GraphView(loss, params=model, collapsed=["0"])
    assert view.collapsed == ["0"]
    members = view.positions["members"]
    assert set(members) == {"module:0"}
    in_0 = sorted(n["id"] for n in view.graph["nodes"] if n["module"] == "0")
    assert sorted(members["module:0"]) == in_0 and len(in_0) >= 3
    drawn = {p["id"] for p in view.positions["nodes"]}
    assert "module:0" in drawn and not drawn & set(in_0)
    assert view.to_svg() == viz.graph(loss, params=model).to_svg(collapsed=["0"])

    sent = Sent(view, monkeypatch)
    from_browser(view, {"method": "update", "state": {"collapsed": []}})  # a click in the browser
    assert view.collapsed == []
    assert view.positions == viz.graph(loss, params=model).layout([])
    assert any("positions" in s for s in sent.updates())  # Python answered with the new layout

    view.collapsed = ["0", "nope", "2"]  # unknown paths are dropped
    assert view.collapsed == ["0", "2"]
    assert set(view.positions["members"]) == {"module:0", "module:2"}


def test_big_graphs_start_with_top_level_modules_collapsed(monkeypatch):
    monkeypatch.setattr(graph_view, "AUTO_COLLAPSE", 5)
    model, loss = mlp_loss()
    view = GraphView(loss, params=model)
    assert view.collapsed == ["0", "1", "2"]
    assert GraphView(loss, params=model, collapsed=[]).collapsed == []
    assert graph_view.module_paths({"nodes": [{"module": "a.b.c"}, {"module": ""},
                                              {"module": None}]}) == ["a", "a.b", "a.b.c"]


# --- a clicked node's values: request and binary answer ------------------------------------------


def test_request_roundtrip_sends_small_float32_buffers(monkeypatch):
    model, loss = mlp_loss()
    view = GraphView(loss, params=model)
    sent = Sent(view, monkeypatch)
    weight = next(n["id"] for n in view.graph["nodes"] if "0.weight" in n["names"])
    from_browser(view, {"method": "custom", "content": {"type": "request", "id": weight}})
    [(msg, buffers)] = sent.custom()
    assert msg["type"] == "arrays" and msg["id"] == weight
    value, grad = msg["value"], msg["grad"]
    assert value["kind"] == "heatmap" and value["full_shape"] == [8, 4]
    assert value["shape"] == [8, 4] and value["downsampled"] is False
    np.testing.assert_array_equal(np.frombuffer(buffers[value["buffer"]], np.float32).reshape(8, 4),
                                  model[0].weight._data)
    np.testing.assert_array_equal(np.frombuffer(buffers[grad["buffer"]], np.float32).reshape(8, 4),
                                  model[0].weight.grad._data)
    assert value["stats"] == summarize(model[0].weight)
    assert grad["stats"]["norm"] == pytest.approx(float(np.linalg.norm(model[0].weight.grad._data)),
                                                  rel=1e-5)
    assert all(isinstance(b, bytes) for b in buffers) and len(buffers) == 2


def test_gradients_of_a_backward_that_ran_after_the_view():
    model, loss = mlp_loss(backward=False)
    view = GraphView(loss, params=model)
    bias = next(n["id"] for n in view.graph["nodes"] if "2.bias" in n["names"])
    msg, buffers = view.arrays_message(bias)
    assert "grad" not in msg and "backward" in msg["grad_note"]
    assert msg["value"]["kind"] == "histogram" and len(buffers) == 1
    loss.backward()
    msg, buffers = view.arrays_message(bias)
    np.testing.assert_array_equal(np.frombuffer(buffers[msg["grad"]["buffer"]], np.float32),
                                  model[2].bias.grad._data)


def test_values_the_tape_does_not_hold_come_with_a_note():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 1).sum()  # AddBackward saves nothing: its value is gone
    view = GraphView(y)
    add = next(n["id"] for n in view.graph["nodes"] if n["op"] == "AddBackward0")
    msg, buffers = view.arrays_message(add)
    assert buffers == [] and "value" not in msg and msg["value_note"]


@pytest.mark.parametrize("bad", [-1, 99, "0", 1.0, True, None, [0]])
def test_bad_requests_get_an_error_and_no_data(bad, monkeypatch):
    view = GraphView((torch.ones(2, requires_grad=True) * 2).sum())
    sent = Sent(view, monkeypatch)
    from_browser(view, {"method": "custom", "content": {"type": "request", "id": bad}})
    [(msg, buffers)] = sent.custom()
    assert msg == {"type": "arrays", "id": bad, "error": "no such node"} and buffers == []


def test_other_custom_messages_are_ignored(monkeypatch):
    view = GraphView((torch.ones(2, requires_grad=True) * 2).sum())
    sent = Sent(view, monkeypatch)
    for content in ({"type": "eval", "code": "1"}, "request", None, [1]):
        from_browser(view, {"method": "custom", "content": content})
    assert sent.custom() == []


def test_downsample_heatmaps_keep_nan_and_histograms_stride():
    a = np.arange(200 * 130, dtype=np.float64).reshape(200, 130)
    a[5, 7] = np.nan
    part, v = downsample(a)
    assert part == {"kind": "heatmap", "shape": [50, 44], "full_shape": [200, 130],
                    "downsampled": True}  # 4 x 3 blocks
    assert v.dtype == np.float32 and v.shape == (50, 44)
    assert np.isnan(v[1, 2]) and np.isnan(v).sum() == 1  # the block that held the NaN
    assert v[0, 0] == pytest.approx(a[:4, :3].mean())
    assert v[0, -1] == pytest.approx(a[:4, [129, 129, 129]].mean())  # the edge repeated
    part, v = downsample(np.ones((64, 1, 28, 28)))  # a batch of images: 64 x 784
    assert part["shape"] == [64, 61] and part["full_shape"] == [64, 1, 28, 28]  # 1 x 13 blocks
    part, v = downsample(np.ones((16, 3, 3, 3)))  # conv weights: 16 x 27, not 144 x 3
    assert part["shape"] == [16, 27] and not part["downsampled"]
    part, v = downsample(np.arange(10_000))
    assert part["kind"] == "histogram" and v.size == graph_view.MAX_VALUES
    assert v[0] == 0 and v[-1] == 9999
    part, v = downsample(np.float32(3.5))
    assert part == {"kind": "histogram", "shape": [1], "full_shape": [], "downsampled": False}
    part, v = downsample(np.array([[1 + 1j, 3 - 4j]]))
    np.testing.assert_allclose(v, [[np.sqrt(2), 5]], rtol=1e-6)
    part, v = downsample(np.zeros((0, 3)))
    assert part["shape"] == [0] and v.size == 0


# --- static fallback ------------------------------------------------------------------------------


HOSTILE = "<script>alert(1)</script>"


def test_static_bundle_has_widget_svg_html_and_text():
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * 3).tanh().sum()
    view = GraphView(y, names={HOSTILE: x, "<img src=x onerror=alert(2)>": y})
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    svg_text = data["image/svg+xml"]
    assert svg_text == view.to_svg()
    assert len(re.findall(r'<g class="nbt-node[ "]', svg_text)) == len(view.graph["nodes"])
    assert "<script" not in svg_text and "<img" not in svg_text and "&lt;script&gt;" in svg_text
    m = re.fullmatch(r'<img class="nbt-static" alt="([^"<>]*)" src="data:image/svg\+xml;base64,'
                     r'([A-Za-z0-9+/=]+)"/>', data["text/html"])
    assert m and base64.b64decode(m.group(2)).decode() == svg_text
    assert "4 nodes" in data["text/plain"]


def test_refresh_static_updates_every_displayed_picture(monkeypatch):
    import IPython.display

    handles = []

    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, data, metadata=None, raw=False):
            self.updates.append(data)

    def display(data, metadata=None, raw=False, display_id=None):
        assert raw and display_id is True
        handles.append(Handle())
        return handles[-1]

    monkeypatch.setattr(IPython.display, "display", display)
    model, loss = mlp_loss()
    view = GraphView(loss, params=model)
    view._ipython_display_()
    view._ipython_display_()
    before = view.to_svg()
    view.collapsed = ["0"]
    view.refresh_static()
    assert len(handles) == 2
    for h in handles:
        [data] = h.updates
        assert data["image/svg+xml"] == view.to_svg() != before
        assert 'data-id="module:0"' in data["image/svg+xml"]
        assert "application/vnd.jupyter.widget-view+json" in data


def test_refresh_rebuilds_from_the_tensors():
    model, loss = mlp_loss(backward=False)
    view = GraphView(loss, params=model)
    assert all(n["grad"] is None for n in view.graph["nodes"])
    loss.backward(retain_graph=True)
    view.refresh()
    assert all(n["grad"] is not None for n in view.graph["nodes"] if n["param"])


# --- live mode ------------------------------------------------------------------------------------


def test_live_pushes_are_throttled_and_the_last_one_is_flushed(clock):
    torch.manual_seed(0)
    view = GraphView.live()
    assert view.live and view.recording and len(view.graph["nodes"]) == 0
    x = torch.randn(3, requires_grad=True)
    h = x
    for _ in range(300):  # 1 ms per op: 0.3 s of ops
        h = h * 1.01
        clock.t += 0.001
    assert 2 <= view.pushes <= 0.3 / _live.PUSH_INTERVAL_S + 1
    assert len(view.graph["nodes"]) < 301  # the end of the loop fell between two pushes
    view.live = False
    assert view.pushes <= 5
    assert len(view.graph["nodes"]) == 301 and view.graph["nodes"][-1]["kind"] == "leaf"
    before = view.pushes
    h = h * 2  # no longer recording
    view.flush()
    assert view.pushes == before and len(view.graph["nodes"]) == 301


def test_slow_pushes_are_spaced_out(clock, monkeypatch):
    show = GraphView._show

    def slow_show(self, g, collapsed=None, data=None):
        clock.t += 0.2  # a push that takes 200 ms
        show(self, g, collapsed, data)

    monkeypatch.setattr(GraphView, "_show", slow_show)
    view = GraphView.live()
    x = torch.ones(2, requires_grad=True)
    for _ in range(100):
        x = x * 1.0
        clock.t += 0.01  # 1 s of ops, plus the pushes
    view.live = False
    # each push costs 0.2 s, then waits 4 x 0.2 s: about one push per second of ops
    assert view._throttle.interval == pytest.approx(graph_view.SLOW_PUSH_FACTOR * 0.2)
    assert view.pushes <= 4


def test_with_view_records_only_inside_and_removes_its_listener(clock):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    view = GraphView(live=True, params=model)
    view.live = False
    assert view._listener is None
    listeners = list(events.LISTENERS)
    with view as same:
        assert same is view and view.recording
        out = model(torch.ones(1, 2)).sum()
    assert events.LISTENERS == listeners and not view.recording
    expected = viz.graph(out, params=model).to_dict()
    assert same_graph(view.graph, expected)
    assert {n["module"] for n in view.graph["nodes"]} == {None, "0", "1"}
    model(torch.ones(1, 2)).sum()
    view.flush()
    assert same_graph(view.graph, expected)


def test_the_browser_switch_starts_and_stops_recording(clock):
    view = GraphView((torch.ones(1, requires_grad=True) * 2).sum())
    from_browser(view, {"method": "update", "state": {"recording": True}})
    assert view.live and view._listener is not None
    keep = (torch.ones(2, requires_grad=True) * 3).exp()
    from_browser(view, {"method": "update", "state": {"recording": False}})
    assert view._listener is None
    assert [n["op"] for n in view.graph["nodes"]] == ["ExpBackward0", "MulBackward0",
                                                      "AccumulateGrad"]
    del keep


def test_live_with_the_users_record(clock):
    with viz.record() as rec:
        view = GraphView(rec, live=True)
        a = torch.ones(2, requires_grad=True)
        hidden = a * 2
        view.live = False
    assert not view._owns_record and rec.active is False
    assert view.graph["nodes"][0]["var"] == "hidden"
    del hidden


def test_a_failing_push_never_breaks_the_forward_pass(clock, monkeypatch):
    view = GraphView.live()

    def broken(*args, **kwargs):
        raise ValueError("layout exploded")

    monkeypatch.setattr(view._record, "graph", broken)
    with warnings.catch_warnings(record=True) as seen:  # the filters nbtorch and pytest set
        y = torch.ones(2, requires_grad=True) * 2
    assert [str(w.message) for w in seen] == [
        "GraphView: live update failed: ValueError('layout exploded')"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        clock.t += 1
        y = y * 2
    assert "layout exploded" in view.error and y.shape == (2,)
    view.live = False


# --- fixtures for extensions/tests/graph_view.test.mjs -----------------------------------------


def _fixture(name: str, view: GraphView, expect: dict, arrays_for=None) -> dict:
    data = view.graph
    drawn = view.positions["nodes"]
    visible = [p["id"] for p in drawn if isinstance(p["id"], int)]
    by_id = {n["id"]: n for n in data["nodes"]}
    out = {
        "traits": fixture_io.own_traits(view),
        "graph": data,
        "positions": view.positions,
        "collapsed": view.collapsed,
        "expect": {
            "visible": len(visible),
            "boxes": len(drawn) - len(visible),
            "lines": {str(i): svg.node_lines(by_id[i]) for i in visible},
            "module_lines": {
                str(p["id"]): svg.module_lines(p["id"].split(":", 1)[1],
                                               data["modules"].get(p["id"].split(":", 1)[1]),
                                               len(view.positions["members"][p["id"]]))
                for p in drawn if not isinstance(p["id"], int)},
            "module_paths": graph_view.module_paths(data),
            "search": {q: view.matches(q) for q in expect.pop("queries", [])},
            **expect,
        },
    }
    if arrays_for is not None:
        msg, buffers = view.arrays_message(arrays_for)
        out["arrays"] = {"message": msg, "buffers": buffers}
    return fixture_io.write(f"graph_view_{name}.json", out)


def write_fixtures() -> list[str]:
    """Writes extensions/tests/fixtures/graph_view_*.json from real graphs; returns the names."""
    model, loss = mlp_loss()
    view = GraphView(loss, params=model)
    weight = next(n["id"] for n in view.graph["nodes"] if "0.weight" in n["names"])
    _fixture("mlp", view, {"queries": ["weight", "ADDMM", "tanh", "0", "nothing-like-this"],
                           "flags": {}}, arrays_for=weight)
    view = GraphView(loss, params=model, collapsed=["0", "2"])
    _fixture("collapsed", view, {"queries": ["weight"], "flags": {}})

    g = flagged_graph()
    by = {n["op"]: n["id"] for n in g.nodes}
    view = GraphView(g)
    _fixture("flags", view, {
        "queries": ["y", "z"],
        "flags": {str(by["LogBackward0"]): ["origin", "nonfinite"],
                  str(by["AddBackward0"]): ["nonfinite"],  # its inputs' values are unknown
                  str(g.find("z")[0]): ["nonfinite"],
                  str(by["ExpBackward0"]): ["inplace"],
                  str(g.find("x")[0]): []},
        "colours": [[v, lo, hi, svg.colour(v, lo, hi)]
                    for v, lo, hi in [(0.3, -1.0, 1.0), (-0.7, -1.0, 1.0), (2.0, 1.0, 5.0),
                                      (9.0, 1.0, 5.0), (float("nan"), 0.0, 1.0)]],
    }, arrays_for=by["LogBackward0"])

    with torch.autograd.detect_anomaly():
        x = torch.tensor([1.0, -1.0], requires_grad=True)
        out = (x.log() * 2).sum()
    view = GraphView(out)
    log = next(n["id"] for n in view.graph["nodes"] if n["op"] == "LogBackward0")
    _fixture("anomaly", view, {"flags": {str(log): ["nan-origin"]}})

    x = torch.tensor([[1.0, -2.0]], requires_grad=True)
    y = (x * 3).relu().sum()
    view = GraphView(y, names={HOSTILE: x, "<img src=x onerror=alert(2)>": y})
    _fixture("hostile", view, {"queries": ["<script>", "ALERT"], "flags": {}})
    return sorted(p.name for p in fixture_io.FIXTURES.glob("graph_view_*.json"))


def test_write_fixtures():
    names = write_fixtures()
    assert {"graph_view_mlp.json", "graph_view_collapsed.json", "graph_view_flags.json",
            "graph_view_anomaly.json", "graph_view_hostile.json"} <= set(names)


def test_front_end_reads_the_traits_python_sends():
    """Every synced trait's name appears in graph_view.js (a rename breaks this test)."""
    js = (fixture_io.EXTENSIONS / "graph_view.js").read_text()
    view = GraphView((torch.ones(1, requires_grad=True) * 2).sum())
    for name in fixture_io.own_traits(view):
        assert f'"{name}"' in js, name
    assert '"request"' in js and '"arrays"' in js
    assert "innerHTML" not in js and "eval(" not in js and "new Function" not in js
