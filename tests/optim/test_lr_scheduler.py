"""Tests of nbtorch/optim/lr_scheduler.py: learning-rate (and momentum) trajectories over 30 steps
against PyTorch's, exactly, for every scheduler and for chains of them; the recursive forms
against the closed forms; ReduceLROnPlateau with scripted metrics; state dicts; errors and
warnings."""

from __future__ import annotations

import math
import warnings

import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch

STEPS = 30
S = "lr_scheduler"


def make_optimizer(m, name="SGD"):
    ps = [m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(2))]
    groups = [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.05}]
    if name == "SGD":
        return m.optim.SGD(groups, lr=0.1, momentum=0.9)
    return getattr(m.optim, name)(groups, lr=0.1)


def momenta(opt):
    return tuple(g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups)


def run(m, make_scheduler, steps=STEPS, optimizer="SGD", metrics=None):
    """(lrs, momenta, get_last_lr) after building the scheduler and after each step."""
    opt = make_optimizer(m, optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right call order gives no warning
        sched = make_scheduler(m, opt)
        out = [(tuple(g["lr"] for g in opt.param_groups), momenta(opt),
                tuple(sched.get_last_lr()))]
        for i in range(steps):
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[i])
            out.append((tuple(g["lr"] for g in opt.param_groups), momenta(opt),
                        tuple(sched.get_last_lr())))
    return out, sched, opt


def lr(m):
    return getattr(m.optim, S)


CASES = {
    "LambdaLR": lambda m, o: lr(m).LambdaLR(o, lambda e: 0.95 ** e),
    "LambdaLR-per-group": lambda m, o: lr(m).LambdaLR(o, [lambda e: 1 / (e + 1),
                                                          lambda e: 0.9 ** e]),
    "MultiplicativeLR": lambda m, o: lr(m).MultiplicativeLR(o, lambda e: 0.9),
    "StepLR": lambda m, o: lr(m).StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: lr(m).MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3),
    "ConstantLR": lambda m, o: lr(m).ConstantLR(o, factor=0.25, total_iters=6),
    "LinearLR": lambda m, o: lr(m).LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12),
    "ExponentialLR": lambda m, o: lr(m).ExponentialLR(o, gamma=0.9),
    "PolynomialLR": lambda m, o: lr(m).PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingLR": lambda m, o: lr(m).CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda m, o: lr(m).CosineAnnealingWarmRestarts(
        o, T_0=4, T_mult=2, eta_min=0.002),
    "CyclicLR": lambda m, o: lr(m).CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4,
                                            step_size_down=6),
    "CyclicLR-triangular2": lambda m, o: lr(m).CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                        mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: lr(m).CyclicLR(o, 0.01, 0.1, step_size_up=5,
                                                      mode="exp_range", gamma=0.97,
                                                      cycle_momentum=False),
    "OneCycleLR": lambda m, o: lr(m).OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS),
    "OneCycleLR-linear-three_phase": lambda m, o: lr(m).OneCycleLR(
        o, max_lr=0.3, epochs=5, steps_per_epoch=6, anneal_strategy="linear", three_phase=True,
        pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
    # chains: two schedulers on one optimizer compose through group["lr"]
    "StepLR+ExponentialLR": lambda m, o: (lr(m).StepLR(o, 5), lr(m).ExponentialLR(o, 0.95))[1],
    "ChainedScheduler": lambda m, o: lr(m).ChainedScheduler(
        [lr(m).ConstantLR(o, factor=0.5, total_iters=4), lr(m).ExponentialLR(o, gamma=0.9)]),
    "SequentialLR": lambda m, o: lr(m).SequentialLR(
        o, [lr(m).LinearLR(o, start_factor=0.1, total_iters=5),
            lr(m).CosineAnnealingLR(o, T_max=15), lr(m).StepLR(o, 3, 0.5)],
        milestones=[5, 20]),
}


@needs_torch
@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_matches_torch(case):
    got, sched, _ = run(nbtorch, CASES[case])
    want, tsched, _ = run(real_torch, CASES[case])
    assert got == want  # the same float operations in the same order: exactly equal
    assert_same_scheduler_state(sched.state_dict(), tsched.state_dict())


@needs_torch
@pytest.mark.parametrize("case", ["CyclicLR", "OneCycleLR"])
def test_beta1_cycles_for_adam(case):
    got, _, _ = run(nbtorch, CASES[case], optimizer="Adam")
    want, _, _ = run(real_torch, CASES[case], optimizer="Adam")
    assert got == want


@pytest.mark.parametrize("case", ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
                                  "ExponentialLR", "PolynomialLR", "CosineAnnealingLR"])
def test_recursive_form_follows_the_closed_form(case):
    out, sched, _ = run(nbtorch, CASES[case])
    for epoch, (lrs, _, _) in enumerate(out):
        sched.last_epoch = epoch
        for got, want in zip(lrs, sched._get_closed_form_lr()):
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-15), (epoch, got, want)


def test_cosine_annealing_closed_form_values():
    out, _, _ = run(nbtorch, lambda m, o: lr(m).CosineAnnealingLR(o, T_max=10), steps=20)
    for t, (lrs, _, _) in enumerate(out):
        want = 0.1 * (1 + math.cos(math.pi * t / 10)) / 2
        assert math.isclose(lrs[0], want, abs_tol=1e-12), t


def test_initial_lr_and_base_lrs():
    opt = make_optimizer(nbtorch)
    sched = lr(nbtorch).StepLR(opt, 2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.base_lrs == [0.1, 0.05] and sched.last_epoch == 0
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups"):
        lr(nbtorch).StepLR(make_optimizer(nbtorch), 2, last_epoch=3)


# --- ReduceLROnPlateau ---------------------------------------------------------------------------
PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.89999, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85,
                   0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2,
                   0.2, 0.2, 0.2]
PLATEAU = {
    "defaults-patience2": {"patience": 2},
    "patience0": {"patience": 0, "factor": 0.5},
    "abs-threshold": {"patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
    "cooldown": {"patience": 1, "cooldown": 3, "factor": 0.5},
    "min_lr-per-group": {"patience": 0, "factor": 0.5, "min_lr": [0.01, 0.02]},
    "max-mode": {"mode": "max", "patience": 1, "factor": 0.5},
    "max-abs": {"mode": "max", "threshold_mode": "abs", "threshold": 0.01, "patience": 0},
    "eps": {"patience": 0, "factor": 0.99, "eps": 1e-3},
}


@pytest.mark.parametrize("case", list(PLATEAU))
def test_reduce_lr_on_plateau(case):
    def make(m, o):
        return lr(m).ReduceLROnPlateau(o, **PLATEAU[case])

    metrics = PLATEAU_METRICS
    got, sched, _ = run(nbtorch, make, metrics=metrics)
    if case == "patience0":  # worked by hand: each non-improving epoch halves the lr
        assert got[3][0] == (0.05, 0.025)
    if real_torch is not None:
        want, tsched, _ = run(real_torch, make, metrics=metrics)
        assert got == want
        assert_same_scheduler_state(sched.state_dict(), tsched.state_dict())


def test_reduce_lr_on_plateau_accepts_a_tensor_metric_and_resumes():
    opt = make_optimizer(nbtorch)
    sched = lr(nbtorch).ReduceLROnPlateau(opt, patience=0, factor=0.5)
    for v in (1.0, 2.0, 3.0):
        sched.step(nbtorch.tensor(v))
    assert sched.get_last_lr() == [0.025, 0.0125]
    fresh = lr(nbtorch).ReduceLROnPlateau(make_optimizer(nbtorch), mode="max")
    fresh.load_state_dict(sched.state_dict())
    assert fresh.mode == "min" and fresh.best == 1.0 and fresh.num_bad_epochs == 0


# --- state dicts ---------------------------------------------------------------------------------
def assert_same_scheduler_state(nb, th):
    assert list(nb) == list(th)
    for key, value in th.items():
        if key == "_schedulers":
            for a, b in zip(nb[key], value):
                assert_same_scheduler_state(a, b)
        elif key in ("_scale_fn_ref",):
            continue
        else:
            assert nb[key] == value, key


@pytest.mark.parametrize("case", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "CyclicLR",
                                  "SequentialLR", "ChainedScheduler", "LinearLR"])
def test_resume_from_state_dict(case):
    full, _, _ = run(nbtorch, CASES[case])
    first, sched, opt = run(nbtorch, CASES[case], steps=12)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    opt2 = make_optimizer(nbtorch)
    sched2 = CASES[case](nbtorch, opt2)
    opt2.load_state_dict(saved_opt)  # after building the scheduler, as PyTorch advises
    sched2.load_state_dict(saved)
    rest = []
    for _ in range(STEPS - 12):
        opt2.step()
        sched2.step()
        rest.append((tuple(g["lr"] for g in opt2.param_groups), momenta(opt2),
                     tuple(sched2.get_last_lr())))
    assert first + rest == full


def test_lambda_state_dict_keeps_callable_objects_only():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate ** epoch

    opt = make_optimizer(nbtorch)
    sched = lr(nbtorch).LambdaLR(opt, [Decay(), lambda e: 1.0])
    sched.lr_lambdas[0].rate = 0.25
    saved = sched.state_dict()
    assert saved["lr_lambdas"] == [{"rate": 0.25}, None]
    other = lr(nbtorch).LambdaLR(make_optimizer(nbtorch), [Decay(), lambda e: 1.0])
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].rate == 0.25 and "lr_lambdas" in saved


# --- deprecated step(epoch), warnings, errors ----------------------------------------------------
@needs_torch
@pytest.mark.parametrize("case", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "LinearLR",
                                  "CosineAnnealingWarmRestarts"])
def test_step_with_an_epoch_uses_the_closed_form(case):
    def lrs(m):
        opt = make_optimizer(m)
        sched = CASES[case](m, opt)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 8, 5, 17, 11):
                opt.step()
                sched.step(epoch)
                out.append(sched.get_last_lr())
        return out

    assert lrs(nbtorch) == lrs(real_torch)


def test_scheduler_step_before_optimizer_step_warns():
    opt = make_optimizer(nbtorch)
    sched = lr(nbtorch).StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before "
                                         r"`optimizer.step\(\)`"):
        sched.step()


def test_get_lr_outside_step_warns():
    sched = lr(nbtorch).StepLR(make_optimizer(nbtorch), 2)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_one_cycle_past_the_end():
    def make(m):
        opt = make_optimizer(m)
        sched = m.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=2)
        for _ in range(3):
            opt.step()
            sched.step()

    assert_same_error(make, ValueError,
                      "Tried to step 3 times. The specified number of total steps is 2")


@pytest.mark.parametrize("make, error, message", [
    (lambda m: lr(m).StepLR(object(), 2), TypeError, "object is not an Optimizer"),
    (lambda m: lr(m).LinearLR(make_optimizer(m), start_factor=0), ValueError,
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    (lambda m: lr(m).LinearLR(make_optimizer(m), end_factor=1.5), ValueError,
     "Ending multiplicative factor expected to be between 0 and 1."),
    (lambda m: lr(m).ConstantLR(make_optimizer(m), factor=2), ValueError,
     "Constant multiplicative factor expected to be between 0 and 1."),
    (lambda m: lr(m).LambdaLR(make_optimizer(m), [lambda e: 1]), ValueError,
     "Expected 2 lr_lambdas, but got 1"),
    (lambda m: lr(m).MultiplicativeLR(make_optimizer(m), 0.5), TypeError,
     "lr_lambda should be a function, but got float"),
    (lambda m: lr(m).ReduceLROnPlateau(make_optimizer(m), factor=1.0), ValueError,
     "Factor should be < 1.0."),
    (lambda m: lr(m).ReduceLROnPlateau(make_optimizer(m), mode="up"), ValueError,
     "mode up is unknown!"),
    (lambda m: lr(m).ReduceLROnPlateau(make_optimizer(m), threshold_mode="x"), ValueError,
     "threshold mode x is unknown!"),
    (lambda m: lr(m).ReduceLROnPlateau(make_optimizer(m), min_lr=[0.1]), ValueError,
     "expected 2 min_lrs, got 1"),
    (lambda m: lr(m).OneCycleLR(make_optimizer(m), 0.1), ValueError,
     "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    (lambda m: lr(m).OneCycleLR(make_optimizer(m), 0.1, total_steps=0), ValueError,
     "Expected positive integer total_steps, but got 0"),
    (lambda m: lr(m).OneCycleLR(make_optimizer(m), 0.1, total_steps=5, pct_start=1), ValueError,
     "Expected float between 0 and 1 pct_start, but got 1"),
    (lambda m: lr(m).OneCycleLR(make_optimizer(m), 0.1, total_steps=5, anneal_strategy="x"),
     ValueError, "anneal_strategy must be one of 'cos' or 'linear', instead got x"),
    (lambda m: lr(m).OneCycleLR(make_optimizer(m, "Adagrad"), 0.1, total_steps=5), ValueError,
     "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"),
    (lambda m: lr(m).OneCycleLR(make_optimizer(m), [0.1], total_steps=5), ValueError,
     "max_lr must have the same length as optimizer.param_groups. max_lr has 1 values, "
     "param_groups has 2."),
    (lambda m: lr(m).CyclicLR(make_optimizer(m), 0.1, 1.0, mode="x"), ValueError,
     "mode is invalid and scale_fn is None"),
    (lambda m: lr(m).CosineAnnealingWarmRestarts(make_optimizer(m), T_0=0), ValueError,
     "Expected positive integer T_0, but got 0"),
    (lambda m: lr(m).SequentialLR(make_optimizer(m), [], milestones=[]), ValueError,
     "SequentialLR expects at least one scheduler, but got no scheduler."),
    (lambda m: lr(m).ChainedScheduler([]), ValueError,
     "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
])
def test_errors(make, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(make, error, message)


def test_sequential_errors():
    def wrong_count(m):
        o = make_optimizer(m)
        lr(m).SequentialLR(o, [lr(m).StepLR(o, 2), lr(m).StepLR(o, 3)], milestones=[1, 2])

    assert_same_error(wrong_count, ValueError,
                      "Sequential Schedulers expects number of schedulers provided to be one more "
                      "than the number of milestone points, but got number of schedulers 2 and "
                      "the number of milestones to be equal to 2")

    def plateau(m):
        o = make_optimizer(m)
        lr(m).SequentialLR(o, [lr(m).StepLR(o, 2), lr(m).ReduceLROnPlateau(o)], milestones=[1])

    assert_same_error(plateau, ValueError,
                      "SequentialLR does not support `ReduceLROnPlateau` scheduler as it requires "
                      "additional kwargs to be specified when calling `step`, but got one at "
                      "index 1 in the given schedulers sequence.")
