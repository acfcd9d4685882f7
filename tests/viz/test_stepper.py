"""BackwardStepper: it replays exactly the engine's backward pass (same steps, bit-identical
gradients), its back/reset/jump semantics, fan-out sums, accumulation records, the
finite-difference check, the static picture, and the fixtures of the front-end tests."""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
import pytest

pytest.importorskip("anywidget")

import nbtorch  # noqa: E402
from nbtorch.autograd import backward_steps  # noqa: E402
from nbtorch.autograd.function import Op  # noqa: E402
from nbtorch.autograd.gradcheck import UndefinedGrad  # noqa: E402
from nbtorch.viz import _stepper_view as view  # noqa: E402
from nbtorch.viz import svg  # noqa: E402
from nbtorch.viz._stepping import rule_of, summarize  # noqa: E402
from nbtorch.viz.stepper import SYNCED, BackwardStepper  # noqa: E402
from tests.helpers import cube_function  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "extensions" / "tests" / "fixtures"


# --- graphs, each built twice from the same numbers ----------------------------------------------
def mlp(device="cpu"):
    """A two-layer MLP with an MSE loss; returns (loss, {name: leaf})."""
    rng = np.random.default_rng(0)
    model = nbtorch.nn.Sequential(nbtorch.nn.Linear(3, 4), nbtorch.nn.Tanh(),
                                  nbtorch.nn.Linear(4, 2))
    with nbtorch.no_grad():
        for p in model.parameters():
            p.copy_(nbtorch.tensor(rng.standard_normal(p.shape).astype(np.float32)))
    model.to(device)
    x = nbtorch.tensor(rng.standard_normal((5, 3)).astype(np.float32), device=device)
    target = nbtorch.tensor(rng.standard_normal((5, 2)).astype(np.float32), device=device)
    loss = nbtorch.nn.functional.mse_loss(model(x), target)
    return loss, dict(model.named_parameters())


def fanout(device="cpu"):
    """y = exp(x) feeds three consumers (y * y uses it twice), and x is used again directly."""
    x = nbtorch.tensor([0.5, -1.0, 1.5], device=device, requires_grad=True)
    w = nbtorch.tensor([2.0, 0.25, -1.0], device=device, requires_grad=True)
    y = x.exp()
    loss = (y * y + y.sin() + x * w).sum()
    return loss, {"x": x, "w": w}


def no_gradient(device="cpu"):
    """A leaf that the pass never reaches with a gradient (its op sends None)."""
    a = nbtorch.tensor([1.0, 2.0], device=device, requires_grad=True)
    b = nbtorch.tensor([3.0, -1.0], device=device, requires_grad=True)
    loss = (UndefinedGrad.apply(a) * b).sum()
    return loss, {"a": a, "b": b}


GRAPHS = {"mlp": mlp, "fanout": fanout, "no_gradient": no_gradient}


def _grads(leaves):
    return {name: (None if t.grad is None else t.grad._data.copy()) for name, t in leaves.items()}


def _assert_identical(got: dict, want: dict):
    assert got.keys() == want.keys()
    for name in want:
        if want[name] is None:
            assert got[name] is None, name
            continue
        g, w = np.asarray(_cpu(got[name])), np.asarray(_cpu(want[name]))
        assert g.dtype == w.dtype and g.shape == w.shape, name
        assert g.tobytes() == w.tobytes(), f"{name}: not bit-identical"


def _cpu(a):
    return a.get() if hasattr(a, "get") else a


def _engine_names(build, device="cpu"):
    loss, _ = build(device)
    return [s.name for s in backward_steps([loss], [nbtorch.ones_like(loss)])]


# --- the pass is the engine's --------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_step_sequence_is_the_engines(name, device):
    build = GRAPHS[name]
    loss, leaves = build(device)
    stepper = BackwardStepper(loss, params=leaves)
    while stepper.step() is not None:
        pass
    assert [r["op"] for r in stepper.steps] == _engine_names(build, device)
    assert [r["index"] for r in stepper.steps] == list(range(len(stepper.steps)))
    assert [s.name for s in stepper.backward_run.steps] == [r["op"] for r in stepper.steps]
    # ids are those of the graph: the node of each record is the node of that op
    ops = [n["op"] for n in stepper.graph["nodes"]]
    assert all(ops[r["node"]] == r["op"] for r in stepper.steps)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_final_gradients_are_bit_identical_to_backward(name, device):
    build = GRAPHS[name]
    loss, leaves = build(device)
    stepper = BackwardStepper(loss, params=leaves)
    stepper.run()
    assert stepper.finished and stepper.current == len(stepper.steps) - 1
    ref_loss, ref_leaves = build(device)
    ref_loss.backward()
    _assert_identical(_grads(leaves), _grads(ref_leaves))


def test_gradients_after_back_and_replay_are_still_identical():
    loss, leaves = mlp()
    stepper = BackwardStepper(loss, params=leaves)
    stepper.step(5)
    stepper.back(3)
    stepper.jump(len(stepper.graph["nodes"]) - 1)
    stepper.reset()
    stepper.step(2)
    stepper.run()
    ref_loss, ref_leaves = mlp()
    ref_loss.backward()
    _assert_identical(_grads(leaves), _grads(ref_leaves))


def test_accumulates_into_existing_grads_like_backward():
    """.grad that holds something already: the pass adds into it (in place, as backward does),
    and reset puts the old values back into the same Tensor."""
    loss, leaves = fanout()
    ref_loss, ref_leaves = fanout()
    for t in (*leaves.values(), *ref_leaves.values()):
        t.grad = nbtorch.tensor([0.125, -3.0, 7.5])
    held = leaves["x"].grad
    stepper = BackwardStepper(loss, params=leaves)
    stepper.run()
    ref_loss.backward()
    _assert_identical(_grads(leaves), _grads(ref_leaves))
    acc = [r["accumulated"] for r in stepper.steps if r["accumulated"]]
    x_acc = next(a for a in acc if a["names"] == ["x"])
    assert x_acc["before"]["values"] == [0.125, -3.0, 7.5]
    added, after = np.array(x_acc["added"]["values"]), np.array(x_acc["after"]["values"])
    assert np.allclose(np.float32([0.125, -3.0, 7.5]) + added, after)
    stepper.reset()
    assert leaves["x"].grad is held
    assert leaves["x"].grad._data.tolist() == [0.125, -3.0, 7.5]


def test_retained_grads_are_restored_on_replay():
    x = nbtorch.tensor([0.5, 2.0], requires_grad=True)
    h = x * 3.0
    h.retain_grad()
    loss = (h * h).sum()
    stepper = BackwardStepper(loss)
    stepper.run()
    assert h.grad._data.tolist() == [3.0, 12.0]
    stepper.back(2)  # h's node has not run yet: h.grad is not written
    assert h.grad is None
    stepper.step()  # replayed up to here, then h's node: written once, not twice
    assert h.grad._data.tolist() == [3.0, 12.0]
    stepper.run()
    assert h.grad._data.tolist() == [3.0, 12.0]
    assert x.grad._data.tolist() == [9.0, 36.0]
    stepper.reset()
    assert h.grad is None and x.grad is None


# --- back, reset, jump ---------------------------------------------------------------------------
def test_back_replays_to_the_step_before():
    loss, leaves = mlp()
    stepper = BackwardStepper(loss, params=leaves)
    stepper.run()
    full = [dict(r) for r in stepper.steps]
    n = len(full)
    for k in range(n - 1, -1, -1):
        stepper.back()
        assert stepper.current == k - 1
        assert stepper.steps == full[:k]
        assert not stepper.finished
        # the leaves hold what a fresh pass holds after k steps
        ref_loss, ref_leaves = mlp()
        BackwardStepper(ref_loss, params=ref_leaves).step(k)
        _assert_identical(_grads(leaves), _grads(ref_leaves))
    stepper.back()  # before the first step: nothing to undo
    assert stepper.current == -1 and stepper.steps == []


def test_reset_restores_every_grad():
    loss, leaves = fanout()
    stepper = BackwardStepper(loss, params=leaves)
    stepper.run()
    assert all(t.grad is not None for t in leaves.values())
    stepper.reset()
    assert all(t.grad is None for t in leaves.values())
    assert stepper.current == -1 and stepper.steps == [] and not stepper.finished
    assert stepper.step()["op"] == "SumBackward0"


def test_jump_forward_and_back():
    loss, leaves = fanout()
    stepper = BackwardStepper(loss, params=leaves)
    ops = [n["op"] for n in stepper.graph["nodes"]]
    exp = ops.index("ExpBackward0")
    record = stepper.jump(exp)
    assert record["op"] == "ExpBackward0" and stepper.steps[-1]["node"] == exp
    assert all(r["node"] != exp for r in stepper.steps[:-1])
    stepper.run()
    first_mul = ops.index("MulBackward0")
    stepper.jump(first_mul)  # already processed: go back to its step
    assert stepper.steps[-1]["node"] == first_mul and not stepper.finished
    stepper.jump(leaves["x"])  # a tensor: its node
    assert stepper.steps[-1]["op"] == "AccumulateGrad" and stepper.steps[-1]["names"] == ["x"]
    stepper.jump(exp_node := loss.grad_fn)  # a grad_fn
    assert stepper.steps[-1]["node"] == 0 and exp_node.name() == "SumBackward0"
    with pytest.raises(IndexError, match="not in the graph"):
        stepper.jump(99)
    with pytest.raises(ValueError, match="not a node of this graph"):
        stepper.jump(nbtorch.tensor([1.0], requires_grad=True))


def test_a_node_without_gradient_is_never_stepped():
    loss, leaves = no_gradient()
    stepper = BackwardStepper(loss, params=leaves)
    a_node = next(n["id"] for n in stepper.graph["nodes"] if n["names"] == ["a"])
    stepper.jump(a_node)
    assert stepper.finished and "receives no gradient" in stepper.message
    assert a_node not in [r["node"] for r in stepper.steps]
    assert leaves["a"].grad is None


def test_finished_is_known_at_the_last_step():
    for build in GRAPHS.values():
        loss, leaves = build()
        n = len(_engine_names(build))
        stepper = BackwardStepper(loss, params=leaves)
        stepper.step(n - 1)
        assert not stepper.finished
        stepper.step()
        assert stepper.finished
        assert stepper.step() is None and stepper.current == n - 1


# --- what each step shows ------------------------------------------------------------------------
def test_fan_out_sums_are_recorded():
    loss, leaves = fanout()
    stepper = BackwardStepper(loss, params=leaves)
    stepper.run()
    ops = [n["op"] for n in stepper.graph["nodes"]]
    exp = next(r for r in stepper.steps if r["op"] == "ExpBackward0")
    (arriving,) = exp["arriving"]
    parts = arriving["parts"]
    assert sorted(p["from_op"] for p in parts) == ["MulBackward0", "MulBackward0", "SinBackward0"]
    assert [p["step"] for p in parts] == sorted(p["step"] for p in parts)
    assert all(ops[p["from"]] == p["from_op"] for p in parts)
    # the engine's buffer adds the parts in the order they were sent, in float32
    total = np.float32(parts[0]["grad"]["values"])
    for p in parts[1:]:
        total = total + np.float32(p["grad"]["values"])
    assert total.tolist() == arriving["grad"]["values"]
    # x is used by exp and by x * w: its accumulator sums two parts
    x_leaf = next(r for r in stepper.steps if r["names"] == ["x"])
    assert len(x_leaf["arriving"][0]["parts"]) == 2
    # the loss's node gets the seed
    assert stepper.steps[0]["arriving"][0]["parts"][0]["from"] is None


def test_sent_gradients_and_rules():
    loss, leaves = mlp()
    stepper = BackwardStepper(loss, params=leaves)
    stepper.run()
    tanh = next(r for r in stepper.steps if r["op"] == "TanhBackward0")
    assert tanh["rule"]["op"] == "Tanh"
    assert tanh["rule"]["formula"] == "dy/dx = 1 - y²"
    assert tanh["rule"]["forward"] == "y = tanh x"
    assert "1 - y²" in tanh["rule"]["words"]
    (sent,) = tanh["sent"]
    assert sent["to_op"] == "AddmmBackward0" and sent["grad"]["shape"] == [5, 4]
    leaf = next(r for r in stepper.steps if r["op"] == "AccumulateGrad")
    assert leaf["rule"]["words"] == "adds the arriving gradient into .grad"
    assert leaf["sent"] == [] and leaf["accumulated"]["before"] is None
    names = {n for r in stepper.steps for n in r["names"]}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= names
    # addmm(bias, x, weight.t()), as in PyTorch: the first Linear's x needs no gradient (no entry)
    first = [r for r in stepper.steps if r["op"] == "AddmmBackward0"][-1]
    assert [e["input_index"] for e in first["sent"]] == [0, 2]
    json.dumps(stepper.steps, allow_nan=False)


def test_rule_of_custom_function_and_undocumented():
    y = cube_function(nbtorch).apply(nbtorch.tensor([2.0], requires_grad=True))
    rule = rule_of(y.grad_fn)
    assert rule["formula"] == "" and "no documented rule" in rule["words"]


def test_summaries_are_json_safe():
    s = summarize(np.array([np.nan, np.inf, -np.inf, 1.0], dtype=np.float32))
    assert s["values"] == ["nan", "inf", "-inf", 1.0] and s["nonfinite"] == 3
    json.dumps(s, allow_nan=False)
    big = summarize(np.arange(100, dtype=np.float64))
    assert big["truncated"] and len(big["values"]) == 36 and big["numel"] == 100
    assert summarize(None) is None
    empty = summarize(np.zeros((0, 3), dtype=np.float32))
    assert empty["min"] is None and view.summary_text(empty) == "[0, 3] float32 (empty)"
    x = nbtorch.tensor([-1.0, 4.0], requires_grad=True)
    stepper = BackwardStepper(x.sqrt().sum())
    stepper.run()
    json.dumps(stepper.steps, allow_nan=False)
    assert stepper.steps[-1]["accumulated"]["after"]["nonfinite"] == 1


def test_errors_are_backwards():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        BackwardStepper(x * 2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        BackwardStepper(nbtorch.tensor(1.0))


# --- the finite-difference check -----------------------------------------------------------------
def test_check_mlp():
    loss, leaves = mlp()
    stepper = BackwardStepper(loss, params=leaves, check=True)
    stepper.run()
    checks = {r["op"] + str(r["node"]): r["check"] for r in stepper.steps}
    by_op = {}
    for r in stepper.steps:
        by_op.setdefault(r["op"], []).append(r["check"])
    assert all(c["status"] == "ok" for c in by_op["AddmmBackward0"] + by_op["TanhBackward0"]
               + by_op["MseLossBackward0"]), checks
    assert all(c["status"] == "skipped" for c in by_op["AccumulateGrad"])
    tanh = by_op["TanhBackward0"][0]
    (entry,) = tanh["inputs"]
    assert entry["ok"] and entry["max_abs_diff"] < 1e-4
    assert np.allclose(entry["analytic"]["values"], entry["numeric"]["values"], atol=1e-4)
    loss_check = by_op["MseLossBackward0"][0]  # the target has no edge: found among the saved
    assert [e["input_index"] for e in loss_check["inputs"]] == [0]


class BadSquare(Op):
    """BadSquare: y = x²; dy/dx = x (wrong on purpose: the check must say so)"""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


def test_check_finds_a_wrong_backward():
    x = nbtorch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    stepper = BackwardStepper(BadSquare.apply(x).sum(), check=True)
    stepper.run()
    bad = next(r for r in stepper.steps if r["op"] == "BadSquareBackward0")
    check = bad["check"]
    assert check["status"] == "mismatch"
    (entry,) = check["inputs"]
    assert entry["analytic"]["values"] == [1.0, -2.0, 3.0]
    assert np.allclose(entry["numeric"]["values"], [2.0, -4.0, 6.0], atol=1e-6)
    assert entry["max_abs_diff"] == pytest.approx(3.0, abs=1e-6)
    # sum's input was recovered by replaying BadSquare's forward on x (no parameters)
    assert stepper.steps[0]["check"]["status"] == "ok"


def test_check_skips_big_inputs_and_unconfirmed_parameters():
    x = nbtorch.tensor(np.linspace(-1, 1, 80, dtype=np.float32), requires_grad=True)
    stepper = BackwardStepper(x.tanh().sum(), check=True)
    stepper.run()
    tanh = next(r for r in stepper.steps if r["op"] == "TanhBackward0")
    assert tanh["check"]["status"] == "skipped" and "80 elements" in tanh["check"]["note"]
    assert "80 elements" in stepper.steps[0]["check"]["note"]
    # sum's dims are a parameter: the defaults are confirmed by the recorded output (the loss)
    x = nbtorch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    stepper = BackwardStepper(x.tanh().sum(), check=True)
    stepper.run()
    assert stepper.steps[0]["check"]["status"] == "ok"
    # an input that the graph does not keep (x + 1 saves nothing; add has a parameter)
    stepper = BackwardStepper((x + 1.0).sum(), check=True)
    stepper.run()
    assert stepper.steps[0]["check"]["status"] == "skipped"
    assert "not kept" in stepper.steps[0]["check"]["note"]
    # with a parameter that is not the default, the replay cannot confirm it: skipped, not wrong
    y = nbtorch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    stepper = BackwardStepper(y.sum(dim=0).exp().sum(), check=True)
    stepper.run()
    sum0 = next(r for r in stepper.steps if r["op"] == "SumBackward1")
    assert sum0["check"]["status"] == "skipped", sum0["check"]
    # the output is known (the loss) but the defaults do not reproduce it: reduction="sum"
    z = nbtorch.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    loss = nbtorch.nn.functional.mse_loss(z, nbtorch.ones(2, 2), reduction="sum")
    stepper = BackwardStepper(loss, check=True)
    stepper.step()
    assert stepper.steps[0]["check"]["status"] == "skipped"
    assert "default ones does not give" in stepper.steps[0]["check"]["note"]


# --- the widget: commands, traits, static picture ------------------------------------------------
def _click(stepper, action, node=None):
    seq = stepper.command.get("seq", 0) + 1
    stepper.command = {"seq": seq, "action": action, "node": node}


def test_commands_from_the_front_end():
    loss, leaves = fanout()
    stepper = BackwardStepper(loss, params=leaves)
    assert stepper.current == -1 and stepper.message.startswith("ready")
    _click(stepper, "step")
    _click(stepper, "step")
    assert stepper.current == 1 and stepper.message.startswith("step 1: ")
    _click(stepper, "back")
    assert stepper.current == 0
    _click(stepper, "tick")  # not playing: ignored
    assert stepper.current == 0
    stepper.playing = True
    _click(stepper, "tick")
    assert stepper.current == 1
    _click(stepper, "jump", 4)
    assert stepper.steps[-1]["node"] == 4
    _click(stepper, "reset")
    assert stepper.current == -1 and not stepper.playing
    _click(stepper, "jump", 1000)
    assert stepper.message.startswith("IndexError")
    _click(stepper, "run")
    assert stepper.finished
    stepper.play()  # at the end: starts over
    assert stepper.playing and stepper.current == -1
    n = len(_engine_names(fanout))
    for _ in range(n + 3):
        _click(stepper, "tick")
    assert stepper.finished and not stepper.playing and stepper.current == n - 1


def test_speed_is_clamped_and_traits_are_synced():
    loss, _ = fanout()
    stepper = BackwardStepper(loss)
    stepper.speed = 100
    assert stepper.speed == 10.0
    stepper.speed = 0
    assert stepper.speed == 0.1
    synced = {name for name in stepper.trait_names(sync=True) if not name.startswith("_")}
    assert set(SYNCED) <= synced
    js = (FIXTURES.parent.parent / "stepper.js").read_text()
    for name in SYNCED:  # every trait the Python side syncs is one the front end names
        assert f'"{name}"' in js, name


def test_layout_has_every_node_and_edge():
    loss, leaves = mlp()
    stepper = BackwardStepper(loss, params=leaves)
    g = stepper.graph
    lay = g["layout"]
    assert sorted(b["id"] for b in lay["nodes"]) == [n["id"] for n in g["nodes"]]
    assert {(e["source"], e["target"]) for e in lay["edges"]} == {
        (s, d) for s, d, _, _ in g["edges"]}
    json.dumps(g, allow_nan=False)


def test_static_bundle():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    w = nbtorch.tensor([0.5, -0.5], requires_grad=True)
    stepper = BackwardStepper((x * w).sum(), params={"<script>alert(1)</script>": w})
    data, _ = stepper._repr_mimebundle_()
    assert {"image/svg+xml", "text/html", "text/plain"} <= set(data)
    assert data["text/html"].startswith('<img class="nbt-static"')
    assert data["text/plain"] == "BackwardStepper, before the first step"
    picture = data["image/svg+xml"]
    assert "<script>" not in picture and "&lt;script&gt;" in picture
    assert len(re.findall(r'<g class="nbt-node ', picture)) == len(stepper.graph["nodes"])
    assert "nbt-current" not in picture and picture.count("nbt-state nbt-waiting") == 1
    assert "Before the first step" in picture
    stepper.step(2)
    picture = stepper.to_svg()
    assert picture.count("nbt-state nbt-current") == 1 and picture.count("nbt-state nbt-done") == 1
    assert 'nbt-current" data-id="1"' in picture
    assert "Step 1: MulBackward0" in picture and "dy/da = b, dy/db = a" in picture
    assert picture.count('class="nbt-active"') == 2  # the edges from x and w into Mul
    assert stepper._repr_mimebundle_()[0]["text/plain"] == "BackwardStepper, step 1: MulBackward0"
    # exponents are raised in the static picture too
    stepper = BackwardStepper(x.exp().sum())
    stepper.step(2)
    assert '<tspan baseline-shift="super" font-size="8">x</tspan>' in stepper.to_svg()


def test_refresh_static_updates_the_saved_picture():
    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, data, **kwargs):
            self.updates.append(data)

    loss, _ = fanout()
    stepper = BackwardStepper(loss)
    handle = Handle()
    stepper.__dict__["_static_handles"] = [handle]
    stepper.run()
    stepper.refresh_static()
    (data,) = handle.updates
    assert "AccumulateGrad" in data["text/plain"] and "Step 8: AccumulateGrad" in data[
        "image/svg+xml"]


# --- the front end's fixtures --------------------------------------------------------------------
NUMBERS = [None, 0.0, 1.0, -1.0, 0.25, 1 / 3, -2 / 3, 123.456, 9999.4, 9999.6, 12345.678, 1e-3,
           9.9996e-4, 1.5e-7, -2.5e12, 6.02e23, 1e-300, "nan", "inf", "-inf"]
FORMULAS = ["dy/dx = 1 - y²", "y = e^x; dy/dx = y", "y = x ** p; dy/dx = p * x^(p-1)",
            "y = 1 / (1 + e^-x)", "Pow: y = c ** x; dy/dx = y * ln c", "a^b^c", "no exponent",
            "dy/dx = 2/√π e^(-x²)", "y = e^-x² · x^ᵢ"]


def _write_fixture(name: str, stepper: BackwardStepper):
    steps, graph = stepper.steps, stepper.graph
    fixture = {
        "traits": list(SYNCED),
        "graph": graph,
        "steps": steps,
        "expect": {
            "lines": [view.step_lines(r) for r in steps],
            "states": [view.node_states(graph, steps, c) for c in range(-1, len(steps))],
            "labels": [svg.node_lines(n) for n in graph["nodes"]],
            "numbers": [[v, view.fmt_num(v)] for v in NUMBERS],
            "formulas": [[f, view.formula_segments(f)] for f in FORMULAS],
        },
    }
    text = json.dumps(fixture, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
    path = FIXTURES / f"stepper_{name}.json"
    FIXTURES.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return fixture


@pytest.mark.parametrize("name", ["mlp", "fanout"])
def test_write_front_end_fixtures(name):
    """extensions/tests/stepper.test.mjs checks that stepper.js gives these same lines/states."""
    loss, leaves = GRAPHS[name]()
    stepper = BackwardStepper(loss, params=leaves, check=True)
    stepper.run()
    fixture = _write_fixture(name, stepper)
    states = fixture["expect"]["states"]
    assert states[0].count("waiting") == 1 and "current" not in states[0]
    assert all(s.count("current") == 1 for s in states[1:])
    assert states[-1].count("idle") == 0 or name == "mlp"
    lines = fixture["expect"]["lines"]
    assert any(kind == "fanout" for ls in lines for kind, _ in ls) == (name == "fanout")
    assert any(kind == "check" and "ok" in text for ls in lines for kind, text in ls)


def test_number_format():
    got = dict((str(v), view.fmt_num(v)) for v in NUMBERS)
    assert got["0.25"] == "0.25" and got["0.3333333333333333"] == "0.3333"
    assert got["9999.6"] == "1e4" and got["12345.678"] == "1.23e4"
    assert got["0.00099996"] == "1e-3" and got["None"] == "—" and got["nan"] == "nan"
    assert view.formula_segments("p * x^(p-1)") == [["p * x", False], ["p-1", True]]
