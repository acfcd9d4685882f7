"""The graph's wire format (``nbtorch.autograd.graph.to_dict``): schema, ids in the engine's order,
edges in ``next_functions`` order, user names, metadata, and JSON round trips."""

from __future__ import annotations

import json

import pytest

import nbtorch
from nbtorch.autograd import backward_steps, graph
from nbtorch.autograd.graph import to_dict

NODE_KEYS = {"id", "op", "kind", "shapes", "dtype", "device", "names", "saved"}


def _ops(g):
    return [n["op"] for n in g["nodes"]]


def _node(g, op):
    (found,) = [n for n in g["nodes"] if n["op"] == op]
    return found


def test_module_is_reachable():
    import nbtorch.autograd.graph as imported

    assert nbtorch.autograd.graph is imported is graph
    assert graph.VERSION == 1


def test_schema_and_json_round_trip(device):
    x = nbtorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device, requires_grad=True)
    b = nbtorch.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    y = (x * b).exp() + x
    g = to_dict(y)
    assert set(g) == {"version", "nodes", "edges", "outputs"}
    assert g["version"] == 1
    assert [n["id"] for n in g["nodes"]] == list(range(len(g["nodes"])))
    for n in g["nodes"]:
        assert set(n) == NODE_KEYS
        assert n["dtype"] == "float32"
        assert n["device"] == str(nbtorch.device(device)) or n["device"].startswith(device)
    assert json.loads(json.dumps(g)) == g
    assert g["outputs"] == [0]


def test_kinds_names_and_shapes():
    x = nbtorch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    b = nbtorch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b._name = "bias"
    h = x * b
    loss = h.exp()
    g = to_dict(loss, names={"hidden": h, "input": x, "loss": loss})
    assert _ops(g) == ["ExpBackward0", "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
    exp, mul = _node(g, "ExpBackward0"), _node(g, "MulBackward0")
    assert (exp["kind"], mul["kind"]) == ("output", "op")
    assert exp["names"] == ["loss"] and mul["names"] == ["hidden"]
    assert mul["shapes"] == [[2, 3]] and mul["dtype"] == "float32"
    leaves = {tuple(n["names"]): n for n in g["nodes"] if n["kind"] == "leaf"}
    assert leaves[("input",)]["shapes"] == [[2, 3]]
    assert leaves[("input",)]["dtype"] == "float32"
    assert leaves[("bias",)]["shapes"] == [[3]]


def test_edges_follow_next_functions_and_skip_constants():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    c = nbtorch.tensor([3.0, 4.0])
    y = c * x  # input 0 is a constant: no edge, but x keeps input index 1
    g = to_dict(y)
    assert _ops(g) == ["MulBackward0", "AccumulateGrad"]
    assert g["edges"] == [[1, 0, 1, 0]]

    z = x * x  # one leaf feeding both inputs: two edges
    assert to_dict(z)["edges"] == [[1, 0, 0, 0], [1, 0, 1, 0]]


def test_ids_follow_the_engines_order():
    x = nbtorch.tensor([0.5, 1.5], requires_grad=True)
    w = nbtorch.tensor([2.0, -1.0], requires_grad=True)
    a = x * w
    b = a.sin() + a.exp()  # a diamond
    y = b * x  # x reused far from its first use
    g = to_dict(y)
    steps = [s.name for s in backward_steps([y], [nbtorch.ones(2)], retain_graph=True)]
    assert _ops(g) == steps


def test_multi_output_node():
    class Split(nbtorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, (x * 3).double()

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb.float() * 3

    x = nbtorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    first, second = Split.apply(x)
    y = second * 4
    g = to_dict(y, names={"first": first, "second": second})
    split = _node(g, "SplitBackward")
    assert split["shapes"] == [[3], [3]]
    assert split["names"] == ["first", "second"]
    assert [split["id"], _node(g, "MulBackward0")["id"], 0, 1] in g["edges"]


def test_saved_shapes_are_freed_by_backward():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp() * x
    g = to_dict(y)
    assert _node(g, "ExpBackward0")["saved"] == [[2]]
    assert _node(g, "MulBackward0")["saved"] == [[2], [2]]
    assert _node(g, "AccumulateGrad")["saved"] == []
    y.backward(nbtorch.ones(2))
    after = to_dict(y)
    assert _node(after, "ExpBackward0")["saved"] is None
    assert _node(after, "MulBackward0")["saved"] is None


def test_several_roots_and_roots_without_grad():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y1, y2 = x.exp(), x.sin()
    const = nbtorch.tensor([1.0])
    g = to_dict(y1, const, y2, x)
    leaf = _node(g, "AccumulateGrad")
    assert leaf["kind"] == "leaf"
    assert g["outputs"] == [_node(g, "ExpBackward0")["id"], None, _node(g, "SinBackward0")["id"],
                            leaf["id"]]
    assert _node(g, "ExpBackward0")["kind"] == _node(g, "SinBackward0")["kind"] == "output"
    assert to_dict(const) == {"version": 1, "nodes": [], "edges": [], "outputs": [None]}


def test_names_of_tensors_outside_the_graph_are_ignored():
    x = nbtorch.tensor([1.0], requires_grad=True)
    other = nbtorch.tensor([2.0], requires_grad=True)
    g = to_dict(x * 2, names={"x": x, "other": other, "plain": nbtorch.tensor([1.0])})
    assert [n["names"] for n in g["nodes"]] == [[], ["x"]]
    assert other._accumulator is None  # exporting did not create nodes for it


def test_export_is_deterministic():
    def build():
        x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
        w = nbtorch.tensor([0.5, 0.5], requires_grad=True)
        h = (x * w).tanh()
        return (h * h + w).exp()

    assert to_dict(build()) == to_dict(build())
    y = build()
    assert to_dict(y) == to_dict(y)


def test_deep_chain_exports_without_recursion():
    x = nbtorch.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    g = to_dict(y)
    assert len(g["nodes"]) == 10_001
    assert g["nodes"][-1]["kind"] == "leaf"
    assert len(g["edges"]) == 10_000


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_dtypes(dtype):
    x = nbtorch.tensor([1.0, 2.0], dtype=getattr(nbtorch, dtype), requires_grad=True)
    assert {n["dtype"] for n in to_dict(x * 3)["nodes"]} == {dtype}
