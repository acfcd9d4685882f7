"""TrainingMonitor: every point kept, pushes throttled by time, base + tail streams that always add
up to the history, the static picture, and the fixtures of extensions/tests/monitor.test.mjs."""

from __future__ import annotations

import base64
import math
import statistics
import time

import numpy as np
import pytest

pytest.importorskip("anywidget")

import nbtorch as torch  # noqa: E402
from nbtorch.viz import _charts, _live  # noqa: E402
from nbtorch.viz.monitor import TrainingMonitor  # noqa: E402
from tests.viz import fixture_io  # noqa: E402


def decode(state: dict) -> dict[str, tuple[list, list]]:
    """What monitor.js's seriesFromState reads, done in Python: base then tail per series."""

    def f32(b):
        return np.frombuffer(bytes(b), dtype=np.float32)

    st, va = f32(state["steps"]), f32(state["values"])
    ts, tv = f32(state["tail_steps"]), f32(state["tail_values"])
    out, off, toff = {}, 0, 0
    for m in state["series"]:
        n, tn = m["n"], m["tail_n"]
        out[m["name"]] = (np.concatenate([st[off:off + n], ts[toff:toff + tn]]).tolist(),
                          np.concatenate([va[off:off + n], tv[toff:toff + tn]]).tolist())
        off, toff = off + n, toff + tn
    return out


def f32_history(mon) -> dict:
    return {k: (s.astype(np.float32).tolist(), v.astype(np.float32).tolist())
            for k, (s, v) in mon.history.items()}


# --- recording ----------------------------------------------------------------------------------

def test_every_point_is_kept(clock):
    mon = TrainingMonitor()
    for step in range(50):
        clock.t += 0.001
        mon.log(step, train_loss=1.0 / (step + 1))
        if step % 10 == 9:
            mon.log(step, val_loss=2.0 / (step + 1), acc=step / 50)
    steps, values = mon.history["train_loss"]
    assert steps.tolist() == list(range(50))
    assert np.allclose(values, 1.0 / (np.arange(50) + 1))
    assert mon.history["val_loss"][0].tolist() == [9, 19, 29, 39, 49]
    assert list(mon.history) == ["train_loss", "val_loss", "acc"]


def test_step_defaults_to_the_next_one(clock):
    mon = TrainingMonitor()
    for _ in range(3):
        mon.log(loss=1.0)
    mon.log(10, loss=0.5)
    mon.log(loss=0.25)
    assert mon.history["loss"][0].tolist() == [0, 1, 2, 10, 11]


def test_numpy_and_tensor_steps(clock):
    mon = TrainingMonitor(total=4)
    for step in np.arange(2):
        mon.log(step, loss=np.float32(0.5))
    mon.log(torch.tensor(2), loss=1.0)
    mon.log(loss=2.0)
    mon.finish()
    assert mon.status["step"] == 3 and type(mon.status["step"]) is int
    assert mon.history["loss"][0].tolist() == [0, 1, 2, 3]
    assert fixture_io.jsonable(mon.get_state()["status"]) == mon.status


def test_tensors_are_logged_without_item_and_keep_no_graph(clock):
    w = torch.ones(3, requires_grad=True)
    mon = TrainingMonitor()
    loss = (w * 2).sum()
    mon.log(0, loss=loss)
    mon.log(1, loss=torch.tensor([0.5]))
    pending = mon._streams["loss"].pending
    assert not any(isinstance(v, torch.Tensor) for _, v in pending)  # raw arrays: no grad_fn kept
    assert mon.history["loss"][1].tolist() == [6.0, 0.5]
    with pytest.raises(ValueError, match="loss has 3 elements"):
        mon.log(2, loss=w)


def test_metrics_declared_up_front_come_first(clock):
    mon = TrainingMonitor(metrics=["val_loss", "train_loss"])
    mon.log(0, train_loss=1.0)
    assert [m["name"] for m in mon.series] == ["val_loss", "train_loss"]


def test_kinds_and_groups():
    mon = TrainingMonitor(metrics=["train_loss", "val_loss", "loss/test", "acc", "val_acc"])
    meta = [(m["name"], m["kind"], m["group"]) for m in mon.series]
    assert meta == [("train_loss", "train", "loss"), ("val_loss", "val", "loss"),
                    ("loss/test", "val", "loss"), ("acc", "train", "acc"),
                    ("val_acc", "val", "acc")]


def test_bad_smoothing():
    with pytest.raises(ValueError, match="smoothing must be in"):
        TrainingMonitor(smoothing=1.0)


# --- throttling ---------------------------------------------------------------------------------

def test_at_most_ten_pushes_a_second(clock):
    mon = TrainingMonitor(total=1000)
    for step in range(1000):  # 1 ms per step: one second of training
        clock.t += 0.001
        mon.log(step, loss=1.0 / (step + 1))
    assert 9 <= mon.pushes <= 11
    mon.finish()  # the final flush
    assert mon.pushes <= 12
    assert decode(mon.get_state())["loss"] == f32_history(mon)["loss"]
    assert mon.status["done"] and mon.status["logs"] == 1000


def test_no_push_before_the_interval(clock):
    mon = TrainingMonitor()
    mon.log(0, loss=1.0)  # the first log pushes at once: the curve starts without delay
    assert mon.pushes == 1
    for step in range(1, 100):
        clock.t += 0.0009
        mon.log(step, loss=1.0)
    assert mon.pushes == 1  # 89 ms later: still waiting
    clock.t += 0.02
    mon.log(100, loss=1.0)
    assert mon.pushes == 2
    assert sum(m["n"] + m["tail_n"] for m in mon.series) == 101


def test_a_push_is_one_message(clock):
    """All traits of a push change together (hold_sync): the view never sees half an update."""
    mon = TrainingMonitor()
    sent = []
    mon.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(data)
    for step in range(30):
        clock.t += 0.0625  # exact in binary: a push every second log
        mon.log(step, loss=1.0, val_loss=2.0)
    assert len(sent) == mon.pushes == 15
    assert all(msg["method"] == "update" for msg in sent)


def test_the_front_end_always_has_every_point_so_far(clock, monkeypatch):
    """Base + tail after each push equals the history (the tail carries what the base lacks)."""
    monkeypatch.setattr(_live, "SMALL_BYTES", 0)  # take the large-history path at once
    mon = TrainingMonitor()
    fulls = []
    mon.observe(lambda change: fulls.append(clock.t), names=["values"])
    checks = 0
    for step in range(600):
        clock.t += 0.01  # 6 s of training
        before = mon.pushes
        mon.log(step, loss=math.sin(step), val_loss=math.cos(step))
        if mon.pushes != before:
            assert decode(mon.get_state()) == f32_history(mon)
            checks += 1
    assert checks >= 50
    # the base was re-sent about every FULL_SYNC_S seconds, not at every push
    assert 3 <= len(fulls) <= 5, fulls
    assert mon.series[0]["tail_n"] > 0
    mon.flush()
    assert mon.series[0]["tail_n"] == 0 and decode(mon.get_state()) == f32_history(mon)


def test_context_manager_finishes(clock):
    with TrainingMonitor(total=5) as mon:
        for step in range(5):
            mon.log(step, loss=1.0)
    assert mon.status["done"]
    assert decode(mon.get_state())["loss"][0] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_close_flushes_then_closes(clock):
    mon = TrainingMonitor()
    mon.log(0, loss=1.0)
    mon.log(1, loss=2.0)  # not pushed yet
    assert mon.series[0]["n"] + mon.series[0]["tail_n"] == 1
    sent = []
    mon.comm.send = lambda data=None, metadata=None, buffers=None: sent.append(data)
    mon.close()
    assert mon.comm is None
    assert any(m.get("state", {}).get("series", [{}])[0].get("n") == 2 for m in sent
               if m and "state" in m)


def test_points_are_flushed_when_the_cell_ends(clock):
    shell_mod = pytest.importorskip("IPython.core.interactiveshell")
    shell = shell_mod.InteractiveShell.instance()
    try:
        mon = TrainingMonitor()
        mon.log(0, loss=1.0)
        mon.log(1, loss=2.0)
        mon.log(2, loss=3.0)
        assert mon.series[0]["n"] == 1
        shell.run_cell("1 + 1")  # post_run_cell
        assert mon.series[0]["n"] == 3
        callbacks = len(shell.events.callbacks["post_run_cell"])
        mon.close()
        shell.run_cell("2 + 2")  # the closed monitor's callback removes itself
        assert len(shell.events.callbacks["post_run_cell"]) == callbacks - 1
    finally:
        shell_mod.InteractiveShell.clear_instance()


def test_log_costs_microseconds():
    """The hot path: a list append and a clock read (the benchmark measures the real loop)."""
    mon = TrainingMonitor()
    times = []
    for step in range(2000):
        t0 = time.perf_counter()
        mon.log(step, loss=0.5, acc=0.9)
        times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 20e-6


# --- progress and the static picture ----------------------------------------------------------

def test_progress_and_eta(clock):
    mon = TrainingMonitor(total=100)
    assert mon.progress_text() == "waiting for the first log"
    for step in range(41):
        mon.log(step, loss=1.0)
        clock.t += 0.1
    clock.t -= 0.1
    assert mon.eta() == pytest.approx(59 * 0.1)
    assert mon.progress_text() == "41 / 100 steps (41%) · 4s elapsed · ETA 6s"
    mon.finish()
    assert mon.progress_text().endswith("done")


def test_static_picture(clock):
    mon = TrainingMonitor(total=10, title="<MLP>", log_scale=True)
    for step in range(10):
        mon.log(step, train_loss=1.0 / (step + 1), val_loss=2.0 / (step + 1))
        mon.log(step, **{"acc<script>": step / 10})
    svg = mon.to_svg()
    assert svg.count('class="nbt-panel"') == 2  # loss (train + val), acc
    assert svg.count('class="nbt-curve"') == 3
    assert "<script>" not in svg and "acc&lt;script&gt;" in svg and "&lt;MLP&gt;" in svg
    assert 'stroke-dasharray="5 3"' in svg  # the validation curve
    data, _ = mon._repr_mimebundle_()
    assert data["image/svg+xml"] == svg
    assert data["text/html"].startswith('<img class="nbt-static"')
    assert data["text/plain"] == "TrainingMonitor: train_loss, val_loss, acc<script>; step 9"
    assert "application/vnd.jupyter.widget-view+json" in data


def test_refresh_static_flushes_and_updates_the_saved_picture(clock):
    class Handle:
        updates = []

        def update(self, data, **kwargs):
            self.updates.append(data)

    mon = TrainingMonitor()
    mon.__dict__["_static_handles"] = [Handle()]
    mon.log(0, loss=1.0)
    mon.log(1, loss=0.5)
    mon.refresh_static()
    (data,) = Handle.updates
    assert "step 1" in data["text/plain"]
    assert mon.series[0]["n"] == 2


def test_empty_monitor_draws():
    svg = TrainingMonitor().to_svg()
    assert "no data yet" in svg


# --- the front end ------------------------------------------------------------------------------

TICK_CASES = [(0, 1), (0, 10), (-3.7, 12.2), (0.001, 0.0042), (3, 3), (0, 0), (1e6, 1.3e6),
              (-1, -0.5), (0.1, 0.30000000000000004), (2.5, 97.5)]
LOG_TICK_CASES = [(0.003, 20), (1, 1), (1e-8, 1e4), (0.5, 0.9), (2e-5, 3e12)]
DURATIONS = [0, 0.4, 0.5, 42, 59.6, 185, 3599.5, 3725, 86399, 90061, -1, None, "NaN", "Infinity"]
NAMES = ["loss", "train_loss", "val_loss", "loss/val", "test-acc", "eval acc", "Validation_Loss",
         "valuation", "train", "loss_train", "testing_score", "val"]
NUMBERS = [0, 0.25, 1e-5, 12345.0, -0.001, 0.0009999, 1.5, 100.0, -2.5e-7, 3.14159, "NaN",
           "Infinity"]


def _num(v):
    return float(v) if isinstance(v, str) else v


def test_write_front_end_fixtures(clock):
    """extensions/tests/monitor.test.mjs checks monitor.js against these."""
    rng = np.random.default_rng(0)
    series = [rng.standard_normal(40).cumsum().tolist(), [1.0, "NaN", 3.0, 2.0], [5.0]]
    series[0][7] = "Infinity"
    ema_cases = [{"values": s, "weight": w, "expect": _charts.ema([_num(x) for x in s], w)}
                 for s in series for w in (0.0, 0.6, 0.95)]
    statuses = [
        ({"step": None, "first_step": None, "elapsed": 0.0, "done": False}, 10),
        ({"step": 41, "first_step": 0, "elapsed": 4.1, "done": False}, 100),
        ({"step": 41, "first_step": 0, "elapsed": 4.1, "done": False}, None),
        ({"step": 99, "first_step": 0, "elapsed": 12.0, "done": True}, 100),
        ({"step": 1, "first_step": 1, "elapsed": 0.0, "done": False}, 50),
        ({"step": 500, "first_step": 1, "elapsed": 3600.0, "done": False}, 1000),
    ]
    math_fixture = {
        "nice_ticks": [[lo, hi, _charts.nice_ticks(lo, hi)] for lo, hi in TICK_CASES],
        "log_ticks": [[lo, hi, _charts.log_ticks(lo, hi)] for lo, hi in LOG_TICK_CASES],
        "ema": ema_cases,
        "names": [[n, _charts.metric_kind(n), _charts.metric_group(n)] for n in NAMES],
        "durations": [[d, _charts.format_duration(_num(d))] for d in DURATIONS],
        "eta": [[41, 0, 4.1, 100, _charts.eta_seconds(41, 0, 4.1, 100)],
                [0, 0, 0.0, 100, None], [9, 5, 2.0, 20, _charts.eta_seconds(9, 5, 2.0, 20)],
                [5, 0, 1.0, None, None], [150, 0, 3.0, 100, 0.0]],
        "progress": [[s, t, _charts.progress_text(s, t)] for s, t in statuses],
        "fmt": [[v, _charts.fmt(_num(v))] for v in NUMBERS],
    }
    fixture_io.write("monitor_math.json", math_fixture)

    # A real monitor's synced state, caught with both a base and a tail, and what it must show.
    mon = TrainingMonitor(total=300, title="MLP <b>", smoothing=0.8)
    old_small = _live.SMALL_BYTES
    _live.SMALL_BYTES = 0
    try:
        for step in range(300):
            clock.t += 0.013
            mon.log(step, train_loss=2.0 * 0.99**step + 0.1 * math.sin(step))
            if step % 25 == 24:
                mon.log(step, val_loss=2.1 * 0.99**step)
            if step == 150:
                mon.log(step, train_loss=float("nan"))
        mon._push(clock.t)  # an ordinary push: everything sent, the last points in the tail
    finally:
        _live.SMALL_BYTES = old_small
    state = fixture_io.synced_state(mon)
    assert any(m["tail_n"] > 0 for m in state["series"]) and all(
        m["n"] > 0 for m in state["series"])
    history = f32_history(mon)
    expect = {name: {"steps": s, "values": v} for name, (s, v) in history.items()}
    fixture_io.write("monitor_state.json", {
        "traits": fixture_io.own_traits(mon),
        "state": state,
        "expect": {"series": expect, "progress": _charts.progress_text(state["status"], 300)},
    })
    got = decode(state)
    for name, (steps, values) in history.items():
        np.testing.assert_array_equal(got[name][0], steps)
        np.testing.assert_array_equal(got[name][1], values)  # NaN where NaN was logged


def test_every_synced_trait_is_read_by_the_front_end():
    js = (fixture_io.EXTENSIONS / "monitor.js").read_text()
    for name in fixture_io.own_traits(TrainingMonitor()):
        assert f'"{name}"' in js, name


def test_node_front_end_tests(clock):
    test_write_front_end_fixtures(clock)
    result = fixture_io.run_node("monitor.test.mjs")
    if result is None:
        pytest.skip("node is not installed")
    assert result.returncode == 0, result.stdout + result.stderr


def test_fixture_bytes_are_float32():
    """toF32 in the ES modules reads base64 float32: check the encoding end to end once."""
    data = np.array([1.5, -2.0], dtype=np.float32).tobytes()
    assert base64.b64decode(fixture_io.jsonable(data)) == data
