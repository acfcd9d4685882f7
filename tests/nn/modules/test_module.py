"""nn.Module against PyTorch: registration and its errors, traversal order, state_dict keys, order
and loading errors, printing, hooks (forward, full backward), conversions, copying.

Most tests build the same model in both libraries (``m`` is nbtorch or torch) and compare what
they observe; error tests use PyTorch's wording through ``assert_same_error``.
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import nbtorch
from tests.helpers import MODULES, assert_same_error, both, needs_torch, real_torch, values_of


# --- models written once for both libraries ------------------------------------------------------
def make_net(m):
    """A nested model with parameters, persistent and non-persistent buffers, a None parameter
    slot, a shared submodule and a multi-line extra_repr."""

    class Block(m.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = m.nn.Linear(n, n)
            self.register_buffer("steps", m.zeros(1))
            self.register_buffer("scratch", m.zeros(2), persistent=False)
            self.register_parameter("unused", None)
            self.scale = m.nn.Parameter(m.ones(n))

        def forward(self, x):
            return self.fc(x) * self.scale

        def extra_repr(self):
            return "first line\nsecond line"

    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = m.nn.Linear(3, 4)
            self.blocks = m.nn.Sequential(Block(4), Block(4))
            self.head = m.nn.Linear(4, 2, bias=False)
            self.alias = self.embed  # the same module twice
            self.register_buffer("mean", m.zeros(3))

        def forward(self, x):
            return self.head(self.blocks(self.embed(x - self.mean)))

    return Net()


# --- registration --------------------------------------------------------------------------------
@both
def test_attributes_register_parameters_buffers_and_modules(m):
    mod = m.nn.Module()
    mod.w = m.nn.Parameter(m.ones(2))
    mod.sub = m.nn.Linear(2, 2)
    mod.register_buffer("b", m.zeros(1))
    mod.plain = m.ones(1)  # a plain tensor attribute is not registered
    assert list(mod._parameters) == ["w"]
    assert list(mod._modules) == ["sub"]
    assert list(mod._buffers) == ["b"]
    assert "plain" in mod.__dict__
    # A Parameter may replace a submodule (not the reverse: see the error tests).
    mod.sub = m.nn.Parameter(m.ones(1))
    assert "sub" in mod._parameters and "sub" not in mod._modules
    # Setting to None keeps the slot; del removes it.
    mod.b = None
    assert "b" in mod._buffers and mod.b is None
    del mod.b
    assert "b" not in mod._buffers
    del mod.sub
    assert not hasattr(mod, "sub")


@both
def test_replacing_and_deleting_submodules(m):
    net = make_net(m)
    old = net.head
    net.head = m.nn.Linear(4, 3)
    assert net.head is not old and net._modules["head"] is net.head
    assert tuple(net.state_dict()["head.weight"].shape) == (3, 4)
    assert list(net.state_dict())[-4:-2] == ["head.weight", "head.bias"]  # same place
    assert "(head): Linear(in_features=4, out_features=3, bias=True)" in repr(net)
    net.blocks[1] = m.nn.Identity()
    assert "blocks.1.fc.weight" not in net.state_dict()
    del net.alias
    assert "alias" not in dict(net.named_children())
    net.head = None
    assert not any(k.startswith("head.") for k in net.state_dict())
    assert "(head): None" in repr(net)


@both
def test_buffer_class_registers_with_persistence(m):
    mod = m.nn.Module()
    mod.a = m.nn.Buffer(m.ones(2))
    mod.b = m.nn.Buffer(m.ones(2), persistent=False)
    assert list(mod._buffers) == ["a", "b"]
    assert list(mod.state_dict()) == ["a"]
    mod.b = m.zeros(2)  # re-assigning keeps it non-persistent
    assert list(mod.state_dict()) == ["a"]
    assert isinstance(mod.a, m.nn.Buffer) and isinstance(mod.a, m.Tensor)


def _after_init(m):
    mod = m.nn.Module()
    mod.w = m.nn.Parameter(m.ones(1))
    mod.sub = m.nn.Linear(1, 1)
    mod.register_buffer("buf", m.ones(1))
    return mod


@pytest.mark.parametrize("make, error, message", [
    (lambda m: _after_init(m).register_buffer("x", 3), TypeError,
     "cannot assign 'int' object to buffer 'x' (torch Tensor or None required)"),
    (lambda m: _after_init(m).register_buffer(3, None), TypeError,
     "buffer name should be a string. Got int"),
    (lambda m: _after_init(m).register_buffer("a.b", None), KeyError,
     "'buffer name can\\'t contain \".\"'"),
    (lambda m: _after_init(m).register_buffer("", None), KeyError,
     "'buffer name can\\'t be empty string \"\"'"),
    (lambda m: _after_init(m).register_buffer("w", None), KeyError,
     "\"attribute 'w' already exists\""),
    (lambda m: _after_init(m).register_parameter("y", m.ones(2)), TypeError,
     "cannot assign 'torch.FloatTensor' object to parameter 'y' (torch.nn.Parameter or None "
     "required)"),
    (lambda m: _after_init(m).register_parameter("training", None), KeyError,
     "\"attribute 'training' already exists\""),
    (lambda m: _after_init(m).register_parameter("a.b", None), KeyError,
     "'parameter name can\\'t contain \".\"'"),
    (lambda m: _after_init(m).add_module("a.b", m.nn.Module()), KeyError,
     "'module name can\\'t contain \".\", got: a.b'"),
    (lambda m: _after_init(m).add_module("", m.nn.Module()), KeyError,
     "'module name can\\'t be empty string \"\"'"),
    (lambda m: _after_init(m).add_module("buf", m.nn.Module()), KeyError,
     "\"attribute 'buf' already exists\""),
    (lambda m: _after_init(m).add_module("q", 3), TypeError, "int is not a Module subclass"),
    (lambda m: _after_init(m).add_module(1, None), TypeError,
     "module name should be a string. Got int"),
    (lambda m: setattr(_after_init(m), "w", m.ones(1)), TypeError,
     "cannot assign 'torch.FloatTensor' as parameter 'w' (torch.nn.Parameter or None expected)"),
    (lambda m: setattr(_after_init(m), "sub", 3), TypeError,
     "cannot assign 'int' as child module 'sub' (torch.nn.Module or None expected)"),
    (lambda m: setattr(_after_init(m), "buf", 3), TypeError,
     "cannot assign 'int' as buffer 'buf' (torch.nn.Buffer, torch.Tensor or None expected)"),
    (lambda m: _after_init(m).missing, AttributeError,
     "'Module' object has no attribute 'missing'"),
    (lambda m: _after_init(m).train(1), ValueError, "training mode is expected to be boolean"),
    (lambda m: m.nn.Module()(1), NotImplementedError,
     'Module [Module] is missing the required "forward" function'),
    (lambda m: m.nn.Module(3), TypeError,
     "Module.__init__() takes 1 positional argument but 2 were given"),
    (lambda m: m.nn.Module(a=3), TypeError,
     "Module.__init__() got an unexpected keyword argument 'a'"),
    (lambda m: _after_init(m).to(m.int64), TypeError,
     "nn.Module.to only accepts floating point or complex dtypes, but got desired "
     "dtype=torch.int64"),
    (lambda m: _after_init(m).load_state_dict([1]), TypeError,
     "Expected state_dict to be dict-like, got <class 'list'>."),
])
def test_registration_errors(make, error, message):
    assert_same_error(make, error, message)


def test_non_leaf_parameter_error():
    class Early(nbtorch.nn.Module):
        def __init__(self):
            self.w = nbtorch.nn.Parameter(nbtorch.ones(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__"):
        Early()
    mod = nbtorch.nn.Module()
    p = nbtorch.nn.Parameter(nbtorch.ones(1))
    p.grad_fn = (p * 2).grad_fn  # a Parameter that is not a leaf (PyTorch cannot even make one)
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'w'. Model "
                       "parameters must be created explicitly. To express 'w' as a function"):
        mod.register_parameter("w", p)


@pytest.mark.parametrize("target, error, message", [
    ("sub.weight", AttributeError, "`weight` is not an nn.Module"),
    ("sub.zz", AttributeError, "Linear has no attribute `zz`"),
    ("zz.k", AttributeError, "Module has no attribute `zz`"),
])
def test_get_submodule_errors(target, error, message):
    assert_same_error(lambda m: _after_init(m).get_submodule(target), error, message)


@pytest.mark.parametrize("call, error, message", [
    (lambda mod: mod.get_parameter("sub.zz"), AttributeError, "Linear has no attribute `zz`"),
    (lambda mod: mod.get_parameter("buf"), AttributeError, "`buf` is not an nn.Parameter"),
    (lambda mod: mod.get_buffer("sub.weight"), AttributeError, "`weight` is not a buffer"),
    (lambda mod: mod.set_submodule("", None), ValueError,
     "Cannot set the submodule without a target name!"),
])
def test_get_parameter_and_buffer_errors(call, error, message):
    assert_same_error(lambda m: call(_after_init(m)), error, message)


@both
def test_get_and_set_submodule(m):
    net = make_net(m)
    assert net.get_submodule("") is net
    assert net.get_submodule("blocks.1.fc") is net.blocks[1].fc
    assert net.get_parameter("blocks.0.scale") is net.blocks[0].scale
    assert net.get_buffer("blocks.0.steps") is net.blocks[0].steps
    new = m.nn.Linear(4, 4)
    net.set_submodule("blocks.0.fc", new)
    assert net.blocks[0].fc is new
    with pytest.raises(AttributeError):
        net.set_submodule("blocks.0.other", new, strict=True)


# --- traversal -----------------------------------------------------------------------------------
@needs_torch
def test_traversal_names_and_order_match_torch():
    nets = [make_net(nbtorch), make_net(real_torch)]

    def names(net):
        return {
            "parameters": [n for n, _ in net.named_parameters()],
            "parameters_dup": [n for n, _ in net.named_parameters(remove_duplicate=False)],
            "parameters_local": [n for n, _ in net.named_parameters(recurse=False)],
            "parameters_prefix": [n for n, _ in net.blocks.named_parameters(prefix="blocks")],
            "buffers": [n for n, _ in net.named_buffers()],
            "modules": [n for n, _ in net.named_modules()],
            "modules_dup": [n for n, _ in net.named_modules(remove_duplicate=False)],
            "children": [n for n, _ in net.named_children()],
            "state_dict": list(net.state_dict()),
            "n_parameters": len(list(net.parameters())),
            "n_modules": len(list(net.modules())),
            "n_children": len(list(net.children())),
        }

    assert names(nets[0]) == names(nets[1])
    assert names(nets[0])["state_dict"] == [
        "mean", "embed.weight", "embed.bias", "blocks.0.scale", "blocks.0.steps",
        "blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.1.scale", "blocks.1.steps",
        "blocks.1.fc.weight", "blocks.1.fc.bias", "head.weight", "alias.weight", "alias.bias"]


@both
def test_shared_parameters_are_listed_once(m):
    a = m.nn.Linear(2, 2)
    b = m.nn.Linear(2, 2)
    b.weight = a.weight
    net = m.nn.Sequential(a, b)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert len(list(net.named_parameters(remove_duplicate=False))) == 4


# --- state_dict ----------------------------------------------------------------------------------
@both
def test_state_dict_is_detached_shared_and_has_metadata(m):
    net = make_net(m)
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not sd["embed.weight"].requires_grad
    assert sd["embed.weight"].data_ptr() == net.embed.weight.data_ptr()
    assert net.state_dict(keep_vars=True)["embed.weight"] is net.embed.weight
    assert dict(sd._metadata) == {"": {"version": 1}, "embed": {"version": 1},
                                  "blocks": {"version": 1}, "blocks.0": {"version": 1},
                                  "blocks.0.fc": {"version": 1}, "blocks.1": {"version": 1},
                                  "blocks.1.fc": {"version": 1}, "head": {"version": 1},
                                  "alias": {"version": 1}}
    assert list(net.state_dict(prefix="model."))[:2] == ["model.mean", "model.embed.weight"]


@needs_torch
def test_load_state_dict_from_torch_gives_the_same_outputs():
    th, nb = make_net(real_torch), make_net(nbtorch)
    assert repr(nb.load_state_dict({k: nbtorch.tensor(v.detach().numpy())
                                    for k, v in th.state_dict().items()})) \
        == "<All keys matched successfully>"
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(values_of(nb(nbtorch.tensor(x))),
                               values_of(th(real_torch.tensor(x))), rtol=1e-5, atol=1e-6)


def _load_error(m, change):
    net = make_net(m)
    sd = net.state_dict()
    change(m, sd)
    net.load_state_dict(sd)


def _drop(*keys):
    def change(m, sd):
        for k in keys:
            del sd[k]
    return change


def _add(*keys):
    def change(m, sd):
        for k in keys:
            sd[k] = m.zeros(1)
    return change


def _resize(key, shape):
    def change(m, sd):
        sd[key] = m.zeros(*shape)
    return change


@pytest.mark.parametrize("change, message", [
    (_drop("blocks.0.fc.bias", "mean"),
     'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "mean", '
     '"blocks.0.fc.bias". '),
    (_add("extra", "blocks.0.extra", "nothere.weight", "blocks.5.fc.weight"),
     'Error(s) in loading state_dict for Net:\n\tUnexpected key(s) in state_dict: "extra", '
     '"nothere.weight", "blocks.5.fc.weight", "blocks.0.extra". '),
    (_resize("blocks.1.fc.weight", (4, 5)),
     "Error(s) in loading state_dict for Net:\n\tsize mismatch for blocks.1.fc.weight: copying a "
     "param with shape torch.Size([4, 5]) from checkpoint, the shape in current model is "
     "torch.Size([4, 4])."),
    (lambda m, sd: (_drop("head.weight")(m, sd), _add("bogus")(m, sd),
                    _resize("embed.bias", (3,))(m, sd)),
     'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "head.weight". '
     '\n\tUnexpected key(s) in state_dict: "bogus". \n\tsize mismatch for embed.bias: copying a '
     "param with shape torch.Size([3]) from checkpoint, the shape in current model is "
     "torch.Size([4])."),
    (lambda m, sd: sd.__setitem__("mean", 3.0),
     'Error(s) in loading state_dict for Net:\n\tWhile copying the parameter named "mean", '
     "expected torch.Tensor or Tensor-like object from checkpoint but received <class 'float'>"),
])
def test_load_state_dict_errors(change, message):
    assert_same_error(lambda m: _load_error(m, change), RuntimeError, message)


@both
def test_load_state_dict_non_strict_returns_incompatible_keys(m):
    net = make_net(m)
    sd = net.state_dict()
    del sd["head.weight"]
    sd["bogus"] = m.zeros(1)
    result = net.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["head.weight"]
    assert result.unexpected_keys == ["bogus"]
    assert repr(result) == ("_IncompatibleKeys(missing_keys=['head.weight'], "
                            "unexpected_keys=['bogus'])")
    missing, unexpected = result
    assert missing == ["head.weight"]


@both
def test_load_state_dict_copies_or_assigns(m):
    a, b = m.nn.Linear(2, 2), m.nn.Linear(2, 2)
    weight = b.weight
    sd = a.state_dict()
    b.load_state_dict(sd)
    assert b.weight is weight  # copied into the same Parameter
    assert b.weight.data_ptr() != a.weight.data_ptr()
    assert np.array_equal(values_of(b.weight), values_of(a.weight))
    c = m.nn.Linear(2, 2)
    c.load_state_dict(sd, assign=True)
    assert isinstance(c.weight, m.nn.Parameter) and c.weight.requires_grad
    assert c.weight.data_ptr() == a.weight.data_ptr()  # the checkpoint's tensor itself


@both
def test_load_state_dict_casts_and_accepts_one_element_for_scalars(m):
    mod = m.nn.Module()
    mod.register_buffer("count", m.tensor(0.0))
    mod.load_state_dict({"count": m.tensor([5.0])})
    assert float(mod.count) == 5.0
    lin = m.nn.Linear(2, 2)
    lin.load_state_dict({k: v.double() for k, v in m.nn.Linear(2, 2).state_dict().items()})
    assert lin.weight.dtype == m.float32


@both
def test_state_dict_and_load_hooks(m):
    lin = m.nn.Linear(2, 2)
    seen = []
    lin.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: seen.append(("pre", prefix)))
    lin.register_state_dict_post_hook(
        lambda mod, sd, prefix, meta: seen.append(("post", list(sd))))
    lin.register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, *rest: seen.append(("load_pre", prefix)))
    lin.register_load_state_dict_post_hook(
        lambda mod, keys: seen.append(("load_post", keys.missing_keys)))
    lin.load_state_dict(lin.state_dict())
    assert seen == [("pre", ""), ("post", ["weight", "bias"]), ("load_pre", ""),
                    ("load_post", [])]


@both
def test_extra_state(m):
    class Counter(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def get_extra_state(self):
            return {"calls": self.calls}

        def set_extra_state(self, state):
            self.calls = state["calls"]

    a, b = Counter(), Counter()
    a.calls = 7
    sd = a.state_dict()
    assert list(sd) == ["_extra_state"]
    b.load_state_dict(sd)
    assert b.calls == 7
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "_extra_state"'):
        b.load_state_dict({})


# --- printing ------------------------------------------------------------------------------------
@needs_torch
def test_repr_matches_torch():
    assert repr(make_net(nbtorch)) == repr(make_net(real_torch))
    for m in MODULES:
        mod = m.nn.Module()
        mod.empty = None  # a None child prints as None
        mod.add_module("nothing", None)
    assert repr(mod) == "Module(\n  (nothing): None\n)"


# --- calling and hooks ---------------------------------------------------------------------------
def _hook_log(m):
    """A model whose hooks log what they receive (as plain values comparable across libraries)."""
    log = []

    def shapes(args):
        return tuple(tuple(a.shape) if hasattr(a, "shape") else a for a in args)

    net = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.Linear(4, 2))
    first = net[0]
    first.register_forward_pre_hook(lambda mod, args: log.append(("pre", shapes(args))))
    first.register_forward_pre_hook(lambda mod, args: log.append(("pre-first", shapes(args))),
                                    prepend=True)
    first.register_forward_pre_hook(
        lambda mod, args, kwargs: log.append(("pre-kwargs", shapes(args), sorted(kwargs))),
        with_kwargs=True)
    first.register_forward_hook(lambda mod, args, out: log.append(("post", tuple(out.shape))))
    first.register_forward_hook(
        lambda mod, args, kwargs, out: log.append(("post-kwargs", sorted(kwargs))),
        with_kwargs=True, prepend=True)
    net.register_forward_hook(lambda mod, args, out: log.append(("outer", type(mod).__name__)))
    return net, log


@both
def test_forward_hooks_order_and_arguments(m):
    net, log = _hook_log(m)
    net(m.ones(5, 3))
    assert log == [("pre-first", ((5, 3),)), ("pre", ((5, 3),)), ("pre-kwargs", ((5, 3),), []),
                   ("post-kwargs", []), ("post", (5, 4)), ("outer", "Sequential")]


@both
def test_forward_hooks_replace_inputs_and_outputs(m):
    lin = m.nn.Linear(2, 2)
    lin.weight.data.fill_(1.0)
    lin.bias.data.zero_()
    h1 = lin.register_forward_pre_hook(lambda mod, args: args[0] * 2)  # one value: a 1-tuple
    h2 = lin.register_forward_hook(lambda mod, args, out: out + 1)
    assert values_of(lin(m.ones(1, 2))).tolist() == [[5.0, 5.0]]
    h1.remove()
    h2.remove()
    assert values_of(lin(m.ones(1, 2))).tolist() == [[2.0, 2.0]]
    h3 = lin.register_forward_pre_hook(
        lambda mod, args, kwargs: ((args[0] * 3,), kwargs), with_kwargs=True)
    assert values_of(lin(m.ones(1, 2))).tolist() == [[6.0, 6.0]]
    h3.remove()
    assert not lin._forward_pre_hooks and not lin._forward_pre_hooks_with_kwargs


@both
def test_forward_hook_always_call_runs_when_forward_raises(m):
    lin = m.nn.Linear(2, 2)
    seen = []
    lin.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    with pytest.raises(RuntimeError):
        lin(m.ones(1, 3))
    assert seen == [None]


@both
def test_bad_kwargs_pre_hook_result(m):
    lin = m.nn.Linear(2, 2)
    lin.register_forward_pre_hook(lambda mod, args, kwargs: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple of "
                                           r"\(new_args, new_kwargs\), but got 3."):
        lin(m.ones(1, 2))


@both
def test_hook_handle_as_context_manager(m):
    lin = m.nn.Linear(2, 2)
    seen = []
    with lin.register_forward_hook(lambda *a: seen.append(1)):
        lin(m.ones(1, 2))
    lin(m.ones(1, 2))
    assert seen == [1]


def _values(grads):
    return [None if g is None else values_of(g).tolist() for g in grads]


def _run_backward_hooks(m, build, inputs, use):
    """Build a module, hook it with both full hooks, run ``use(outputs).backward()``; return the
    log of what the hooks saw and the inputs' gradients."""
    log = []
    mod = build(m)
    mod.register_full_backward_pre_hook(lambda mod, gout: log.append(("pre", _values(gout))))
    mod.register_full_backward_hook(
        lambda mod, gin, gout: log.append(("hook", _values(gin), _values(gout))))
    args = [m.tensor(a, requires_grad=rg) if isinstance(a, np.ndarray) else a
            for a, rg in inputs]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        use(mod(*args)).backward()
    grads = [values_of(a.grad).tolist() if isinstance(a, m.Tensor) and a.grad is not None
             else None for a in args]
    return log, grads, [str(w.message)[:40] for w in caught]


def _linear(m):
    m.manual_seed(0)
    return m.nn.Linear(3, 2)


def _multi(m):
    class Multi(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = m.nn.Parameter(m.tensor([1.0, 2.0]))

        def forward(self, x, y, k=3):
            return x * self.w, y * 3 + x, k

    return Multi()


X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], dtype=np.float32)
V = np.array([1.0, -2.0], dtype=np.float32)


@needs_torch
@pytest.mark.parametrize("build, inputs, use", [
    (_linear, [(X, True)], lambda out: (out * out).sum()),
    (_linear, [(X, False)], lambda out: out.sum()),  # no input requires grad: fires at outputs
    (_multi, [(V, True), (V, False), (4, None)], lambda out: out[0].sum()),
    (_multi, [(V, True), (V, True)], lambda out: (out[1] * 2).sum()),
    (_multi, [(V, True), (V, True)], lambda out: (out[0] + out[1]).sum()),
    (_multi, [(V, False), (V, True), ("k", None)], lambda out: out[1].sum()),
], ids=["linear", "linear-no-input-grad", "multi-first", "multi-second", "multi-both",
        "multi-second-only"])
def test_full_backward_hooks_see_torchs_gradients(build, inputs, use):
    got = _run_backward_hooks(nbtorch, build, inputs, use)
    want = _run_backward_hooks(real_torch, build, inputs, use)
    assert _close(got[0], want[0]), (got[0], want[0])
    assert _close(got[1], want[1])
    assert got[2] == want[2]


def _close(a, b) -> bool:
    """Nested lists/tuples of floats equal to float32 rounding."""
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(
            _close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return isinstance(b, float) and abs(a - b) <= 1e-5 * (1 + abs(b))
    return a == b


@both
def test_full_backward_hooks_replace_gradients(m):
    lin = m.nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 10,))
    x = m.ones(1, 2, requires_grad=True)
    lin(x).sum().backward()
    expected = values_of(lin.weight).sum(0) * 10
    np.testing.assert_allclose(values_of(x.grad)[0], expected, rtol=1e-6)

    lin2 = m.nn.Linear(2, 2)
    lin2.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 10,))
    x = m.ones(1, 2, requires_grad=True)
    lin2(x).sum().backward()
    np.testing.assert_allclose(values_of(x.grad)[0], values_of(lin2.weight).sum(0) * 10,
                               rtol=1e-6)
    np.testing.assert_allclose(values_of(lin2.bias.grad), [10.0, 10.0])


@both
def test_full_backward_hook_wrong_length(m):
    lin = m.nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda mod, gin, gout: (gin[0], gin[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                           "grad_input, got 2, but expected 1"):
        lin(m.ones(1, 2, requires_grad=True)).sum().backward()


@both
def test_backward_hooks_fire_from_the_output_side_inwards(m):
    net = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.Linear(3, 1))
    order = []
    for name, mod in [("outer", net), ("first", net[0]), ("second", net[1])]:
        mod.register_full_backward_pre_hook(lambda mod, g, name=name: order.append(name + "-pre"))
        mod.register_full_backward_hook(lambda mod, gi, go, name=name: order.append(name))
    net(m.ones(4, 2, requires_grad=True)).sum().backward()
    assert order == ["outer-pre", "second-pre", "second", "first-pre", "first", "outer"]


@both
def test_full_and_legacy_backward_hooks_do_not_mix(m):
    lin = m.nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full "
                                           "backward hooks on a single Module"):
        lin.register_backward_hook(lambda *a: None)


@needs_torch
def test_legacy_backward_hook_sees_the_last_nodes_gradients():
    def run(m):
        m.manual_seed(0)
        lin = m.nn.Linear(3, 2)
        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lin.register_backward_hook(
                lambda mod, gin, gout: seen.append((_values(gin), _values(gout))))
            lin(m.tensor(X, requires_grad=True)).sum().backward()
        return seen

    got, want = run(nbtorch), run(real_torch)
    assert len(got) == len(want) == 1
    # PyTorch's addmm node sends (bias, mat1, mat2ᵀ) gradients; nbtorch's fused node sends
    # (input, weight, bias): the same values, in the order of F.linear's arguments.
    assert _close(got[0][1], want[0][1])


def test_module_events_are_emitted_when_listened():
    from nbtorch.autograd import events

    seen = []
    lin = nbtorch.nn.Linear(2, 2)
    with events.listen(seen.append):
        lin(nbtorch.ones(1, 2))
    calls = [e for e in seen if isinstance(e, events.ModuleCall)]
    assert [c.entered for c in calls] == [True, False]
    assert calls[0].type_name == "Linear"


def test_global_hooks():
    from nbtorch.nn.modules import module as module_mod

    seen = []
    handles = [
        module_mod.register_module_forward_pre_hook(lambda mod, args: seen.append("pre")),
        module_mod.register_module_forward_hook(lambda mod, args, out: seen.append("post")),
        module_mod.register_module_full_backward_hook(lambda mod, gi, go: seen.append("bw")),
    ]
    try:
        lin = nbtorch.nn.Linear(2, 2)
        lin(nbtorch.ones(1, 2, requires_grad=True)).sum().backward()
    finally:
        for h in handles:
            h.remove()
    assert seen == ["pre", "post", "bw"]
    lin(nbtorch.ones(1, 2))
    assert seen == ["pre", "post", "bw"]


# --- modes and conversions -----------------------------------------------------------------------
@both
def test_train_eval_recurse_through_children(m):
    class Custom(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = []
            self.lin = m.nn.Linear(1, 1)

        def train(self, mode=True):
            self.calls.append(mode)
            return super().train(mode)

    net = m.nn.Sequential(Custom(), m.nn.Linear(1, 1))
    assert net.training and net[1].training
    assert net.eval() is net
    assert not net.training and not net[0].lin.training and not net[1].training
    assert net[0].calls == [False]
    net.train()
    assert net[0].lin.training and net[0].calls == [False, True]


@both
def test_to_double_float_half_keep_parameter_objects(m):
    net = make_net(m)
    weight = net.embed.weight
    net.embed.weight.grad = m.ones(4, 3)
    assert net.double() is net
    assert net.embed.weight is weight and weight.dtype == m.float64
    assert weight.grad.dtype == m.float64
    assert net.blocks[0].steps.dtype == m.float64
    assert net.blocks[0].scratch.dtype == m.float64
    net.float()
    assert weight.dtype == m.float32
    net.half()
    assert weight.dtype == m.float16
    net.to(m.float32)
    assert weight.dtype == m.float32
    net.to("cpu", m.float64)
    assert weight.dtype == m.float64
    net.to(m.zeros(1))  # a tensor gives dtype and device
    assert weight.dtype == m.float32
    assert net.cpu() is net
    assert net.type(m.float64) is net and weight.dtype == m.float64


@both
def test_to_leaves_integer_buffers_alone(m):
    mod = m.nn.Module()
    mod.register_buffer("count", m.tensor([3]))
    mod.to(m.float64)
    assert mod.count.dtype == m.int64


@both
def test_zero_grad_and_requires_grad(m):
    lin = m.nn.Linear(2, 2)
    lin(m.ones(1, 2)).sum().backward()
    grad = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is grad and not values_of(grad).any()
    lin.zero_grad()
    assert lin.weight.grad is None
    assert lin.requires_grad_(False) is lin
    assert not lin.weight.requires_grad and not lin.bias.requires_grad


@both
def test_apply_visits_children_first(m):
    net = m.nn.Sequential(m.nn.Linear(1, 1), m.nn.Sequential(m.nn.Linear(1, 1)))
    order = []
    net.apply(lambda mod: order.append(type(mod).__name__))
    assert order == ["Linear", "Linear", "Sequential", "Sequential"]

    def init(mod):
        if isinstance(mod, m.nn.Linear):
            m.nn.init.constant_(mod.weight, 0.5)

    net.apply(init)
    assert values_of(net[1][0].weight).tolist() == [[0.5]]


@both
def test_deepcopy_keeps_parameters_and_sharing(m):
    net = m.nn.Sequential(m.nn.Linear(2, 2), m.nn.Linear(2, 2))
    net[1].weight = net[0].weight
    net[0].weight.grad = m.ones(2, 2)
    clone = copy.deepcopy(net)
    assert isinstance(clone[0].weight, m.nn.Parameter)
    assert clone[0].weight is clone[1].weight
    assert clone[0].weight is not net[0].weight
    assert clone[0].weight.data_ptr() != net[0].weight.data_ptr()
    assert np.array_equal(values_of(clone[0].weight), values_of(net[0].weight))
    assert clone[0].weight.grad is None  # as PyTorch: Parameter.__deepcopy__ drops .grad
    assert clone[0].weight.requires_grad
    assert [n for n, _ in clone.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    with m.no_grad():
        clone[0].weight.fill_(3.0)
    assert not (values_of(net[0].weight) == 3.0).all()


def test_deepcopy_gives_a_new_module_identity():
    lin = nbtorch.nn.Linear(1, 1)
    assert copy.deepcopy(lin)._module_id != lin._module_id


@both
def test_dir_lists_registered_names(m):
    net = make_net(m)
    names = dir(net)
    assert {"embed", "blocks", "mean", "forward"} <= set(names)
    assert names == sorted(names)


@both
def test_module_in_no_grad_produces_no_graph(m):
    lin = m.nn.Linear(2, 2)
    with m.no_grad():
        out = lin(m.ones(1, 2))
    assert out.grad_fn is None and not out.requires_grad
