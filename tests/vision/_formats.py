"""Writers for the real on-disk formats of the datasets, so tests can make small files:
MNIST's idx (gzipped), CIFAR-10's Python-2 cPickle batches (protocol 2, as the files on the CIFAR
site are) and its protocol-0 meta file; and a local HTTP server to download them from."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.server
import io
import os
import struct
import tarfile
import threading
from functools import partial

import numpy as np


def md5_of(path) -> str:
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """idx format: 0, 0, type code, ndim, big-endian int32 sizes, big-endian data."""
    codes = {np.dtype(np.uint8): 8, np.dtype(np.int8): 9, np.dtype(np.int16): 11,
             np.dtype(np.int32): 12, np.dtype(np.float32): 13, np.dtype(np.float64): 14}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += b"".join(struct.pack(">i", n) for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx_gz(path, array: np.ndarray) -> None:
    with gzip.open(path, "wb") as f:
        f.write(idx_bytes(array))


def mnist_arrays(n_train=5, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_mnist(folder, arrays, gz=True) -> dict:
    """The four MNIST files into ``folder``; returns {gz file name: md5 of the .gz}."""
    os.makedirs(folder, exist_ok=True)
    md5s = {}
    for name, array in arrays.items():
        if gz:
            path = os.path.join(folder, name + ".gz")
            write_idx_gz(path, array)
            md5s[name + ".gz"] = md5_of(path)
        else:
            with open(os.path.join(folder, name), "wb") as f:
                f.write(idx_bytes(array))
    return md5s


class Py2Pickler:
    """Emits the opcodes Python 2's cPickle.dump(obj, f, 2) writes for CIFAR's batch dicts:
    str as SHORT_BINSTRING/BINSTRING, ints as BININT1/BININT2/BININT, numpy arrays through
    numpy.core.multiarray._reconstruct + BUILD, and a BINPUT after each container/string."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.memo = 0

    def put(self) -> None:
        self.memo += 1
        self.out.write(b"q" + bytes([self.memo]) if self.memo < 256
                       else b"r" + struct.pack("<I", self.memo))

    def str_(self, s: bytes, memo=True) -> None:
        self.out.write(b"U" + bytes([len(s)]) + s if len(s) < 256
                       else b"T" + struct.pack("<i", len(s)) + s)
        if memo:
            self.put()

    def int_(self, i: int) -> None:
        if 0 <= i < 256:
            self.out.write(b"K" + bytes([i]))
        elif 0 <= i < 65536:
            self.out.write(b"M" + struct.pack("<H", i))
        else:
            self.out.write(b"J" + struct.pack("<i", i))

    def array(self, a: np.ndarray) -> None:
        w = self.out.write
        w(b"cnumpy.core.multiarray\n_reconstruct\n")
        self.put()
        w(b"cnumpy\nndarray\n")
        self.put()
        self.int_(0)
        w(b"\x85")
        self.str_(b"b", memo=False)
        w(b"\x87R")
        self.put()
        w(b"(")
        self.int_(1)
        for n in a.shape:
            self.int_(n)
        w({1: b"\x85", 2: b"\x86", 3: b"\x87"}[a.ndim])
        w(b"cnumpy\ndtype\n")
        self.put()
        self.str_(a.dtype.str[1:].encode(), memo=False)
        self.int_(0)
        self.int_(1)
        w(b"\x87R")
        self.put()
        w(b"(")
        self.int_(3)
        self.str_(a.dtype.str[:1].encode(), memo=False)
        w(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff")
        self.int_(0)
        w(b"tb\x89")
        self.str_(a.tobytes(), memo=False)
        w(b"tb")

    def value(self, v) -> None:
        if isinstance(v, np.ndarray):
            self.array(v)
        elif isinstance(v, bytes):
            self.str_(v)
        elif isinstance(v, int):
            self.int_(v)
        elif isinstance(v, list):
            self.out.write(b"]")
            self.put()
            if v:
                self.out.write(b"(")
                for item in v:
                    self.value(item)
                self.out.write(b"e")
        else:
            raise TypeError(type(v))

    def dumps(self, d: dict) -> bytes:
        self.out.write(b"\x80\x02}")
        self.put()
        self.out.write(b"(")
        for k, v in d.items():
            self.str_(k)
            self.value(v)
        self.out.write(b"u.")
        return self.out.getvalue()


def py0_meta(label_names: list[bytes]) -> bytes:
    """batches.meta in protocol 0 (cPickle's default text format)."""
    out = [b"(dp1\nS'num_cases_per_batch'\np2\nI10000\nsS'label_names'\np3\n(lp4\n"]
    memo = 5
    for name in label_names:
        out.append(b"S'" + name + b"'\np" + str(memo).encode() + b"\na")
        memo += 1
    out.append(b"sS'num_vis'\np" + str(memo).encode() + b"\nI3072\ns.")
    return b"".join(out)


CIFAR_CLASSES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog",
                 b"horse", b"ship", b"truck"]


def cifar_batches(n_per_batch=4, seed=0):
    """{file name: (data uint8 (n, 3072), labels)} for the five training batches and the test."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {name: (rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                   [int(x) for x in rng.integers(0, 10, n_per_batch)]) for name in names}


def write_cifar(folder, batches) -> dict:
    """The CIFAR-10 python folder (cifar-10-batches-py) into ``folder``; returns md5s by name."""
    os.makedirs(folder, exist_ok=True)
    md5s = {}
    for name, (data, labels) in batches.items():
        blob = Py2Pickler().dumps({
            b"batch_label": b"training batch 1 of 5",
            b"labels": labels,
            b"data": data,
            b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
        })
        with open(os.path.join(folder, name), "wb") as f:
            f.write(blob)
        md5s[name] = md5_of(os.path.join(folder, name))
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        f.write(py0_meta(CIFAR_CLASSES))
    md5s["batches.meta"] = md5_of(os.path.join(folder, "batches.meta"))
    return md5s


def tar_gz_of(folder, archive, arcname) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=arcname)


@contextlib.contextmanager
def http_server(directory):
    """Serve ``directory`` on 127.0.0.1 (a free port); yields (base URL, list of paths asked)."""
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            return super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
