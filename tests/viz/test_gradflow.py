"""GradFlow: per-parameter gradient norms, flags, the optimizer hook, throttling, the static picture
and the fixtures of extensions/tests/gradflow.test.mjs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("anywidget")

import nbtorch as torch  # noqa: E402
from nbtorch import nn  # noqa: E402
from nbtorch.viz import _charts, _live  # noqa: E402
from nbtorch.viz.gradflow import GradFlow  # noqa: E402
from tests.viz import fixture_io  # noqa: E402


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


def step(model, opt=None, features=4):
    x = torch.randn(16, features)
    if opt is not None:
        opt.zero_grad()
    else:
        model.zero_grad()
    model(x).pow(2).mean().backward()
    if opt is not None:
        opt.step()


def decode(state: dict) -> tuple[np.ndarray, np.ndarray]:
    """What gradflow.js's gradFromState reads: base then tail rows."""
    L = len(state["layers"])

    def f32(b):
        return np.frombuffer(bytes(b), dtype=np.float32)

    steps = np.concatenate([f32(state["steps"]), f32(state["tail_steps"])])
    norms = np.concatenate([f32(state["norms"]).reshape(-1, L),
                            f32(state["tail_norms"]).reshape(-1, L)])
    assert len(steps) == state["counts"]["n"] + state["counts"]["tail_n"]
    return steps, norms


def test_norms_are_the_gradients_norms():
    model = mlp()
    flow = GradFlow(model)
    step(model)
    flow.update()
    steps, norms = flow.history
    assert flow.layers == ["0.weight", "0.bias", "2.weight", "2.bias"]
    expected = [np.linalg.norm(p.grad._data.astype(np.float64)) for p in model.parameters()]
    np.testing.assert_allclose(norms[0], expected, rtol=1e-5)
    assert steps.tolist() == [0]


def test_frozen_parameters_are_left_out_and_names_can_be_given():
    model = mlp()
    model[0].weight.requires_grad_(False)
    assert GradFlow(model).layers == ["0.bias", "2.weight", "2.bias"]
    w = torch.ones(2, requires_grad=True)
    assert GradFlow({"w": w}).layers == ["w"]
    assert GradFlow([("a", w)]).layers == ["a"]


def test_flags():
    model = mlp()
    flow = GradFlow(model)
    step(model)
    flow.update()
    assert set(flow.flags().values()) == {"ok"} and flow.flagged() == []
    with torch.no_grad():
        model[0].weight.grad.fill_(float("nan"))
        model[0].bias.grad.mul_(1e-12)  # 1e-12 of a norm near 1: vanishing
        model[2].weight.grad.fill_(1e4)  # exploding
    model[2].bias.grad = None  # no gradient at all: counted as 0, vanishing
    flow.update(step=7)
    assert flow.flags() == {"0.weight": "exploding", "0.bias": "vanishing",
                            "2.weight": "exploding", "2.bias": "vanishing"}
    assert [(n, f) for n, f, _, s in flow.flagged()] == [
        ("0.weight", "exploding"), ("0.bias", "vanishing"), ("2.weight", "exploding"),
        ("2.bias", "vanishing")]
    assert flow.flagged()[0][3] == 7.0
    assert flow.flags(0) == {name: "ok" for name in flow.layers}


def test_vanishing_is_relative_to_the_strongest_layer():
    # 1e-7 of the step's largest norm, floored at 1: 1e-4 here
    assert _charts.classify_norm(1e-5, 1e3) == "vanishing"
    assert _charts.classify_norm(5e-4, 1e3) == "ok"
    # small networks: below 1e-7 absolute
    assert _charts.classify_norm(1e-8, 0.01) == "vanishing"
    assert _charts.classify_norm(2e-7, 0.01) == "ok"
    assert _charts.classify_norm(2e3, 2e3) == "exploding"
    assert _charts.classify_norm(float("inf"), 1.0) == "exploding"


def test_thresholds_are_configurable():
    model = mlp()
    flow = GradFlow(model, vanish=0.5, explode=1e9)
    step(model)
    flow.update()
    assert flow.thresholds == {"vanish": 0.5, "explode": 1e9}
    norms = flow.history[1][0]
    expected = ["vanishing" if n < 0.5 * max(norms.max(), 1) else "ok" for n in norms]
    assert list(flow.flags().values()) == expected


def test_optimizer_hook_updates_before_each_step():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    flow = GradFlow(model, opt)
    seen = []
    opt.register_step_pre_hook(lambda *a: seen.append(model[0].bias.grad._data.copy()))
    for _ in range(5):
        step(model, opt)
    steps, norms = flow.history
    assert steps.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(norms[:, 1], [np.linalg.norm(g) for g in seen], rtol=1e-5)
    flow.detach()
    step(model, opt)
    assert len(flow.history[0]) == 5


def test_context_manager_detaches_and_flushes(clock):
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with GradFlow(model, opt) as flow:
        for _ in range(3):
            step(model, opt)  # same clock time: only the first update is pushed
        assert flow.counts["n"] + flow.counts["tail_n"] == 1
    assert flow.counts == {"n": 3, "tail_n": 0}
    step(model, opt)
    assert len(flow.history[0]) == 3


def test_throttled_pushes_carry_every_row(clock, monkeypatch):
    monkeypatch.setattr(_live, "SMALL_BYTES", 0)
    model = mlp()
    flow = GradFlow(model)
    for i in range(300):
        clock.t += 0.01
        step(model)
        flow.update()
        if i % 37 == 0:
            got_steps, got_norms = decode(flow.get_state())
            steps, norms = flow.history
            k = len(got_steps)
            np.testing.assert_array_equal(got_steps, steps[:k].astype(np.float32))
            np.testing.assert_array_equal(got_norms, norms[:k].astype(np.float32))
    assert 29 <= flow.pushes <= 31
    flow.flush()
    assert flow.counts["tail_n"] == 0 and flow.counts["n"] == 300


def test_histograms_count_every_gradient_value(clock):
    model = mlp()
    flow = GradFlow(model, bins=16)
    step(model)
    flow.update()
    hist = np.frombuffer(flow.hist, dtype=np.float32).reshape(len(flow.layers), 16)
    ranges = np.frombuffer(flow.hist_range, dtype=np.float32).reshape(-1, 2)
    for row, (lo, hi), p in zip(hist, ranges, model.parameters()):
        assert row.sum() == p.numel()
        assert lo == -hi and hi == pytest.approx(np.abs(p.grad._data).max())
    assert flow.hist_step == 0.0


def test_static_picture(clock):
    w = torch.ones(3, requires_grad=True)
    v = torch.ones(2, requires_grad=True)
    flow = GradFlow({"<w>": w, "v": v}, title="deep & narrow")
    assert "no update yet" in flow.to_svg()
    (w * 3).sum().backward()
    flow.update()
    for _ in range(4):
        flow.update()
    svg = flow.to_svg()
    assert "&lt;w&gt;" in svg and "<w>" not in svg and "deep &amp; narrow" in svg
    assert svg.count('class="nbt-bar"') == 2
    assert 'data-flag="vanishing"' in svg  # v has no gradient
    assert "vanishing: v" in svg
    data, _ = flow._repr_mimebundle_()
    assert data["text/plain"] == "GradFlow: 2 layers, 5 updates; v vanishing"
    assert data["text/html"].startswith('<img class="nbt-static"')


def test_refresh_static_flushes(clock):
    class Handle:
        updates = []

        def update(self, data, **kwargs):
            self.updates.append(data)

    model = mlp()
    flow = GradFlow(model)
    flow.__dict__["_static_handles"] = [Handle()]
    for _ in range(3):
        step(model)
        flow.update()
    flow.refresh_static()
    assert flow.counts["n"] == 3
    assert "3 updates" in Handle.updates[-1]["text/plain"]


# --- the front end ------------------------------------------------------------------------------

CLASSIFY = [(1.0, 1.0), (1e-8, 0.5), (1e-8, 1e-8), (5e-8, 1.0), (2e-7, 1.0), (1e-4, 1e4),
            (1e-3, 1e4), (1e3, 1e3), (1000.5, 1000.5), ("NaN", 1.0), ("Infinity", 1.0),
            (0.0, 0.0), (0.0, "NaN"), (1e-9, "NaN")]


def _num(v):
    return float(v) if isinstance(v, str) else v


def test_write_front_end_fixtures(clock):
    """extensions/tests/gradflow.test.mjs checks gradflow.js against these."""
    torch.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Linear(6, 6), nn.Sigmoid())],
                          nn.Linear(6, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    old_small = _live.SMALL_BYTES
    _live.SMALL_BYTES = 0
    try:
        flow = GradFlow(model, opt, bins=12)
        for _ in range(40):
            clock.t += 0.03
            step(model, opt, features=6)
        with torch.no_grad():
            model[0].weight.grad.fill_(float("nan"))
            model[6].weight.grad.mul_(1e6)
        model[8].bias.grad = None
        clock.t += 0.01
        flow.update()
        flow._push(clock.t)  # an ordinary push: the rows after the last full one in the tail
    finally:
        _live.SMALL_BYTES = old_small
    state = fixture_io.synced_state(flow)
    assert state["counts"]["tail_n"] > 0 and state["counts"]["n"] > 0
    steps, norms = flow.history
    fixture_io.write("gradflow_state.json", {
        "traits": fixture_io.own_traits(flow),
        "state": state,
        "expect": {
            "steps": steps.astype(np.float32),
            "norms": norms.astype(np.float32),
            "flags": [list(flow.flags(i).values()) for i in range(len(steps))],
            "hist_sums": [float(p.grad._data.size) if p.grad is not None else 0.0
                          for p in model.parameters()],
        },
    })
    fixture_io.write("gradflow_math.json", {
        "classify": [[n, m, _charts.classify_norm(_num(n), _num(m))] for n, m in CLASSIFY],
        "colormap": [[v, lo, hi, list(_charts.colormap(_num(v), lo, hi, False))]
                     for v, lo, hi in [(0.0, 0.0, 1.0), (0.3, 0.0, 1.0), (1.0, 0.0, 1.0),
                                       (-5.0, -8.0, 0.0), (2.0, 0.0, 1.0), (0.5, 1.0, 1.0),
                                       ("NaN", 0.0, 1.0), ("-Infinity", 0.0, 1.0)]],
    })
    assert flow.flags()["0.weight"] == "exploding" and flow.flags()["8.bias"] == "vanishing"


def test_every_synced_trait_is_read_by_the_front_end():
    js = (fixture_io.EXTENSIONS / "gradflow.js").read_text()
    for name in fixture_io.own_traits(GradFlow(mlp())):
        assert f'"{name}"' in js, name


def test_node_front_end_tests(clock):
    test_write_front_end_fixtures(clock)
    result = fixture_io.run_node("gradflow.test.mjs")
    if result is None:
        pytest.skip("node is not installed")
    assert result.returncode == 0, result.stdout + result.stderr
