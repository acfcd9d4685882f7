"""``DataLoader``, as ``torch.utils.data.DataLoader``: reads a dataset in the order a sampler
gives, groups samples into batches and collates them.

Everything runs in the calling process.  ``num_workers > 0`` is accepted and behaves like
PyTorch's worker processes as far as the results go (each worker's batches, ``worker_init_fn``,
``get_worker_info()``, per-worker copies of an ``IterableDataset``, the round-robin order of
their batches), but the "workers" take turns in this process instead of running in parallel.
Why: nbtorch is made for notebooks, often on Binder or similar small containers, where worker
processes fail in ways a learner cannot debug (no ``fork`` on macOS/Windows notebooks, datasets
defined in a cell cannot be pickled by ``spawn``, shared memory is tiny in containers), and the
data work of a numpy-based library is small next to the model's.  One difference shows: random
draws inside a dataset (augmentations) come from this process's stream, where a worker process
would use its own (seeded ``base_seed + worker_id``); with ``num_workers=0`` they are PyTorch's
draws.
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings
from collections.abc import Callable, Iterable

from ... import _dtype, accelerator
from ...ops.creation import empty
from . import _collate
from .dataset import IterableDataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]

# also importable from here, as from torch.utils.data.dataloader
default_collate = _collate.default_collate
default_convert = _collate.default_convert


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a (simulated) worker: ``id``, ``num_workers``,
    ``seed`` and ``dataset`` (that worker's copy)."""

    __initialized = False

    def __init__(self, **kwargs) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = [f"{k}={getattr(self, k)}" for k in self.__keys]
        return f"{self.__class__.__name__}({', '.join(items)})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The ``WorkerInfo`` of the worker running the current dataset code, or ``None`` in the main
    process (always ``None`` when ``num_workers=0``).

    >>> get_worker_info() is None
    True
    """
    return _worker_info


class _AsWorker:
    """Runs a block as worker ``info`` (get_worker_info() returns it inside)."""

    __slots__ = ("info", "saved")

    def __init__(self, info: WorkerInfo | None) -> None:
        self.info = info

    def __enter__(self):
        global _worker_info
        self.saved, _worker_info = _worker_info, self.info

    def __exit__(self, *exc):
        global _worker_info
        _worker_info = self.saved
        return False


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: ``None`` forever (the dataset decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


def _tensor_rows(dataset, indices):
    """If ``dataset`` is a TensorDataset (possibly under Subsets) of tensors that need no grad,
    the collated batch straight from one gather per tensor, else None.

    NOTE: the result equals default_collate's (stack of the rows); it is one numpy gather instead
    of a Python call per sample, which is what makes a DataLoader over tensors cheap.
    """
    while type(dataset) is Subset:
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset or any(t.requires_grad for t in dataset.tensors):
        return None
    return [t[indices] for t in dataset.tensors]


class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.fast = auto_collation and collate_fn is _collate.default_collate

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.fast:
            rows = _tensor_rows(self.dataset, index)
            if rows is not None:
                return rows
        if getattr(self.dataset, "__getitems__", None):
            data = self.dataset.__getitems__(index)
        else:
            data = [self.dataset[i] for i in index]
        return self.collate_fn(data)


class _IterableFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last) -> None:
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = list(itertools.islice(self.dataset_iter, len(index)))
        if len(data) < len(index):
            self.ended = True
        if len(data) == 0 or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


class _Worker:
    """One simulated worker: its info, and its fetcher once started."""

    def __init__(self, info: WorkerInfo) -> None:
        self.info = info
        self.fetcher = None


class _DataLoaderIter:
    """The iterator ``iter(loader)`` returns.  It makes PyTorch's random draws in PyTorch's order
    (sampler iterator first, then one int64 for the workers' base seed, then whatever the sampler
    draws on the first batch), so shuffled epochs match PyTorch's after the same seed."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._dataset = loader.dataset
        self._iterable = isinstance(loader.dataset, IterableDataset)
        self._auto_collation = loader._auto_collation
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._len_reported = loader._IterableDataset_len_called
        if loader.pin_memory and not accelerator.is_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = empty((), dtype=_dtype.int64).random_(
            generator=loader.generator).item()
        self._num_yielded = 0
        if self._num_workers == 0:
            if loader.timeout != 0:
                raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
            self._fetcher = self._make_fetcher(self._dataset)
        else:
            self._start_workers()

    def _make_fetcher(self, dataset):
        kind = _IterableFetcher if self._iterable else _MapFetcher
        return kind(dataset, self._auto_collation, self._loader.collate_fn,
                    self._loader.drop_last)

    def _start_workers(self) -> None:
        n = self._num_workers
        self._workers = []
        for i in range(n):
            # each worker process would get its own copy of an IterableDataset (its stream
            # restarts there); a map-style dataset is only read, so it is shared.
            dataset = copy.deepcopy(self._dataset) if self._iterable else self._dataset
            worker = _Worker(WorkerInfo(id=i, num_workers=n, seed=self._base_seed + i,
                                        dataset=dataset))
            with _AsWorker(worker.info):
                if self._loader.worker_init_fn is not None:
                    self._loader.worker_init_fn(i)
                worker.fetcher = self._make_fetcher(dataset)
            self._workers.append(worker)
        self._restart_rotation()

    def _restart_rotation(self) -> None:
        self._active = list(self._workers)
        self._turn = 0

    def _reset(self, loader: DataLoader) -> None:
        """A new epoch on persistent workers: same workers (and dataset copies), new indices."""
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_reported = loader._IterableDataset_len_called
        for worker in self._workers:
            with _AsWorker(worker.info):
                worker.fetcher = self._make_fetcher(worker.info.dataset)
        self._restart_rotation()

    def __iter__(self):
        return self

    def _next_data(self):
        if self._num_workers == 0:
            return self._fetcher.fetch(next(self._sampler_iter))
        # batch k goes to the k-th active worker in turn; a worker whose stream has ended
        # drops out, as PyTorch's in-order multiprocess loader does
        while self._active:
            index = next(self._sampler_iter)
            worker = self._active[self._turn % len(self._active)]
            try:
                with _AsWorker(worker.info):
                    data = worker.fetcher.fetch(index)
            except StopIteration:
                self._active.remove(worker)
                continue
            self._turn = (self._active.index(worker) + 1) % len(self._active)
            return data
        raise StopIteration

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if (self._iterable and self._len_reported is not None
                and self._num_yielded > self._len_reported):
            warnings.warn(f"Length of IterableDataset {self._dataset} was reported to be "
                          f"{self._len_reported}(when accessing len(dataloader)), but "
                          f"{self._num_yielded} samples have been fetched. ", stacklevel=2)
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)


class DataLoader:
    """Iterate over ``dataset`` in batches: ``for x, y in DataLoader(ds, batch_size=64,
    shuffle=True)``.

    Args are PyTorch's: ``batch_size`` (``None`` turns batching off), ``shuffle`` (a new random
    order each epoch: PyTorch's order after the same ``manual_seed``, or from ``generator``),
    ``sampler`` / ``batch_sampler`` (your own index order; mutually exclusive with the options
    they replace), ``collate_fn`` (default ``default_collate``), ``drop_last``, and
    ``num_workers``, ``pin_memory``, ``timeout``, ``worker_init_fn``, ``multiprocessing_context``,
    ``prefetch_factor``, ``persistent_workers``, ``pin_memory_device``, ``in_order``, which are
    checked as PyTorch checks them.

    Data loading runs in this process, also when ``num_workers > 0``: the workers are simulated
    one after the other (their ``worker_init_fn``, ``get_worker_info()``, their own copies of an
    ``IterableDataset`` and the order of their batches are PyTorch's), because worker processes
    break or stall in notebooks and on Binder (see the module docstring).  ``pin_memory=True``
    has nothing to pin on numpy/CuPy and is accepted with PyTorch's warning when there is no GPU.

    >>> import nbtorch as torch
    >>> from nbtorch.utils.data import TensorDataset
    >>> ds = TensorDataset(torch.arange(10.0), torch.arange(10) % 2)
    >>> loader = DataLoader(ds, batch_size=4)
    >>> len(loader)
    3
    >>> for x, y in loader:
    ...     print(x, y)
    tensor([0., 1., 2., 3.]) tensor([0, 1, 0, 1])
    tensor([4., 5., 6., 7.]) tensor([0, 1, 0, 1])
    tensor([8., 9.]) tensor([0, 1])
    """

    __initialized = False

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process "
                             f"loading (num_workers > 0), but got num_workers={num_workers}")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        # Dataset checks come before sampler checks, as in PyTorch: an IterableDataset has no
        # keys, so no sampler can apply to it.
        if isinstance(dataset, IterableDataset):
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")

        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if isinstance(dataset, IterableDataset):
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)

        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator

        if collate_fn is None:
            collate_fn = (_collate.default_collate if self._auto_collation
                          else _collate.default_convert)
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._IterableDataset_len_called = None
        self._iterator = None

    def __setattr__(self, attr, val) -> None:
        if self.__initialized and attr in ("batch_size", "batch_sampler", "sampler", "drop_last",
                                           "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> _DataLoaderIter:
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = _DataLoaderIter(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        return _DataLoaderIter(self)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            # the dataset's own length, in batches; trusted as PyTorch trusts it
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                length = (length // self.batch_size if self.drop_last
                          else math.ceil(length / self.batch_size))
            return length
        return len(self._index_sampler)
