"""fastnn.save / fastnn.load: writing through links and special files, object identity,
defaultdict / Counter / container subclasses, state-dict metadata, lazy modules, pickle's
load keywords and the smaller names of fastnn.serialization."""
import collections
import importlib.util
import io
import json
import mmap
import os
import pathlib
import stat
import tempfile
import threading
import warnings

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


# --- where a path save writes ---

def test_save_writes_through_a_symlink(tmp_path):
    target, link = tmp_path / "ckpt_100.pt", tmp_path / "latest.pt"
    fastnn.save(fastnn.zeros(2), target)
    os.symlink(target, link)
    fastnn.save(fastnn.ones(2), link)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert fastnn.load(target).tolist() == [1.0, 1.0]
    assert sorted(os.listdir(tmp_path)) == ["ckpt_100.pt", "latest.pt"]  # no temp left


def test_save_through_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "latest.pt"
    os.symlink(tmp_path / "new.pt", link)
    fastnn.save(fastnn.ones(1), link)
    assert os.path.islink(link) and fastnn.load(tmp_path / "new.pt").tolist() == [1.0]


def test_save_keeps_hard_links_shared(tmp_path):
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    fastnn.save(fastnn.zeros(2), first)
    os.link(first, second)
    fastnn.save(fastnn.full((2,), 7.0), second)
    assert fastnn.load(first).tolist() == [7.0, 7.0]
    assert os.stat(first).st_ino == os.stat(second).st_ino


def test_save_writes_into_a_fifo(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []

    def reader():
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    fastnn.save({"w": fastnn.arange(3.0)}, fifo)
    thread.join(10)
    assert not thread.is_alive()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert fastnn.load(io.BytesIO(got[0]))["w"].tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("length", [230, 241, 250, 255])
def test_save_to_long_file_names(tmp_path, length):
    path = tmp_path / ("x" * (length - 3) + ".pt")
    fastnn.save(fastnn.ones(1), path)
    fastnn.save(fastnn.full((1,), 2.0), path)  # replacing it makes a temp file too
    assert fastnn.load(path).tolist() == [2.0]
    assert os.listdir(tmp_path) == [path.name]


def test_save_falls_back_to_in_place_when_no_temp_file_can_be_made(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    fastnn.save(fastnn.zeros(2), path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    fastnn.save(fastnn.ones(2), path)  # an existing, writable file: written in place
    assert fastnn.load(path).tolist() == [1.0, 1.0]
    with pytest.raises(PermissionError) as info:  # a new file cannot be made either way
        fastnn.save(fastnn.ones(2), tmp_path / "new.pt")
    assert info.value.filename == str(tmp_path / "new.pt")


def test_save_to_a_directory_names_the_path(tmp_path):
    with pytest.raises(RuntimeError, match="Is a directory") as info:
        fastnn.save(fastnn.ones(1), tmp_path)
    assert str(tmp_path) in str(info.value)
    assert os.listdir(tmp_path) == []


def test_save_to_a_regular_file_is_still_atomic(tmp_path):
    path = tmp_path / "c.pt"
    fastnn.save(fastnn.zeros(3), path)
    original = S._write

    def crash(fobj, head, arrays):
        fobj.write(head[:10])
        raise KeyboardInterrupt

    S._write = crash
    try:
        with pytest.raises(KeyboardInterrupt):
            fastnn.save(fastnn.ones(3), path)
    finally:
        S._write = original
    assert fastnn.load(path).tolist() == [0.0, 0.0, 0.0]
    assert os.listdir(tmp_path) == ["c.pt"]


# --- identity ---

def test_same_tensor_twice_loads_as_one_object():
    t = fastnn.arange(6.0).reshape(2, 3)
    out = roundtrip([t, t])
    assert out[0] is out[1] and out[0].tolist() == t.tolist()


def test_same_parameter_twice_is_one_parameter_for_autograd():
    w = fastnn.nn.Parameter(fastnn.randn(3))
    out = roundtrip({"a": w, "b": w, "c": w.detach(), "d": w[1:]})
    assert out["a"] is out["b"] and type(out["a"]) is fastnn.nn.Parameter
    assert out["c"] is not out["a"]
    (out["b"] * fastnn.arange(3.0)).sum().backward()
    assert out["a"].grad.tolist() == [0.0, 1.0, 2.0]
    out["a"].data.add_(1)  # the others still view the same memory
    assert out["c"].tolist() == out["a"].tolist()
    assert out["d"].tolist() == out["a"].tolist()[1:]


def test_same_view_twice_is_one_object_sharing_its_base():
    x = fastnn.arange(12.0).reshape(3, 4)
    v = x[1]
    out = roundtrip({"x": x, "v1": v, "v2": v, "other": x[1]})
    assert out["v1"] is out["v2"] and out["other"] is not out["v1"]
    out["x"][1, 0] = 100.0
    assert out["v1"][0].item() == 100.0 and out["other"][0].item() == 100.0


@pytest.mark.parametrize("make", [lambda t: [t, t], lambda t: {"a": t, "b": [t, (t,)]}])
def test_identity_matches_pytorch(make):
    torch = pytest.importorskip("torch")
    theirs = make(torch.ones(2))
    buf = io.BytesIO()
    torch.save(theirs, buf)
    buf.seek(0)
    theirs = torch.load(buf)
    ours = roundtrip(make(fastnn.ones(2)))

    def ids(obj, seen):
        if isinstance(obj, (list, tuple)):
            return [ids(x, seen) for x in obj]
        if isinstance(obj, dict):
            return {k: ids(v, seen) for k, v in obj.items()}
        return seen.setdefault(id(obj), len(seen))

    assert ids(ours, {}) == ids(theirs, {})


# --- containers ---

@pytest.mark.parametrize("factory", [list, dict, set, int, float, str, tuple, None])
def test_defaultdict_round_trips_with_its_factory(factory):
    d = collections.defaultdict(factory, a=fastnn.ones(1))
    out = roundtrip(d)
    assert type(out) is collections.defaultdict and out.default_factory is factory
    assert list(out) == ["a"] and out["a"].tolist() == [1.0]


def test_defaultdict_with_an_unknown_factory_is_refused_at_save():
    with pytest.raises(TypeError, match="default_factory"):
        saved_bytes({"x": collections.defaultdict(lambda: 0)})


def test_counter_round_trips_also_with_weights_only():
    c = collections.Counter("aab")
    for weights_only in (True, False):
        out = roundtrip({"c": c}, weights_only=weights_only)["c"]
        assert type(out) is collections.Counter and out == c


class _MyDict(dict):
    pass


class _MyList(list):
    pass


class _MyTuple(tuple):
    pass


class _MySet(set):
    pass


@pytest.mark.parametrize("obj", [_MyDict(a=1), _MyList([1]), _MyTuple((1, 2)), _MySet({1})])
def test_other_container_subclasses_are_refused_at_save(obj):
    with pytest.raises(TypeError, match=type(obj).__qualname__):
        saved_bytes({"k": [obj]})


def test_nested_defaultdict_and_counter_keep_int_keys():
    state = collections.defaultdict(dict)
    state[0]["momentum_buffer"] = fastnn.ones(2)
    out = roundtrip({"state": state, "counts": collections.Counter([3, 3, 1])})
    assert type(out["state"]) is collections.defaultdict and out["state"].default_factory is dict
    assert out["state"][0]["momentum_buffer"].tolist() == [1.0, 1.0]
    assert out["counts"] == collections.Counter({3: 2, 1: 1})


@pytest.mark.parametrize("make", [lambda: collections.defaultdict(list, a=[1]),
                                  lambda: collections.Counter("aab")])
def test_dict_kinds_match_pytorch(make):
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(make(), buf)
    buf.seek(0)
    theirs = torch.load(buf, weights_only=False)
    ours = roundtrip(make())
    assert type(ours) is type(theirs) and ours == theirs
    assert getattr(ours, "default_factory", None) is getattr(theirs, "default_factory", None)


# --- state-dict metadata and return_types ---

def test_state_dict_metadata_round_trips_and_reaches_load_state_dict():
    model = fastnn.nn.Sequential(fastnn.nn.Linear(3, 4), fastnn.nn.BatchNorm1d(4))
    sd = model.state_dict()
    out = roundtrip({"model": sd})["model"]
    assert type(out) is collections.OrderedDict
    assert out._metadata == sd._metadata and out._metadata["1"] == {"version": 2}
    seen = []
    bn = fastnn.nn.BatchNorm1d(4)
    original = bn._load_from_state_dict

    def spy(state_dict, prefix, local_metadata, *rest):
        seen.append(dict(local_metadata))
        return original(state_dict, prefix, local_metadata, *rest)

    bn._load_from_state_dict = spy
    fresh = fastnn.nn.Sequential(fastnn.nn.Linear(3, 4), bn)
    fresh.load_state_dict(out)
    assert seen and seen[0].get("version") == 2


def test_flat_state_dict_with_metadata_stays_a_version_1_file():
    sd = fastnn.nn.BatchNorm1d(2).state_dict()
    meta = header_of(saved_bytes(sd))["__metadata__"]
    assert meta["fastnn.format"] == "1"
    assert json.loads(meta["fastnn.odict_metadata"]) == {"0": [["", {"version": 2}]]}


def test_state_dict_metadata_matches_pytorch():
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(torch.nn.BatchNorm1d(2).state_dict(), buf)
    buf.seek(0)
    theirs = torch.load(buf)._metadata
    ours = roundtrip(fastnn.nn.BatchNorm1d(2).state_dict())._metadata
    assert dict(ours) == dict(theirs)


def test_spectral_norm_state_dict_saves_its_nested_metadata():
    # the legacy spectral_norm records {"spectral_norm": {"weight.version": 1}} per module
    layer = fastnn.nn.utils.spectral_norm(fastnn.nn.Linear(6, 5))
    model = fastnn.nn.Sequential(layer, fastnn.nn.Linear(5, 3))
    sd = model.state_dict()
    assert sd._metadata["0"]["spectral_norm"] == {"weight.version": 1}
    for obj, pick in ((sd, lambda o: o), ({"model": sd}, lambda o: o["model"])):
        out = pick(roundtrip(obj))
        assert out._metadata == sd._metadata
    fresh = fastnn.nn.Sequential(fastnn.nn.utils.spectral_norm(fastnn.nn.Linear(6, 5)),
                                 fastnn.nn.Linear(5, 3))
    fresh.load_state_dict(roundtrip(sd))
    np.testing.assert_array_equal(fresh[0].weight_orig.detach().numpy(),
                                  layer.weight_orig.detach().numpy())


@pytest.mark.parametrize("fields", [
    {"version": object()},
    {"version": float("nan")},
    {"spectral_norm": {"deeper": {"weight.version": 1}}},
])
def test_unsaveable_metadata_is_refused(fields):
    od = collections.OrderedDict(a=1)
    od._metadata = {"": fields}
    with pytest.raises(TypeError, match="_metadata"):
        saved_bytes(od)


@pytest.mark.parametrize("meta, message", [
    ({"5": []}, "names no OrderedDict"),
    ({"x": []}, "names no OrderedDict"),
    ({"0": [["", [1]]]}, "pairs"),
    ([], "not a JSON object"),
])
def test_hostile_odict_metadata_is_refused(meta, message):
    structure = {"k": "odict", "items": [["a", 1]]}
    data = make_file({"__metadata__": {"fastnn.format": "1", "fastnn.structure":
                                       json.dumps(structure),
                                       "fastnn.odict_metadata": json.dumps(meta)}})
    with pytest.raises(ValueError, match=message):
        fastnn.load(io.BytesIO(data))


def test_return_types_round_trip_as_their_class():
    res = fastnn.max(fastnn.tensor([[1.0, 3.0], [2.0, 0.0]]), 0)
    out = roundtrip(res)
    assert type(out) is type(res) and out.values.tolist() == [2.0, 3.0]
    assert out.indices.tolist() == [1, 0]


# --- lazy modules ---

def test_uninitialized_lazy_state_dict_round_trips():
    lazy = fastnn.nn.LazyLinear(3)
    out = roundtrip(lazy.state_dict())
    assert type(out["weight"]) is fastnn.nn.parameter.UninitializedParameter
    assert out["weight"].requires_grad and out["weight"].dtype == fastnn.float32
    fresh = fastnn.nn.LazyLinear(3)
    fresh.load_state_dict(out)
    assert fresh(fastnn.ones(2, 4)).shape == (2, 3)
    bn = roundtrip(fastnn.nn.LazyBatchNorm1d().state_dict())
    assert type(bn["running_mean"]) is fastnn.nn.parameter.UninitializedBuffer


def test_numpy_of_an_uninitialized_parameter_names_it():
    with pytest.raises(ValueError, match="uninitialized parameter"):
        fastnn.nn.LazyLinear(3).weight.detach().numpy()


# --- hostile files using the added node kinds ---

@pytest.mark.parametrize("structure, message", [
    ({"k": "again", "id": 0}, "undefined id"),
    ([{"k": "memo", "id": 0, "node": {"k": "tensor", "name": "a"}},
      {"k": "memo", "id": 0, "node": {"k": "tensor", "name": "a"}}], "repeated id"),
    ({"k": "memo", "id": 0, "node": {"k": "dict", "items": []}}, "not a tensor"),
    ({"k": "defaultdict", "factory": "os.system", "items": []}, "default_factory"),
    ({"k": "lazy", "cls": "module", "dtype": "float32", "requires_grad": True}, "lazy"),
])
def test_hostile_added_nodes_are_refused(structure, message):
    data = make_file({"__metadata__": {"fastnn.format": "2",
                                       "fastnn.structure": json.dumps(structure)},
                      "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
                     np.ones(1, "<f4").tobytes())
    with pytest.raises(ValueError, match=message):
        fastnn.load(io.BytesIO(data))


# --- load keywords ---

def test_pickle_load_args_are_accepted():
    data = saved_bytes(fastnn.ones(2))
    out = fastnn.load(io.BytesIO(data), map_location="cpu", encoding="latin1",
                      errors="strict", weights_only=False)
    assert out.tolist() == [1.0, 1.0]
    with pytest.warns(UserWarning, match="pickle_load_args only works"):
        fastnn.load(io.BytesIO(data), map_location="cpu", encoding="latin1")
    with pytest.raises(TypeError, match="invalid keyword argument"):
        fastnn.load(io.BytesIO(data), weights_only=False, foo=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'errors'"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fastnn.load(io.BytesIO(data), errors="strict")


def test_pickle_load_args_match_pytorch():
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save(torch.ones(1), buf)
    for kwargs in [dict(encoding="latin1"), dict(encoding="latin1", weights_only=False),
                   dict(errors="strict", weights_only=False), dict(errors="strict"),
                   dict(foo=1, weights_only=False)]:
        results = []
        for lib, data in ((torch, buf.getvalue()), (fastnn, saved_bytes(fastnn.ones(1)))):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    lib.load(io.BytesIO(data), **kwargs)
                    outcome = "ok"
                except TypeError:
                    outcome = "TypeError"
            results.append((outcome, sorted({str(w.message) for w in caught
                                             if "pickle_load_args" in str(w.message)})))
        assert results[0] == results[1], kwargs


# --- the smaller names of fastnn.serialization ---

def test_serialization_names():
    assert issubclass(S.SourceChangeWarning, Warning) and S.DEFAULT_PROTOCOL == 2
    t = fastnn.ones(2)
    assert S.location_tag(t) == "cpu"
    assert S.default_restore_location(t, "cpu") is t
    with pytest.raises(RuntimeError, match="tagged with xla"):
        S.default_restore_location(t, "xla")
    out = fastnn.load(io.BytesIO(saved_bytes({"t": t})),
                      map_location=lambda s, loc: S.default_restore_location(s, "cpu"))
    assert out["t"].tolist() == [1.0, 1.0]


def test_register_package_takes_priority():
    calls = []

    def tagger(obj):
        calls.append("tag")
        return "special" if getattr(obj, "_special", False) else None

    def restore(obj, location):
        return obj if location == "special" else None

    from fastnn import _checkpoint_api
    before = list(_checkpoint_api._package_registry)
    S.register_package(1, tagger, restore)
    try:
        t = fastnn.ones(1)
        assert S.location_tag(t) == "cpu" and calls == ["tag"]
        assert S.default_restore_location(t, "special") is t
    finally:
        _checkpoint_api._package_registry[:] = before


def test_load_endianness_settings():
    assert S.get_default_load_endianness() == S.LoadEndianness.NATIVE
    S.set_default_load_endianness(S.LoadEndianness.BIG)
    try:
        assert S.get_default_load_endianness() is S.LoadEndianness.BIG
        with pytest.raises(TypeError, match="Invalid argument type"):
            S.set_default_load_endianness("big")
    finally:
        S.set_default_load_endianness(S.LoadEndianness.NATIVE)
    assert [e.value for e in S.LoadEndianness] == [1, 2, 3]


def test_set_default_mmap_options():
    with S.set_default_mmap_options(mmap.MAP_SHARED):
        pass
    with pytest.raises(ValueError, match="expected mmap.MAP_PRIVATE or mmap.MAP_SHARED"):
        S.set_default_mmap_options(12345)


def test_mkdtemp_removes_the_directory():
    with S.mkdtemp() as path:
        assert os.path.isdir(path)
        open(os.path.join(path, "f"), "w").close()
    assert not os.path.exists(path)


Point = collections.namedtuple("Point", "x y")


def test_get_unsafe_globals_in_checkpoint(tmp_path):
    path = tmp_path / "c.pt"
    fastnn.save({"w": fastnn.ones(2), "m": fastnn.max(fastnn.ones(2, 2), 0)}, path)
    assert S.get_unsafe_globals_in_checkpoint(path) == []
    fastnn.save({"p": Point(1, 2)}, path)
    name = f"{__name__}.Point"
    assert S.get_unsafe_globals_in_checkpoint(path) == [name]
    with S.safe_globals([Point]):
        assert S.get_unsafe_globals_in_checkpoint(str(path)) == []
    with open(path, "rb") as fh:
        assert S.get_unsafe_globals_in_checkpoint(fh) == [name]
