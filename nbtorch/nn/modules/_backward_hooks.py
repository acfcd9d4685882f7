"""Full backward hooks of a Module, as PyTorch implements them (``torch.utils.hooks.BackwardHook``).

The module's tensor inputs and outputs are passed through an identity autograd Function,
``BackwardHookFunction``.  Its node on the outputs is where the gradients of the outputs arrive
(``grad_output``: the backward pre-hooks run there and may replace them); its node on the inputs is
where the gradients with respect to the inputs are complete (``grad_input``: the full backward hooks
run there and may replace them).  Non-tensor arguments appear as ``None`` in both tuples.
"""

from __future__ import annotations

import warnings

from ..._tensor import Tensor
from ...autograd.function import Function
from ...autograd.grad_mode import GRAD
from ...ops.creation import zeros


class BackwardHookFunction(Function):
    """Identity on any number of tensors; its node is where a module's backward hooks live."""

    @staticmethod
    def forward(ctx, *args, materialize: bool = True):
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        # On the outputs, gradients that never arrived stay None (PyTorch shows them as None).
        ctx.set_materialize_grads(materialize)
        return args

    @staticmethod
    def backward(ctx, *grads):
        return grads


class BackwardHook:
    """Ties one call of a module to its backward hooks (made fresh for every call)."""

    def __init__(self, module, user_hooks, user_pre_hooks) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    @staticmethod
    def _pack_with_none(indices, values, size) -> tuple:
        res = [None] * size
        for idx, val in zip(indices, values):
            res[idx] = val
        return tuple(res)

    @staticmethod
    def _unpack_none(indices, values) -> tuple:
        return tuple(values[idx] for idx in indices)

    def _apply_on_tensors(self, register, args, materialize: bool):
        """Pass the tensors among ``args`` through the identity; ``register(node)`` hooks it."""
        indices, tensors = [], []
        requires_grad = False
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                indices.append(i)
                tensors.append(arg)
                requires_grad |= arg.requires_grad
        if not (requires_grad and GRAD.enabled):
            return args, None
        new_tensors = BackwardHookFunction.apply(*tensors, materialize=materialize)
        node = None
        for old, new in zip(tensors, new_tensors):
            new._vbox = old._vbox  # an identity view: in-place changes show on both
            if node is None and new.grad_fn is not None:
                node = new.grad_fn
        register(node, tensors)
        arg_list = list(args)
        for idx, val in zip(indices, new_tensors):
            arg_list[idx] = val
        return (tuple(arg_list) if type(args) is tuple else type(args)(*arg_list)), indices

    # --- inputs: where grad_input is complete -----------------------------------------------------
    def _set_user_hook(self, node, tensors) -> None:
        # PyTorch's identity node returns (materialized) zeros for inputs that get no gradient,
        # those that do not require grad included; nbtorch's engine drops gradients for inputs
        # without a graph edge before hooks run, so the zeros are made here.
        meta = [(t.shape, t.dtype, t.device) for t in tensors]

        def hook(grad_input, _):
            if self.grad_outputs is None:
                # The gradient reached the inputs without passing through the outputs
                # (double backward): nothing to report.
                return None
            grad_input = [g if g is not None else zeros(shape, dtype=dtype, device=device)
                          for g, (shape, dtype, device) in zip(grad_input, meta)]
            res = self._pack_with_none(self.input_tensors_index, grad_input, self.n_inputs)
            for user_hook in self.user_hooks:
                out = user_hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                       f"got {len(out)}, but expected {len(res)}")
                res = out
            self.grad_outputs = None
            return self._unpack_none(self.input_tensors_index, res)

        node.register_hook(hook)

    def setup_input_hook(self, args):
        res, indices = self._apply_on_tensors(self._set_user_hook, args, materialize=True)
        self.n_inputs = len(args)
        self.input_tensors_index = indices
        return res

    # --- outputs: where grad_output arrives ------------------------------------------------------
    def _set_output_hook(self, node, tensors) -> None:
        def hook(_, grad_output):
            self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output,
                                                     self.n_outputs)
            for user_pre_hook in self.user_pre_hooks:
                replaced = user_pre_hook(self.module, self.grad_outputs)
                if replaced is None:
                    continue
                if len(replaced) != len(self.grad_outputs):
                    raise RuntimeError(
                        "Backward pre hook returned an invalid number of grad_output, got "
                        f"{len(replaced)}, but expected {len(self.grad_outputs)}")
                self.grad_outputs = replaced
            local_grad_outputs = self.grad_outputs
            if self.input_tensors_index is None:
                # No input requires grad: the input-side hook will never run, so the full
                # backward hooks run here, with grad_input all None.
                warnings.warn(
                    "Full backward hook is firing when gradients are computed with respect to "
                    "module outputs since no inputs require gradients. See https://docs.pytorch"
                    ".org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.register_full"
                    "_backward_hook for more details.", stacklevel=5)
                grad_inputs = (None,) * self.n_inputs
                for user_hook in self.user_hooks:
                    res = user_hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple)
                                                and all(g is None for g in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires "
                                           "gradient should always return None or None for all "
                                           "gradients.")
                self.grad_outputs = None
            if local_grad_outputs is not None:
                return tuple(local_grad_outputs[i] for i in self.output_tensors_index)
            return None

        node.register_hook(hook)

    def setup_output_hook(self, args):
        single = not isinstance(args, tuple)
        if single:
            args = (args,)
        res, indices = self._apply_on_tensors(self._set_output_hook, args, materialize=False)
        self.n_outputs = len(args)
        self.output_tensors_index = indices
        return res[0] if single else res
