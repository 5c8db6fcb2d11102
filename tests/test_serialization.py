"""Checkpoint format tests, run against plain numpy arrays through load's
private ``_as_numpy`` path so they do not depend on the Tensor class.
Hostile-file and fuzz tests live in test_serialization_hostile.py."""
import base64
import collections
import io
import json
import math
import os
import stat
import sys
import types

import numpy as np
import pytest

from fastnn import serialization as S

try:
    import safetensors.numpy as stnp
except ImportError:
    stnp = None
try:
    from hypothesis import given, settings, strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:
    given = None
needs_safetensors = pytest.mark.skipif(stnp is None, reason="safetensors not installed")

DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8,
          np.uint8, np.bool_]


def roundtrip(obj, **kw):
    buf = io.BytesIO()
    S.save(obj, buf)
    buf.seek(0)
    return S.load(buf, _as_numpy=True, **kw)


def assert_same(a, b, path="obj"):
    """Deep equality that also insists on identical types, key order and dtypes."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), path
        assert b.dtype == a.dtype.newbyteorder("="), path
        assert b.shape == a.shape, path
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
        return
    assert type(a) is type(b), f"{path}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b) and list(map(type, a)) == list(map(type, b)), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    elif isinstance(a, float):
        assert a == b and math.copysign(1, a) == math.copysign(1, b), path
    else:
        assert a == b, path


def checkpoint():
    """A realistic training checkpoint: model + optimizer state + odds and ends."""
    rng = np.random.default_rng(0)
    model = collections.OrderedDict([
        ("fc1.weight", rng.standard_normal((4, 3)).astype(np.float32)),
        ("fc1.bias", np.zeros(4, np.float32)),
        ("bn.num_batches_tracked", np.array(7, np.int64)),
        ("mask", np.array([True, False, True])),
        ("empty", np.zeros((0, 5), np.float64)),
    ])
    optim = {"state": {0: {"step": 10, "exp_avg": np.ones((4, 3), np.float32)},
                       1: {"step": 10, "exp_avg": np.full(4, 0.5, np.float32)}},
             "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8,
                               "params": [0, 1], "amsgrad": False, "foreach": None}]}
    return {"model": model, "optimizer": optim, "epoch": 3, "best": math.inf,
            "loss": math.nan, "note": "ünïcødé ✓ 🚀", "tags": ["a", "b"],
            "ids": np.arange(5, dtype=np.uint8)}


def header_of(data):
    n = int.from_bytes(data[:8], "little")
    return n, json.loads(data[8:8 + n])


# --- round trips ---

def test_nested_checkpoint_round_trip():
    obj = checkpoint()
    assert_same(obj, roundtrip(obj))


def test_container_and_scalar_types_are_preserved():
    obj = collections.OrderedDict([("b", 1), ("a", 2)])
    out = roundtrip(obj)
    assert type(out) is collections.OrderedDict and list(out) == ["b", "a"]
    obj = {0: "int key", "0": "str key", -5: [1, (2, 3.0), True, None, ()], "": []}
    assert_same(obj, roundtrip(obj))
    assert type(roundtrip({"x": 1})) is dict
    for scalar in [0, -1, 2 ** 100, -(2 ** 70), 1.0, -0.0, 0.1, 5e-324, 1.7976931348623157e308,
                   math.inf, -math.inf, math.nan, True, False, None, "", "a\x00b\n\"\\"]:
        assert_same(scalar, roundtrip(scalar))
        assert_same([scalar], roundtrip([scalar]))


def test_numpy_scalars_keep_their_numpy_type():
    out = roundtrip({"step": np.int64(5), "lr": np.float32(0.5), "flag": np.bool_(True)})
    assert out == {"step": 5, "lr": 0.5, "flag": True}
    assert type(out["step"]) is np.int64 and type(out["lr"]) is np.float32
    assert type(out["flag"]) is np.bool_


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_every_dtype_and_shape(dtype, shape):
    rng = np.random.default_rng(1)
    arr = np.asarray(rng.standard_normal(shape) * 50).astype(dtype)
    out = roundtrip({"t": arr, "nested": [arr]})
    assert_same({"t": arr, "nested": [arr]}, out)
    assert out["t"].shape == shape  # 0-d must stay 0-d


def test_noncontiguous_and_big_endian_inputs():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    for arr in [base.T, base[::2, 1::3], base[:, ::-1], np.broadcast_to(base[0], (3, 6)),
                base.astype(">f8"), base.astype(">i4").T]:
        out = roundtrip(arr)
        assert out.dtype.isnative and out.dtype.kind == arr.dtype.kind
        assert np.array_equal(out, arr)


def test_loaded_arrays_are_writable_aligned_and_independent():
    out = roundtrip({"a": np.arange(3, dtype=np.uint8), "b": np.arange(3, dtype=np.float64)})
    for arr in out.values():
        assert arr.flags.writeable and arr.flags.c_contiguous and arr.flags.aligned
    out["a"][:] = 99
    assert out["b"].tolist() == [0, 1, 2]


def test_tensor_name_collisions_and_reserved_names():
    a, b, c = np.zeros(1), np.ones(1), np.full(1, 2.0)
    obj = {"x.y": a, "x": {"y": b}, "__metadata__": c, "tensor": [a]}
    assert_same(obj, roundtrip(obj))
    assert_same(a, roundtrip(a))


def test_shared_tensors_are_stored_per_reference():
    a = np.arange(3.0)
    out = roundtrip([a, a])
    assert_same([a, a], out)
    out[0][0] = 7
    assert out[1][0] == 0


# --- safetensors layout and interop ---

@needs_safetensors
def test_flat_state_dict_is_plain_safetensors(tmp_path):
    sd = collections.OrderedDict((name, np.asarray(t)) for name, t in checkpoint()["model"].items())
    path = tmp_path / "model.safetensors"
    S.save(sd, path)
    data = path.read_bytes()
    n, header = header_of(data)
    assert n % 8 == 0 and data[8:8 + n].decode().rstrip(" ").endswith("}")
    assert set(header) == set(sd) | {"__metadata__"}
    assert header["fc1.weight"]["dtype"] == "F32" and header["fc1.weight"]["shape"] == [4, 3]
    assert sum(e["data_offsets"][1] - e["data_offsets"][0]
               for k, e in header.items() if k != "__metadata__") == len(data) - 8 - n
    theirs = stnp.load_file(str(path))
    assert set(theirs) == set(sd)
    for k in sd:
        assert_same(sd[k], theirs[k])
    assert_same(sd, S.load(path, _as_numpy=True))


@needs_safetensors
def test_layout_matches_the_safetensors_writer():
    sd = collections.OrderedDict([("z", np.ones(3, np.float32)), ("a", np.zeros((2, 2))),
                                  ("m", np.array([True])), ("é", np.arange(3, dtype=np.int16)),
                                  ("e", np.zeros(0, np.float32)), ("s", np.array(2, np.uint8))])
    buf = io.BytesIO()
    S.save(sd, buf)
    ours = buf.getvalue()
    n, header = header_of(ours)
    theirs = stnp.save(dict(sd), metadata=header["__metadata__"])
    # only the order of __metadata__ keys may differ: safetensors keeps them in a hash map
    assert len(theirs) == len(ours) and theirs[:8] == ours[:8]
    assert header_of(theirs) == (n, header)
    assert list(header_of(theirs)[1]) == list(header)
    assert theirs[8 + n:] == ours[8 + n:]


@needs_safetensors
def test_nested_checkpoint_is_readable_by_safetensors():
    buf = io.BytesIO()
    S.save(checkpoint(), buf)
    theirs = stnp.load(buf.getvalue())
    assert np.array_equal(theirs["model.fc1.weight"], checkpoint()["model"]["fc1.weight"])
    assert np.array_equal(theirs["optimizer.state.1.exp_avg"], np.full(4, 0.5, np.float32))


@needs_safetensors
def test_safetensors_files_load_as_dicts(tmp_path):
    tensors = {f"t{i}": (np.arange(6) * i).reshape(2, 3).astype(dt) for i, dt in enumerate(DTYPES)}
    tensors["zero_d"] = np.array(3.5, np.float32)
    tensors["empty"] = np.zeros((0, 2), np.int32)
    path = tmp_path / "theirs.safetensors"
    stnp.save_file(tensors, str(path), metadata={"format": "np", "anything": "goes"})
    out = S.load(str(path), _as_numpy=True)
    assert type(out) is dict and set(out) == set(tensors)
    for k in tensors:
        assert_same(tensors[k], out[k])
    assert set(S.load(io.BytesIO(stnp.save({"a": np.zeros(2)})), _as_numpy=True)) == {"a"}


# --- file arguments ---

def test_paths_pathlike_and_file_objects(tmp_path):
    obj = checkpoint()
    for target in [str(tmp_path / "a.pt"), tmp_path / "b.pt", os.fsencode(tmp_path / "c.pt")]:
        S.save(obj, target)
        assert_same(obj, S.load(target, _as_numpy=True))
        with open(target, "rb") as fh:
            assert_same(obj, S.load(fh, _as_numpy=True))
    buf = io.BytesIO(b"prefix")
    buf.seek(6)
    S.save(obj, buf)
    buf.seek(6)
    assert_same(obj, S.load(buf, _as_numpy=True))


def test_non_seekable_stream():
    class Stream:
        def __init__(self, data):
            self._buf = io.BytesIO(data)

        def read(self, n=-1):
            return self._buf.read(n)

    buf = io.BytesIO()
    S.save(checkpoint(), buf)
    assert_same(checkpoint(), S.load(Stream(buf.getvalue()), _as_numpy=True))
    with pytest.raises(ValueError, match="Stream"):
        S.load(Stream(buf.getvalue()[:-1]), _as_numpy=True)


# --- atomic saves ---

def _prepare(tmp_path):
    path = tmp_path / "ckpt.pt"
    S.save({"v": np.arange(4.0)}, path)
    return path, path.read_bytes()


def test_failed_replace_keeps_previous_file(tmp_path, monkeypatch):
    path, before = _prepare(tmp_path)

    def boom(src, dst):
        raise OSError("disk on fire")
    monkeypatch.setattr(S.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        S.save({"v": np.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path, before = _prepare(tmp_path)
    real_write = S._write

    def half_write(fobj, head, arrays):
        fobj.write(head[: len(head) // 2])
        raise KeyboardInterrupt
    monkeypatch.setattr(S, "_write", half_write)
    with pytest.raises(KeyboardInterrupt):
        S.save({"v": np.zeros(10)}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.pt"]
    monkeypatch.setattr(S, "_write", real_write)
    S.save({"v": np.zeros(10)}, path)
    assert S.load(path, _as_numpy=True)["v"].shape == (10,)
    assert os.listdir(tmp_path) == ["ckpt.pt"]


def test_unsupported_object_is_rejected_before_writing(tmp_path, monkeypatch):
    path, before = _prepare(tmp_path)

    def no_temp_files(*a, **k):
        raise AssertionError("a temp file was created for an unsavable object")
    monkeypatch.setattr(S.tempfile, "mkstemp", no_temp_files)
    with pytest.raises(TypeError):
        S.save({"v": np.zeros(3), "f": len}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.pt"]
    buf = io.BytesIO()
    with pytest.raises(TypeError):
        S.save([np.zeros(3), object()], buf)
    assert buf.getvalue() == b""


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_file_mode_follows_umask_and_existing_file(tmp_path):
    old = os.umask(0o027)
    try:
        S.save([1], tmp_path / "new.pt")
        assert stat.S_IMODE(os.stat(tmp_path / "new.pt").st_mode) == 0o640
        os.chmod(tmp_path / "new.pt", 0o604)
        S.save([2], tmp_path / "new.pt")
        assert stat.S_IMODE(os.stat(tmp_path / "new.pt").st_mode) == 0o604
    finally:
        os.umask(old)


# --- unsupported objects ---

def test_type_error_names_the_key_path():
    def foo():
        pass
    obj = {"model": {}, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "foo": foo}]}}
    with pytest.raises(TypeError) as info:
        S.save(obj, io.BytesIO())
    assert str(info.value) == ("fastnn.save: cannot save object of type 'function' at key path "
                               "['optimizer']['param_groups'][0]['foo']")
    with pytest.raises(TypeError, match=r"type 'object' at the top level"):
        S.save(object(), io.BytesIO())
    with pytest.raises(TypeError, match=r"type 'object' at key path \[0\]\[1\]\[3\]"):
        S.save([[0, (0, 1, 2, object())]], io.BytesIO())


@pytest.mark.parametrize("key", [(1, 2), 1.5, True, None, b"k"])
def test_bad_dict_keys(key):
    with pytest.raises(TypeError, match=r"dict key .* at key path \['a'\]"):
        S.save({"a": {key: 1}}, io.BytesIO())


@pytest.mark.parametrize("arr", [np.zeros(2, np.clongdouble), np.array(["s"]), np.array([None]),
                                 np.zeros(2, np.longdouble), np.zeros(2, "datetime64[s]")])
def test_unsupported_dtypes(arr):
    with pytest.raises(TypeError, match=r"dtype .* at key path \['w'\]"):
        S.save({"w": arr}, io.BytesIO())


def test_cycles_depth_and_unencodable_values():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        S.save({"x": loop}, io.BytesIO())
    deep = 1
    for _ in range(S._MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError, match="nesting deeper"):
        S.save(deep, io.BytesIO())
    with pytest.raises(ValueError, match="surrogate"):
        S.save({"k": "\ud800"}, io.BytesIO())
    with pytest.raises(ValueError, match="digits"):
        S.save(10 ** 5000, io.BytesIO())
    same = [1]
    assert roundtrip([same, same]) == [[1], [1]]  # sharing is not a cycle
    deepest = np.zeros(1)
    for i in range(S._MAX_DEPTH):
        deepest = [{i: deepest}, collections.OrderedDict(k=deepest), (deepest,), [deepest]][i % 4]
    assert_same(deepest, roundtrip(deepest))


# --- map_location ---

def test_map_location_variants(monkeypatch):
    obj = {"w": np.arange(3.0)}
    for loc in [None, "cpu", {"cpu": "cpu"}]:
        assert_same(obj, roundtrip(obj, map_location=loc))
    seen = []
    out = roundtrip(obj, map_location=lambda t, where: seen.append(where) or t * 2)
    assert seen == ["cpu"] and out["w"].tolist() == [0, 2, 4]
    assert_same(obj, roundtrip(obj, map_location=lambda t, where: None))

    moved = []
    monkeypatch.setattr(S, "_move", lambda t, dev: moved.append(dev) or t)
    roundtrip(obj, map_location="cuda:1")
    roundtrip(obj, map_location={"cpu": "cuda"})
    assert moved == ["cuda:1", "cuda"]
    for bad in ["tpu", "cuda:x", "", "cpu:"]:
        with pytest.raises(ValueError, match="map_location"):
            roundtrip(obj, map_location=bad)


def test_weights_only_is_accepted():
    buf = io.BytesIO()
    S.save([1], buf)
    buf.seek(0)
    assert S.load(buf, weights_only=True, _as_numpy=True) == [1]


def test_tensor_bridge_uses_the_tensor_contract(monkeypatch):
    """save() reads tensors via detach().numpy(); load() builds them with tensor_from_numpy."""
    class Tensor:
        def __init__(self, arr):
            self.arr = arr

        def detach(self):
            return self

        def numpy(self):
            return self.arr

    fake = types.ModuleType("fastnn.tensor")
    fake.Tensor = Tensor
    fake.tensor_from_numpy = Tensor
    monkeypatch.setitem(sys.modules, "fastnn.tensor", fake)
    obj = {"w": Tensor(np.arange(6.0).reshape(2, 3).T), "n": 1}
    buf = io.BytesIO()
    S.save(obj, buf)
    buf.seek(0)
    out = S.load(buf)
    assert type(out["w"]) is Tensor and out["n"] == 1
    assert np.array_equal(out["w"].arr, obj["w"].arr) and out["w"].arr.flags.c_contiguous


# --- PyTorch conveniences: keywords, hints, errors, Parameters and Size ---

def test_torch_keywords_are_accepted(tmp_path):
    S.save({"a": 1}, tmp_path / "a", pickle_protocol=4, _use_new_zipfile_serialization=False)
    S.save({"a": 1}, tmp_path / "b", None, 2)  # torch's positional pickle_module, protocol
    assert S.load(tmp_path / "a", mmap=True, _as_numpy=True) == {"a": 1}
    assert S.load(tmp_path / "b", None, None, mmap=False, weights_only=True,
                  _as_numpy=True) == {"a": 1}


def test_saving_a_module_or_optimizer_says_to_use_state_dict():
    import fastnn
    model = fastnn.nn.Sequential(fastnn.nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"type 'Sequential' at the top level.*save "
                                        r"model\.state_dict\(\).*model\.load_state_dict\("
                                        r"fastnn\.load\(path\)\)"):
        S.save(model, io.BytesIO())
    opt = fastnn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"optimizer\.state_dict\(\).*"
                                        r"optimizer\.load_state_dict"):
        S.save({"opt": opt}, io.BytesIO())
    with pytest.raises(TypeError, match=r"type 'object' at the top level$"):
        S.save(object(), io.BytesIO())


def test_missing_parent_directory_is_named_like_torch(tmp_path):
    target = tmp_path / "missing" / "sub" / "ckpt.fnn"
    with pytest.raises(RuntimeError) as ours:
        S.save({"a": 1}, target)
    assert str(ours.value) == f"Parent directory {target.parent} does not exist."
    assert not (tmp_path / "missing").exists()
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as theirs:
        torch.save({"a": 1}, str(target))
    assert str(theirs.value) == str(ours.value)


def test_parameters_grad_and_size_load_back_like_torch():
    import fastnn
    obj = {"p": fastnn.nn.Parameter(fastnn.tensor([1.0, 2.0])),
           "frozen": fastnn.nn.Parameter(fastnn.tensor([3.0]), requires_grad=False),
           "g": fastnn.tensor([0.5], requires_grad=True), "t": fastnn.zeros(2),
           "size": fastnn.Size([2, 3]), "tup": (2, 3)}
    buf = io.BytesIO()
    S.save(obj, buf)
    buf.seek(0)
    out = S.load(buf)
    got = {k: (type(v).__name__, getattr(v, "requires_grad", None)) for k, v in out.items()}
    assert got == {"p": ("Parameter", True), "frozen": ("Parameter", False),
                   "g": ("Tensor", True), "t": ("Tensor", False), "size": ("Size", None),
                   "tup": ("tuple", None)}
    assert out["p"].tolist() == [1.0, 2.0] and out["p"].is_leaf and out["size"] == (2, 3)
    torch = pytest.importorskip("torch")
    tobj = {"p": torch.nn.Parameter(torch.tensor([1.0, 2.0])),
            "frozen": torch.nn.Parameter(torch.tensor([3.0]), requires_grad=False),
            "g": torch.tensor([0.5], requires_grad=True), "t": torch.zeros(2),
            "size": torch.Size([2, 3]), "tup": (2, 3)}
    tbuf = io.BytesIO()
    torch.save(tobj, tbuf)
    tbuf.seek(0)
    theirs = torch.load(tbuf)
    assert got == {k: (type(v).__name__, getattr(v, "requires_grad", None))
                   for k, v in theirs.items()}


def test_plain_state_dict_stays_a_plain_safetensors_file():
    import fastnn
    buf = io.BytesIO()
    S.save({"w": fastnn.nn.Parameter(fastnn.ones(2))}, buf)
    n = int.from_bytes(buf.getvalue()[:8], "little")
    meta = json.loads(buf.getvalue()[8:8 + n])["__metadata__"]
    assert json.loads(meta["fastnn.grad"]) == {"w": {"parameter": True, "requires_grad": True}}
    # a reader that ignores the grad entry still gets the values
    del meta["fastnn.grad"]
    assert S.load(io.BytesIO(buf.getvalue()), _as_numpy=True)["w"].tolist() == [1.0, 1.0]


# written by fastnn.save before Parameters and Size were recorded: {"sd": OrderedDict(
# w=Parameter([1., 2.]), r=int64 [[1, 2]]), "g": [0.5] requiring grad, "size": Size([2, 3]),
# "step": 3}
OLD_FILE = base64.b64decode(
    "8AEAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmYXN0bm4uZm9ybWF0IjoiMSIsImZhc3Rubi5zdHJ1Y3R1cmUi"
    "OiJ7XCJrXCI6XCJkaWN0XCIsXCJpdGVtc1wiOltbXCJzZFwiLHtcImtcIjpcIm9kaWN0XCIsXCJpdGVtc1wi"
    "OltbXCJ3XCIse1wia1wiOlwidGVuc29yXCIsXCJuYW1lXCI6XCJzZC53XCJ9XSxbXCJyXCIse1wia1wiOlwi"
    "dGVuc29yXCIsXCJuYW1lXCI6XCJzZC5yXCJ9XV19XSxbXCJnXCIse1wia1wiOlwidGVuc29yXCIsXCJuYW1l"
    "XCI6XCJnXCJ9XSxbXCJzaXplXCIse1wia1wiOlwidHVwbGVcIixcIml0ZW1zXCI6WzIsM119XSxbXCJzdGVw"
    "XCIsM11dfSJ9LCJzZC5yIjp7ImR0eXBlIjoiSTY0Iiwic2hhcGUiOlsxLDJdLCJkYXRhX29mZnNldHMiOlsw"
    "LDE2XX0sImciOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6WzFdLCJkYXRhX29mZnNldHMiOlsxNiwyMF19LCJz"
    "ZC53Ijp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyXSwiZGF0YV9vZmZzZXRzIjpbMjAsMjhdfX0gICAgICAg"
    "AQAAAAAAAAACAAAAAAAAAAAAAD8AAIA/AAAAQA=="
)


def test_files_from_before_grad_metadata_still_load():
    import fastnn
    out = S.load(io.BytesIO(OLD_FILE))
    assert list(out) == ["sd", "g", "size", "step"] and out["step"] == 3
    assert type(out["sd"]) is collections.OrderedDict
    assert out["sd"]["w"].tolist() == [1.0, 2.0] and out["sd"]["w"].dtype == fastnn.float32
    assert out["sd"]["r"].tolist() == [[1, 2]] and out["sd"]["r"].dtype == fastnn.int64
    assert out["g"].tolist() == [0.5] and not out["g"].requires_grad
    assert type(out["size"]) is tuple and out["size"] == (2, 3)


# --- property tests ---

if given is not None:
    _arrays = st.sampled_from(DTYPES).flatmap(lambda dt: hnp.arrays(
        dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
    _leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
               | _arrays)
    _keys = st.text(max_size=6) | st.integers(-(2 ** 70), 2 ** 70)
    _trees = st.recursive(_leaves, lambda inner: (
        st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(_keys, inner, max_size=4)
        | st.dictionaries(_keys, inner, max_size=4).map(collections.OrderedDict)), max_leaves=15)

    @settings(max_examples=100, deadline=None)
    @given(_trees)
    def test_property_round_trip(obj):
        assert_same(obj, roundtrip(obj))
else:
    @pytest.mark.skip(reason="hypothesis not installed")
    def test_property_round_trip():
        pass
