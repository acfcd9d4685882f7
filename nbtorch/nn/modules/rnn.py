"""Recurrent layers, as ``torch.nn.RNN``, ``LSTM``, ``GRU`` and their one-step cells.

Each layer and direction runs as one fused op over the whole sequence (``nbtorch/ops/rnn.py``);
stacking layers, the second direction, dropout between layers, ``batch_first`` and unbatched input
are handled here.  Parameters have PyTorch's names, shapes, registration order and initialization,
so the same seed gives the same weights and ``load_state_dict`` takes PyTorch's state dict.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..._tensor import Tensor
from ...ops import rnn as _ops
from ...ops.creation import empty, zeros
from ...ops.shape import cat, stack
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters ``weight_ih_l{k}[_reverse]``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` per layer and direction, and the layer-by-layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         proj_size)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        if proj_size != 0:
            raise NotImplementedError("nbtorch's LSTM does not support proj_size > 0 yet")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else hidden_size * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = {f"weight_ih_l{layer}{suffix}": (gate_size, layer_input),
                          f"weight_hh_l{layer}{suffix}": (gate_size, hidden_size)}
                if bias:
                    shapes[f"bias_ih_l{layer}{suffix}"] = (gate_size,)
                    shapes[f"bias_hh_l{layer}{suffix}"] = (gate_size,)
                for name, shape in shapes.items():
                    setattr(self, name, Parameter(empty(shape, device=device, dtype=dtype)))
                self._flat_weights_names.extend(shapes)
                self._all_weights.append(list(shapes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/√hidden_size, 1/√hidden_size), in registration order."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Accepted for compatibility (cuDNN's weight layout); nothing to do here."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- forward ---------------------------------------------------------------------------------
    def _prepare(self, input: Tensor, hx, name: str):
        """Check ``input`` and the initial states; return ``(input (T, B, I), states, batched)``
        where ``states`` is a list of ``(L*D, B, H)`` tensors (or None for zeros)."""
        if input.dim() not in (2, 3):
            tensor = " tensor" if name == "RNN" else ""
            raise ValueError(
                f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor} instead")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        states = None
        if hx is not None:
            states = list(hx) if self.mode == "LSTM" else [hx]
            want = 3 if batched else 2
            if any(s.dim() != want for s in states):
                kind = "batched 3-D" if batched else "unbatched 2-D"
                dims = ", ".join(f"{s.dim()}-D" for s in states)
                if self.mode == "LSTM":
                    raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but "
                                       f"got ({dims}) tensors")
                raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                                   f"{dims} tensor")
            if not batched:
                states = [s.unsqueeze(1) for s in states]
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: "
                f"model.to({input.dtype})")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")
        if self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[0] == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        if states is not None:
            expected = (self.num_layers * (2 if self.bidirectional else 1), input.shape[1],
                        self.hidden_size)
            for k, s in enumerate(states):
                if tuple(s.shape) != expected:
                    what = f"hidden[{k}] size" if self.mode == "LSTM" else "hidden size"
                    raise RuntimeError(f"Expected {what} {expected}, got {list(s.shape)}")
        return input, states, batched

    def _run(self, input: Tensor, states):
        """All layers and directions over ``input`` (T, B, I): ``(output, [h_n(, c_n)])``."""
        from .. import functional as F

        directions = 2 if self.bidirectional else 1
        batch = input.shape[1]
        n_states = 2 if self.mode == "LSTM" else 1
        finals = [[] for _ in range(n_states)]
        layer_input = input
        weights = self._flat_weights
        per = len(weights) // (self.num_layers * directions)
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                if states is None:
                    start = [zeros(batch, self.hidden_size, dtype=input.dtype,
                                   device=input.device)] * n_states
                else:
                    start = [s[k] for s in states]
                w = weights[k * per:(k + 1) * per]
                if len(w) == 2:
                    w += [None, None]
                out, *final = self._layer(layer_input, start, w, direction == 1)
                outputs.append(out)
                for acc, f in zip(finals, final):
                    acc.append(f)
            layer_input = outputs[0] if directions == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, p=self.dropout, training=True)
        finals = [f[0].unsqueeze(0) if len(f) == 1 else stack(f) for f in finals]
        return layer_input, finals

    def _layer(self, x, start, w, reverse):
        if self.mode == "LSTM":
            return _ops.lstm_layer(x, *start, *w, reverse=reverse)
        if self.mode == "GRU":
            return _ops.gru_layer(x, *start, *w, reverse=reverse)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return _ops.rnn_layer(x, *start, *w, reverse=reverse, nonlinearity=nonlinearity)

    def _finish(self, output: Tensor, finals: list, batched: bool):
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            finals = [f.squeeze(1) for f in finals]
        return output, finals


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act = tanh or relu.

    >>> import nbtorch as torch
    >>> rnn = torch.nn.RNN(3, 5, num_layers=2)
    >>> output, h_n = rnn(torch.randn(7, 2, 3))
    >>> output.shape, h_n.shape
    (torch.Size([7, 2, 5]), torch.Size([2, 2, 5]))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self_nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(
                f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None):
        input, states, batched = self._prepare(input, hx, "RNN")
        output, finals = self._run(input, states)
        output, (h_n,) = self._finish(output, finals, batched)
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory: per step, gates [i f g o] = [σ σ tanh σ](x W_ihᵀ + b_ih +
    h W_hhᵀ + b_hh); c = f c + i g; h = o tanh(c).  Returns ``(output, (h_n, c_n))``.

    >>> import nbtorch as torch
    >>> lstm = torch.nn.LSTM(32, 128, batch_first=True)
    >>> lstm
    LSTM(32, 128, batch_first=True)
    >>> output, (h_n, c_n) = lstm(torch.randn(4, 35, 32))
    >>> output.shape, h_n.shape
    (torch.Size([4, 35, 128]), torch.Size([1, 4, 128]))
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input: Tensor, hx=None):
        input, states, batched = self._prepare(input, hx, "LSTM")
        output, finals = self._run(input, states)
        output, (h_n, c_n) = self._finish(output, finals, batched)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = σ(x W_{ir,iz}ᵀ + h W_{hr,hz}ᵀ + b), n = tanh(x W_inᵀ + b_in +
    r (h W_hnᵀ + b_hn)), h' = (1 - z) n + z h.

    >>> import nbtorch as torch
    >>> gru = torch.nn.GRU(3, 5, bidirectional=True)
    >>> output, h_n = gru(torch.randn(7, 2, 3))
    >>> output.shape, h_n.shape
    (torch.Size([7, 2, 10]), torch.Size([2, 2, 5]))
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input: Tensor, hx: Tensor | None = None):
        input, states, batched = self._prepare(input, hx, "GRU")
        output, finals = self._run(input, states)
        output, (h_n,) = self._finish(output, finals, batched)
        return output, h_n


def _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 \
            or isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if not isinstance(bias, bool):
        raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
    if not isinstance(input_size, int):
        raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
    if input_size <= 0:
        raise ValueError("input_size must be greater than zero")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


# --- cells ---------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """What the cells share: ``weight_ih (G*H, I)``, ``weight_hh (G*H, H)``, ``bias_ih``,
    ``bias_hh``, all ~ U(-1/√H, 1/√H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        size = num_chunks * hidden_size
        self.weight_ih = Parameter(empty((size, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(empty((size, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _prepare(self, input: Tensor, hx, name: str, n_states: int):
        """Check shapes, add the batch dimension; return ``(x (1, B, I), states, batched)``."""
        if input.dim() not in (1, 2):
            raise ValueError(
                f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        states = None if hx is None else (list(hx) if n_states == 2 else [hx])
        if states is not None:
            for k, s in enumerate(states):
                if s.dim() not in (1, 2):
                    what = f"hx[{k}]" if n_states == 2 else "hidden"
                    raise ValueError(
                        f"{name}: Expected {what} to be 1D or 2D, got {s.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
            if states is not None:
                states = [s.unsqueeze(0) for s in states]
        if states is None:
            states = [zeros(input.shape[0], self.hidden_size, dtype=input.dtype,
                            device=input.device)] * n_states
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        for k, s in enumerate(states):
            if s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{k} "
                                   f"batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return input.unsqueeze(0), states, weights, batched


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).

    >>> import nbtorch as torch
    >>> torch.nn.RNNCell(3, 5, nonlinearity='relu')(torch.randn(2, 3)).shape
    torch.Size([2, 5])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), w, batched = self._prepare(input, hx, "RNNCell", 1)
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        _, h = _ops.rnn_layer(x, h, *w, nonlinearity=self.nonlinearity)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns ``(h', c')``.

    >>> import nbtorch as torch
    >>> h, c = torch.nn.LSTMCell(3, 5)(torch.randn(2, 3))
    >>> h.shape, c.shape
    (torch.Size([2, 5]), torch.Size([2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        x, (h, c), w, batched = self._prepare(input, hx, "LSTMCell", 2)
        _, h, c = _ops.lstm_layer(x, h, c, *w)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: returns h'.

    >>> import nbtorch as torch
    >>> torch.nn.GRUCell(3, 5)(torch.randn(3)).shape
    torch.Size([5])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), w, batched = self._prepare(input, hx, "GRUCell", 1)
        _, h = _ops.gru_layer(x, h, *w)
        return h if batched else h.squeeze(0)
