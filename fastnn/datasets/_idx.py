"""Reading and writing the IDX format that MNIST (and EMNIST, Fashion-MNIST, ...) ship in.

An IDX file is a 4-byte big-endian magic number ``0x0000TTNN`` (``TT`` the element type,
``NN`` the number of dimensions), then ``NN`` big-endian uint32 sizes, then the elements in
C order. The files are usually distributed gzipped; both forms are accepted, told apart by
their first bytes rather than by their names, so a renamed file still reads.

This module depends only on the standard library and numpy, so the data side of fastnn can be
used (and tested) without the compiled tensor core.
"""

import gzip
import os
import struct
import zlib

import numpy as np

__all__ = [
    "IDXFormatError",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "is_gzip",
    "read_idx",
    "write_idx",
]

IMAGES_MAGIC = 0x00000803  # uint8, 3 dimensions: (n, rows, cols)
LABELS_MAGIC = 0x00000801  # uint8, 1 dimension: (n,)

_GZIP_MAGIC = b"\x1f\x8b"

# Multi-byte types are stored big-endian; they are converted to native order on read so
# callers never meet a byte-swapped dtype.
_TYPE_CODES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

# Deflate cannot expand data by more than about 1032:1, so a gzip file whose header declares
# a payload beyond that bound is corrupt; checking first avoids allocating gigabytes for a
# damaged header before discovering the stream is short.
_MAX_DEFLATE_RATIO = 1100

_CHUNK = 1 << 20


class IDXFormatError(RuntimeError):
    """The file exists but its content is not a well-formed IDX array."""


def is_gzip(path):
    """True when the file at ``path`` starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def _describe_magic(magic):
    names = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
    name = names.get(magic)
    return f"0x{magic:08x}" + (f" ({name})" if name else "")


def _read_exact(stream, n):
    # Compressed streams may hand back fewer bytes than asked for, so keep reading until
    # either the request is met or the stream really ends.
    parts = []
    remaining = n
    while remaining > 0:
        block = stream.read(remaining)
        if not block:
            break
        parts.append(block)
        remaining -= len(block)
    return b"".join(parts)


def _readinto_exact(stream, buf):
    view = memoryview(buf)
    filled = 0
    total = len(view)
    while filled < total:
        got = stream.readinto(view[filled:filled + _CHUNK])
        if not got:
            break
        filled += got
    return filled


def _parse(stream, path, compressed_size, raw_size, expect_magic, expect_shape):
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise IDXFormatError(
            f"{path}: too short to be an IDX file ({len(head)} bytes where a 4-byte magic "
            "number was expected); the file is truncated or empty"
        )
    magic = int.from_bytes(head, "big")
    if head[0] != 0 or head[1] != 0 or head[2] not in _TYPE_CODES or head[3] == 0:
        raise IDXFormatError(
            f"{path}: not an IDX file (magic number 0x{magic:08x}; expected 0x0000TTNN with a "
            "known type TT and at least one dimension, e.g. 0x00000803 for MNIST images)"
        )
    if expect_magic is not None and magic != expect_magic:
        raise IDXFormatError(
            f"{path}: IDX magic number is {_describe_magic(magic)}, expected "
            f"{_describe_magic(expect_magic)}; is this the right file?"
        )
    dtype = _TYPE_CODES[head[2]]
    ndim = head[3]
    header_len = 4 + 4 * ndim
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise IDXFormatError(
            f"{path}: truncated IDX header ({ndim} dimension sizes declared, file ends after "
            f"{4 + len(raw_dims)} bytes)"
        )
    dims = struct.unpack(f">{ndim}I", raw_dims)
    if expect_shape is not None:
        ok = len(expect_shape) == ndim and all(
            want is None or want == got for want, got in zip(expect_shape, dims)
        )
        if not ok:
            want = tuple("*" if w is None else w for w in expect_shape)
            raise IDXFormatError(f"{path}: IDX header declares shape {dims}, expected {want}")

    count = 1
    for d in dims:
        count *= d
    payload = count * dtype.itemsize

    if raw_size is not None:
        # For an uncompressed file the exact length is known before reading anything.
        found = raw_size - header_len
        if found != payload:
            what = "truncated" if found < payload else "has trailing data"
            raise IDXFormatError(
                f"{path}: {what}: header declares shape {dims} ({payload} payload bytes) but "
                f"{found} bytes follow the {header_len}-byte header"
            )
    elif payload > max(compressed_size, 1) * _MAX_DEFLATE_RATIO:
        raise IDXFormatError(
            f"{path}: header declares shape {dims} ({payload} bytes), far more than "
            f"{compressed_size} compressed bytes can hold; the header is corrupt"
        )

    out = np.empty(dims, dtype=dtype)
    got = _readinto_exact(stream, out.reshape(-1).view(np.uint8))
    if got != payload:
        raise IDXFormatError(
            f"{path}: truncated: header declares shape {dims} ({payload} payload bytes) but "
            f"the data ends after {got}"
        )
    # Reading past the end also makes gzip check its CRC and length trailer, which is what
    # catches a flipped byte that still decompresses.
    if stream.read(1):
        raise IDXFormatError(
            f"{path}: has trailing data after the {payload} payload bytes that its header "
            f"(shape {dims}) declares"
            + ("; the gzip data is probably corrupt" if raw_size is None else "")
        )
    if dtype.byteorder == ">":
        out = out.astype(dtype.newbyteorder("="))
    return out


def read_idx(path, *, expect_magic=None, expect_shape=None):
    """Read an IDX file, gzipped or raw, into a numpy array.

    Args:
        path: the file; gzip is recognised from its content, not its name.
        expect_magic: if given (e.g. ``IMAGES_MAGIC``), the magic number the file must have.
        expect_shape: if given, the shape the header must declare; ``None`` entries are
            wildcards, e.g. ``(None, 28, 28)``.

    Returns:
        An array of the declared shape in native byte order (uint8 for MNIST), which owns
        its memory and is writeable.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        IDXFormatError: (a ``RuntimeError``) bad magic, unexpected shape, truncated or
            over-long payload, or gzip data that fails to decompress or fails its CRC. The
            message always starts with the path.
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file not found: {path}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        compressed = f.read(2) == _GZIP_MAGIC
        f.seek(0)
        if not compressed:
            return _parse(f, path, None, size, expect_magic, expect_shape)
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as gz:
                return _parse(gz, path, size, None, expect_magic, expect_shape)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise IDXFormatError(
                f"{path}: corrupt or truncated gzip data ({exc}); delete the file and fetch "
                "it again"
            ) from exc


def write_idx(path, array, *, compress=None):
    """Write ``array`` as an IDX file; gzip it when ``compress`` is true.

    ``compress=None`` decides from the name (``.gz`` suffix). Used to build test fixtures and
    to convert datasets held in memory; the element type must be one IDX can represent.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX needs between 1 and 255 dimensions, got {array.ndim}")
    code = None
    for c, dt in _TYPE_CODES.items():
        if dt.kind == array.dtype.kind and dt.itemsize == array.dtype.itemsize:
            code = c
            break
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"IDX dimension sizes must fit in uint32, got {array.shape}")
    header = bytes((0, 0, code, array.ndim)) + struct.pack(f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=_TYPE_CODES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header)
        f.write(body)
