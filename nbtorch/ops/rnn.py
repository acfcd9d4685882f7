"""Recurrent layers as fused primitives: one Op runs a whole sequence through one layer in one
direction (``LSTMLayer``, ``GRULayer``, ``RNNLayer``).

NOTE: fused for measured speed.  Composed from small ops, an LSTM step records ~15 nodes (matmul,
add, chunk, three sigmoids, tanh, products ...), and bookkeeping outweighs arithmetic: forward and
backward of the composed ``lstm_reference`` take about 6x the fused op's time for LSTM(32, 128)
over 35 steps, batch 32.  Fused, the whole layer is one node: the input projection for all time
steps is one GEMM up front, each step is one GEMM (``h @ W_hh``) plus a few in-place elementwise
passes, backward through time is one loop of the same shape, and the weight gradients are summed
over all steps by one GEMM each at the end.

What each layer computes is written out plainly, with ordinary differentiable ops, in the
``*_reference`` functions below.  The fast backward works on raw arrays; when a graph of the
backward itself is wanted (``create_graph=True``), the backward differentiates that reference
instead, so higher-order gradients are exact too.

Shapes (PyTorch's, time first): input ``(T, B, I)``, states ``(B, H)``, ``weight_ih (G*H, I)``,
``weight_hh (G*H, H)``, biases ``(G*H,)``, with G = 4 gates for LSTM (i, f, g, o), 3 for GRU
(r, z, n) and 1 for the plain RNN.  ``reverse=True`` runs the sequence backwards in time (the
second direction of a bidirectional layer); outputs stay at their time positions.
"""

from __future__ import annotations

from .._tensor import Tensor
from ..autograd.function import Op

__all__ = ["gru_layer", "lstm_layer", "rnn_layer"]


# --- helpers shared by the three layers ----------------------------------------------------------


def _steps(n: int, reverse: bool) -> range:
    return range(n - 1, -1, -1) if reverse else range(n)


def _gate_scale(xp, dtype, hidden: int, gates: int, tanh_gates: tuple):
    """Per-column factors 1/2 for sigmoid gates and 1 for tanh gates.

    sigmoid(z) = (1 + tanh(z / 2)) / 2, so with the sigmoid gates' weight rows halved (exact in
    floating point) a single tanh pass over all gates, followed by ``* scale + (1 - scale)``,
    gives every gate's activation.
    """
    scale = xp.full(gates * hidden, 0.5, dtype=dtype)
    for k in tanh_gates:
        scale[k * hidden:(k + 1) * hidden] = 1
    return scale


def _columns(xp, w, scale):
    """``wᵀ`` (times ``scale`` per column) as a C-ordered array: BLAS is faster with it than
    with the transposed view."""
    return xp.ascontiguousarray(w.T if scale is None else w.T * scale)


def _input_projection(xp, x, w_ih, bias, scale):
    """``x @ W_ihᵀ (+ bias)`` for every time step in one GEMM, columns scaled: ``(T, B, G*H)``."""
    t, b, i = x.shape
    w = _columns(xp, w_ih, scale)
    xw = xp.matmul(x.reshape(t * b, i), w)
    if bias is not None:
        xw += bias if scale is None else bias * scale
    return xw.reshape(t, b, -1)


def _bias_sum(b_ih, b_hh):
    if b_ih is None or b_hh is None:
        return b_hh if b_ih is None else b_ih
    return b_ih + b_hh


def _shifted(xp, seq, first, reverse: bool):
    """The state each step started from: ``first`` then ``seq`` without its last step."""
    if reverse:
        return xp.concatenate([seq[1:], first[None]], axis=0)
    return xp.concatenate([first[None], seq[:-1]], axis=0)


def _times_previous(target, seq, first, reverse: bool) -> None:
    """``target[t] *= (state before step t)`` in place, without building the shifted copy."""
    if reverse:
        target[:-1] *= seq[1:]
        target[-1] *= first
    else:
        target[1:] *= seq[:-1]
        target[0] *= first


def _previous_product(xp, d, seq, first, reverse: bool):
    """``sum_t d[t]ᵀ @ (state before step t)``, without building the shifted copy."""
    if reverse:
        body, before, edge = d[:-1], seq[1:], d[-1]
    else:
        body, before, edge = d[1:], seq[:-1], d[0]
    total = xp.matmul(edge.T, first)
    if body.shape[0]:
        total += xp.matmul(body.reshape(-1, d.shape[2]).T, before.reshape(-1, seq.shape[2]))
    return total


def _input_grads(ctx, xp, d_ih, d_hh, x, out, h0, w_ih, first: int):
    """Gradients of ``x, W_ih, W_hh, b_ih, b_hh`` from the pre-activation gradients of all steps:
    ``d_ih`` (T, B, G*H) reaches ``x @ W_ihᵀ + b_ih``, ``d_hh`` reaches ``h @ W_hhᵀ + b_hh``, with
    ``h`` the states before each step (``h0``, then ``out``).  ``first`` is the index of ``W_ih``
    among the op's inputs."""
    t, b, _ = x.shape
    need = ctx.needs_input_grad
    gi = d_ih.reshape(t * b, -1)
    gh = gi if d_hh is d_ih else d_hh.reshape(t * b, -1)
    dx = xp.matmul(gi, w_ih).reshape(x.shape) if need[0] else None
    dw_ih = xp.matmul(gi.T, x.reshape(t * b, -1)) if need[first] else None
    dw_hh = _previous_product(xp, d_hh, out, h0, ctx.reverse) if need[first + 1] else None
    db_ih = gi.sum(axis=0) if len(need) > first + 2 and need[first + 2] else None
    db_hh = None
    if len(need) > first + 3 and need[first + 3]:
        db_hh = gh.sum(axis=0) if gh is not gi or db_ih is None else db_ih.copy()
    return dx, dw_ih, dw_hh, db_ih, db_hh


def _graph_backward(ctx, reference, inputs, grads):
    """Backward with ``create_graph=True``: differentiate the composed ``reference`` (ordinary
    ops), so that the gradients are themselves a graph and higher derivatives are exact."""
    from ..autograd import grad

    need = ctx.needs_input_grad
    # Each input goes through a fresh view, so the inner backward stops there and never walks
    # (or frees) the graph that produced the input.
    aliases = [t.view_as(t) if n else t for t, n in zip(inputs, need)]
    outputs = reference(*aliases, reverse=ctx.reverse, **ctx.options)
    wanted = [a for a, n in zip(aliases, need) if n]
    found = iter(grad(outputs, wanted, grads, create_graph=True, allow_unused=True))
    return tuple(next(found) if n else None for n in need)


def _save(ctx, inputs, *intermediates, reverse=False, **options) -> None:
    """Keep the inputs (all of them, for ``_graph_backward``), what the fast backward needs, and
    the options."""
    ctx.reverse = reverse
    ctx.options = options
    ctx.save_for_backward(*inputs, *intermediates)


# --- LSTM ----------------------------------------------------------------------------------------


class LSTMLayer(Op):
    """LSTM layer: per step [i f g o] = [σ σ tanh σ](x_t W_ihᵀ + b_ih + h W_hhᵀ + b_hh);
    c = f c + i g; h = o tanh(c).  Backward through time: dc_t = dc_{t+1} f_{t+1} + dh_t o (1 -
    tanh² c_t); the gates' pre-activation gradients follow from dc and dh by the chain rule."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        xp = ctx.xp
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        scale = _gate_scale(xp, x.dtype, hidden, 4, tanh_gates=(2,))
        offset = 1 - scale
        # The input projection of every step, which each step then turns into its activations
        # in place (few large fresh arrays: allocating them costs page faults).
        acts = _input_projection(xp, x, w_ih, _bias_sum(b_ih, b_hh), scale)
        w = _columns(xp, w_hh, scale)
        hw = xp.empty((batch, 4 * hidden), dtype=x.dtype)
        cs, tcs, out = (xp.empty((steps, batch, hidden), dtype=x.dtype) for _ in range(3))
        h, c = h0, c0
        i, f, g, o = (slice(k * hidden, (k + 1) * hidden) for k in range(4))
        for t in _steps(steps, reverse):
            a = acts[t]
            a += xp.matmul(h, w, out=hw)
            xp.tanh(a, out=a)
            a *= scale
            a += offset  # a = [i f g o], activated
            c_t = xp.multiply(a[:, f], c, out=cs[t])
            c_t += a[:, i] * a[:, g]
            h = xp.multiply(a[:, o], xp.tanh(c_t, out=tcs[t]), out=out[t])
            c = c_t
        _save(ctx, (x, h0, c0, w_ih, w_hh, b_ih, b_hh), acts, cs, tcs, out, reverse=reverse)
        return out, h.copy(), c.copy()  # copies: h_n, c_n must not alias what backward reads

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        saved = ctx.saved_tensors
        if isinstance(g_out, Tensor):
            return _graph_backward(ctx, lstm_reference, saved[:7], (g_out, g_h, g_c))
        x, h0, c0, w_ih, w_hh, _, _, acts, cs, tcs, out = saved
        xp = ctx.xp
        steps, batch, hidden = out.shape
        i, f, g, o = (acts[..., k * hidden:(k + 1) * hidden] for k in range(4))
        # The gates' pre-activation gradients are dc * d[t] for i, f, g and dh * d[t] for o; d
        # starts out as these factors, computed for all steps at once, and the loop overwrites
        # it step by step.  First the activations' derivatives, in three passes over all gates:
        # σ' = σ (1 - σ) = 1/4 - (σ - 1/2)² and tanh' = 1 - tanh², i.e. scale² - (a - offset)².
        scale = _gate_scale(xp, out.dtype, hidden, 4, tanh_gates=(2,))
        d = xp.subtract(acts, 1 - scale)
        d *= d
        xp.subtract(scale * scale, d, out=d)
        d = d.reshape(steps, batch, 4, hidden)
        d[:, :, 0] *= g  # i: g σ'(i)
        _times_previous(d[:, :, 1], cs, c0, ctx.reverse)  # f: c_prev σ'(f)
        d[:, :, 2] *= i  # g: i tanh'(g)
        d[:, :, 3] *= tcs  # o: tanh(c) σ'(o)
        k = xp.multiply(tcs, tcs)
        xp.subtract(1, k, out=k)
        k *= o  # dh -> dc: o (1 - tanh² c)
        dh, dc = g_h, g_c
        for t in _steps(steps, not ctx.reverse):
            dh = dh + g_out[t]
            dc = dc + dh * k[t]
            d_t = d[t]
            d_t[:, :3] *= dc[:, None]
            d_t[:, 3] *= dh
            dh = xp.matmul(d_t.reshape(batch, 4 * hidden), w_hh)
            dc = dc * f[t]
        d = d.reshape(steps, batch, 4 * hidden)
        dx, dw_ih, dw_hh, db_ih, db_hh = _input_grads(ctx, xp, d, d, x, out, h0, w_ih, 3)
        return dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh


def lstm_reference(x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """What ``LSTMLayer`` computes, step by step with ordinary ops: ``(output, h_n, c_n)``."""
    from .shape import stack

    h, c, outputs = h0, c0, []
    xw = x @ w_ih.T if b_ih is None else x @ w_ih.T + b_ih
    for t in _steps(x.shape[0], reverse):
        gates = xw[t] + h @ w_hh.T if b_hh is None else xw[t] + h @ w_hh.T + b_hh
        i, f, g, o = gates.chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        outputs.append(h)
    return stack(outputs[::-1] if reverse else outputs), h, c


def lstm_layer(input, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None,
               reverse=False):
    """Run one LSTM layer over ``input`` (T, B, I) from states ``h0, c0`` (B, H); returns
    ``(output (T, B, H), h_n, c_n)``.

    >>> import nbtorch as torch
    >>> x, h0 = torch.ones(5, 2, 3), torch.zeros(2, 4)
    >>> out, h, c = lstm_layer(x, h0, h0, torch.ones(16, 3), torch.ones(16, 4))
    >>> out.shape, bool((out[-1] == h).all())
    (torch.Size([5, 2, 4]), True)
    """
    return LSTMLayer.apply(input, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh,
                           reverse=reverse)


# --- GRU -----------------------------------------------------------------------------------------


class GRULayer(Op):
    """GRU layer: per step r = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr), z likewise,
    n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn)), h' = (1 - z) n + z h (PyTorch's formulation)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        xp = ctx.xp
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        scale = _gate_scale(xp, x.dtype, hidden, 3, tanh_gates=(2,))
        xw = _input_projection(xp, x, w_ih, b_ih, scale)
        w = _columns(xp, w_hh, scale)
        bh = b_hh * scale if b_hh is not None else None
        acts = xp.empty((steps, batch, 3 * hidden), dtype=x.dtype)
        hw = xp.empty((steps, batch, 3 * hidden), dtype=x.dtype)  # h W_hhᵀ + b_hh, scaled
        out = xp.empty((steps, batch, hidden), dtype=x.dtype)
        h = h0
        rz, n_ = slice(0, 2 * hidden), slice(2 * hidden, 3 * hidden)
        for t in _steps(steps, reverse):
            a, gh = acts[t], hw[t]
            xp.matmul(h, w, out=gh)
            if bh is not None:
                gh += bh
            gates = xp.add(xw[t, :, rz], gh[:, rz], out=a[:, rz])
            xp.tanh(gates, out=gates)
            gates *= 0.5
            gates += 0.5  # r, z
            n = xp.multiply(a[:, :hidden], gh[:, n_], out=a[:, n_])
            n += xw[t, :, n_]
            xp.tanh(n, out=n)
            h_t = xp.subtract(h, n, out=out[t])
            h_t *= a[:, hidden:2 * hidden]
            h = xp.add(h_t, n, out=h_t)  # h' = n + z (h - n)
        _save(ctx, (x, h0, w_ih, w_hh, b_ih, b_hh), acts, hw, out, reverse=reverse)
        return out, h.copy()

    @staticmethod
    def backward(ctx, g_out, g_h):
        saved = ctx.saved_tensors
        if isinstance(g_out, Tensor):
            return _graph_backward(ctx, gru_reference, saved[:6], (g_out, g_h))
        x, h0, w_ih, w_hh, _, _, acts, hw, out = saved
        xp = ctx.xp
        steps, batch, hidden = out.shape
        r, z, n = (acts[..., k * hidden:(k + 1) * hidden] for k in range(3))
        h_prev = _shifted(xp, out, h0, ctx.reverse)
        q = (h_prev - n) * z * (1 - z)  # dh -> z's pre-activation
        s = (1 - z) * (1 - n * n)  # dh -> n's pre-activation
        u = hw[..., 2 * hidden:] * r * (1 - r)  # n's -> r's pre-activation
        d_hh = xp.empty((steps, batch, 3 * hidden), dtype=out.dtype)
        d_n = xp.empty((steps, batch, hidden), dtype=out.dtype)
        dh = g_h
        for t in _steps(steps, not ctx.reverse):
            dh = dh + g_out[t]
            d = d_hh[t]
            dn = xp.multiply(dh, s[t], out=d_n[t])
            xp.multiply(dn, u[t], out=d[:, :hidden])
            xp.multiply(dh, q[t], out=d[:, hidden:2 * hidden])
            xp.multiply(dn, r[t], out=d[:, 2 * hidden:])
            dh = dh * z[t] + xp.matmul(d, w_hh)
        d_ih = d_hh.copy()
        d_ih[..., 2 * hidden:] = d_n
        dx, dw_ih, dw_hh, db_ih, db_hh = _input_grads(ctx, xp, d_ih, d_hh, x, out, h0, w_ih, 2)
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def gru_reference(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
    """What ``GRULayer`` computes, step by step with ordinary ops: ``(output, h_n)``."""
    from .shape import stack

    h, outputs = h0, []
    xw = x @ w_ih.T if b_ih is None else x @ w_ih.T + b_ih
    for t in _steps(x.shape[0], reverse):
        hw = h @ w_hh.T if b_hh is None else h @ w_hh.T + b_hh
        xr, xz, xn = xw[t].chunk(3, 1)
        hr, hz, hn = hw.chunk(3, 1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        h = (1 - z) * n + z * h
        outputs.append(h)
    return stack(outputs[::-1] if reverse else outputs), h


def gru_layer(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False):
    """Run one GRU layer over ``input`` (T, B, I) from state ``h0`` (B, H); returns
    ``(output (T, B, H), h_n)``.

    >>> import nbtorch as torch
    >>> out, h = gru_layer(torch.ones(5, 2, 3), torch.zeros(2, 4), torch.ones(12, 3),
    ...                    torch.ones(12, 4))
    >>> out.shape, h.shape
    (torch.Size([5, 2, 4]), torch.Size([2, 4]))
    """
    return GRULayer.apply(input, h0, weight_ih, weight_hh, bias_ih, bias_hh, reverse=reverse)


# --- Elman RNN -----------------------------------------------------------------------------------


class RNNLayer(Op):
    """RNN layer: per step h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or relu;
    d(pre-activation) = dh (1 - h'²) for tanh, dh [h' > 0] for relu."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False,
                nonlinearity="tanh"):
        xp = ctx.xp
        steps, batch, _ = x.shape
        xw = _input_projection(xp, x, w_ih, _bias_sum(b_ih, b_hh), None)
        w = _columns(xp, w_hh, None)
        out = xp.empty((steps, batch, w_hh.shape[1]), dtype=x.dtype)
        h = h0
        for t in _steps(steps, reverse):
            a = xp.matmul(h, w, out=out[t])
            a += xw[t]
            h = xp.tanh(a, out=a) if nonlinearity == "tanh" else xp.maximum(a, 0, out=a)
        _save(ctx, (x, h0, w_ih, w_hh, b_ih, b_hh), out, reverse=reverse,
              nonlinearity=nonlinearity)
        return out, h.copy()

    @staticmethod
    def backward(ctx, g_out, g_h):
        saved = ctx.saved_tensors
        if isinstance(g_out, Tensor):
            return _graph_backward(ctx, rnn_reference, saved[:6], (g_out, g_h))
        x, h0, w_ih, w_hh, _, _, out = saved
        xp = ctx.xp
        slope = 1 - out * out if ctx.options["nonlinearity"] == "tanh" else out > 0
        d = xp.empty(out.shape, dtype=out.dtype)
        dh = g_h
        for t in _steps(out.shape[0], not ctx.reverse):
            dh = xp.matmul(xp.multiply(dh + g_out[t], slope[t], out=d[t]), w_hh)
        dx, dw_ih, dw_hh, db_ih, db_hh = _input_grads(ctx, xp, d, d, x, out, h0, w_ih, 2)
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh


def rnn_reference(x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, nonlinearity="tanh"):
    """What ``RNNLayer`` computes, step by step with ordinary ops: ``(output, h_n)``."""
    from .shape import stack

    h, outputs = h0, []
    xw = x @ w_ih.T if b_ih is None else x @ w_ih.T + b_ih
    for t in _steps(x.shape[0], reverse):
        pre = xw[t] + h @ w_hh.T if b_hh is None else xw[t] + h @ w_hh.T + b_hh
        h = pre.tanh() if nonlinearity == "tanh" else pre.relu()
        outputs.append(h)
    return stack(outputs[::-1] if reverse else outputs), h


def rnn_layer(input, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, reverse=False,
              nonlinearity="tanh"):
    """Run one Elman RNN layer (``nonlinearity`` 'tanh' or 'relu') over ``input`` (T, B, I) from
    state ``h0`` (B, H); returns ``(output (T, B, H), h_n)``.

    >>> import nbtorch as torch
    >>> out, h = rnn_layer(torch.ones(1, 2, 3), torch.zeros(2, 4), torch.ones(4, 3),
    ...                    torch.ones(4, 4), nonlinearity='relu')
    >>> h
    tensor([[3., 3., 3., 3.],
            [3., 3., 3., 3.]])
    """
    return RNNLayer.apply(input, h0, weight_ih, weight_hh, bias_ih, bias_hh, reverse=reverse,
                          nonlinearity=nonlinearity)


METHODS: dict = {}
INPLACE: tuple = ()
