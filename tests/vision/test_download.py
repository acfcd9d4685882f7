"""download_url / extract_archive: atomic writes, checksums, refusal of unsafe archive members.
Everything is served from 127.0.0.1: the tests need no internet."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import urllib.error

import pytest

from nbtorch.vision._download import (
    calculate_md5,
    check_integrity,
    download_and_extract_archive,
    download_url,
    extract_archive,
)
from tests.vision._formats import http_server, md5_of


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "server"
    folder.mkdir()
    (folder / "hello.txt").write_bytes(b"hello world\n" * 1000)
    return folder


def test_check_integrity(served):
    path = str(served / "hello.txt")
    assert check_integrity(path) and check_integrity(path, md5_of(path))
    assert not check_integrity(path, "0" * 32)
    assert calculate_md5(path, chunk_size=7) == md5_of(path)


def test_download_url(served, tmp_path):
    root = tmp_path / "root"
    with http_server(served) as (url, asked):
        md5 = md5_of(served / "hello.txt")
        path = download_url(url + "hello.txt", str(root), md5=md5)
        assert open(path, "rb").read() == (served / "hello.txt").read_bytes()
        download_url(url + "hello.txt", str(root), md5=md5)  # verified copy there: no fetch
        assert len(asked) == 1
        download_url(url + "hello.txt", str(root), filename="other.txt")
    assert sorted(os.listdir(root)) == ["hello.txt", "other.txt"]


def test_download_checksum_failure_leaves_no_file(served, tmp_path):
    root = tmp_path / "root"
    with http_server(served) as (url, _):
        with pytest.raises(RuntimeError, match="File not found or corrupted"):
            download_url(url + "hello.txt", str(root), md5="0" * 32)
    assert os.listdir(root) == []


def test_download_http_error_leaves_no_file(served, tmp_path):
    root = tmp_path / "root"
    with http_server(served) as (url, _):
        with pytest.raises(urllib.error.HTTPError):
            download_url(url + "absent.bin", str(root))
    assert os.listdir(root) == []


def test_download_replaces_a_corrupted_file(served, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"half a fi")
    with http_server(served) as (url, asked):
        download_url(url + "hello.txt", str(root), md5=md5_of(served / "hello.txt"))
        assert len(asked) == 1
    assert (root / "hello.txt").read_bytes() == (served / "hello.txt").read_bytes()


def test_extract_gz(tmp_path):
    with gzip.open(tmp_path / "a.bin.gz", "wb") as f:
        f.write(b"payload")
    extract_archive(str(tmp_path / "a.bin.gz"))
    assert (tmp_path / "a.bin").read_bytes() == b"payload"
    extract_archive(str(tmp_path / "a.bin.gz"), str(tmp_path / "out"), remove_finished=True)
    assert (tmp_path / "out" / "a.bin").read_bytes() == b"payload"
    assert not (tmp_path / "a.bin.gz").exists()
    with pytest.raises(RuntimeError, match="not supported"):
        extract_archive(str(tmp_path / "a.bin"))


def _tar_with(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_extract_tar(tmp_path):
    _tar_with(tmp_path / "a.tar.gz", [_file("folder/x.txt", b"x"), _file("folder/y.txt", b"yy")])
    extract_archive(str(tmp_path / "a.tar.gz"), str(tmp_path / "out"))
    assert (tmp_path / "out" / "folder" / "y.txt").read_bytes() == b"yy"


@pytest.mark.parametrize("kind", ["parent", "absolute", "symlink"])
def test_extract_tar_refuses_unsafe_members(tmp_path, kind):
    if kind == "symlink":
        info = tarfile.TarInfo("folder/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        members = [(info, None)]
    else:
        name = "../escaped.txt" if kind == "parent" else str(tmp_path / "abs.txt")
        members = [_file(name, b"bad")]
    _tar_with(tmp_path / "bad.tar.gz", members)
    with pytest.raises(RuntimeError, match="Refusing to extract"):
        extract_archive(str(tmp_path / "bad.tar.gz"), str(tmp_path / "out"))
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "abs.txt").exists()


def test_download_and_extract(served, tmp_path):
    with gzip.open(served / "data.bin.gz", "wb") as f:
        f.write(b"\x00\x01")
    with http_server(served) as (url, _):
        download_and_extract_archive(url + "data.bin.gz", str(tmp_path / "d"),
                                     md5=md5_of(served / "data.bin.gz"))
    assert (tmp_path / "d" / "data.bin").read_bytes() == b"\x00\x01"
