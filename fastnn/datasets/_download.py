"""Checksums and crash-safe downloads for dataset files.

A dataset file is only ever visible under its final name once it is complete and verified:
bytes are streamed into a hidden temporary file in the destination directory, hashed on the
way, fsync'd, checked, and then renamed over the final name with ``os.replace`` (atomic on
POSIX and Windows when both names are on the same filesystem, which the shared directory
guarantees). An interrupted or rejected download therefore leaves at worst nothing behind,
never a half-written file that a later run would mistake for data.
"""

import hashlib
import http.client
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ChecksumError",
    "DownloadError",
    "Expected",
    "check_file",
    "download_file",
    "file_digests",
    "join_url",
]

_CHUNK = 1 << 16
_SCHEMES = ("http", "https", "file")
_USER_AGENT = "fastnn-datasets"


class ChecksumError(RuntimeError):
    """A file's size or digest differs from the published value."""


class DownloadError(RuntimeError):
    """No mirror delivered a verified copy of a file."""


@dataclass(frozen=True)
class Expected:
    """What a published file must look like; ``None`` fields are not checked."""

    size: int = None
    md5: str = None
    sha256: str = None


def _new_hashes():
    # md5 here identifies files (mirrors publish md5 sums), it protects nothing; saying so
    # keeps it usable on FIPS-restricted interpreters.
    return hashlib.md5(usedforsecurity=False), hashlib.sha256()


def file_digests(path):
    """Return ``(size, md5 hex, sha256 hex)`` of the file at ``path``."""
    md5, sha256 = _new_hashes()
    size = 0
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            size += len(block)
            md5.update(block)
            sha256.update(block)
    return size, md5.hexdigest(), sha256.hexdigest()


def _mismatches(expected, size, md5, sha256):
    problems = []
    if expected.size is not None and size != expected.size:
        problems.append(f"size {size} bytes, expected {expected.size}")
    if expected.md5 is not None and md5 != expected.md5:
        problems.append(f"md5 {md5}, expected {expected.md5}")
    if expected.sha256 is not None and sha256 != expected.sha256:
        problems.append(f"sha256 {sha256}, expected {expected.sha256}")
    return problems


def check_file(path, expected):
    """Raise ``ChecksumError`` naming ``path`` unless it matches ``expected``."""
    size, md5, sha256 = file_digests(path)
    problems = _mismatches(expected, size, md5, sha256)
    if problems:
        raise ChecksumError(
            f"{path}: checksum mismatch ({'; '.join(problems)}). The file is corrupt or "
            "incomplete; delete it and fetch it again (e.g. download=True)."
        )


def join_url(base, name):
    """``base`` is a directory URL; a missing trailing slash is tolerated."""
    return base if base.endswith("/" + name) else base.rstrip("/") + "/" + name


def _fsync_dir(directory):
    # Makes the rename itself durable; not possible (nor needed) on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fetch_one(url, dest, expected, timeout):
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in _SCHEMES:
        raise ValueError(f"unsupported URL scheme {scheme!r} (use one of {', '.join(_SCHEMES)})")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    # O_EXCL: a clash with a concurrent downloader fails loudly instead of interleaving.
    # Mode 0o666 lets the umask decide, as it would for any ordinarily created file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as resp:
            declared = resp.headers.get("Content-Length")
            md5, sha256 = _new_hashes()
            size = 0
            while True:
                block = resp.read(_CHUNK)
                if not block:
                    break
                size += len(block)
                # A misbehaving mirror must not be able to fill the disk.
                if expected.size is not None and size > expected.size:
                    raise ChecksumError(f"more than the expected {expected.size} bytes")
                md5.update(block)
                sha256.update(block)
                out.write(block)
            if declared is not None and declared.isdigit() and int(declared) != size:
                raise DownloadError(f"connection ended after {size} of {declared} bytes")
            problems = _mismatches(expected, size, md5.hexdigest(), sha256.hexdigest())
            if problems:
                raise ChecksumError("checksum mismatch: " + "; ".join(problems))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(dest.parent)


def _reason(exc):
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def download_file(name, dest_dir, mirrors, *, expected=Expected(), timeout=30.0, hint=""):
    """Fetch ``name`` from the first mirror that serves a verified copy.

    Each mirror is a directory URL (``http``, ``https`` or ``file``); the file is looked for at
    ``<mirror>/<name>``. Mirrors are tried in order; a failure (network error, HTTP error,
    short body, wrong size or digest) moves on to the next one. ``hint`` ends the error
    message, to tell the user how else this particular dataset can be obtained.

    Returns:
        The final path, ``dest_dir / name``.

    Raises:
        DownloadError: (a ``RuntimeError``) every mirror failed; the message names the file
            and each URL tried with its reason.
    """
    mirrors = list(mirrors)
    dest_dir = Path(dest_dir)
    dest = dest_dir / name
    if not mirrors:
        raise DownloadError(
            f"cannot download {name}: no mirrors configured." + (" " + hint if hint else "")
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    failures = []
    for base in mirrors:
        url = join_url(base, name)
        try:
            _fetch_one(url, dest, expected, timeout)
            return dest
        except (OSError, http.client.HTTPException, ValueError, RuntimeError) as exc:
            failures.append(f"  {url}: {_reason(exc)}")
    raise DownloadError(
        f"could not download {name} into {dest_dir}; tried {len(mirrors)} mirror(s):\n"
        + "\n".join(failures)
        + "\nNo file was written under the final name."
        + (" " + hint if hint else "")
    )
