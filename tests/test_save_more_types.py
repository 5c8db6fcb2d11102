"""fastnn.save / fastnn.load: numpy dtypes and scalars, small Python types, namedtuples and
tensors sharing memory."""
import collections
import importlib.util
import io
import json
import pathlib
import random

import numpy as np
import pytest

import fastnn
from fastnn import serialization as S


# the helpers live beside this file (the tests run in importlib mode, off sys.path)
_spec = importlib.util.spec_from_file_location(
    "checkpoint_helpers", pathlib.Path(__file__).with_name("checkpoint_helpers.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
roundtrip, header_of, make_file, saved_bytes = (
    _helpers.roundtrip, _helpers.header_of, _helpers.make_file, _helpers.saved_bytes)


# --- numpy ---

def test_numpy_random_state_round_trips_and_restores():
    np.random.seed(3)
    np.random.rand(5)
    state = np.random.get_state()
    expected = np.random.rand(4)
    out = roundtrip({"np_rng": state})["np_rng"]
    assert type(out) is tuple and out[0] == "MT19937"
    assert out[1].dtype == np.uint32 and np.array_equal(out[1], state[1])
    assert out[2:] == state[2:]
    np.random.seed(0)
    np.random.set_state(out)
    assert np.array_equal(np.random.rand(4), expected)
    new_style = np.random.get_state(legacy=False)
    assert roundtrip(new_style)["state"]["key"].dtype == np.uint32
    gen_state = np.random.default_rng(5).bit_generator.state  # 128-bit ints
    assert roundtrip(gen_state) == gen_state


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                                   np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                                   np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (2, 3)])
def test_numpy_arrays_of_every_dtype(dtype, shape):
    rng = np.random.default_rng(2)
    arr = np.asarray(rng.standard_normal(shape) * 100).astype(dtype)
    if np.dtype(dtype).kind == "c":
        arr = np.asarray(arr + 1j * np.asarray(rng.standard_normal(shape) * 7).astype(dtype))
    if np.dtype(dtype).kind == "u" and arr.size:
        arr.reshape(-1)[0] = np.iinfo(dtype).max
    for got in (roundtrip({"a": arr})["a"], roundtrip({"a": arr}, _as_numpy=True)["a"]):
        assert isinstance(got, np.ndarray) and got.dtype == arr.dtype and got.shape == shape
        assert np.array_equal(got, arr)
        assert got.flags.writeable


def test_numpy_noncontiguous_and_big_endian_unsigned_and_complex():
    base = np.arange(24, dtype=np.uint32).reshape(4, 6)
    for arr in [base.T, base[::2, ::-1], base.astype(">u4"), (base + 1j).astype(">c16").T]:
        got = roundtrip(arr)
        assert np.array_equal(got, arr) and got.dtype.isnative
        assert got.dtype == arr.dtype.newbyteorder("=")


@pytest.mark.parametrize("value", [np.bool_(True), np.int8(-5), np.int64(-2 ** 63), np.uint8(255),
                                   np.uint16(65535), np.uint32(2 ** 32 - 1),
                                   np.uint64(2 ** 64 - 1), np.float16(0.1), np.float32(1e-40),
                                   np.float64(np.inf), np.float32(np.nan),
                                   np.complex64(1 - 2j), np.complex128(complex(np.inf, np.nan))])
def test_numpy_scalars_keep_type_and_value(value):
    out = roundtrip([value])[0]
    assert type(out) is type(value) and out.dtype == value.dtype
    assert out.tobytes() == value.tobytes() or (out != out and value != value) or \
        (np.isnan(out.imag) and np.isnan(value.imag) and out.real == value.real)


def test_unsupported_numpy_values_still_raise_type_error():
    for bad in [np.longdouble(1), np.zeros(2, np.longdouble), np.datetime64(1, "s"),
                np.dtype(">u4")]:
        with pytest.raises(TypeError, match="at key path \\['x'\\]"):
            fastnn.save({"x": bad}, io.BytesIO())


# --- small Python and fastnn types ---

def test_small_types_round_trip_to_equal_objects_of_the_same_type():
    values = [fastnn.float32, fastnn.int64, fastnn.bool, fastnn.float16, fastnn.uint8,
              fastnn.device("cpu"), fastnn.device("cuda"), fastnn.device("cuda", 1),
              b"", b"\x00\xffabc", bytearray(b"xy"), 3 + 4j, complex(-0.0, float("inf")),
              slice(1, 5, 2), slice(None), slice(None, -1), slice("a", (1, 2), None),
              np.dtype("uint32"), np.dtype("complex64"), np.dtype("bool")]
    out = roundtrip(values)
    for a, b in zip(values, out):
        assert type(a) is type(b) and a == b, (a, b)
    assert out[0] is fastnn.float32  # dtypes are the library's own singletons
    assert str(roundtrip(complex("nan+1j"))) == "(nan+1j)"
    both = roundtrip({"d": fastnn.float64, "s": {b"k", 2j}, "t": (slice(0, 1), bytearray())})
    assert both == {"d": fastnn.float64, "s": {b"k", 2j}, "t": (slice(0, 1), bytearray())}


def test_the_users_repro_checkpoint():
    ck = {"np_rng": np.random.get_state(), "dtype": fastnn.float32, "dev": fastnn.device("cpu"),
          "step": np.int64(7), "lr": np.float32(0.5), "model": {"w": fastnn.ones(2)}}
    out = roundtrip(ck)
    assert out["dtype"] is fastnn.float32 and out["dev"] == fastnn.device("cpu")
    assert type(out["step"]) is np.int64 and type(out["lr"]) is np.float32
    assert out["model"]["w"].tolist() == [1.0, 1.0]


Point = collections.namedtuple("Point", "x y")
Other = collections.namedtuple("Point", "a b")  # same name, other fields


def test_namedtuples_need_the_allow_list():
    S.clear_safe_globals()
    p = Point(1, fastnn.ones(2))
    out = roundtrip({"p": p})["p"]
    assert type(out) is tuple and out[0] == 1 and out[1].tolist() == [1.0, 1.0]
    with S.safe_globals([Point]):
        out = roundtrip(p)
        assert type(out) is Point and out.x == 1 and out.y.tolist() == [1.0, 1.0]
    assert S.get_safe_globals() == []
    assert type(roundtrip(p)) is tuple
    try:
        S.add_safe_globals([(Other, f"{__name__}.Point")])  # fields differ: plain tuple
        assert type(roundtrip(p)) is tuple
        S.add_safe_globals([Point])
        assert type(roundtrip(p)) is Point and Point in S.get_safe_globals()
    finally:
        S.clear_safe_globals()


def test_namedtuple_names_never_import_anything():
    data = make_file({"__metadata__": {"fastnn.format": "2", "fastnn.structure": json.dumps(
        {"k": "namedtuple", "name": "os.system", "fields": ["a"], "items": ["echo hi"]})}})
    assert fastnn.load(io.BytesIO(data)) == ("echo hi",)
    S.add_safe_globals([(print, "os.system")])  # not a tuple class: still a plain tuple
    try:
        assert fastnn.load(io.BytesIO(data)) == ("echo hi",)
    finally:
        S.clear_safe_globals()


# --- shared memory ---

def test_views_of_one_tensor_share_memory_after_loading():
    x = fastnn.arange(6.).reshape(2, 3)
    a, b = roundtrip([x, x[:1]])
    assert b.tolist() == [[0.0, 1.0, 2.0]]
    a[0, 0] = 99.0
    assert b[0, 0].item() == 99.0
    b.mul_(2)
    assert a[0].tolist() == [198.0, 2.0, 4.0]

    col, whole, t = roundtrip([x[:, 1], x, x.t()])  # the view first; the base covers it
    assert col.stride() == (3,) and col.storage_offset() == 1 and t.stride() == (1, 3)
    whole[1, 1] = -1.0
    assert col.tolist() == [1.0, -1.0] and t[1, 1].item() == -1.0


def test_overlapping_views_without_a_covering_tensor():
    x = fastnn.arange(12.).reshape(3, 4)
    c1, c3 = roundtrip({"c1": x[:, 1], "c3": x[:, 3]}).values()
    assert c1.tolist() == [1.0, 5.0, 9.0] and c3.tolist() == [3.0, 7.0, 11.0]
    assert c1.stride() == (4,) and c3.storage_offset() - c1.storage_offset() == 2


def test_tied_weights_and_parameters():
    emb = fastnn.nn.Embedding(5, 3)
    head = fastnn.nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    sd = roundtrip(fastnn.nn.ModuleDict({"e": emb, "h": head}).state_dict())
    sd["e.weight"][0, 0] = 123.0
    assert sd["h.weight"][0, 0].item() == 123.0
    p = fastnn.nn.Parameter(fastnn.randn(4, 3))
    out = roundtrip({"p": p, "again": p, "row": p.detach()[1]})
    assert type(out["p"]) is fastnn.nn.Parameter and out["p"].requires_grad
    assert type(out["again"]) is fastnn.nn.Parameter and out["again"].requires_grad
    assert not out["row"].requires_grad and out["row"].tolist() == p[1].tolist()
    out["row"].add_(1.0)
    assert fastnn.equal(out["p"][1], out["row"]) and fastnn.equal(out["again"], out["p"])
    (out["p"] * 2).sum().backward()
    assert out["p"].grad.tolist() == [[2.0] * 3] * 4


def test_tensor_saved_alone_is_compact():
    x = fastnn.arange(6.).reshape(2, 3)
    col = roundtrip(x[:, 1])
    assert col.tolist() == [1.0, 4.0] and col.stride() == (1,)
    assert header_of(saved_bytes(x[:, 1]))["tensor"]["shape"] == [2]
    e = fastnn.arange(3.).expand(2, 3)
    assert roundtrip(e).tolist() == e.tolist()


def test_unrelated_tensors_from_one_buffer_are_not_merged():
    # an optimizer packs parameters into one flat arena: they must still save one by one
    model = fastnn.nn.Sequential(fastnn.nn.Linear(3, 4), fastnn.nn.Linear(4, 2))
    opt = fastnn.optim.Adam(model.parameters())
    model(fastnn.randn(5, 3)).sum().backward()
    opt.step()
    data = saved_bytes(model.state_dict())
    header = header_of(data)
    assert header["__metadata__"]["fastnn.format"] == "1"
    assert sorted(k for k in header if k != "__metadata__") == sorted(model.state_dict())
    data = saved_bytes({"model": model.state_dict(), "optim": opt.state_dict()})
    assert header_of(data)["__metadata__"]["fastnn.format"] == "1"


# --- format versions ---

def test_version_1_files_still_load_and_are_still_written():
    header = {"__metadata__": {"fastnn.format": "1", "fastnn.structure": json.dumps(
        {"k": "dict", "items": [["w", {"k": "tensor", "name": "w"}], ["step", 3],
                                ["t", {"k": "tuple", "items": [{"k": "float", "v": "inf"}]}]]}),
        "fastnn.grad": json.dumps({"w": {"parameter": True, "requires_grad": True}})},
        "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    out = fastnn.load(io.BytesIO(make_file(header, np.ones(2, "<f4").tobytes())))
    assert type(out["w"]) is fastnn.nn.Parameter and out["w"].tolist() == [1.0, 1.0]
    assert out["step"] == 3 and out["t"] == (float("inf"),)
    plain = {"a": fastnn.ones(2), "b": [1, 2.5, "s", None, (True,)], "c": np.zeros(2)}
    assert header_of(saved_bytes(plain))["__metadata__"]["fastnn.format"] == "1"
    for new in [np.float32(1), b"x", 1j, slice(1), fastnn.float32, np.zeros(1, np.uint32),
                [fastnn.ones(2)] * 2, Point(1, 2)]:
        assert header_of(saved_bytes([new]))["__metadata__"]["fastnn.format"] == "2", new


# --- hostile files using the new nodes ---

def _file(structure, tensors=(("a", "F32", [2]),), version="2"):
    header = {"__metadata__": {"fastnn.format": version, "fastnn.structure": json.dumps(structure)}}
    body, pos = b"", 0
    for name, code, shape in tensors:
        n = int(np.prod(shape, dtype=np.int64)) * S._DTYPES[code].itemsize
        header[name] = {"dtype": code, "shape": shape, "data_offsets": [pos, pos + n]}
        body += b"\0" * n
        pos += n
    return make_file(header, body)


def _view(**kw):
    node = {"k": "view", "name": "a", "offset": 0, "shape": [2], "stride": [1], "grad": None}
    node.update(kw)
    return node


HOSTILE = [
    (_file(_view(offset=1)), "outside"),
    (_file(_view(stride=[2])), "outside"),
    (_file(_view(offset=-1)), "offset"),
    (_file(_view(stride=[-1])), "stride"),
    (_file(_view(stride=[1, 1])), "stride"),
    (_file(_view(shape=[2 ** 40, 2 ** 40], stride=[0, 0])), "impossibly large"),
    (_file(_view(shape=[2, -1])), "shape"),
    (_file(_view(grad={"parameter": True})), "bool fields"),
    (_file(_view(name="b")), "missing tensor"),
    (_file({"k": "bytes", "name": "a"}), "bytes"),
    (_file({"k": "bytes", "name": "a"}, tensors=(("a", "U8", [1, 1]),)), "1-dimensional"),
    (_file({"k": "carray", "name": "a"}, tensors=(("a", "F32", [3]),)), "last axis"),
    (_file({"k": "carray", "name": "a"}, tensors=(("a", "I32", [2]),)), "complex array"),
    (_file({"k": "npscalar", "dtype": "uint8", "v": 256}, ()), "in range"),
    (_file({"k": "npscalar", "dtype": "int8", "v": True}, ()), "in range"),
    (_file({"k": "npscalar", "dtype": "float16", "v": 1e10}, ()), "out of range"),
    (_file({"k": "npscalar", "dtype": "float128", "v": 1}, ()), "unknown dtype"),
    (_file({"k": "npscalar", "dtype": "bool", "v": 1}, ()), "not a bool"),
    (_file({"k": "npscalar", "dtype": "complex64", "v": [1]}, ()), "pair"),
    (_file({"k": "npscalar", "dtype": "float32", "v": "1.5"}, ()), "not a number"),
    (_file({"k": "complex", "v": [1, "x"]}, ()), "not a number"),
    (_file({"k": "complex", "v": [1, 2, 3]}, ()), "pair"),
    (_file({"k": "npdtype", "v": "object"}, ()), "unknown numpy dtype"),
    (_file({"k": "dtype", "v": "os.system"}, ()), "unknown dtype"),
    (_file({"k": "device", "v": "tpu:0"}, ()), "unsupported device"),
    (_file({"k": "slice", "items": [1, 2]}, ()), "slice"),
    (_file({"k": "namedtuple", "name": "P", "fields": ["a"], "items": [1, 2]}, ()), "namedtuple"),
    (_file({"k": "namedtuple", "name": 5, "fields": [], "items": []}, ()), "namedtuple"),
    (_file({"k": "set", "items": [{"k": "slice", "items": [1, 2, 3]}]}, ()), "unhashable"),
]


@pytest.mark.parametrize("data,needle", HOSTILE)
def test_hostile_new_nodes_are_refused_clearly(data, needle):
    for as_numpy in (False, True):
        with pytest.raises(ValueError) as info:
            fastnn.load(io.BytesIO(data), _as_numpy=as_numpy)
        assert str(info.value).startswith("fastnn.load: <BytesIO>: ")
        assert needle in str(info.value), str(info.value)


def test_plain_safetensors_file_with_a_wide_unsigned_dtype():
    data = make_file({"a": {"dtype": "U16", "shape": [1], "data_offsets": [0, 2]}}, b"\7\0")
    t = fastnn.load(io.BytesIO(data))["a"]
    assert t.dtype == fastnn.uint16 and t.tolist() == [7]
    out = fastnn.load(io.BytesIO(data), _as_numpy=True)["a"]
    assert out.dtype == np.uint16 and out.tolist() == [7]


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64"])
def test_wide_unsigned_tensors_round_trip(dtype):
    t = fastnn.from_numpy(np.array([0, 7, np.iinfo(dtype).max], dtype=dtype))
    buf = io.BytesIO()
    fastnn.save({"t": t, "arr": t.numpy()}, buf)
    buf.seek(0)
    assert header_of(buf.getvalue())["__metadata__"]["fastnn.format"] == "2"  # v1 readers refuse
    buf.seek(0)
    back = fastnn.load(buf)
    assert back["t"].dtype == getattr(fastnn, dtype) and back["t"].tolist() == t.tolist()
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.dtype(dtype)


def test_fuzz_a_checkpoint_with_the_new_types():
    x = fastnn.arange(12.).reshape(3, 4)
    ck = {"views": [x, x[:, 1], x.t()], "cols": [x[:, 0], x[:, 2]], "rng": np.random.get_state(),
          "misc": [np.uint64(5), np.float16(2), 1j, b"ab", slice(1, 2), fastnn.float32,
                   fastnn.device("cpu"), np.dtype("int8"), Point(1, 2),
                   np.ones((2, 2), np.complex64)]}
    base = saved_bytes(ck)
    n = int.from_bytes(base[:8], "little")
    rng = random.Random(99)
    loaded = 0
    for _ in range(1500):
        data = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(8, n + 8) if rng.random() < 0.9 else rng.randrange(len(data))
            data[pos] ^= rng.randrange(1, 256)
        try:
            fastnn.load(io.BytesIO(bytes(data)))
            loaded += 1
        except ValueError as e:
            assert str(e).startswith("fastnn.load: <BytesIO>: "), e
    assert loaded > 0
