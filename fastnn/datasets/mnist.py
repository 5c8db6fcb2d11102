"""MNIST handwritten digits as numpy arrays.

This is the numpy core of fastnn's MNIST support: it finds, verifies, optionally downloads,
and reads the four published IDX files, and returns ``uint8`` images of shape ``(n, 28, 28)``
with ``int64`` labels of shape ``(n,)``. The tensor-level ``Dataset`` is built on top of
:func:`load_mnist` and needs nothing else from this module.

Splits
------
``load_mnist(split=...)`` accepts:

``"train"`` / ``"test"`` (automatic)
    If the 60,000-image training files are found, these are the official training set
    (60,000) and test set (10,000). If only the two ``t10k`` files are found, they are the
    **held-out split of the test set**: ``"train"`` is its first 8,000 images and ``"test"``
    its last 2,000. Numbers trained and evaluated this way are not comparable to published
    MNIST results. The result's ``held_out`` flag and ``source`` text say which happened.
``"full-train"`` / ``"full-test"``
    Always the official sets; ``"full-train"`` fails if the training files are absent.
``"t10k-train"`` / ``"t10k-test"``
    Always the 8,000 / 2,000 held-out split of the test files, even when the training files
    exist (for results that must match a setup where only ``t10k`` ships).

The two halves of one mode never overlap. Mixing modes (e.g. ``"full-test"`` with
``"t10k-train"``) does, since both come from the same 10,000 images.

Where the files are looked for
------------------------------
``root`` if given, else the directories in ``$FASTNN_DATA`` (``os.pathsep``-separated), else,
in order: ``./shared/data``, ``../shared/data`` (relative to the working directory), the same
two relative to the fastnn source checkout, ``./data``, and the download cache
(``$XDG_CACHE_HOME/fastnn/data``, default ``~/.cache/fastnn/data``). In each of those, the
files may sit directly inside, in ``mnist/``, or in ``MNIST/raw/`` (torchvision's layout).
Each file may be gzipped (``.gz``, as published; preferred, since it can be checksummed) or
raw.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._download import ChecksumError, DownloadError, Expected, check_file, download_file
from ._idx import IMAGES_MAGIC, LABELS_MAGIC, IDXFormatError, read_idx

__all__ = [
    "ChecksumError",
    "DATA_ENV",
    "DownloadError",
    "IDXFormatError",
    "DEFAULT_MIRRORS",
    "MIRRORS_ENV",
    "MNISTArrays",
    "MNISTFile",
    "MNIST_FILES",
    "SPLITS",
    "T10K_TRAIN_SIZE",
    "data_roots",
    "default_download_root",
    "download_mnist",
    "find_mnist",
    "load_mnist",
    "mnist_mirrors",
    "verify_mnist_file",
]

DATA_ENV = "FASTNN_DATA"
MIRRORS_ENV = "FASTNN_MNIST_MIRRORS"

# Tried in order. The original site is last: it has been refusing automated downloads.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

SPLITS = ("train", "test", "full-train", "full-test", "t10k-train", "t10k-test")

T10K_TRAIN_SIZE = 8000  # the held-out "train" part; the remaining 2,000 are its "test" part

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


@dataclass(frozen=True)
class MNISTFile:
    """One published MNIST file and what its gzipped form must hash to."""

    name: str  # without ".gz"
    kind: str  # "images" or "labels"
    count: int
    gz_size: int
    md5: str
    sha256: str

    @property
    def gz_name(self):
        return self.name + ".gz"

    @property
    def magic(self):
        return IMAGES_MAGIC if self.kind == "images" else LABELS_MAGIC

    @property
    def shape(self):
        return (self.count,) + IMAGE_SHAPE if self.kind == "images" else (self.count,)

    @property
    def expected(self):
        return Expected(size=self.gz_size, md5=self.md5, sha256=self.sha256)


MNIST_FILES = {
    f.name: f
    for f in (
        MNISTFile("train-images-idx3-ubyte", "images", 60000, 9912422,
                  "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                  "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        MNISTFile("train-labels-idx1-ubyte", "labels", 60000, 28881,
                  "d53e105ee54ea40749a09fcbcd1e9432",
                  "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        MNISTFile("t10k-images-idx3-ubyte", "images", 10000, 1648877,
                  "9fb629c4189551a2d022fa330f9573f3",
                  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        MNISTFile("t10k-labels-idx1-ubyte", "labels", 10000, 4542,
                  "ec29112dd5afa0611ce80d1b7f02629c",
                  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    )
}

_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
_T10K = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class MNISTArrays(tuple):
    """``(images, labels)`` that also says where it came from.

    Unpacks like a plain pair (``images, labels = load_mnist()``) and carries:

    ``split``
        the concrete split read (``"full-train"``, ``"t10k-test"``, ...), never ``"train"``
        or ``"test"``.
    ``held_out``
        True when the arrays are a part of the ``t10k`` files standing in for a
        train/test split.
    ``source``
        one human-readable line, fit for logs and ``repr`` of the dataset built on top.
    ``files``
        the ``(images, labels)`` file paths read.
    """

    def __new__(cls, images, labels, *, split, held_out, source, files):
        self = super().__new__(cls, (images, labels))
        self.split = split
        self.held_out = held_out
        self.source = source
        self.files = tuple(files)
        return self

    @property
    def images(self):
        return self[0]

    @property
    def labels(self):
        return self[1]

    def __reduce__(self):
        # The default tuple pickling would call __new__ without the keyword fields.
        return (_rebuild_arrays, (self[0], self[1], dict(self.__dict__)))

    def __repr__(self):
        return f"MNISTArrays(split={self.split!r}, n={len(self[1])}, source={self.source!r})"


def _rebuild_arrays(images, labels, fields):
    return MNISTArrays(images, labels, **fields)


# -- locating the files -----------------------------------------------------------------------


def _repo_root():
    # fastnn/datasets/mnist.py -> the checkout (or site-packages, where nothing will match).
    return Path(__file__).resolve().parents[2]


def default_download_root():
    """Where ``download=True`` puts the files when neither ``root`` nor ``$FASTNN_DATA`` is set."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "fastnn" / "data"


def data_roots(root=None):
    """The base directories searched, in order (see the module docstring)."""
    if root is not None:
        return [Path(os.fspath(root)).expanduser()]
    env = os.environ.get(DATA_ENV, "")
    if env.strip():
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    cwd = Path.cwd()
    repo = _repo_root()
    candidates = [
        cwd / "shared" / "data",
        cwd.parent / "shared" / "data",
        repo / "shared" / "data",
        repo.parent / "shared" / "data",
        cwd / "data",
        default_download_root(),
    ]
    seen, roots = set(), []
    for c in candidates:
        key = os.path.normcase(os.path.abspath(c))
        if key not in seen:
            seen.add(key)
            roots.append(c)
    return roots


def _layouts(base):
    return [base, base / "mnist", base / "MNIST" / "raw"]


def _search_dirs(root):
    return [d for base in data_roots(root) for d in _layouts(base)]


def _find_file(directory, name):
    # The gzipped form wins because only it can be checked against the published sums.
    for candidate in (directory / (name + ".gz"), directory / name):
        if candidate.is_file():
            return candidate
    return None


def _first_complete(dirs, names):
    for d in dirs:
        if all(_find_file(d, n) is not None for n in names):
            return d
    return None


def find_mnist(root=None, *, full=False):
    """The first searched directory holding the ``t10k`` files, or ``None``.

    With ``full=True`` the directory must hold all four files. Searches exactly as
    :func:`load_mnist` does, so tests can use it to decide whether to skip.
    """
    return _first_complete(_search_dirs(root), _TRAIN + _T10K if full else _T10K)


def mnist_mirrors(mirrors=None):
    """Resolve the mirror list: the argument, else ``$FASTNN_MNIST_MIRRORS``, else the defaults.

    A string (argument or environment) may hold several URLs separated by whitespace or commas.
    """
    if mirrors is None:
        mirrors = os.environ.get(MIRRORS_ENV) or DEFAULT_MIRRORS
    if isinstance(mirrors, str):
        mirrors = mirrors.replace(",", " ").split()
    return tuple(mirrors)


def _how_to_get(mirrors):
    return (
        "Pass root=<directory holding the files> (the files may also be in its mnist/ or "
        f"MNIST/raw/ subdirectory), set {DATA_ENV}=<that directory>, or use download=True to "
        f"fetch them from {', '.join(mnist_mirrors(mirrors))} (override with mirrors= or "
        f"{MIRRORS_ENV})."
    )


def _download_hint():
    return (
        f"Check the network, pass other mirrors (mirrors= or {MIRRORS_ENV}), or copy the "
        "published .gz files there by hand (or elsewhere, and pass root= or set "
        f"{DATA_ENV})."
    )


def _missing_error(dirs, names, mirrors):
    # Report against the directory that came closest, so the message names the file that is
    # really absent rather than every file everywhere.
    best = max(dirs, key=lambda d: sum(_find_file(d, n) is not None for n in names))
    missing = [n for n in names if _find_file(best, n) is None]
    have = [n for n in names if n not in missing]
    where = f" in {best} (which has {', '.join(have)})" if have else ""
    msg = (
        f"MNIST file(s) not found: {', '.join(n + '.gz' for n in missing)} (gzipped or "
        f"raw){where}. Looked in:\n" + "\n".join(f"  {d}" for d in dirs) + "\n"
    )
    if set(names) == set(_TRAIN) and _first_complete(dirs, _T10K) is not None:
        msg += (
            "Only the 10,000-image t10k files were found; split='train' uses the first "
            f"{T10K_TRAIN_SIZE:,} of them instead of the training files. "
        )
    return FileNotFoundError(msg + _how_to_get(mirrors))


def verify_mnist_file(path):
    """Check a published MNIST file against the known size, md5 and sha256.

    Gzipped files (``*.gz``) named as published are checked; raw files have no published sum
    and are only validated structurally when read. Raises :class:`ChecksumError` (a
    ``RuntimeError``) naming the file on mismatch, ``FileNotFoundError`` if it is missing,
    ``ValueError`` for a name that is not one of the four MNIST files.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file not found: {path}")
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    if stem not in MNIST_FILES:
        raise ValueError(f"{path.name} is not one of the MNIST files {sorted(MNIST_FILES)}")
    if path.name.endswith(".gz"):
        check_file(path, MNIST_FILES[stem].expected)


# -- downloading ------------------------------------------------------------------------------


def _download_dir(root):
    if root is not None:
        base = Path(os.fspath(root)).expanduser()
    else:
        env = [p for p in os.environ.get(DATA_ENV, "").split(os.pathsep) if p.strip()]
        base = Path(env[0]).expanduser() if env else default_download_root()
    # Complete a partial set where it already lives rather than starting a second copy.
    for d in _layouts(base):
        if any(_find_file(d, n) is not None for n in MNIST_FILES):
            return d
    return base / "mnist"


def _ensure(directory, names, *, download, verify, mirrors, timeout):
    """Paths of ``names`` in ``directory``, fetching missing or corrupt ones if allowed."""
    paths = {}
    for name in names:
        info = MNIST_FILES[name]
        path = _find_file(directory, name)
        if path is not None and verify and path.name.endswith(".gz"):
            try:
                check_file(path, info.expected)
            except ChecksumError:
                if not download:
                    raise
                path = None  # replaced atomically below; the bad copy stays until then
        if path is None:
            if not download:
                raise _missing_error([directory], names, mirrors)
            path = download_file(
                info.gz_name, directory, mnist_mirrors(mirrors), expected=info.expected,
                timeout=timeout, hint=_download_hint(),
            )
        paths[name] = path
    return paths


def download_mnist(root=None, *, full=True, mirrors=None, timeout=30.0):
    """Make sure the MNIST files are present and verified; return their directory.

    Downloads whatever is missing or fails its checksum into ``root`` (else the first
    ``$FASTNN_DATA`` entry, else :func:`default_download_root`), in the layout already used
    there or in ``mnist/``. ``full=False`` fetches only the two ``t10k`` files.
    """
    directory = _download_dir(root)
    names = _TRAIN + _T10K if full else _T10K
    _ensure(directory, names, download=True, verify=True, mirrors=mirrors, timeout=timeout)
    return directory


# -- reading ----------------------------------------------------------------------------------


def _read_pair(paths, images_name, labels_name):
    img_info, lbl_info = MNIST_FILES[images_name], MNIST_FILES[labels_name]
    images = read_idx(paths[images_name], expect_magic=img_info.magic, expect_shape=img_info.shape)
    labels = read_idx(paths[labels_name], expect_magic=lbl_info.magic, expect_shape=lbl_info.shape)
    if labels.size and labels.max() >= NUM_CLASSES:
        raise IDXFormatError(
            f"{paths[labels_name]}: label {int(labels.max())} outside 0-{NUM_CLASSES - 1}"
        )
    return images, labels


def _check_split(split):
    if split not in SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; expected one of {', '.join(SPLITS)}")


def load_mnist(root=None, split="train", download=False, *, verify=True, mirrors=None,
               timeout=30.0):
    """Load one MNIST split as numpy arrays.

    Args:
        root: directory holding the files (directly, or in ``mnist/`` or ``MNIST/raw/``).
            ``None`` searches ``$FASTNN_DATA`` or the default chain (module docstring).
        split: ``"train"`` or ``"test"`` choose automatically: the official 60,000/10,000
            sets when the training files are found, otherwise the first 8,000 / last 2,000
            images of the 10,000-image ``t10k`` files. ``"full-train"``, ``"full-test"``,
            ``"t10k-train"`` and ``"t10k-test"`` request one mode explicitly.
        download: fetch the files that are missing (or fail their checksum) from the
            mirrors. A usable local copy is never re-fetched; in particular, automatic
            ``"train"``/``"test"`` with only the ``t10k`` files present stays in held-out mode,
            ask for ``"full-train"`` to fetch the training files. When nothing is found,
            automatic splits and ``"full-train"`` fetch all four files, so that a later
            automatic call cannot fall back to a held-out split overlapping a test set
            already used.
        verify: check gzipped files against the published size, md5 and sha256 (a few
            milliseconds). Raw files are always validated structurally.
        mirrors: mirror URLs (sequence, or one string separated by whitespace/commas);
            default ``$FASTNN_MNIST_MIRRORS``, else :data:`DEFAULT_MIRRORS`.
        timeout: seconds per network operation when downloading.

    Returns:
        :class:`MNISTArrays`: unpacks to ``(images, labels)``, images ``uint8`` of shape
        ``(n, 28, 28)`` with values 0-255, labels ``int64`` of shape ``(n,)``; both own their
        memory. ``.split``, ``.held_out``, ``.source`` and ``.files`` describe the origin.

    Raises:
        FileNotFoundError: the files are not found (and ``download`` is false); the message
            names the missing file, the directories searched, and how to provide it.
        ChecksumError: a gzipped file does not match the published sums (``download`` false).
        IDXFormatError: a file is truncated or malformed.
        DownloadError: every mirror failed for some file.
        ValueError: unknown ``split``.

        ``ChecksumError``, ``IDXFormatError`` and ``DownloadError`` subclass ``RuntimeError``.
    """
    _check_split(split)
    dirs = _search_dirs(root)
    auto = split in ("train", "test")
    if auto:
        directory = _first_complete(dirs, _TRAIN + _T10K)
        if directory is not None:
            split = "full-" + split
        else:
            directory = _first_complete(dirs, _T10K)
            split = ("t10k-" if directory is not None else "full-") + split
    else:
        directory = _first_complete(dirs, _TRAIN if split == "full-train" else _T10K)
    pair = _TRAIN if split == "full-train" else _T10K
    needed = pair
    if directory is None:
        if not download:
            raise _missing_error(dirs, _T10K if auto else pair, mirrors)
        directory = _download_dir(root)
        if auto or split == "full-train":
            needed = _TRAIN + _T10K
    paths = _ensure(directory, needed, download=download, verify=verify, mirrors=mirrors,
                    timeout=timeout)

    images, labels = _read_pair(paths, *pair)
    if split == "full-train":
        what = f"MNIST training set, {len(labels):,} images"
    elif split == "full-test":
        what = f"MNIST test set, {len(labels):,} images"
    else:
        part = slice(0, T10K_TRAIN_SIZE) if split == "t10k-train" else slice(T10K_TRAIN_SIZE, None)
        start, stop, _ = part.indices(len(labels))
        # Copies, so the result does not keep the whole 10,000-image buffer alive.
        images, labels = images[part].copy(), labels[part]
        what = (
            f"MNIST held-out split ({split}): images {start}-{stop - 1} of the 10,000-image "
            "t10k test files, no training files used"
        )
    files = (paths[pair[0]], paths[pair[1]])
    return MNISTArrays(
        images,
        labels.astype(np.int64),
        split=split,
        held_out=split.startswith("t10k-"),
        source=f"{what}; from {files[0].parent}",
        files=files,
    )
