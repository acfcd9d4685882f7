"""DataLoader: batching, shuffling (PyTorch's order for the same seed), drop_last, samplers,
IterableDataset, batch_size=None, simulated workers, and PyTorch's argument errors."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest

import nbtorch
from nbtorch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    get_worker_info,
    random_split,
)
from tests.helpers import assert_same_error, both, needs_torch, real_torch


def data(m):
    return importlib.import_module(m.__name__ + ".utils.data")


def as_lists(batches):
    """Batches (tensors, or lists/tuples of tensors) as nested Python lists, for comparisons."""
    out = []
    for b in batches:
        if isinstance(b, (list, tuple)):
            out.append([x.tolist() if hasattr(x, "tolist") else x for x in b])
        else:
            out.append(b.tolist() if hasattr(b, "tolist") else b)
    return out


class Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return {"x": float(i), "y": i * i}


class Stream(IterableDataset):
    """range(start, end), split between workers as in PyTorch's IterableDataset example."""

    def __init__(self, start, end, shard=True):
        self.start, self.end, self.shard = start, end, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.start, self.end))
        per_worker = int(math.ceil((self.end - self.start) / float(info.num_workers)))
        lo = self.start + info.id * per_worker
        return iter(range(lo, min(lo + per_worker, self.end)))


def stream_class(m):
    class S(data(m).IterableDataset):
        def __init__(self, start, end, shard=True):
            self.start, self.end, self.shard = start, end, shard

        def __iter__(self):
            info = data(m).get_worker_info()
            if info is None or not self.shard:
                return iter(range(self.start, self.end))
            per_worker = int(math.ceil((self.end - self.start) / float(info.num_workers)))
            lo = self.start + info.id * per_worker
            return iter(range(lo, min(lo + per_worker, self.end)))

        def __len__(self):
            return self.end - self.start

    return S


def test_batches_of_tensor_dataset():
    x = nbtorch.arange(20.0).reshape(10, 2)
    y = nbtorch.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    xb, yb = batches[0]
    assert isinstance(batches[0], list)  # default_collate makes a list of a tuple's fields
    assert tuple(xb.shape) == (4, 2) and xb.dtype == nbtorch.float32
    assert yb.tolist() == [0, 1, 2, 3] and yb.dtype == nbtorch.int64
    assert batches[-1][1].tolist() == [8, 9]


def test_tensor_fast_path_equals_per_sample_collation():
    x = nbtorch.randn(9, 3)
    y = nbtorch.arange(9)
    ds = Subset(TensorDataset(x, y), [8, 1, 5, 3, 0, 2])

    def slow(batch):  # not default_collate itself: takes the per-sample path
        return nbtorch.utils.data.default_collate(batch)

    fast = list(DataLoader(ds, batch_size=4))
    ref = list(DataLoader(ds, batch_size=4, collate_fn=slow))
    for a, b in zip(fast, ref):
        for ta, tb in zip(a, b):
            assert ta.dtype == tb.dtype and tuple(ta.shape) == tuple(tb.shape)
            np.testing.assert_array_equal(ta.numpy(), tb.numpy())


def test_requires_grad_tensors_are_stacked():
    x = nbtorch.randn(4, 2, requires_grad=True)
    (xb,) = next(iter(DataLoader(TensorDataset(x), batch_size=2)))
    assert xb.requires_grad and xb.grad_fn is not None


def test_dict_samples_and_default_collate():
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    assert batch["x"].dtype == nbtorch.float64 and batch["x"].tolist() == [0.0, 1.0, 2.0]
    assert batch["y"].tolist() == [0, 1, 4]


@both
@pytest.mark.parametrize("drop_last,expected", [(False, 4), (True, 3)])
def test_drop_last(m, drop_last, expected):
    loader = data(m).DataLoader(list(range(10)), batch_size=3, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == expected == len(batches)
    assert all(len(b) == 3 for b in batches[:3])


def test_batch_size_none_converts_samples():
    loader = DataLoader([np.array([1, 2]), np.array([3, 4])], batch_size=None)
    got = list(loader)
    assert len(loader) == 2 and isinstance(got[0], nbtorch.Tensor)
    assert got[1].tolist() == [3, 4]


def test_custom_sampler_and_batch_sampler():
    loader = DataLoader(list(range(6)), sampler=[5, 4, 3, 2, 1, 0], batch_size=2)
    assert as_lists(loader) == [[5, 4], [3, 2], [1, 0]]
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=True)
    loader = DataLoader(list(range(10, 15)), batch_sampler=bs)
    assert as_lists(loader) == [[10, 11], [12, 13]] and len(loader) == 2


def test_collate_fn_is_used():
    loader = DataLoader(list(range(5)), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(loader) == [1, 5, 4]


@needs_torch
@pytest.mark.parametrize("num_workers", [0, 2])
def test_shuffle_equals_torch_global_seed(num_workers):
    """Several epochs of shuffle=True after manual_seed: PyTorch's batches, and the global random
    stream left where PyTorch leaves it."""
    results = []
    for m in (nbtorch, real_torch):
        m.manual_seed(2024)
        ds = data(m).TensorDataset(m.arange(13), m.arange(13) * 10)
        loader = data(m).DataLoader(ds, batch_size=4, shuffle=True, num_workers=num_workers)
        epochs = [as_lists(loader) for _ in range(3)]
        results.append((epochs, m.rand(2).tolist()))
    assert results[0][0] == results[1][0]
    assert results[0][1] == pytest.approx(results[1][1])


@needs_torch
def test_shuffle_equals_torch_with_generator():
    results = []
    for m in (nbtorch, real_torch):
        g = m.Generator().manual_seed(11)
        loader = data(m).DataLoader(list(range(20)), batch_size=6, shuffle=True, generator=g,
                                    drop_last=True)
        results.append([as_lists(loader) for _ in range(2)])
    assert results[0] == results[1]


@needs_torch
def test_shuffled_random_split_pipeline_equals_torch():
    """The usual beginner pipeline: random_split, then a shuffled loader over the training part."""
    results = []
    for m in (nbtorch, real_torch):
        m.manual_seed(0)
        ds = data(m).TensorDataset(m.arange(30).reshape(15, 2), m.arange(15))
        train, val = data(m).random_split(ds, [0.8, 0.2])
        loader = data(m).DataLoader(train, batch_size=5, shuffle=True)
        results.append((as_lists(loader), as_lists(data(m).DataLoader(val, batch_size=5))))
    assert results[0] == results[1]


def test_shuffle_is_reproducible():
    def epoch():
        nbtorch.manual_seed(5)
        return as_lists(DataLoader(list(range(12)), batch_size=5, shuffle=True))

    assert epoch() == epoch()
    nbtorch.manual_seed(5)
    loader = DataLoader(list(range(12)), batch_size=5, shuffle=True)
    assert as_lists(loader) != as_lists(loader)  # a new order each epoch
    assert sorted(sum(as_lists(loader), [])) == list(range(12))


def test_iterable_dataset():
    loader = DataLoader(Stream(3, 10), batch_size=3)
    assert as_lists(loader) == [[3, 4, 5], [6, 7, 8], [9]]
    assert as_lists(DataLoader(Stream(3, 10), batch_size=3, drop_last=True)) == [[3, 4, 5],
                                                                                   [6, 7, 8]]
    assert as_lists(DataLoader(Stream(3, 6), batch_size=None)) == [3, 4, 5]


@both
def test_iterable_dataset_len(m):
    S = stream_class(m)
    assert len(data(m).DataLoader(S(0, 10), batch_size=3)) == 4
    assert len(data(m).DataLoader(S(0, 10), batch_size=3, drop_last=True)) == 3
    assert len(data(m).DataLoader(S(0, 10), batch_size=None)) == 10


@both
@pytest.mark.parametrize("shard,batch_size", [(True, 2), (False, 2), (True, None)])
def test_workers_split_an_iterable_dataset_as_pytorch(m, shard, batch_size):
    """Each worker iterates its own copy; batches come round-robin from the workers."""
    S = stream_class(m)
    got = as_lists(data(m).DataLoader(S(3, 10, shard), batch_size=batch_size, num_workers=2))
    if shard:  # worker 0 has 3..6, worker 1 has 7..9
        expected = ([[3, 4], [7, 8], [5, 6], [9]] if batch_size else [3, 7, 4, 8, 5, 9, 6])
    else:  # each worker yields the whole stream
        expected = [[3, 4], [3, 4], [5, 6], [5, 6], [7, 8], [7, 8], [9], [9]]
    assert got == expected


@both
def test_worker_init_fn_sees_worker_info(m):
    seen = []

    def init(worker_id):
        info = data(m).get_worker_info()
        seen.append((worker_id, info.id, info.num_workers))

    S = stream_class(m)
    got = as_lists(data(m).DataLoader(S(0, 4), batch_size=2, num_workers=2, worker_init_fn=init))
    if m is nbtorch:  # PyTorch's real workers append to their own copies of `seen`
        assert sorted(seen) == [(0, 0, 2), (1, 1, 2)]
    assert got == [[0, 1], [2, 3]]
    assert data(m).get_worker_info() is None


def test_worker_info_is_read_only():
    infos = []
    DataLoader(Stream(0, 2), num_workers=1,
               worker_init_fn=lambda i: infos.append(get_worker_info())).__iter__()
    assert infos[0].id == 0 and "WorkerInfo(id=0, num_workers=1" in repr(infos[0])
    with pytest.raises(RuntimeError, match="Cannot assign attributes to WorkerInfo objects"):
        infos[0].id = 3


def test_map_dataset_with_workers_gives_the_same_batches():
    ds = TensorDataset(nbtorch.arange(10))
    a = as_lists(DataLoader(ds, batch_size=3, num_workers=3, prefetch_factor=4))
    b = as_lists(DataLoader(ds, batch_size=3))
    assert a == b


def test_persistent_workers_keep_their_copies():
    calls = []
    loader = DataLoader(Stream(0, 4), batch_size=2, num_workers=2, persistent_workers=True,
                        worker_init_fn=calls.append)
    first, second = as_lists(loader), as_lists(loader)
    assert first == second == [[0, 1], [2, 3]]
    assert calls == [0, 1]  # the workers started once


def test_pin_memory_is_accepted():
    loader = DataLoader(list(range(4)), batch_size=2, pin_memory=True)
    if nbtorch.accelerator.is_available():
        assert as_lists(loader) == [[0, 1], [2, 3]]
    else:
        with pytest.warns(UserWarning, match="'pin_memory' argument is set as true but no "
                                             "accelerator is found"):
            assert as_lists(loader) == [[0, 1], [2, 3]]


def test_iterable_len_warning_when_more_is_yielded():
    class Liar(Stream):
        def __len__(self):
            return 2

    loader = DataLoader(Liar(0, 3), batch_size=None)
    assert len(loader) == 2
    with pytest.warns(UserWarning, match="was reported to be 2"):
        list(loader)


MESSAGES = [
    (dict(batch_sampler=[[0]], batch_size=2),
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_sampler=[[0]], shuffle=True),
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(batch_sampler=[[0]], drop_last=True),
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"),
    (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
    (dict(batch_size=None, drop_last=True),
     "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"),
    (dict(num_workers=-1), "num_workers option should be non-negative; use num_workers=0 to "
                           "disable multiprocessing."),
    (dict(timeout=-1), "timeout option should be non-negative"),
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in "
                              "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                              "otherwise set prefetch_factor to None."),
    (dict(num_workers=1, prefetch_factor=-1), "prefetch_factor option should be non-negative"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(multiprocessing_context="spawn"), "multiprocessing_context can only be used with "
                                            "multi-process loading (num_workers > 0), but got "
                                            "num_workers=0"),
]


@pytest.mark.parametrize("kwargs,message", MESSAGES)
def test_argument_errors(kwargs, message):
    assert_same_error(lambda m: data(m).DataLoader(list(range(4)), **kwargs), ValueError, message)


def test_iterable_dataset_rejects_shuffle_and_samplers():
    def make(m, **kw):
        return data(m).DataLoader(stream_class(m)(0, 3), **kw)

    assert_same_error(lambda m: make(m, shuffle=True), ValueError,
                      "DataLoader with IterableDataset: expected unspecified shuffle option, "
                      "but got shuffle=True")
    assert_same_error(lambda m: make(m, sampler=[0, 1]), ValueError,
                      "DataLoader with IterableDataset: expected unspecified sampler option, "
                      "but got sampler=[0, 1]")
    assert_same_error(lambda m: make(m, batch_sampler=[[0]]), ValueError,
                      "DataLoader with IterableDataset: expected unspecified batch_sampler "
                      "option, but got batch_sampler=[[0]]")


def test_attributes_are_frozen():
    assert_same_error(lambda m: setattr(data(m).DataLoader([1]), "batch_size", 4), ValueError,
                      "batch_size attribute should not be set after DataLoader is initialized")
    loader = DataLoader([1])
    loader.num_workers = 0  # not one of the frozen attributes


def test_timeout_without_workers():
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        iter(DataLoader([1, 2], timeout=1))
    assert as_lists(DataLoader([1, 2], timeout=1, num_workers=1)) == [[1], [2]]


def test_random_split_then_loader():
    train, val = random_split(TensorDataset(nbtorch.arange(10)), [7, 3],
                              generator=nbtorch.Generator().manual_seed(0))
    seen = sum((b[0].tolist() for b in DataLoader(train, batch_size=2, shuffle=True)), [])
    assert sorted(seen) == sorted(train.indices)
    assert len(DataLoader(val, batch_size=2)) == 2


@needs_torch
def test_default_loader_attributes_like_torch():
    for kwargs in ({}, {"batch_size": None}, {"shuffle": True, "batch_size": 3}):
        a = DataLoader(list(range(5)), **kwargs)
        b = real_torch.utils.data.DataLoader(list(range(5)), **kwargs)
        assert type(a.sampler).__name__ == type(b.sampler).__name__
        assert type(a.batch_sampler).__name__ == type(b.batch_sampler).__name__
        assert a.batch_size == b.batch_size and a.drop_last == b.drop_last
        assert a.prefetch_factor == b.prefetch_factor


@needs_torch
def test_training_through_a_shuffled_loader_equals_torch():
    """Seed, init, shuffled batches, SGD: the same losses as PyTorch, step by step."""
    if not (hasattr(nbtorch.nn, "Linear") and hasattr(nbtorch.optim, "SGD")):
        pytest.skip("needs nn.Linear and optim.SGD")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    losses = []
    for m in (nbtorch, real_torch):
        m.manual_seed(0)
        model = m.nn.Sequential(m.nn.Linear(2, 8), m.nn.ReLU(), m.nn.Linear(8, 2))
        opt = m.optim.SGD(model.parameters(), lr=0.1)
        loader = data(m).DataLoader(data(m).TensorDataset(m.tensor(X), m.tensor(y)),
                                    batch_size=16, shuffle=True)
        run = []
        for _ in range(2):
            for xb, yb in loader:
                loss = m.nn.functional.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                run.append(loss.item())
        losses.append(run)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5, atol=1e-6)
