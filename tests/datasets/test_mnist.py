"""MNIST at the numpy level: reading, verifying, locating and downloading the IDX files.

Uses the t10k files that ship beside the repository (found the same way the library finds
them); every download goes to a throwaway HTTP server on 127.0.0.1, never to the network.
"""

import functools
import gzip
import http.server
import pickle
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from fastnn.datasets import mnist
from fastnn.datasets._download import ChecksumError, DownloadError
from fastnn.datasets._idx import IDXFormatError, read_idx, write_idx

IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"

# Per-digit counts of the official 10,000-image MNIST test set.
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _copy_pair(src, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for name in (IMAGES, LABELS):
        shutil.copyfile(src / name, dest / name)
    return dest


def _flip_byte(path, offset=None):
    data = bytearray(path.read_bytes())
    offset = len(data) // 2 if offset is None else offset
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def _files_under(directory):
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


# -- the shipped files --------------------------------------------------------------------------


def test_read_shipped_t10k(shipped):
    images = read_idx(shipped / IMAGES)
    labels = read_idx(shipped / LABELS)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[0] == 7 and list(labels[:5]) == [7, 2, 1, 0, 4]
    assert np.bincount(labels, minlength=10).tolist() == T10K_COUNTS
    assert images.min() == 0 and images.max() == 255
    assert 30 < images.mean() < 37  # about 0.1325 * 255
    # Digits are centred: the border is almost blank, the middle is not.
    assert images[:, 0, :].mean() < 1 and images[:, 10:18, 10:18].mean() > 80
    assert images.flags.writeable and images.flags.owndata


def test_verify_shipped_files(shipped):
    for name in (IMAGES, LABELS):
        mnist.verify_mnist_file(shipped / name)


def test_held_out_split(shipped):
    full_x, full_y = mnist.load_mnist(shipped, split="full-test")
    assert full_x.shape == (10000, 28, 28) and full_y.dtype == np.int64
    train = mnist.load_mnist(shipped, split="t10k-train")
    test = mnist.load_mnist(shipped, split="t10k-test")
    (xtr, ytr), (xte, yte) = train, test
    assert xtr.shape == (8000, 28, 28) and ytr.shape == (8000,)
    assert xte.shape == (2000, 28, 28) and yte.shape == (2000,)
    assert xtr.dtype == xte.dtype == np.uint8 and ytr.dtype == yte.dtype == np.int64
    assert ytr[0] == 7
    np.testing.assert_array_equal(np.concatenate([xtr, xte]), full_x)
    np.testing.assert_array_equal(np.concatenate([ytr, yte]), full_y)
    assert train.held_out and test.held_out
    assert xtr.flags.owndata and xte.flags.owndata  # not views pinning all 10,000 images
    assert train.split == "t10k-train" and test.split == "t10k-test"
    assert "held-out" in train.source and "0-7999" in train.source
    assert "8000-9999" in test.source
    assert train.files == (shipped / IMAGES, shipped / LABELS)
    # Every digit is represented in both parts.
    assert (np.bincount(yte, minlength=10) > 150).all()


def test_auto_split_uses_held_out_without_training_files(shipped, tmp_path):
    root = _copy_pair(shipped, tmp_path / "mnist").parent
    train = mnist.load_mnist(root, split="train")
    test = mnist.load_mnist(root, split="test")
    assert train.split == "t10k-train" and len(train.labels) == 8000 and train.held_out
    assert test.split == "t10k-test" and len(test.labels) == 2000
    assert "t10k-train" in repr(train) and "n=8000" in repr(train)
    again = pickle.loads(pickle.dumps(train))
    assert again.source == train.source and again.split == train.split
    np.testing.assert_array_equal(again.images, train.images)


def test_auto_split_prefers_full_training_set(shipped, tmp_path):
    raw = _copy_pair(shipped, tmp_path / "MNIST" / "raw")
    x10k, y10k = read_idx(shipped / IMAGES), read_idx(shipped / LABELS)
    # Raw (structure-checked only) stand-ins with the published 60,000-image shape.
    write_idx(raw / "train-images-idx3-ubyte", np.tile(x10k, (6, 1, 1)))
    write_idx(raw / "train-labels-idx1-ubyte", np.tile(y10k, 6))
    assert mnist.find_mnist(tmp_path, full=True) == raw

    train = mnist.load_mnist(tmp_path, split="train")
    assert train.split == "full-train" and not train.held_out
    assert train.images.shape == (60000, 28, 28) and train.labels.dtype == np.int64
    assert train.files[0].name == "train-images-idx3-ubyte"
    np.testing.assert_array_equal(train.images[10000:20000], x10k)
    test = mnist.load_mnist(tmp_path, split="test")
    assert test.split == "full-test" and len(test.labels) == 10000
    # The explicit held-out split stays available.
    assert len(mnist.load_mnist(tmp_path, split="t10k-train").labels) == 8000


def test_unknown_split(shipped):
    with pytest.raises(ValueError, match="t10k-train"):
        mnist.load_mnist(shipped, split="validation")


# -- finding the files ------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["", "mnist", "MNIST/raw"])
def test_root_layouts(shipped, tmp_path, layout):
    where = _copy_pair(shipped, tmp_path / layout if layout else tmp_path)
    assert mnist.find_mnist(tmp_path) == where
    x, y = mnist.load_mnist(tmp_path, split="t10k-test")
    assert x.shape == (2000, 28, 28) and y.shape == (2000,)


def test_env_var(shipped, tmp_path, monkeypatch):
    where = _copy_pair(shipped, tmp_path / "elsewhere" / "mnist")
    monkeypatch.setenv(mnist.DATA_ENV, str(tmp_path / "nothing-here") + ":" + str(where.parent))
    assert mnist.find_mnist() == where
    assert mnist.load_mnist(split="t10k-test").files[0] == where / IMAGES


def test_default_chain_finds_shared_beside_checkout(shipped, tmp_path, monkeypatch):
    monkeypatch.delenv(mnist.DATA_ENV, raising=False)
    checkout = tmp_path / "clone"
    checkout.mkdir()
    where = _copy_pair(shipped, tmp_path / "shared" / "data" / "mnist")
    monkeypatch.chdir(checkout)
    assert mnist.find_mnist() == where
    # The same place relative to the fastnn sources is searched too, whatever the cwd.
    repo = Path(mnist.__file__).resolve().parents[2]
    assert repo.parent / "shared" / "data" in mnist.data_roots()


# -- damaged and missing files ----------------------------------------------------------------


def test_checksum_mismatch_byte_flip(shipped, tmp_path):
    _copy_pair(shipped, tmp_path)
    _flip_byte(tmp_path / IMAGES)
    with pytest.raises(ChecksumError, match="md5") as info:
        mnist.load_mnist(tmp_path, split="t10k-train")
    assert isinstance(info.value, RuntimeError)
    assert IMAGES in str(info.value) and str(tmp_path) in str(info.value)
    with pytest.raises(ChecksumError, match=IMAGES):
        mnist.verify_mnist_file(tmp_path / IMAGES)
    # Without the checksum, the damaged deflate stream is still caught while reading.
    with pytest.raises(IDXFormatError, match=IMAGES):
        mnist.load_mnist(tmp_path, split="t10k-train", verify=False)


def test_checksum_catches_what_structure_cannot(shipped, tmp_path):
    _copy_pair(shipped, tmp_path)
    # Byte 20 lies in the gzip header's stored file name: the data still decompresses.
    _flip_byte(tmp_path / LABELS, offset=20)
    assert read_idx(tmp_path / LABELS).shape == (10000,)
    with pytest.raises(ChecksumError, match="sha256"):
        mnist.load_mnist(tmp_path, split="t10k-test")


def test_truncated_gz(shipped, tmp_path):
    _copy_pair(shipped, tmp_path)
    path = tmp_path / LABELS
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ChecksumError, match="size 2000 bytes"):
        mnist.load_mnist(tmp_path, split="t10k-test")
    with pytest.raises(IDXFormatError, match="truncated") as info:
        mnist.load_mnist(tmp_path, split="t10k-test", verify=False)
    assert LABELS in str(info.value)


def test_truncated_and_malformed_raw(shipped, tmp_path):
    raw = gzip.decompress((shipped / LABELS).read_bytes())
    path = tmp_path / "t10k-labels-idx1-ubyte"

    path.write_bytes(raw[:-100])
    with pytest.raises(IDXFormatError, match="truncated") as info:
        read_idx(path)
    assert str(path) in str(info.value) and "9900 bytes" in str(info.value)

    path.write_bytes(raw + b"\0")
    with pytest.raises(IDXFormatError, match="trailing data"):
        read_idx(path)

    path.write_bytes(b"")
    with pytest.raises(IDXFormatError, match="too short"):
        read_idx(path)

    path.write_bytes(b"\x12\x34" + raw[2:])
    with pytest.raises(IDXFormatError, match="not an IDX file"):
        read_idx(path)

    path.write_bytes(raw[:6])
    with pytest.raises(IDXFormatError, match="truncated IDX header"):
        read_idx(path)

    # A well-formed labels file where images are expected.
    path.write_bytes(raw)
    with pytest.raises(IDXFormatError, match="0x00000803"):
        read_idx(path, expect_magic=0x00000803)


def test_wrong_count_and_bad_labels_rejected(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((10, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(10, np.uint8))
    with pytest.raises(IDXFormatError, match=r"expected \(10000, 28, 28\)"):
        mnist.load_mnist(tmp_path, split="t10k-test")
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((10000, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(10000, 12, np.uint8))
    with pytest.raises(IDXFormatError, match="label 12"):
        mnist.load_mnist(tmp_path, split="t10k-test")


def test_missing_file(shipped, tmp_path):
    shutil.copyfile(shipped / LABELS, tmp_path / LABELS)
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_mnist(tmp_path, split="t10k-test")
    message = str(info.value)
    assert IMAGES in message and str(tmp_path) in message
    assert "root=" in message and mnist.DATA_ENV in message and "download=True" in message
    assert message.startswith(f"MNIST file(s) not found: {IMAGES} ")

    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        mnist.load_mnist(shipped, split="full-train")
    with pytest.raises(FileNotFoundError, match="no-such-file"):
        read_idx(tmp_path / "no-such-file")
    with pytest.raises(FileNotFoundError, match="nothing"):
        mnist.verify_mnist_file(tmp_path / "nothing" / IMAGES)


def test_raw_and_gz_agree(shipped, tmp_path):
    for name in (IMAGES, LABELS):
        (tmp_path / name[:-3]).write_bytes(gzip.decompress((shipped / name).read_bytes()))
        np.testing.assert_array_equal(read_idx(tmp_path / name[:-3]), read_idx(shipped / name))
    from_raw = mnist.load_mnist(tmp_path, split="t10k-train")
    from_gz = mnist.load_mnist(shipped, split="t10k-train")
    assert from_raw.files[0].name == "t10k-images-idx3-ubyte"
    np.testing.assert_array_equal(from_raw.images, from_gz.images)
    np.testing.assert_array_equal(from_raw.labels, from_gz.labels)
    # With both present the gzipped copy is used, since only it can be checksummed.
    _copy_pair(shipped, tmp_path)
    assert mnist.load_mnist(tmp_path, split="t10k-train").files[0].name == IMAGES


def test_write_idx_round_trip(tmp_path):
    for dtype in (np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64):
        a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        for name in ("a.idx", "a.idx.gz"):
            write_idx(tmp_path / name, a)
            b = read_idx(tmp_path / name)
            assert b.dtype == a.dtype and b.dtype.isnative
            np.testing.assert_array_equal(a, b)


# -- downloading from a local server -----------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        # /short/<name> promises the whole good file but hangs up halfway through.
        if self.path.startswith("/short/"):
            data = (Path(self.directory) / "good" / self.path[len("/short/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(shipped, tmp_path):
    www = tmp_path / "www"
    _copy_pair(shipped, www / "good")
    bad = _copy_pair(shipped, www / "bad")
    _flip_byte(bad / IMAGES)
    (bad / LABELS).write_bytes((bad / LABELS).read_bytes()[:-10])
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(www))
    )
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_download_success(shipped, server, tmp_path):
    dest = tmp_path / "dest"
    got = mnist.load_mnist(dest, split="t10k-test", download=True, mirrors=[server + "/good/"])
    assert _files_under(dest) == [f"mnist/{IMAGES}", f"mnist/{LABELS}"]
    assert (dest / "mnist" / IMAGES).read_bytes() == (shipped / IMAGES).read_bytes()
    want = mnist.load_mnist(shipped, split="t10k-test")
    np.testing.assert_array_equal(got.images, want.images)
    np.testing.assert_array_equal(got.labels, want.labels)
    # Present and valid now: no further fetch, even with an unreachable mirror.
    dead = ["http://127.0.0.1:9/"]
    again = mnist.load_mnist(dest, split="t10k-test", download=True, mirrors=dead)
    assert again.files == got.files
    assert mnist.download_mnist(dest, full=False, mirrors=dead) == dest / "mnist"


def test_download_falls_back_past_bad_mirrors(server, tmp_path):
    dest = tmp_path / "dest"
    mirrors = [server + "/missing/", server + "/bad/", server + "/short/", server + "/good"]
    x, y = mnist.load_mnist(dest, split="t10k-train", download=True, mirrors=mirrors)
    assert x.shape == (8000, 28, 28) and y[0] == 7
    assert _files_under(dest) == [f"mnist/{IMAGES}", f"mnist/{LABELS}"]


def test_download_rejects_corrupt_and_leaves_nothing(server, tmp_path):
    dest = tmp_path / "dest"
    mirrors = [server + "/bad/", server + "/short/", server + "/missing/"]
    with pytest.raises(DownloadError) as info:
        mnist.load_mnist(dest, split="t10k-test", download=True, mirrors=mirrors)
    message = str(info.value)
    assert IMAGES in message
    for m in mirrors:
        assert m + IMAGES in message
    assert "checksum mismatch" in message and "HTTP 404" in message
    assert "IncompleteRead" in message or "connection ended" in message
    assert _files_under(dest) == []

    # The truncated labels file on the bad mirror is refused as well.
    (dest / "mnist").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "www" / "good" / IMAGES, dest / "mnist" / IMAGES)
    with pytest.raises(DownloadError, match=r"size \d+ bytes, expected 4542"):
        mnist.download_mnist(dest, full=False, mirrors=[server + "/bad/"])
    assert _files_under(dest) == [f"mnist/{IMAGES}"]


def test_download_replaces_corrupt_local_copy(shipped, server, tmp_path):
    local = _copy_pair(shipped, tmp_path / "data" / "mnist")
    _flip_byte(local / IMAGES)
    with pytest.raises(ChecksumError):
        mnist.load_mnist(local.parent, split="t10k-test")
    got = mnist.load_mnist(local.parent, split="t10k-test", download=True,
                           mirrors=[server + "/good/"])
    assert len(got.labels) == 2000
    assert (local / IMAGES).read_bytes() == (shipped / IMAGES).read_bytes()
    assert _files_under(local) == [IMAGES, LABELS]


def test_download_mirrors_from_env(server, tmp_path, monkeypatch):
    monkeypatch.setenv(mnist.MIRRORS_ENV, f"{server}/bad/, {server}/good/")
    assert mnist.mnist_mirrors() == (server + "/bad/", server + "/good/")
    dest = tmp_path / "dest"
    x, _ = mnist.load_mnist(dest, split="t10k-test", download=True)
    assert x.shape == (2000, 28, 28)


def test_auto_split_download_wants_all_four_files(server, tmp_path):
    # With nothing local, "test" fetches the training files too, so that a later "train"
    # cannot fall back to a held-out split overlapping the test set just used.
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match="train-images-idx3-ubyte.gz") as info:
        mnist.load_mnist(dest, split="test", download=True, mirrors=[server + "/good/"])
    assert server + "/good/train-images-idx3-ubyte.gz: HTTP 404" in str(info.value)
    assert not any(name.startswith("train") for name in _files_under(dest))
