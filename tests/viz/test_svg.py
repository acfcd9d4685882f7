"""nbtorch.viz.svg: every primitive gives well-formed SVG, every label is escaped, charts,
histograms and heatmaps draw what they are given, and the graph picture has one node group per
node."""

from __future__ import annotations

import base64
import struct
import xml.etree.ElementTree as ET
import zlib

import numpy as np
import pytest

import nbtorch
from nbtorch.viz import svg
from nbtorch.viz.graph import graph

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & \' \x00\x1b'


def parse(fragment: str, width=400, height=300):
    """Wrap a fragment in a document and parse it (raises on malformed XML)."""
    return ET.fromstring(svg.document(width, height, fragment))


def groups(root, cls):
    return [e for e in root.iter(f"{NS}g") if cls in e.get("class", "").split()]


def test_escape():
    assert svg.esc('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert svg.esc("a\x00b\x1bc\ufffe") == "a\ufffdb\ufffdc\ufffd"  # XML forbids these
    assert svg.esc(3) == "3" and svg.esc("it's") == "it&#x27;s"


def test_primitives_are_well_formed_and_escape_everything():
    body = "".join([
        svg.arrow_defs(),
        svg.group(svg.rect(1, 2, 30, 40, rx=4, fill="#fff", stroke="#000", cls="box",
                           data_name=HOSTILE), cls="g", transform="translate(1 2)"),
        svg.text(10, 20, HOSTILE, anchor="start", font_weight="bold"),
        svg.line(0, 0, 10, 10, stroke_dasharray="2 2"),
        svg.polyline([(0, 0), (5, 5), (10, 0)], arrow=True, cls="nbt-edge"),
        svg.image(0, 0, 10, 10, svg.heatmap_png([[1.0]])),
        svg.title(HOSTILE),
    ])
    root = parse(body)
    text = ET.tostring(root, encoding="unicode")
    assert "<script>" not in svg.document(10, 10, body)
    assert root.find(f"{NS}text").text.startswith('<script>alert("x")')  # shown literally
    rect = root.find(f".//{NS}rect[@class='box']")
    assert rect.get("data-name").startswith("<script>") and rect.get("rx") == "4"
    assert root.find(f".//{NS}polyline").get("marker-end") == "url(#nbt-arrow)"
    assert root.find(f".//{NS}polyline").get("points") == "0,0 5,5 10,0"
    assert "marker" in text and root.get("width") == "400"


def test_document_title_and_size():
    root = ET.fromstring(svg.document(12.5, 7, "", title="a < b"))
    assert root.get("viewBox") == "0 0 12.5 7"
    assert root.find(f"{NS}title").text == "a < b"
    assert "<rect" not in svg.document(1, 1, "", background=None)


def test_numbers_are_compact():
    assert svg._num(1.0) == "1" and svg._num(-0.0) == "0" and svg._num(2.345) == "2.35"
    assert svg.rect(0.5, 1, 2, -3).count('height="0"') == 1  # negative sizes clip to 0


def test_line_chart():
    xs = np.arange(10)
    chart = svg.line_chart({"train": (xs, np.exp(-xs / 3)), "val <b>": (xs, np.full(10, 0.5))},
                           10, 20, 300, 160, title="loss", x_label="step", y_label="loss")
    root = parse(chart)
    series = groups(root, "nbt-series")
    assert [g.get("data-name") for g in series] == ["train", "val <b>"]
    assert all(len(g.findall(f"{NS}polyline")) == 1 for g in series)
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "loss" in texts and "step" in texts and "val <b>" in texts  # legend, escaped
    for g in series:  # every point inside the plot area
        for pair in g.find(f"{NS}polyline").get("points").split():
            px, py = map(float, pair.split(","))
            assert 10 <= px <= 310 and 20 <= py <= 180


def test_line_chart_breaks_at_non_finite_points_and_log_scale():
    ys = [1.0, 2.0, float("nan"), 4.0, 5.0, float("inf"), 7.0]
    root = parse(svg.line_chart([("a", range(7), ys)]))
    (series,) = groups(root, "nbt-series")
    assert len(series.findall(f"{NS}polyline")) == 2 and len(series.findall(f"{NS}circle")) == 1
    log = parse(svg.line_chart({"l": ([0, 1, 2, 3], [1e-3, 1e-1, 0.0, 10.0])}, log_y=True))
    (series,) = groups(log, "nbt-series")
    labels = [t.text for t in log.iter(f"{NS}text")]
    assert "0.01" in labels and "1" in labels  # decades
    assert len(series.findall(f"{NS}polyline")) == 1  # the 0 is dropped on a log scale
    assert groups(parse(svg.line_chart({})), "nbt-chart")  # empty: axes only


def test_ticks():
    ticks = svg._ticks(0, 1)
    assert len(ticks) == 6 and ticks[0] == 0 and ticks[-1] == pytest.approx(1)
    assert svg._ticks(-3, 7)[0] == -2 and svg._ticks(5, 5) == [5]
    assert svg._label(123456) == "1e5" and svg._label(0.5) == "0.5"


def test_histogram():
    values = nbtorch.randn(1000)
    root = parse(svg.histogram(values, 0, 0, 200, 100, bins=20, title="weights"))
    bars = [r for r in root.iter(f"{NS}rect") if r.get("class") == "nbt-bar"]
    assert len(bars) == 20
    heights = [float(b.get("height")) for b in bars]
    assert max(heights) == pytest.approx(100 - 18 - 20)  # the fullest bin fills the area
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "weights" in texts
    empty = parse(svg.histogram([np.nan], bins=5))
    assert "no finite values" in [t.text for t in empty.iter(f"{NS}text")]
    constant = parse(svg.histogram([2.0, 2.0], bins=4))
    assert len([r for r in constant.iter(f"{NS}rect") if r.get("class") == "nbt-bar"]) == 4


def test_heatmap_cells_and_colours():
    cells = parse(svg.heatmap([[-1.0, 0.0], [1.0, np.nan]], 0, 0, 20, 20)).findall(
        f".//{NS}g[@class='nbt-heatmap']/{NS}rect")
    fills = [c.get("fill") for c in cells]
    assert fills == ["#2166ac", "#ffffff", "#b2182b", "#e0318c"]  # blue, white, red, NaN
    assert svg.colour(0.5, 0.0, 1.0) not in ("#ffffff", "#2166ac")
    big = np.arange(100 * 300, dtype=np.float32).reshape(100, 300)
    assert svg.heatmap(big, max_cells=16).count("<rect") == 16 * 16  # sampled
    assert svg.heatmap(np.ones((2, 3, 4))).count("<rect") == 6 * 4  # leading dims flattened
    assert svg.heatmap(np.array(3.0)).count("<rect") == 1
    assert svg.heatmap(np.zeros((0, 3))).count("<rect") == 0


def _read_png(uri: str):
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    rows = np.frombuffer(raw, np.uint8).reshape(height, 1 + 3 * width)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 3)


def test_heatmap_png():
    uri = svg.heatmap_png(np.array([[-2.0, 0.0, 2.0]]))
    assert uri.startswith("data:image/png;base64,")
    pixels = _read_png(uri)
    assert pixels.shape == (1, 3, 3)
    assert pixels[0, 1].tolist() == [255, 255, 255]
    assert pixels[0, 0].tolist() == [33, 102, 172] and pixels[0, 2].tolist() == [178, 24, 43]
    assert _read_png(svg.heatmap_png(np.ones((600, 10)), max_side=64)).shape == (64, 10, 3)
    unsigned = _read_png(svg.heatmap_png(np.array([[0.0, 1.0]])))
    assert unsigned[0, 0].tolist() == [255, 255, 255] and unsigned[0, 1].tolist() == [33, 102, 172]


def test_mimebundle():
    picture = svg.document(10, 10, svg.text(5, 5, "é"))
    bundle = svg.mimebundle(picture, alt='a "quoted" <alt>', plain="plain")
    assert bundle["image/svg+xml"] == picture and bundle["text/plain"] == "plain"
    html = bundle["text/html"]
    assert html.startswith('<img class="nbt-static" alt="a &quot;quoted&quot; &lt;alt&gt;"')
    encoded = html.split("base64,")[1].split('"')[0]
    assert base64.b64decode(encoded).decode("utf-8") == picture


def _mlp_graph():
    nbtorch.manual_seed(0)
    model = nbtorch.nn.Sequential(nbtorch.nn.Linear(3, 4), nbtorch.nn.ReLU(),
                                  nbtorch.nn.Linear(4, 2))
    loss = model(nbtorch.randn(2, 3)).sum()
    return graph(loss, params=model)


def test_graph_svg_has_one_group_per_node():
    g = _mlp_graph()
    root = ET.fromstring(g.to_svg())
    nodes = groups(root, "nbt-node")
    assert len(nodes) == len(g)
    kinds = {int(e.get("data-id")): e.get("class").split() for e in nodes}
    for n in g.nodes:
        assert f"nbt-{n['kind']}" in kinds[n["id"]]
    edges = root.findall(f".//{NS}polyline[@class='nbt-edge']")
    assert len(edges) == len({(s, d) for s, d, _, _ in g.edges})
    leaf = next(e for e in nodes if "nbt-leaf" in e.get("class"))
    assert leaf.find(f"{NS}rect").get("rx") != "6"  # leaves are pills, ops rounded boxes
    op = next(e for e in nodes if "nbt-op" in e.get("class"))
    assert op.find(f"{NS}rect").get("rx") == "6"
    assert op.find(f"{NS}title").text.startswith(g.nodes[int(op.get("data-id"))]["op"])


def test_graph_svg_escapes_hostile_names_and_highlights_flags():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    z = (y * 2).sum()
    y.add_(1)  # exp's saved output is modified: flagged
    picture = graph(z, names={HOSTILE: x, "</text><script>": z}).to_svg()
    root = ET.fromstring(picture)
    assert "<script>" not in picture
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert any(t and t.startswith("<script>alert") for t in texts)  # shown, as text
    flagged = groups(root, "nbt-flagged")
    assert len(flagged) == 1 and "nbt-inplace_modified" in flagged[0].get("class").split()
    assert flagged[0].find(f"{NS}rect").get("stroke") == "#e03131"


def test_node_lines():
    op = {"kind": "op", "label": "Addmm", "op": "AddmmBackward0", "shapes": [[2, 3]],
          "names": ["a_very_long_name_that_goes_on_and_on"]}
    assert svg.node_lines(op) == ["Addmm", "[2, 3]", "a_very_long_name_that_goes_…"]
    assert len(svg.node_lines(op)[2]) == 28
    leaf = {"kind": "leaf", "shapes": [[]], "names": []}
    assert svg.node_lines(leaf) == ["tensor", "scalar"]
    multi = {"kind": "op", "label": "Split", "shapes": [[2], None], "names": []}
    assert svg.node_lines(multi) == ["Split", "[2] ?"]
