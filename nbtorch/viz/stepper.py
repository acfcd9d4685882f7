"""BackwardStepper: step through a real backward pass, one node at a time, in the notebook.

Python side of ``extensions/stepper.js``.  The stepper advances the engine's own generator,
``backward_steps([loss], [ones], retain_graph=True)`` (see ``_stepping.BackwardRun``), so the
gradients that end up in ``.grad`` are exactly those of ``loss.backward()``.  Step back, reset and
jumping to an earlier node replay the pass from the start (a generator cannot go back): every
``.grad`` the pass writes is put back as it was before the run, and a fresh generator is advanced
to the wanted step.  The graph is retained so that it can be replayed; hooks on its tensors run
again on each replay, and listeners of ``nbtorch.autograd.events`` see the replayed steps.

Synced traits (Python -> JS unless noted):

- ``graph``: ``nbtorch.viz.graph(loss, params=params).to_dict()`` (the wire format) plus its
  ``layout`` (``Graph.layout()``: nodes with centre ``x, y``, ``width``, ``height``; edges with
  ``source``, ``target``, ``points``).
- ``steps``: the records of the steps done so far, oldest first (see ``BackwardRun._record``:
  ``index, node, op, kind, names, rule, arriving, sent, accumulated, check``), plain JSON.
- ``current``: the index in ``steps`` of the step shown (``len(steps) - 1``; -1 before the first).
- ``finished``: the pass is over (every gradient is in ``.grad``).
- ``playing`` (both ways) and ``speed`` (both ways, steps per second, at most 10): while playing,
  the front end sends a ``tick`` every 1/speed s and Python advances one step per tick.
- ``command`` (JS -> Python): ``{"seq": n, "action": "step"|"back"|"reset"|"tick"|"jump"|"run",
  "node": id}``; ``seq`` grows with each click, so repeated clicks are distinct changes.
- ``message``: a status line (what happened, or why a command was refused).

The front end's elements (for browser tests): buttons ``.nbt-step``, ``.nbt-back``, ``.nbt-play``,
``.nbt-reset``, the range ``.nbt-speed``; one ``g.nbt-node[data-node=id]`` per node whose class
says its state (``nbt-current``, ``nbt-done``, ``nbt-waiting``: holds a gradient not yet
processed, ``nbt-idle``), clicking it jumps there; ``.nbt-details`` (the current step's lines),
``.nbt-progress`` and ``.nbt-status`` (``message``).
"""

from __future__ import annotations

import anywidget
import traitlets

from . import _live
from ._stepping import BackwardRun
from .graph import graph as _graph

__all__ = ["BackwardStepper"]

MAX_SPEED = 10.0  # steps per second: the front end's ticks, so at most ~10 updates per second
SYNCED = ("graph", "steps", "current", "finished", "playing", "speed", "command", "message")


class BackwardStepper(_live.StaticFallback, anywidget.AnyWidget):
    """Step through ``loss``'s backward pass: step, back, play/pause, reset, jump to a node.

    ``params`` names the leaves and modules, as in ``nbtorch.viz.graph``: a Module, or a dict
    ``{name: tensor}``.  With ``check=True`` each step also compares the gradient its node sent
    with finite differences of the node's local function (for small inputs; other nodes say why
    they are skipped).  Each step's record shows the node's rule (its op's docstring), the
    gradient arriving (and, where several consumers sent parts, the parts summed), the gradient
    sent to each input, and for a leaf its ``.grad`` before and after.

    >>> import nbtorch as torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> stepper = BackwardStepper((w.tanh() * w).sum(), params={"w": w})
    >>> [stepper.step()["op"] for _ in range(2)]
    ['SumBackward0', 'MulBackward0']
    >>> stepper.steps[-1]["rule"]["formula"]
    'dy/da = b, dy/db = a'
    >>> stepper.run(); stepper.finished, stepper.current
    (True, 3)
    >>> stepper.back(); stepper.current, w.grad is None
    (2, True)
    """

    _esm = _live.esm("stepper.js")

    graph = traitlets.Dict().tag(sync=True)
    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    current = traitlets.Int(-1).tag(sync=True)
    finished = traitlets.Bool(False).tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    speed = traitlets.Float(2.0).tag(sync=True)
    command = traitlets.Dict().tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def __init__(self, loss, params=None, check: bool = False, **kwargs):
        drawn = _graph(loss, params=params)
        data = drawn.to_dict()
        data["layout"] = drawn.layout()
        run = BackwardRun(loss, graph=data, check=check)
        super().__init__(graph=data, **kwargs)
        self._run = run
        self.check = check
        self._sync("ready: press Step to run the first node's backward")

    # --- the Python API (the buttons call these) ------------------------------------------------
    @property
    def backward_run(self) -> BackwardRun:
        """The driver: ``.steps`` holds the engine's own ``Step`` objects of this pass."""
        return self._run

    @property
    def record(self) -> dict | None:
        """The record of the current step (None before the first)."""
        return self.steps[self.current] if self.current >= 0 else None

    def step(self, n: int = 1) -> dict | None:
        """Run the next ``n`` nodes' backward; the record of the last one (None when done)."""
        record = None
        for _ in range(n):
            record = self._run.advance()
            if record is None:
                break
        self._sync()
        return record

    def back(self, n: int = 1) -> None:
        """Undo the last ``n`` steps (replays the pass from the start up to there)."""
        self._run.rewind(max(0, len(self._run.records) - n))
        self._sync()

    def reset(self) -> None:
        """Back to before the first step: every ``.grad`` as it was when the stepper was made."""
        self.playing = False
        self._run.restart()
        self._sync("reset: every .grad is back to its value before the run")

    def run(self) -> None:
        """Run every remaining step (the gradients are then those of ``loss.backward()``)."""
        while self._run.advance() is not None:
            pass
        self._sync()

    def jump(self, node) -> dict | None:
        """Go to the step that processes ``node`` (an id, a grad_fn or a tensor): forward until it
        has been processed, or back to it if it already has."""
        target = self._run.node_of(node)
        done = [s.node for s in self._run.steps]
        if target in done:
            self._run.rewind(done.index(target) + 1)
        else:
            while self._run.advance() is not None and self._run.steps[-1].node is not target:
                pass
        nid = self._run.ids[target]
        if not self._run.steps or self._run.steps[-1].node is not target:
            self._sync(f"node {nid} ({target.name()}) receives no gradient in this pass; "
                       "ran to the end")
        else:
            self._sync()
        return self.record

    def play(self, speed: float | None = None) -> None:
        """Advance ``speed`` steps per second in the widget (the front end sends the ticks)."""
        if speed is not None:
            self.speed = speed
        if self.finished:
            self.reset()
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    # --- traits ---------------------------------------------------------------------------------
    def _sync(self, message: str | None = None) -> None:
        run = self._run
        if message is None:
            if run.records:
                r = run.records[-1]
                message = f"step {r['index']}: {r['op']} (node {r['node']})"
                if run.finished:
                    message += " - finished: every gradient is in .grad"
            else:
                message = "ready: press Step to run the first node's backward"
        with self.hold_sync():
            self.steps = list(run.records)
            self.current = len(run.records) - 1
            self.finished = run.finished
            if run.finished:
                self.playing = False
            self.message = message

    @traitlets.validate("speed")
    def _valid_speed(self, proposal):
        return min(MAX_SPEED, max(0.1, float(proposal["value"])))

    @traitlets.observe("command")
    def _on_command(self, change) -> None:
        cmd = change["new"] or {}
        action = cmd.get("action")
        try:
            if action == "step":
                self.step()
            elif action == "back":
                self.back()
            elif action == "reset":
                self.reset()
            elif action == "tick":
                if self.playing:
                    self.step()
            elif action == "jump":
                self.jump(int(cmd.get("node")))
            elif action == "run":
                self.run()
        except Exception as e:  # an observer's exception would only reach the kernel's log
            self.message = f"{type(e).__name__}: {e}"

    @traitlets.observe("playing")
    def _on_playing(self, change) -> None:
        if change["new"] and self.finished:  # Play at the end starts over
            self._run.restart()
            self._sync("playing from the start")

    # --- static picture ---------------------------------------------------------------------------
    def _static_alt(self) -> str:
        r = self.record
        where = f"step {r['index']}: {r['op']}" if r else "before the first step"
        return f"BackwardStepper, {where}"

    def to_svg(self) -> str:
        """The graph with the current node highlighted, and the current step's text."""
        from ._stepper_view import stepper_svg

        return stepper_svg(self.graph, self.steps, self.current)



