"""Tests of nbtorch/linalg.py (``torch.linalg``'s norms)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbtorch
import nbtorch.linalg  # noqa: F401 - makes nbtorch.linalg an attribute, as torch.linalg is
from tests.helpers import assert_same_error, check_op

X = np.random.default_rng(0).standard_normal((3, 4)) + 0.1


def _matrix(x, order):
    a = np.abs(x)
    return {1: a.sum(0).max(), -1: a.sum(0).min(), math.inf: a.sum(1).max(),
            -math.inf: a.sum(1).min()}[order]


NORMS = [
    ("norm", lambda m, x: m.linalg.norm(x), lambda x: np.linalg.norm(x)),
    ("norm_dim", lambda m, x: m.linalg.norm(x, dim=1), lambda x: np.linalg.norm(x, axis=1)),
    ("norm_ord1_dim", lambda m, x: m.linalg.norm(x, 1, dim=0),
     lambda x: np.abs(x).sum(0)),
    ("norm_matrix_inf", lambda m, x: m.linalg.norm(x, math.inf), lambda x: _matrix(x, math.inf)),
    ("vector_norm_3", lambda m, x: m.linalg.vector_norm(x, 3),
     lambda x: (np.abs(x) ** 3).sum() ** (1 / 3)),
    ("vector_norm_keepdim", lambda m, x: m.linalg.vector_norm(x, dim=-1, keepdim=True),
     lambda x: np.linalg.norm(x, axis=-1, keepdims=True)),
    ("matrix_fro", lambda m, x: m.linalg.matrix_norm(x), lambda x: np.linalg.norm(x)),
    ("matrix_1", lambda m, x: m.linalg.matrix_norm(x, 1), lambda x: _matrix(x, 1)),
    ("matrix_-1", lambda m, x: m.linalg.matrix_norm(x, -1), lambda x: _matrix(x, -1)),
    ("matrix_-inf_keepdim", lambda m, x: m.linalg.matrix_norm(x, -math.inf, keepdim=True),
     lambda x: np.reshape(_matrix(x, -math.inf), (1, 1))),
]


@pytest.mark.parametrize("fn,ref", [n[1:] for n in NORMS], ids=[n[0] for n in NORMS])
def test_norms(fn, ref, device):
    check_op(fn, ref, [X.copy()], device=device)


ERRORS = [
    (lambda m: m.linalg.matrix_norm(m.ones(3)), RuntimeError,
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda m: m.linalg.norm(m.ones(2, 2, 2), ord=1), RuntimeError,
     "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."),
    (lambda m: m.linalg.matrix_norm(m.ones(3, 3), ord=3), RuntimeError,
     "linalg.matrix_norm: Order 3 not supported."),
    (lambda m: m.linalg.matrix_norm(m.ones(3, 3), dim=(0, 0)), RuntimeError,
     "linalg.matrix_norm: dims must be different. Got (0, 0)"),
    (lambda m: m.linalg.vector_norm(m.ones(3), ord="fro"), TypeError,
     "linalg_vector_norm(): argument 'ord' must be Number, not str"),
    (lambda m: m.linalg.norm(m.ones(2, 3), dim=(0, 1, 2)), RuntimeError,
     "linalg.norm: If dim is specified, it must be of length 1 or 2. Got [0, 1, 2]"),
]


@pytest.mark.parametrize("fn,kind,message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(fn, kind, message):
    assert_same_error(fn, kind, message)


def test_spectral_norms_are_not_there_yet():
    with pytest.raises(NotImplementedError):
        nbtorch.linalg.matrix_norm(nbtorch.ones(2, 2), "nuc")
