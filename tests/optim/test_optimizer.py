"""Tests of nbtorch/optim/optimizer.py (the base class): parameter groups and their errors,
zero_grad, skipped None gradients, state_dict/load_state_dict in PyTorch's format, closures,
hooks, the OptimizerStep event, repr, and a user-written optimizer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import events
from tests.helpers import assert_same_error, both, needs_torch, real_torch, values_of
from tests.optim._common import (
    assert_same_state_dict,
    assert_same_trajectory,
    loss_of,
    make_params,
    to_nbtorch,
    trajectory,
)


def params(m, n=2):
    return [m.nn.Parameter(m.ones(2) * (i + 1)) for i in range(n)]


# --- parameter groups ----------------------------------------------------------------------------
@both
def test_iterable_of_tensors_becomes_one_group_with_the_defaults(m):
    a, b = params(m)
    opt = m.optim.SGD((p for p in (a, b)), lr=0.1, momentum=0.9)  # any iterable, e.g. a generator
    assert len(opt.param_groups) == 1
    group = opt.param_groups[0]
    assert group["params"][0] is a and group["params"][1] is b
    assert list(group) == ["params", "lr", "momentum", "dampening", "weight_decay", "nesterov",
                           "maximize", "foreach", "differentiable", "fused"]
    assert group["lr"] == 0.1 and group["momentum"] == 0.9


@both
def test_groups_keep_their_own_options(m):
    a, b = params(m)
    opt = m.optim.Adam([{"params": [a]}, {"params": b, "lr": 0.5, "betas": (0.5, 0.9)}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["betas"] for g in opt.param_groups] == [(0.9, 0.999), (0.5, 0.9)]
    assert opt.param_groups[1]["params"][0] is b  # a lone tensor becomes a list


@both
def test_named_parameters(m):
    a, b = params(m)
    opt = m.optim.SGD([("a", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["a", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["a", "b"]


@both
def test_add_param_group(m):
    a, b = params(m)
    opt = m.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["momentum"] == 0.9


@needs_torch
@pytest.mark.parametrize("name, options", [("SGD", {"momentum": 0.9}), ("Adam", {}),
                                           ("RMSprop", {"centered": True}), ("Adagrad", {})])
def test_groups_with_different_lrs_follow_torch(name, options, device):
    def make(m, ps):
        return getattr(m.optim, name)([{"params": [ps[0]], "lr": 0.05},
                                       {"params": ps[1:], "lr": 0.01}], lr=0.02, **options)

    got, opt, _ = trajectory(nbtorch, make, device=device)
    want, topt, _ = trajectory(real_torch, make)
    assert_same_trajectory(got, want)
    assert_same_state_dict(opt.state_dict(), topt.state_dict())


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.optim.SGD([]), ValueError, "optimizer got an empty parameter list"),
    (lambda m: m.optim.SGD(m.nn.Parameter(m.ones(1))), TypeError,
     "params argument given to the optimizer should be an iterable of Tensors or dicts, "
     "but got torch.FloatTensor"),
    (lambda m: m.optim.SGD([m.nn.Parameter(m.ones(1)), 1]), TypeError,
     "optimizer can only optimize Tensors, but one of the params is int"),
    (lambda m: m.optim.SGD([m.nn.Parameter(m.ones(1)) * 2]), ValueError,
     "can't optimize a non-leaf Tensor"),
    (lambda m: m.optim.SGD([{"params": {m.nn.Parameter(m.ones(1))}}]), TypeError,
     "optimizer parameters need to be organized in ordered collections, but the ordering of "
     "tensors in sets will change between runs. Please use a list instead."),
    (lambda m: m.optim.SGD([("a", m.nn.Parameter(m.ones(1))), m.nn.Parameter(m.ones(1))]),
     ValueError, "all optimizer params should be with/without names. Some param names are "
     "missing"),
    (lambda m: m.optim.SGD([m.nn.Parameter(m.ones(1))]).add_param_group([]), TypeError,
     "param_group must be a dict, but got <class 'list'>"),
])
def test_group_errors(make, error, message):
    assert_same_error(make, error, message)


def test_a_parameter_in_two_groups():
    def make(m):
        p = m.nn.Parameter(m.ones(1))
        return m.optim.SGD([{"params": [p]}, {"params": [p]}])

    assert_same_error(make, ValueError, "some parameters appear in more than one parameter group")

    def added(m):
        p = m.nn.Parameter(m.ones(1))
        m.optim.SGD([p]).add_param_group({"params": p})

    assert_same_error(added, ValueError, "some parameters appear in more than one parameter group")


def test_required_option():
    from nbtorch.optim.optimizer import required

    p = nbtorch.nn.Parameter(nbtorch.ones(1))
    with pytest.raises(ValueError, match="parameter group didn't specify a value of required "
                                         "optimization parameter lr"):
        nbtorch.optim.Optimizer([p], {"lr": required})


def test_duplicate_parameters_warn():
    p = nbtorch.nn.Parameter(nbtorch.ones(1))
    with pytest.warns(UserWarning, match="duplicate parameters"):
        nbtorch.optim.SGD([p, p])


def test_parameters_of_a_module():
    class Model(nbtorch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nbtorch.nn.Parameter(nbtorch.ones(2))
            self.b = nbtorch.nn.Parameter(nbtorch.zeros(1))

    model = Model()
    opt = nbtorch.optim.SGD(model.parameters(), lr=0.5)
    (model.w.sum() + model.b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(values_of(model.w), [0.5, 0.5])
    np.testing.assert_allclose(values_of(model.b), [-0.5])
    model.double()  # the optimizer keeps the same Parameter objects, which now hold float64
    opt.zero_grad()
    model.w.sum().backward()
    opt.step()
    assert model.w.dtype == nbtorch.float64
    np.testing.assert_allclose(values_of(model.w), [0.0, 0.0])


# --- stepping ------------------------------------------------------------------------------------
@both
def test_zero_grad(m):
    a, b = params(m)
    opt = m.optim.SGD([a, b], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.zero_grad(set_to_none=False)
    assert np.all(values_of(a.grad) == 0) and np.all(values_of(b.grad) == 0)
    opt.zero_grad()
    assert a.grad is None and b.grad is None


@both
def test_parameters_without_grad_are_skipped(m):
    for name in ("SGD", "Adam", "AdamW", "RMSprop"):
        a, b = params(m)
        opt = getattr(m.optim, name)([a, b], lr=0.1, **({"momentum": 0.9} if name == "SGD"
                                                          else {}))
        a.sum().backward()
        opt.step()
        np.testing.assert_array_equal(values_of(b), [2.0, 2.0])
        assert b not in opt.state and list(opt.state_dict()["state"]) == [0]


def test_closure_runs_with_grad_enabled_and_its_loss_is_returned():
    w = nbtorch.nn.Parameter(nbtorch.tensor([2.0]))
    opt = nbtorch.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with nbtorch.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(values_of(w), [1.0])


def test_base_step_is_abstract():
    opt = nbtorch.optim.Optimizer([nbtorch.nn.Parameter(nbtorch.ones(1))], {})
    with pytest.raises(NotImplementedError):
        opt.step()


def test_a_user_written_optimizer():
    class SignSGD(nbtorch.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        @nbtorch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad.sign(), alpha=-group["lr"])
                        self.state[p]["count"] = self.state[p].get("count", 0) + 1

    class Twice(SignSGD):
        def step(self, closure=None):  # calls the parent's (hooked) step: hooks still run once
            super().step(closure)

    w = nbtorch.nn.Parameter(nbtorch.tensor([1.0, -1.0]))
    opt = Twice([w], lr=0.5)
    calls = []
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(1))
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(values_of(w), [0.5, -0.5])
    assert calls == [1] and opt.state[w]["count"] == 1 and w.grad_fn is None
    assert repr(opt) == "Twice (\nParameter Group 0\n    lr: 0.5\n)"


# --- hooks and events ----------------------------------------------------------------------------
def test_step_hooks():
    w = nbtorch.nn.Parameter(nbtorch.ones(1))
    opt = nbtorch.optim.SGD([w], lr=0.1)
    seen = []
    pre = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", o, args)))
    post = opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", o, args)))
    w.sum().backward()
    opt.step()
    assert seen == [("pre", opt, ()), ("post", opt, ())]
    pre.remove()
    post.remove()
    opt.step()
    assert len(seen) == 2


def test_pre_hook_can_replace_the_arguments():
    w = nbtorch.nn.Parameter(nbtorch.ones(1))
    opt = nbtorch.optim.SGD([w], lr=0.1)
    opt.register_step_pre_hook(lambda o, args, kwargs: ((lambda: "replaced",), {}))
    assert opt.step() == "replaced"
    opt2 = nbtorch.optim.SGD([nbtorch.nn.Parameter(nbtorch.ones(1))], lr=0.1)
    opt2.register_step_pre_hook(lambda o, args, kwargs: 3)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        opt2.step()


def test_global_hooks():
    from nbtorch.optim.optimizer import (
        register_optimizer_step_post_hook,
        register_optimizer_step_pre_hook,
    )

    seen = []
    with register_optimizer_step_pre_hook(lambda o, a, k: seen.append("pre")), \
            register_optimizer_step_post_hook(lambda o, a, k: seen.append("post")):
        nbtorch.optim.Adam([nbtorch.nn.Parameter(nbtorch.ones(1))]).step()
    nbtorch.optim.Adam([nbtorch.nn.Parameter(nbtorch.ones(1))]).step()
    assert seen == ["pre", "post"]


def test_state_dict_hooks():
    w = nbtorch.nn.Parameter(nbtorch.ones(1))
    opt = nbtorch.optim.SGD([w], lr=0.1)
    order = []
    opt.register_state_dict_pre_hook(lambda o: order.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    assert opt.state_dict()["extra"] == 1 and order == ["pre"]
    opt.register_load_state_dict_pre_hook(lambda o, sd: order.append("load-pre"))
    opt.register_load_state_dict_post_hook(lambda o: order.append("load-post"), prepend=True)
    opt.load_state_dict(opt.state_dict())
    assert order == ["pre", "pre", "load-pre", "load-post"]


def test_optimizer_step_event():
    w = nbtorch.nn.Parameter(nbtorch.ones(1))
    opt = nbtorch.optim.Adam([w])
    w.sum().backward()
    opt.step()  # nobody listens: nothing to see
    seen = []
    with events.listen(seen.append):
        opt.step()
        opt.step()
    assert seen == [events.OptimizerStep(optimizer_id=id(opt), step=2),
                    events.OptimizerStep(optimizer_id=id(opt), step=3)]


# --- state dicts ---------------------------------------------------------------------------------
def _stepped(m, name="SGD", **options):
    ps = make_params(m)
    opt = getattr(m.optim, name)([{"params": ps[:1], "lr": 0.1},
                                  {"params": ps[1:], "lr": 0.01}], **options)
    trajectory(m, None, steps=3, opt=opt, params=ps)
    return opt, ps


def test_state_dict_format():
    opt, ps = _stepped(nbtorch, momentum=0.9)
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2]]
    assert list(sd["state"]) == [0, 1]  # the unused third parameter has no state
    assert sd["state"][0] is opt.state[ps[0]]  # live, as PyTorch's
    assert opt.param_groups[0]["params"][0] is ps[0]  # packing did not touch the groups


@needs_torch
@pytest.mark.parametrize("name, options", [("SGD", {"momentum": 0.9}),
                                           ("Adam", {"amsgrad": True}),
                                           ("RMSprop", {"momentum": 0.5, "centered": True}),
                                           ("Adagrad", {"lr_decay": 0.1})])
def test_state_dict_matches_torch(name, options):
    nb, _ = _stepped(nbtorch, name, **options)
    th, _ = _stepped(real_torch, name, **options)
    assert_same_state_dict(nb.state_dict(), th.state_dict())


def test_load_state_dict_restores_options_and_casts():
    opt, _ = _stepped(nbtorch, "Adam")
    sd = opt.state_dict()
    ps = make_params(nbtorch, "float64")
    fresh = nbtorch.optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.5)
    fresh.load_state_dict(sd)
    assert [g["lr"] for g in fresh.param_groups] == [0.1, 0.01]
    assert fresh.param_groups[0]["params"][0] is ps[0]
    state = fresh.state[ps[0]]
    assert state["exp_avg"].dtype == nbtorch.float64  # cast to the parameter's dtype
    assert state["step"].dtype == nbtorch.float32  # the step counter keeps its own
    np.testing.assert_allclose(values_of(state["exp_avg"]),
                               values_of(opt.state[opt.param_groups[0]["params"][0]]["exp_avg"]))
    assert state["exp_avg"]._data is not sd["state"][0]["exp_avg"]._data


@needs_torch
def test_load_a_state_dict_saved_by_torch():
    th, _ = _stepped(real_torch, "SGD", momentum=0.9)
    opt, ps = _stepped(nbtorch, "SGD", momentum=0.5)
    opt.load_state_dict(to_nbtorch(th.state_dict()))
    assert opt.param_groups[0]["momentum"] == 0.9
    assert_same_state_dict(opt.state_dict(), th.state_dict())


@pytest.mark.parametrize("saved, message", [
    ({"state": {}, "param_groups": []},
     "loaded state dict has a different number of parameter groups"),
    ({"state": {}, "param_groups": [{"params": [0, 1]}]},
     "loaded state dict contains a parameter group that doesn't match the size of optimizer's "
     "group"),
])
def test_load_state_dict_errors(saved, message):
    assert_same_error(lambda m: m.optim.SGD([m.nn.Parameter(m.ones(1))]).load_state_dict(saved),
                      ValueError, message)


# --- repr ----------------------------------------------------------------------------------------
def test_repr():
    a, b = params(nbtorch)
    opt = nbtorch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert repr(opt) == (
        "SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n"
        "    foreach: None\n    fused: None\n    lr: 0.1\n    maximize: False\n    momentum: 0\n"
        "    nesterov: False\n    weight_decay: 0\n\nParameter Group 1\n    dampening: 0\n"
        "    differentiable: False\n    foreach: None\n    fused: None\n    lr: 0.5\n"
        "    maximize: False\n    momentum: 0\n    nesterov: False\n    weight_decay: 0\n)")


@needs_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_repr_matches_torch_with_a_scheduler(name):
    def text(m):
        opt = getattr(m.optim, name)(params(m, 1), lr=0.1)
        m.optim.lr_scheduler.StepLR(opt, 2)  # adds initial_lr to the group
        return repr(opt)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert text(nbtorch) == text(real_torch)


@pytest.mark.parametrize("name, options", [
    ("SGD", {"momentum": 0.9, "weight_decay": 0.1}), ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {"amsgrad": True}), ("AdamW", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"weight_decay": 0.1})])
def test_scalar_parameters(name, options):
    """y = a·x + b with 0-d parameters, the classic first example."""

    def fit(m):
        a, b = m.nn.Parameter(m.tensor(0.5)), m.nn.Parameter(m.tensor(-0.2))
        x = m.tensor([0.0, 1.0, 2.0, 3.0])
        opt = getattr(m.optim, name)([a, b], lr=0.05, **options)
        for _ in range(10):
            opt.zero_grad()
            ((a * x + b - (2 * x + 1)) ** 2).mean().backward()
            opt.step()
        assert a.shape == () and all(v.shape == () for v in opt.state[a].values())
        return [a.item(), b.item()]

    got = fit(nbtorch)
    if real_torch is not None:
        np.testing.assert_allclose(got, fit(real_torch), rtol=1e-5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_numpy_and_tensor_hyperparameters(name):
    """A numpy float64 lr does not turn the float32 update into float64 math; a one-element
    tensor lr works as in PyTorch (and a scheduler updates it in place)."""

    def fit(m, lr):
        ps = make_params(m)
        opt = getattr(m.optim, name)(ps, lr=lr(m))
        sched = m.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
        out = []
        for _ in range(5):
            opt.zero_grad()
            loss_of(m, ps).backward()
            opt.step()
            sched.step()
            out.append(values_of(ps[0]).copy())
        return out

    plain = fit(nbtorch, lambda m: 0.05)
    assert plain[-1].dtype == np.float32
    np.testing.assert_array_equal(fit(nbtorch, lambda m: np.float64(0.05)), plain)
    as_tensor = fit(nbtorch, lambda m: m.tensor(0.05))  # lr is float32(0.05) then
    np.testing.assert_allclose(as_tensor, plain, rtol=1e-5)
    if real_torch is not None:
        np.testing.assert_allclose(fit(real_torch, lambda m: m.tensor(0.05)), as_tensor, rtol=1e-5)
