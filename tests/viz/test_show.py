"""show(tensor): the matrix view, block-mean downsampling, statistics, the histogram sample, the
static picture (a real PNG inside the SVG), the anywidget-free fallback, and the fixtures of
extensions/tests/show.test.mjs."""

from __future__ import annotations

import base64
import importlib
import io
import re
import zlib

import numpy as np
import pytest

import nbtorch as torch
from nbtorch.viz import _charts
from tests.viz import fixture_io

# the module (nbtorch.viz.show is the function, as in the public API)
show = importlib.import_module("nbtorch.viz.show")


def _png_pixels(uri: str) -> np.ndarray:
    """Decode our PNGs (8-bit RGB, filter 0) without an imaging library."""
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    pos, idat = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        crc = int.from_bytes(data[pos + 8 + n:pos + 12 + n], "big")
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        if kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 3 * w)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(h, w, 3)


# --- the pieces ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, matrix", [((), (1, 1)), ((5,), (1, 5)), ((3, 4), (3, 4)),
                                           ((2, 3, 4), (6, 4)), ((2, 1, 3, 5), (6, 5))])
def test_matrix_view(shape, matrix):
    assert _charts.as_2d(np.zeros(shape)).shape == matrix


def test_downsample_is_block_means():
    a = np.arange(600.0 * 700).reshape(600, 700)
    d = _charts.downsample(a, 256, 256)
    assert d.shape == (256, 256)
    rows = (np.arange(256) * 600) // 256
    cols = (np.arange(256) * 700) // 256
    r1, c1 = rows[1], cols[1]
    assert d[0, 0] == pytest.approx(a[:r1, :c1].mean())
    assert d[-1, -1] == pytest.approx(a[rows[-1]:, cols[-1]:].mean())
    b = np.ones((10, 600))
    b[3, 4] = np.nan
    block = np.searchsorted((np.arange(256) * 600) // 256, 4, side="right") - 1
    d = _charts.downsample(b, 256, 256)
    assert np.isnan(d[3, block]) and np.isnan(d).sum() == 1  # a NaN shows, not averaged away
    assert _charts.downsample(np.ones((3, 4))).shape == (3, 4)  # small: unchanged


def test_stats_over_every_element():
    s = _charts.tensor_stats(np.array([[1.0, np.inf], [np.nan, 3.0]]))
    assert s == {"numel": 4, "min": 1.0, "max": 3.0, "mean": 2.0, "std": 1.0, "nan": 1, "inf": 1}
    assert _charts.tensor_stats(np.array([np.nan]))["min"] is None
    assert _charts.tensor_stats(np.array([True, False]))["mean"] == 0.5


def test_png_encoder_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(_png_pixels(_charts.png_data_uri(rgb)), rgb)
    pil = pytest.importorskip("PIL.Image")
    img = pil.open(io.BytesIO(_charts.png_bytes(rgb)))
    np.testing.assert_array_equal(np.asarray(img.convert("RGB")), rgb)


def test_colorize_is_colormap():
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.standard_normal(50), [np.nan, np.inf, -np.inf, 0.0, 3.0, -3.0]])
    for lo, hi, div in [(-3.0, 3.0, True), (-3.0, 3.0, False), (0.0, 0.0, False), (1.0, 1.0, True)]:
        rgb = _charts.colorize(a.reshape(1, -1), lo, hi, div)[0]
        assert [tuple(map(int, c)) for c in rgb] == [_charts.colormap(v, lo, hi, div) for v in a]


def test_histogram_matches_numpy_away_from_edges():
    v = np.random.default_rng(2).standard_normal(10000)
    counts = _charts.histogram(np.append(v, [np.nan, np.inf]), 30, -5.0, 5.0)
    np.testing.assert_array_equal(counts, np.histogram(v, 30, (-5.0, 5.0))[0])
    assert _charts.histogram([2.0, 2.0], 4, 2.0, 2.0) == [2, 0, 0, 0]


# --- the picture and the widget -----------------------------------------------------------------

def test_picture_of_a_large_tensor_with_gradient():
    torch.manual_seed(0)
    w = torch.randn(300, 500, requires_grad=True)
    (w.tanh() * torch.linspace(0, 1, 500)).sum().backward()
    pic = show.TensorPicture(w, name="W")
    assert pic.heat.shape == (256, 256) and pic.grad_heat.shape == (256, 256)
    assert pic.sample.size == show.MAX_SAMPLE and pic.sample.dtype == np.float32
    np.testing.assert_array_equal(pic.sample, show.TensorPicture(w).sample)  # deterministic
    m = pic.meta
    assert m["shape"] == [300, 500] and m["matrix"] == [300, 500]
    assert m["dtype"] == "torch.float32" and m["device"] == "cpu" and m["requires_grad"]
    assert m["grad_fn"] is None and m["grad_stats"]["min"] == pytest.approx(0.0, abs=1e-6)
    assert m["stats"]["mean"] == pytest.approx(float(w._data.astype(np.float64).mean()))
    svg = pic.to_svg()
    assert "gradient" in svg and svg.count("data:image/png;base64,") == 2
    uri = re.search(r'href="(data:image/png;base64,[^"]+)"', svg).group(1)
    assert _png_pixels(uri).shape == (256, 256, 3)


def test_picture_of_special_tensors():
    x = torch.tensor([[1.0, float("nan")], [float("inf"), -2.0]])
    pic = show.TensorPicture(x)
    px = _png_pixels(re.search(r'href="(data:[^"]+)"', pic.to_svg()).group(1))
    assert tuple(px[-1, 0]) == _charts.POSINF_COLOR and tuple(px[0, -1]) == _charts.NAN_COLOR
    assert "NaN 1  Inf 1" in pic.to_svg()
    assert show.TensorPicture(torch.tensor(3.0)).meta["matrix"] == [1, 1]
    assert show.TensorPicture(torch.tensor([True, False])).meta["stats"]["max"] == 1.0
    assert show.TensorPicture(torch.arange(6).reshape(2, 3)).meta["dtype"] == "torch.int64"
    assert show.TensorPicture(np.ones((2, 2)), name="np").meta["dtype"] == "float64"
    y = (torch.ones(2, requires_grad=True) * 2)
    assert show.TensorPicture(y).meta["grad_fn"] == "MulBackward0"


def test_names_are_escaped():
    pic = show.TensorPicture(torch.ones(2), name="<img src=x onerror=alert(1)>")
    svg = pic.to_svg()
    assert "<img src=x" not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg
    bundle = pic._repr_mimebundle_()
    assert bundle["text/html"].startswith('<img class="nbt-static"')
    assert "<img src=x" not in bundle["text/html"].split('src="data:', 1)[0][20:]


def test_show_without_anywidget_is_static(monkeypatch):
    monkeypatch.setattr(show, "TensorView", None)
    pic = show.show(torch.ones(2, 2), name="w")
    assert isinstance(pic, show.TensorPicture)
    assert set(pic._repr_mimebundle_()) == {"image/svg+xml", "text/html", "text/plain"}


def test_widget_syncs_the_picture():
    pytest.importorskip("anywidget")
    w = torch.ones(3, 4, requires_grad=True)
    view = show.show(w, name="w", bins=12)
    assert isinstance(view, show.TensorView)
    assert view.heat_shape == [3, 4] and view.grad_heat_shape == [] and view.grad_heat == b""
    assert np.frombuffer(view.heat, dtype=np.float32).tolist() == [1.0] * 12
    (w * 3).sum().backward()
    view.update()
    assert view.grad_heat_shape == [3, 4] and view.meta["grad_stats"]["mean"] == 3.0
    assert np.frombuffer(view.grad_sample, dtype=np.float32).tolist() == [3.0] * 12
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data and "image/svg+xml" in data
    assert data["text/plain"] == "w: tensor 3x4, torch.float32, cpu"
    assert view.bins == 12
    view.bins = 7  # the slider
    view.update()
    assert view.bins == 7 and view.picture.bins == 7


def test_automatic_bins():
    assert [show.auto_bins(n) for n in (1, 32, 400, 10**6)] == [5, 6, 20, 40]
    assert show.TensorPicture(torch.ones(8, 4)).bins == 6


# --- the front end ------------------------------------------------------------------------------

def test_write_front_end_fixtures():
    """extensions/tests/show.test.mjs checks show.js against these."""
    anywidget = pytest.importorskip("anywidget")
    del anywidget
    torch.manual_seed(0)
    w = torch.randn(270, 6, requires_grad=True)  # more rows than 256: downsampled; kept small
    (w * torch.linspace(-1, 1, 6)).pow(2).sum().backward()
    with torch.no_grad():
        w[5, 5] = float("nan")
    view = show.show(w, name="w<1>", bins=24)
    state = fixture_io.synced_state(view)
    sample = np.frombuffer(view.sample, dtype=np.float32)
    gsample = np.frombuffer(view.grad_sample, dtype=np.float32)
    m = view.meta
    fixture_io.write("show_state.json", {
        "traits": fixture_io.own_traits(view),
        "state": state,
        "expect": {
            "hist": {str(b): _charts.histogram(sample, b, m["stats"]["min"], m["stats"]["max"])
                     for b in (5, 24, 100)},
            "grad_hist": _charts.histogram(gsample, 24, m["grad_stats"]["min"],
                                           m["grad_stats"]["max"]),
            "title": view.picture.title(),
            "heat_first_row": view.picture.heat[0].astype(np.float32),
        },
    })
    cases = [(0.0, -1.0, 1.0, True), (0.5, -1.0, 1.0, True), (-2.0, -1.0, 1.0, True),
             (0.3, 0.0, 1.0, False), (0.123, -4.0, 2.0, True), (7.0, 7.0, 7.0, False),
             (0.0, 0.0, 0.0, True), ("NaN", 0.0, 1.0, True), ("Infinity", 0.0, 1.0, False),
             ("-Infinity", -1.0, 1.0, True), (0.99999, 0.0, 1.0, False)]
    num = (lambda v: float(v) if isinstance(v, str) else v)  # noqa: E731
    blocks = {}
    for n, size in [(300, 256), (70, 256), (1000, 256), (257, 256)]:
        starts = ((np.arange(min(n, size)) * n) // min(n, size)).tolist() if n > size else \
            list(range(n))
        blocks[f"{n}/{size}"] = starts
    fixture_io.write("show_math.json", {
        "colormap": [[v, lo, hi, d, list(_charts.colormap(num(v), lo, hi, d))]
                     for v, lo, hi, d in cases],
        "histogram": [[[0.0, 0.5, 1.0, "NaN", 7.0], 2, 0.0, 1.0,
                       _charts.histogram([0.0, 0.5, 1.0, np.nan, 7.0], 2, 0.0, 1.0)],
                      [[1.0, 1.0], 3, 1.0, 1.0, _charts.histogram([1.0, 1.0], 3, 1.0, 1.0)],
                      [[-1.0, 0.1, 0.2, 0.3, 0.9999], 10, -1.0, 1.0,
                       _charts.histogram([-1.0, 0.1, 0.2, 0.3, 0.9999], 10, -1.0, 1.0)]],
        "block_starts": blocks,
        "stats_lines": [[s, show._stats_line(s)] for s in (
            _charts.tensor_stats(np.array([1.0, 2.0, np.nan, np.inf])),
            _charts.tensor_stats(np.array([np.nan])),
            _charts.tensor_stats(np.array([0.5, 1e-5, 12345.0])))],
    })


def test_every_synced_trait_is_read_by_the_front_end():
    pytest.importorskip("anywidget")
    js = (fixture_io.EXTENSIONS / "show.js").read_text()
    for name in fixture_io.own_traits(show.show(torch.ones(2))):
        assert f'"{name}"' in js, name


def test_node_front_end_tests():
    test_write_front_end_fixtures()
    result = fixture_io.run_node("show.test.mjs")
    if result is None:
        pytest.skip("node is not installed")
    assert result.returncode == 0, result.stdout + result.stderr
