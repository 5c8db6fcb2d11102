"""fastnn.datasets.MNIST (the tensor-level Dataset) and fastnn.datasets.transforms."""
import functools
import http.server
import shutil
import threading

import numpy as np
import pytest

import fastnn
from fastnn.datasets import MNIST, mnist, transforms
from fastnn.datasets._download import ChecksumError
from fastnn.utils.data import DataLoader, TensorDataset

IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"


@pytest.fixture(scope="module")
def arrays(shipped):
    return mnist.load_mnist(shipped, split="t10k-train"), mnist.load_mnist(shipped,
                                                                          split="t10k-test")


def _copy_pair(src, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for name in (IMAGES, LABELS):
        shutil.copyfile(src / name, dest / name)
    return dest


def test_train_and_test_splits(shipped, arrays):
    train, test = MNIST(shipped), MNIST(shipped, train=False)
    assert (len(train), len(test)) == (8000, 2000)
    assert train.split == "t10k-train" and test.split == "t10k-test"
    assert train.held_out and train.train and not test.train
    assert "held-out" in train.source and "held-out" in repr(test)
    assert train.data.dtype == fastnn.uint8 and train.data.shape == (8000, 28, 28)
    assert train.targets.dtype == fastnn.int64 and train.targets.shape == (8000,)
    np.testing.assert_array_equal(test.targets.numpy(), arrays[1].labels)
    assert train.classes[7] == "7 - seven" and train.class_to_idx["3 - three"] == 3

    img, label = train[0]
    assert isinstance(label, int) and label == 7
    assert img.dtype == fastnn.float32 and img.shape == (1, 28, 28)
    np.testing.assert_array_equal(img.numpy()[0] * 255, arrays[0].images[0].astype(np.float32))
    assert 0.0 <= float(img.min()) and float(img.max()) == 1.0
    assert train[-1][1] == int(arrays[0].labels[-1])
    with pytest.raises(IndexError, match="index 8000 is out of bounds for dimension 0"):
        train[8000]


def test_explicit_split_and_search_paths(shipped, tmp_path, monkeypatch):
    assert len(MNIST(shipped, split="t10k-test")) == 2000
    _copy_pair(shipped, tmp_path / "MNIST" / "raw")
    assert len(MNIST(tmp_path, train=False)) == 2000
    monkeypatch.setenv(mnist.DATA_ENV, str(tmp_path))
    assert MNIST(train=False).files[0].parent == tmp_path / "MNIST" / "raw"
    with pytest.raises(ValueError, match="unknown MNIST split 'validation'"):
        MNIST(shipped, split="validation")


def test_missing_and_corrupt_files_named(shipped, tmp_path):
    only_images = tmp_path / "partial"
    only_images.mkdir()
    shutil.copyfile(shipped / IMAGES, only_images / IMAGES)
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        MNIST(only_images)
    bad = _copy_pair(shipped, tmp_path / "bad")
    data = bytearray((bad / LABELS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / LABELS).write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        MNIST(bad, train=False)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_from_local_mirror(shipped, tmp_path, monkeypatch):
    _copy_pair(shipped, tmp_path / "www")
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path / "www")))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        monkeypatch.setenv(mnist.MIRRORS_ENV, f"http://127.0.0.1:{httpd.server_address[1]}/")
        ds = MNIST(tmp_path / "dest", split="t10k-test", download=True)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert len(ds) == 2000
    assert (tmp_path / "dest" / "mnist" / IMAGES).read_bytes() == (shipped / IMAGES).read_bytes()


def test_transforms_and_target_transform(shipped):
    norm = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    plain, normed = MNIST(shipped), MNIST(shipped, transform=norm, target_transform=str)
    img, label = normed[5]
    assert label == str(plain[5][1])
    np.testing.assert_allclose(img.numpy(), (plain[5][0].numpy() - 0.1307) / 0.3081, rtol=1e-6)
    assert "Normalize(mean=(0.1307,), std=(0.3081,))" in repr(normed)


def test_loader_batches_match_per_sample_path(shipped, monkeypatch):
    """A batchable transform runs once per batch and gives what per-image application gives."""
    norm = transforms.Normalize((0.1307,), (0.3081,))
    fast = MNIST(shipped, train=False, transform=transforms.Compose([transforms.ToTensor(),
                                                                      norm]))
    slow = MNIST(shipped, train=False, transform=transforms.Lambda(norm))
    assert fast.transform._batchable and not getattr(slow.transform, "_batchable", False)
    calls = []
    per_sample = MNIST.__getitem__
    monkeypatch.setattr(MNIST, "__getitem__",
                        lambda self, i: calls.append(i) or per_sample(self, i))
    fastnn.manual_seed(0)
    xf, yf = next(iter(DataLoader(fast, batch_size=100, shuffle=True)))
    monkeypatch.setattr(MNIST, "__getitem__", per_sample)
    fastnn.manual_seed(0)
    xs, ys = next(iter(DataLoader(slow, batch_size=100, shuffle=True)))
    assert calls == []
    assert xf.shape == (100, 1, 28, 28) and xf.dtype == fastnn.float32
    assert yf.dtype == fastnn.int64 and yf.tolist() == ys.tolist()
    np.testing.assert_allclose(xf.numpy(), xs.numpy(), rtol=1e-6, atol=1e-6)


def test_subclass_getitem_override_is_used(shipped):
    # the usual way to add augmentation: the loader must call the subclass's code per sample
    class Shifted(MNIST):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x + 100, y

    ds = Shifted(shipped, train=False, transform=transforms.ToTensor())
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 1, 28, 28) and float(x.min()) >= 100
    assert y.tolist() == [int(ds.targets[i]) for i in range(4)]


def test_tensors_fast_path(shipped, arrays):
    ds = MNIST(shipped)
    x, y = ds.tensors()
    assert x.shape == (8000, 1, 28, 28) and x.dtype == fastnn.float32
    assert y.dtype == fastnn.int64 and y.tolist() == arrays[0].labels.tolist()
    raw, _ = ds.tensors(normalize=False)
    np.testing.assert_allclose(x.numpy(), (raw.numpy() - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    assert abs(float(raw.mean()) - 0.1307) < 0.01  # the usual constants fit this data
    batch = next(iter(DataLoader(TensorDataset(x, y), batch_size=32)))
    assert batch[0].shape == (32, 1, 28, 28)


def test_filtering_via_data_and_targets(shipped):
    ds = MNIST(shipped, train=False)
    keep = ds.targets == 3
    ds.data, ds.targets = ds.data[keep], ds.targets[keep]
    assert len(ds) == int(keep.sum()) and {ds[i][1] for i in range(len(ds))} == {3}
    _, labels = next(iter(DataLoader(ds, batch_size=len(ds))))
    assert set(labels.tolist()) == {3}


def test_transform_errors_match_torchvision_wording():
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        transforms.ToTensor()([1, 2])
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        transforms.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2)))
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        transforms.Normalize((0.5,), (0.5,))(fastnn.zeros(1, 2, 2, dtype=fastnn.uint8))
    with pytest.raises(ValueError, match=r"Expected tensor to be a tensor image of size"):
        transforms.Normalize((0.5,), (0.5,))(fastnn.zeros(2, 2))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        transforms.Normalize((0.5,), (0.0,))(fastnn.zeros(1, 2, 2))
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        transforms.Lambda(3)


def test_to_tensor_layouts():
    hwc = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    t = transforms.ToTensor()(hwc)
    assert t.shape == (3, 2, 4) and t.dtype == fastnn.float32
    np.testing.assert_allclose(t.numpy(), hwc.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert transforms.ToTensor()(np.zeros((5, 6), np.uint8)).shape == (1, 5, 6)
    f = fastnn.rand(1, 3, 3)
    assert transforms.ToTensor()(f) is f
    t = fastnn.ones(3, 2, 2)
    out = transforms.Normalize((1.0, 0.0, 0.5), (1.0, 2.0, 0.5), inplace=True)(t)
    assert out is t and t[:, 0, 0].tolist() == [0.0, 0.5, 1.0]
