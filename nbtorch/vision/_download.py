"""Downloading and unpacking datasets, as ``torchvision.datasets.utils``: standard library only
(urllib, hashlib, gzip, tarfile).

Every write is atomic: a download goes to a temporary file next to its destination, its md5 is
checked, and only then is it renamed into place, so an interrupted or corrupted download never
leaves a file that looks complete.  Archives are unpacked the same way, member by member, and a
tar member that is not a plain file or folder, or whose path leaves the destination, is refused.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request

__all__ = ["calculate_md5", "check_integrity", "download_url", "extract_archive",
           "download_and_extract_archive"]

USER_AGENT = "nbtorch"
_CHUNK = 1 << 20


def calculate_md5(fpath: str, chunk_size: int = _CHUNK) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            md5.update(chunk)
    return md5.hexdigest()


def check_integrity(fpath: str, md5: str | None = None) -> bool:
    """The file exists and, when ``md5`` is given, has that checksum.

    >>> check_integrity("/no/such/file")
    False
    """
    if not os.path.isfile(fpath):
        return False
    return md5 is None or calculate_md5(fpath) == md5


def _temporary_beside(path: str) -> tuple[int, str]:
    folder, name = os.path.split(path)
    return tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder or ".")


def _discard(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def download_url(url: str, root: str, filename: str | None = None, md5: str | None = None,
                 timeout: float = 60.0) -> str:
    """Download ``url`` to ``root/filename`` (default: the URL's last part) unless a file with
    the right ``md5`` is already there; returns the path.  A checksum mismatch raises
    ``RuntimeError`` and leaves nothing behind."""
    root = os.path.expanduser(os.fspath(root))
    fpath = os.path.join(root, filename or os.path.basename(url))
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return fpath
    print(f"Downloading {url} to {fpath}")
    fd, tmp = _temporary_beside(fpath)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as r:
            shutil.copyfileobj(r, out, _CHUNK)
        if md5 is not None:
            got = calculate_md5(tmp)
            if got != md5:
                raise RuntimeError(f"File not found or corrupted. The md5 of {url} is {got}, "
                                   f"expected {md5}.")
        os.replace(tmp, fpath)
    finally:
        _discard(tmp)
    return fpath


def _safe_member(member: tarfile.TarInfo, to_path: str) -> str | None:
    """Where a tar member may go, or None to skip it (folders); raises for anything unsafe."""
    target = os.path.realpath(os.path.join(to_path, member.name))
    if os.path.commonpath([target, os.path.realpath(to_path)]) != os.path.realpath(to_path):
        raise RuntimeError(f"Refusing to extract {member.name!r}: it leaves {to_path}")
    if member.isdir():
        return None
    if not member.isfile():
        raise RuntimeError(f"Refusing to extract {member.name!r}: not a regular file")
    return target


def _write_atomically(source, target: str) -> None:
    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd, tmp = _temporary_beside(target)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)
        os.replace(tmp, target)
    finally:
        _discard(tmp)


def extract_archive(from_path: str, to_path: str | None = None,
                    remove_finished: bool = False) -> str:
    """Unpack a ``.tar.gz``/``.tgz``/``.tar`` archive into ``to_path``, or gunzip a ``.gz`` file
    to ``to_path/<name without .gz>``; returns ``to_path``."""
    to_path = os.path.dirname(from_path) if to_path is None else to_path
    name = os.path.basename(from_path)
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(from_path, "r:*") as tar:
            for member in tar:
                target = _safe_member(member, to_path)
                if target is not None:
                    with tar.extractfile(member) as source:
                        _write_atomically(source, target)
    elif name.endswith(".gz"):
        with gzip.open(from_path, "rb") as source:
            _write_atomically(source, os.path.join(to_path, name[:-3]))
    else:
        raise RuntimeError(f"Extraction of {from_path} not supported")
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url: str, download_root: str, extract_root: str | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False) -> None:
    download_root = os.path.expanduser(os.fspath(download_root))
    extract_root = download_root if extract_root is None else extract_root
    fpath = download_url(url, download_root, filename, md5)
    print(f"Extracting {fpath} to {extract_root}")
    extract_archive(fpath, extract_root, remove_finished)
