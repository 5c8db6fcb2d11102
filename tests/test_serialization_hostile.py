"""fastnn.load against truncated, corrupted and deliberately hostile files:
everything must end in a loaded object or ValueError, quickly and without
large allocations.  Runs through load's private ``_as_numpy`` path."""
import ast
import collections
import io
import json
import math
import pathlib
import random
import time
import tracemalloc

import numpy as np
import pytest

from fastnn import serialization as S

try:
    from hypothesis import given, settings, strategies as st
except ImportError:
    given = None

DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8,
          np.uint8, np.bool_]


def header_of(data):
    n = int.from_bytes(data[:8], "little")
    return n, json.loads(data[8:8 + n])


def make_file(header, data=b"", length=None):
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    n = len(raw) if length is None else length
    return n.to_bytes(8, "little") + raw + data


def checkpoint():
    """Small but covering every node kind and several dtypes."""
    return {"model": collections.OrderedDict([
                ("w", np.arange(12, dtype=np.float32).reshape(4, 3)),
                ("b", np.zeros(4, np.float64)), ("steps", np.array(7, np.int64)),
                ("mask", np.array([True, False, True])), ("empty", np.zeros((0, 5), np.int32))]),
            "optimizer": {"state": {0: {"step": 10, "m": np.ones(3, np.float16)}},
                          "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0]}]},
            "best": math.inf, "loss": math.nan, "low": -math.inf, "note": "ünïcødé ✓",
            "ids": np.arange(5, dtype=np.uint8), "none": None}


# --- hand-written hostile files ---

GOOD = {"__metadata__": {}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


def _with(**entry):
    return {"a": dict(GOOD["a"], **entry)}


HOSTILE = [
    (b"", "too short"),
    (b"\x00" * 7, "too short"),
    ((2 ** 64 - 1).to_bytes(8, "little") + b"{}", "exceeds the"),
    ((10 ** 9).to_bytes(8, "little") + b"{}", "exceeds the 100000000"),
    ((64).to_bytes(8, "little") + b"{}" + b" " * 6, "exceeds the file size"),
    ((4).to_bytes(8, "little") + b"\xff\xfe{}", "not UTF-8"),
    ((8).to_bytes(8, "little") + b"{\"a\":   ", "not valid JSON"),
    ((8).to_bytes(8, "little") + b"[1,2,3] ", "not a JSON object"),
    (make_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
     "contiguous"),
    (make_file(_with(dtype="BF16"), b"\0" * 8), "unsupported dtype 'BF16'"),
    (make_file(_with(dtype=["F32"]), b"\0" * 8), "unsupported dtype"),
    (make_file(_with(shape=[-2]), b"\0" * 8), "shape must be"),
    (make_file(_with(shape=[2.0]), b"\0" * 8), "shape must be"),
    (make_file(_with(shape=[True, True]), b"\0" * 8), "shape must be"),
    (make_file(_with(shape="2"), b"\0" * 8), "shape must be"),
    (make_file(_with(shape=[1] * 65), b"\0" * 8), "shape must be"),
    (make_file(_with(shape=[2 ** 40, 2 ** 40]), b"\0" * 8), "impossibly large"),
    (make_file(_with(shape=[0, 2 ** 70], data_offsets=[0, 0])), "impossibly large"),
    (make_file(_with(shape=[3]), b"\0" * 8), "needs 12 bytes"),
    (make_file(_with(data_offsets=[-8, 0]), b"\0" * 8), "outside"),
    (make_file(_with(data_offsets=[8, 0]), b"\0" * 8), "outside"),
    (make_file(_with(data_offsets=[0, 2 ** 64 + 8]), b"\0" * 8), "outside"),
    (make_file(_with(data_offsets=[0, 8, 16]), b"\0" * 8), "two ints"),
    (make_file(_with(data_offsets=["0", "8"]), b"\0" * 8), "two ints"),
    (make_file(_with(data_offsets=[4, 12]), b"\0" * 12), "expected 0"),
    (make_file(GOOD, b"\0" * 12), "cover 8 bytes"),
    (make_file(GOOD, b"\0" * 4), "outside"),
    (make_file(_with(extra=1), b"\0" * 8), "exactly the fields"),
    (make_file({"a": [1, 2]}), "exactly the fields"),
    (make_file({"__metadata__": {"x": 1}}), "object of strings"),
    (make_file({"__metadata__": "x"}), "object of strings"),
    (make_file({"__metadata__": []}), "object of strings"),
    ((8).to_bytes(8, "little") + b'{"a":1,"a":2}'[:8], "not valid JSON"),
    ((16).to_bytes(8, "little") + b'{"x":{},"x":{}} ', "duplicate JSON key"),
    ((24).to_bytes(8, "little") + b'{"__metadata__":NaN}    ', "non-standard JSON constant"),
    ((100_016).to_bytes(8, "little") + b"[" * 50_000 + b"]" * 50_000 + b" " * 16,
     "nested too deeply"),
    (make_file({"a": dict(GOOD["a"], dtype="BOOL", shape=[8])}, bytes(range(8))),
     "bool data"),
]


def _structured(structure, version="1", tensors=("a",)):
    header = {"__metadata__": {"fastnn.format": version, "fastnn.structure": json.dumps(structure)}}
    for i, name in enumerate(tensors):
        header[name] = {"dtype": "U8", "shape": [1], "data_offsets": [i, i + 1]}
    return make_file(header, b"\0" * len(tensors))


REF = {"k": "tensor", "name": "a"}
HOSTILE += [
    (_structured(REF, version="3"), "unsupported fastnn checkpoint version '3'"),
    (make_file({"__metadata__": {"fastnn.format": "1"}}), "without a structure"),
    (make_file({"__metadata__": {"fastnn.structure": "[]"}}), "without a format"),
    (_structured({"k": "tensor", "name": "b"}), "missing tensor 'b'"),
    (_structured([1, 2]), "not referenced"),
    (_structured({"k": "pickle", "data": "cos\nsystem"}, tensors=()), "unknown node"),
    (_structured({"k": "tensor", "name": "a", "x": 1}), "unknown node"),
    (_structured({"k": "float", "v": "1e999"}, tensors=()), "bad float"),
    (_structured({"k": "dict", "items": [[1.5, REF]]}), "not a str or int"),
    (_structured({"k": "dict", "items": [[True, REF]]}), "not a str or int"),
    (_structured({"k": "dict", "items": [["x", REF], ["x", REF]]}), "repeats key"),
    (_structured({"k": "dict", "items": [["x"]]}, tensors=()), "pair"),
    (_structured({"k": "tuple", "items": {}}, tensors=()), "not a list"),
    (_structured(json.loads("[" * 200 + "]" * 200), tensors=()), "deeper than"),
    (make_file({"__metadata__": {"fastnn.format": "1", "fastnn.structure": "{"}}), "not valid JSON"),
    (make_file({"__metadata__": {"fastnn.format": "1", "fastnn.structure": "NaN"}}),
     "non-standard"),
]


def _graded(grad, structure=REF, dtype="U8"):
    header = {"__metadata__": {"fastnn.format": "1", "fastnn.structure": json.dumps(structure),
                               "fastnn.grad": grad if isinstance(grad, str) else json.dumps(grad)},
              "a": {"dtype": dtype, "shape": [1], "data_offsets": [0, 1 if dtype == "U8" else 4]}}
    return make_file(header, b"\0" * (1 if dtype == "U8" else 4))


FLAGS = {"parameter": True, "requires_grad": False}
HOSTILE += [
    (_graded("{"), "grad metadata is not valid JSON"),
    (_graded([]), "grad metadata is not a JSON object"),
    (_graded({"a": {"parameter": 1, "requires_grad": False}}), "exactly the bool fields"),
    (_graded({"a": dict(FLAGS, extra=True)}), "exactly the bool fields"),
    (_graded({"a": [True, True]}), "exactly the bool fields"),
    (_graded({"b": FLAGS}), "grad metadata names missing tensor 'b'"),
    (_graded({"a": dict(FLAGS, requires_grad=True)}), "only floating point"),
    (_structured({"k": "size", "items": [-1]}, tensors=()), "non-negative ints"),
    (_structured({"k": "size", "items": [1.5, True]}, tensors=()), "non-negative ints"),
    (_structured({"k": "size", "items": [REF]}), "non-negative ints"),
    (_structured({"k": "size", "items": {}}, tensors=()), "not a list"),
]


@pytest.mark.parametrize("data,message", HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_file_raises_value_error(data, message, tmp_path):
    with pytest.raises(ValueError, match="<BytesIO>") as info:
        S.load(io.BytesIO(data), _as_numpy=True)
    assert message in str(info.value)
    path = tmp_path / "bad.pt"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=repr(str(path)).replace("\\", "\\\\")):
        S.load(path, _as_numpy=True)


def test_huge_claims_allocate_nothing():
    """A tiny file that describes terabytes must fail before numpy allocates."""
    cases = [make_file(_with(shape=[2 ** 30, 2 ** 8], data_offsets=[0, 2 ** 40]), b"\0" * 64),
             (2 ** 62).to_bytes(8, "little") + b"{}",
             make_file(_with(shape=[2 ** 20] * 3), b"\0" * 8)]
    tracemalloc.start()
    try:
        for data in cases:
            with pytest.raises(ValueError):
                S.load(io.BytesIO(data), _as_numpy=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize("name", ["serialization.py", "_checkpoint_format.py",
                                  "_checkpoint_encode.py"])
def test_loader_never_imports_code_execution_helpers(name):
    tree = ast.parse((pathlib.Path(S.__file__).parent / name).read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not {"pickle", "marshal", "shelve", "dill", "cloudpickle"} & set(names)
        if isinstance(node, ast.keyword):
            assert node.arg != "allow_pickle"
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"load", "loads"} or getattr(node.value, "id", "") == "json"


# --- files of other formats ---

def _torch_files(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"w": torch.ones(2), "step": 3}
    torch.save(state, tmp_path / "zip.pt")
    torch.save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    return tmp_path / "zip.pt", tmp_path / "legacy.pt"


def test_pytorch_checkpoints_are_named_and_never_unpickled(tmp_path, monkeypatch):
    import pickle
    monkeypatch.setattr(pickle, "loads", None)  # loading must not even try
    monkeypatch.setattr(pickle, "Unpickler", None)
    for path, what in zip(_torch_files(tmp_path), ["torch.save's zip format",
                                                   "torch.save's legacy format"]):
        for src in (path, io.BytesIO(path.read_bytes())):
            with pytest.raises(ValueError) as info:
                S.load(src)
            msg = str(info.value)
            assert "PyTorch checkpoint" in msg and what in msg, msg
            assert "unpickling can run arbitrary code" in msg and "safetensors" in msg
            assert "exceeds" not in msg


def test_npz_archive_is_named(tmp_path):
    np.savez(tmp_path / "a.npz", w=np.ones(2))
    with pytest.raises(ValueError, match="numpy .npz archive.*numpy.load.*fastnn.from_numpy"):
        S.load(tmp_path / "a.npz", _as_numpy=True)


def test_header_length_starting_like_a_pickle_still_loads():
    # a 640-byte header's length reads 80 02, a pickle's start: only impossible lengths sniff
    for pad in range(700):
        data = make_file({"__metadata__": {"x": "y" * pad}})
        if data[:2] == b"\x80\x02":
            break
    assert data[:2] == b"\x80\x02"
    assert S.load(io.BytesIO(data), _as_numpy=True) == {}


# --- fuzzing ---

# numpy arrays may also hold the unsigned and complex dtypes that only numpy has
ARRAY_DTYPES = [np.dtype(d) for d in DTYPES + [np.uint16, np.uint32, np.uint64, np.complex64,
                                               np.complex128]]


def _sane(x, depth=0):
    assert depth < 200
    if isinstance(x, np.ndarray):
        assert x.dtype in ARRAY_DTYPES and x.nbytes < 1 << 20
    elif isinstance(x, (dict, collections.OrderedDict)):
        for k, v in x.items():
            assert isinstance(k, (str, int)) and not isinstance(k, bool)
            _sane(v, depth + 1)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _sane(v, depth + 1)
    else:
        assert x is None or isinstance(x, (bool, int, float, str, complex, bytes, bytearray,
                                           slice, np.bool_, np.number, np.dtype))


HOSTILE_VALUES = [-1, 0, 1, 2 ** 31, 2 ** 63, 2 ** 64, 10 ** 30, -(2 ** 63), 1.5, True, None, "",
                  "F32", "x" * 50, [], [0], [0, 0], [-1, 8], [8, 0], [0, 2 ** 64], [1, 2, 3],
                  [2 ** 40, 2 ** 40], [0, 2 ** 70], {}, {"k": "tensor"}, ["0", "8"], [[]], "BF16",
                  "F64", "BOOL", "I64", "f32", "U16"]


def _mutate_header(rng, data):
    n, header = header_of(data)
    names = [k for k in header if k != "__metadata__"]
    choice = rng.randrange(9)
    if choice < 4 and names:  # a hostile value in one tensor field
        entry = header[rng.choice(names)]
        entry[rng.choice(["dtype", "shape", "data_offsets"])] = rng.choice(HOSTILE_VALUES)
    elif choice == 4 and names:  # overlapping / shifted offsets
        a, b = rng.choice(names), rng.choice(names)
        header[a]["data_offsets"] = list(header[b]["data_offsets"])
        header[a]["data_offsets"][rng.randrange(2)] += rng.choice([-8, -1, 1, 8])
    elif choice == 5 and names:
        if rng.random() < 0.5:
            del header[rng.choice(names)]
        else:
            header["extra"] = {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}
    elif choice in (6, 7):  # edit the structure JSON, keeping it JSON
        meta = header["__metadata__"]
        text = meta.get("fastnn.structure", "[]")
        edits = [('"tensor"', '"pickle"'), ('"name":"', '"name":"zz'), ('"odict"', '"set"'),
                 ("[[0,", "[[true,"), ('"items":[', '"items":[' * 300), ('"inf"', '"INF"'),
                 ('"k":"dict"', '"k":"tuple"'), (",", ",null,"), ('"nan"', '1e999')]
        old, new = rng.choice(edits)
        text = text.replace(old, new, rng.choice([1, -1]))
        if rng.random() < 0.2:  # valid JSON, absurdly deep
            depth = rng.choice([50, 150, 5000])
            text = "[" * depth + text + "]" * depth
        meta["fastnn.structure"] = text
        if rng.random() < 0.2:
            meta["fastnn.format"] = rng.choice(["0", "2", "", "1.0"])
    else:
        header["__metadata__"] = rng.choice([None, {"fastnn.format": 1}, [], {}, "x"])
    raw = json.dumps(header).encode()
    body = data[8 + n:]
    if rng.random() < 0.2:
        body = body[: rng.randrange(len(body) + 1)]
    length = len(raw) if rng.random() < 0.9 else rng.choice([len(raw) + 1, len(raw) - 1, 2 ** 63])
    return length.to_bytes(8, "little") + raw + body


def _fuzz_cases(base, rng, count):
    n = int.from_bytes(base[:8], "little")
    for i in range(count):
        kind = (0, 1, 1, 2, 2, 2, 3, 4)[i % 8]
        if kind == 0:
            yield base[: rng.randrange(len(base))]
        elif kind == 1:
            data = bytearray(base)
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(n + 8) if rng.random() < 0.8 else rng.randrange(len(data))
                data[pos] ^= rng.randrange(1, 256)
            yield bytes(data)
        elif kind == 2:
            yield _mutate_header(rng, base)
        elif kind == 3:
            length = rng.choice([0, 1, n - 1, n + 1, len(base), 2 ** 63, rng.randrange(2 ** 64)])
            yield length.to_bytes(8, "little") + base[8:]
        else:
            yield rng.randbytes(8) + base[8: 8 + rng.randrange(len(base))]


def test_fuzz_corrupted_checkpoints():
    buf = io.BytesIO()
    S.save(checkpoint(), buf)
    base = buf.getvalue()
    rng = random.Random(1234)
    outcomes = collections.Counter()
    start = time.perf_counter()
    for i, data in enumerate(_fuzz_cases(base, rng, 5000)):
        try:
            out = S.load(io.BytesIO(data), _as_numpy=True)
        except ValueError as e:
            assert str(e).startswith("fastnn.load: <BytesIO>: "), e
            outcomes["rejected"] += 1
        except Exception as e:  # anything else is a loader bug
            raise AssertionError(f"case {i}: {type(e).__name__}: {e}\n{data[:300]!r}") from e
        else:
            _sane(out)
            outcomes["loaded"] += 1
    elapsed = time.perf_counter() - start
    assert outcomes["rejected"] > 2500 and outcomes["loaded"] > 50, outcomes
    assert elapsed < 30, elapsed


def _load_or_reject(data):
    try:
        _sane(S.load(io.BytesIO(data), _as_numpy=True))
    except ValueError:
        pass


if given is not None:
    _BASE = io.BytesIO()
    S.save(checkpoint(), _BASE)
    _BASE = _BASE.getvalue()

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200), st.integers(0, 300))
    def test_property_arbitrary_bytes_never_crash(body, length):
        _load_or_reject(body)
        _load_or_reject(length.to_bytes(8, "little") + body)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, len(_BASE) - 1), st.integers(1, 255)),
                    min_size=1, max_size=6),
           st.integers(0, len(_BASE)))
    def test_property_corrupted_checkpoint_never_crashes(flips, keep):
        data = bytearray(_BASE)
        for pos, xor in flips:
            data[pos] ^= xor
        _load_or_reject(bytes(data[:keep]))
        _load_or_reject(bytes(data))
else:
    @pytest.mark.skip(reason="hypothesis not installed")
    def test_property_arbitrary_bytes_never_crash():
        pass
