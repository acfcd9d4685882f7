"""parameters_to_vector / vector_to_parameters against PyTorch."""

from __future__ import annotations

import numpy as np

from tests.helpers import assert_same_error, both, values_of


def make(m):
    m.manual_seed(0)
    return m.nn.Sequential(m.nn.Linear(3, 2), m.nn.Linear(2, 1))


@both
def test_parameters_to_vector(m):
    net = make(m)
    vec = m.nn.utils.parameters_to_vector(net.parameters())
    expected = np.concatenate([values_of(p).ravel() for p in net.parameters()])
    assert tuple(vec.shape) == (11,)
    np.testing.assert_array_equal(values_of(vec), expected)
    # Differentiable: the gradient flows back to each parameter.
    (vec * m.arange(11.0)).sum().backward()
    np.testing.assert_array_equal(values_of(net[0].weight.grad), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(values_of(net[1].bias.grad), [10.0])


@both
def test_vector_to_parameters(m):
    net = make(m)
    weight = net[0].weight
    vec = m.arange(11.0)
    assert m.nn.utils.vector_to_parameters(vec, net.parameters()) is None
    assert net[0].weight is weight  # the same Parameter, new data
    np.testing.assert_array_equal(values_of(net[0].weight), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(values_of(net[1].bias), [10.0])
    assert net[0].weight.data_ptr() == vec.data_ptr()  # a view of the vector, as PyTorch


@both
def test_round_trip(m):
    net = make(m)
    vec = m.nn.utils.parameters_to_vector(net.parameters())
    other = make(m)
    m.nn.utils.vector_to_parameters(vec * 2, other.parameters())
    for a, b in zip(net.parameters(), other.parameters()):
        np.testing.assert_allclose(values_of(b), values_of(a) * 2)


def test_vector_type_error():
    assert_same_error(lambda m: m.nn.utils.vector_to_parameters([1.0], make(m).parameters()),
                      TypeError, "expected torch.Tensor, but got: list")
