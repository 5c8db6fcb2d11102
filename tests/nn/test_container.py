from collections import OrderedDict

import pytest

import fastnn
from fastnn import nn


class Scale(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k = k

    def forward(self, x):
        return x * self.k

    def extra_repr(self):
        return f"k={self.k}"


def torch_scale(torch):
    class Scale(torch.nn.Module):
        def __init__(self, k):
            super().__init__()
            self.k = k

        def forward(self, x):
            return x * self.k

        def extra_repr(self):
            return f"k={self.k}"
    return Scale


# ---- Sequential --------------------------------------------------------------------------
def test_sequential_forward_and_indexing():
    s = nn.Sequential(Scale(2), Scale(3), Scale(5))
    assert s(fastnn.ones(1)).item() == 30.0
    assert s[0].k == 2 and s[-1].k == 5 and len(s) == 3
    assert [m.k for m in s] == [2, 3, 5]
    sub = s[1:]
    assert type(sub) is nn.Sequential and [m.k for m in sub] == [3, 5]
    assert list(sub._modules) == ["1", "2"]  # a slice keeps the keys
    assert sub[0] is s[1]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        s[3]
    with pytest.raises(IndexError, match="index -4 is out of range"):
        s[-4]
    with pytest.raises(TypeError):
        s["0"]


def test_sequential_ordered_dict_and_mutation():
    s = nn.Sequential(OrderedDict(a=Scale(1), b=Scale(2), c=Scale(3)))
    assert s.b.k == 2 and list(s._modules) == ["a", "b", "c"]
    s[1] = Scale(20)
    assert s.b.k == 20
    del s[0]
    assert list(s._modules) == ["0", "1"]  # renumbered, as PyTorch does
    assert s[0].k == 20 and s._modules["0"] is getattr(s, "0")
    assert not hasattr(s, "a")
    s.append(Scale(4)).insert(0, Scale(9))
    assert [m.k for m in s] == [9, 20, 3, 4]
    s.insert(-1, Scale(7))
    assert [m.k for m in s] == [9, 20, 3, 7, 4]
    assert s.pop(1).k == 20 and len(s) == 4
    s.extend(nn.Sequential(Scale(1)))
    assert [m.k for m in s] == [9, 3, 7, 4, 1]
    del s[1:3]
    assert [m.k for m in s] == [9, 4, 1]
    with pytest.raises(TypeError, match="module should be of type"):
        s.insert(0, 5)
    with pytest.raises(IndexError, match="Index out of range: 9"):
        s.insert(9, Scale(1))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        s.append(3)


def test_sequential_add_and_mul():
    a, b = nn.Sequential(Scale(2)), nn.Sequential(Scale(3))
    c = a + b
    assert [m.k for m in c] == [2, 3] and c[0] is a[0]
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential"):
        a + Scale(1)
    d = a * 3
    assert len(d) == 3 and d[0] is d[2]
    a += b
    assert len(a) == 2
    with pytest.raises(ValueError, match="Non-positive multiplication factor"):
        a * 0


def test_sequential_parity_with_torch():
    torch = pytest.importorskip("torch")
    TScale = torch_scale(torch)
    for ks, drop in (([1, 2, 3, 4], 1), ([1, 2, 3], slice(0, 2)), ([5, 6], -1)):
        ours = nn.Sequential(OrderedDict((f"l{k}", Scale(k)) for k in ks))
        theirs = torch.nn.Sequential(OrderedDict((f"l{k}", TScale(k)) for k in ks))
        del ours[drop]
        del theirs[drop]
        assert repr(ours) == repr(theirs)
        assert repr(ours[::-1]) == repr(theirs[::-1])
    nested = nn.Sequential(Scale(1), nn.Sequential(Scale(2), nn.Sequential(Scale(3))))
    tnested = torch.nn.Sequential(TScale(1), torch.nn.Sequential(TScale(2),
                                                                 torch.nn.Sequential(TScale(3))))
    assert repr(nested) == repr(tnested)
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())
    assert "0" not in dir(nested)


# ---- ModuleList --------------------------------------------------------------------------
def test_module_list():
    ml = nn.ModuleList([Scale(1), Scale(2)])
    ml.append(Scale(3))
    ml += [Scale(4)]
    ml.extend([Scale(5)])
    assert [m.k for m in ml] == [1, 2, 3, 4, 5] and len(ml) == 5
    assert ml[-1].k == 5 and [m.k for m in ml[1:3]] == [2, 3]
    assert type(ml[1:3]) is nn.ModuleList
    ml[0] = Scale(10)
    assert ml[0].k == 10
    del ml[1]
    assert [m.k for m in ml] == [10, 3, 4, 5] and list(ml._modules) == ["0", "1", "2", "3"]
    ml.insert(1, Scale(7))
    assert [m.k for m in ml] == [10, 7, 3, 4, 5]
    assert ml.pop(0).k == 10
    assert [m.k for m in ml + nn.ModuleList([Scale(0)])] == [7, 3, 4, 5, 0]
    with pytest.raises(IndexError, match="index 9 is out of range"):
        ml[9]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable, "
                                        "but got int"):
        ml.extend(3)
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        ml(1)
    holder = nn.Module()
    holder.layers = nn.ModuleList([nn.ParameterList([fastnn.ones(2)]) for _ in range(3)])
    assert [n for n, _ in holder.named_parameters()] == ["layers.0.0", "layers.1.0",
                                                          "layers.2.0"]


def test_module_list_repr_matches_torch():
    torch = pytest.importorskip("torch")
    TScale = torch_scale(torch)
    for ks in ([1, 1, 2, 1], [3], [], [2, 2, 2]):
        ours = nn.ModuleList([Scale(k) for k in ks])
        theirs = torch.nn.ModuleList([TScale(k) for k in ks])
        assert repr(ours) == repr(theirs)
    ours = nn.ModuleList([nn.Sequential(Scale(1)), nn.Sequential(Scale(1)), Scale(2)])
    theirs = torch.nn.ModuleList([torch.nn.Sequential(TScale(1)),
                                  torch.nn.Sequential(TScale(1)), TScale(2)])
    assert repr(ours) == repr(theirs)


# ---- ModuleDict --------------------------------------------------------------------------
def test_module_dict():
    md = nn.ModuleDict({"b": Scale(1), "a": Scale(2)})
    assert list(md) == ["b", "a"] and list(md.keys()) == ["b", "a"]  # insertion order
    md["c"] = Scale(3)
    md.update([("d", Scale(4))])
    md.update(nn.ModuleDict({"e": Scale(5)}))
    assert "c" in md and len(md) == 5 and md.c is md["c"]
    assert [k for k, _ in md.items()] == ["b", "a", "c", "d", "e"]
    assert md.pop("a").k == 2 and "a" not in md
    del md["b"]
    assert list(md) == ["c", "d", "e"] and not hasattr(md, "b")
    md.clear()
    assert len(md) == 0 and not hasattr(md, "c")
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable of "
                                        "key/value pairs, but got int"):
        md.update(1)
    with pytest.raises(TypeError, match="ModuleDict update sequence element #0 should be "
                                        "Iterable; is int"):
        md.update([1])
    with pytest.raises(ValueError, match="ModuleDict update sequence element #0 has length 3; 2 "
                                         "is required"):
        md.update([("a", Scale(1), 3)])
    with pytest.raises(KeyError, match="module name can"):
        md["a.b"] = Scale(1)


def test_module_dict_repr_matches_torch():
    torch = pytest.importorskip("torch")
    TScale = torch_scale(torch)
    ours = nn.ModuleDict({"enc": Scale(1), "dec": nn.Sequential(Scale(2))})
    theirs = torch.nn.ModuleDict({"enc": TScale(1), "dec": torch.nn.Sequential(TScale(2))})
    assert repr(ours) == repr(theirs)


# ---- ParameterList / ParameterDict -------------------------------------------------------
def test_parameter_list():
    pl = nn.ParameterList([fastnn.ones(2), nn.Parameter(fastnn.zeros(3))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    pl.append(fastnn.ones(1))
    pl.extend([fastnn.ones(4)])
    assert [tuple(p.shape) for p in pl] == [(2,), (3,), (1,), (4,)]
    assert [tuple(p.shape) for p in pl[1:3]] == [(3,), (1,)] and type(pl[1:3]) is nn.ParameterList
    pl[0] = fastnn.zeros(5)
    assert pl[0].shape == (5,) and isinstance(pl[0], nn.Parameter)
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2", "3"]
    pl.append("not a tensor")
    assert pl[4] == "not a tensor" and len(list(pl.parameters())) == 4
    with pytest.raises(IndexError, match="index 7 is out of range"):
        pl[7]
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable"):
        pl.extend(fastnn.ones(2))
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        pl(1)
    pl += [fastnn.ones(1)]
    assert len(pl) == 6


def test_parameter_dict():
    pd = nn.ParameterDict({"b": fastnn.ones(1), "a": fastnn.zeros(2)})
    assert list(pd) == ["a", "b"]  # plain mappings are sorted, as in PyTorch
    pd2 = nn.ParameterDict(OrderedDict(b=fastnn.ones(1), a=fastnn.zeros(2)))
    assert list(pd2.keys()) == ["b", "a"]
    assert isinstance(pd["a"], nn.Parameter) and pd.a is pd["a"] and "a" in pd
    pd["c"] = nn.Parameter(fastnn.ones(3))
    assert [k for k, _ in pd.items()] == ["a", "b", "c"] and len(pd) == 3
    assert pd.get("zz") is None and pd.get("c") is pd["c"]
    assert pd.setdefault("d", fastnn.ones(1)) is pd["d"]
    k, v = pd.popitem()
    assert k == "d" and "d" not in pd
    assert pd.pop("c").shape == (3,) and list(pd) == ["a", "b"]
    merged = pd | nn.ParameterDict(OrderedDict(z=fastnn.ones(1)))
    assert list(merged) == ["a", "b", "z"] and list(pd) == ["a", "b"]
    assert list(pd.copy()) == ["a", "b"] and list(reversed(pd)) == ["b", "a"]
    assert [n for n, _ in pd.named_parameters()] == ["a", "b"]
    with pytest.raises(TypeError, match="Index given to ParameterDict cannot be used as a key as "
                                        "it is not a string \\(type is 'int'\\)"):
        pd[1]
    with pytest.raises(TypeError, match="ParameterDict update sequence element #0 should be "
                                        "Iterable; is int"):
        pd.update([3])
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        pd()
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []


def test_parameter_containers_repr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ParameterList([fastnn.ones(2, 3), fastnn.zeros(4, dtype=fastnn.float64), 5])
    theirs = torch.nn.ParameterList([torch.ones(2, 3), torch.zeros(4, dtype=torch.float64), 5])
    assert repr(ours) == repr(theirs).replace("torch.float", "fastnn.float")
    ours = nn.ParameterDict({"w": fastnn.ones(2, 3), "b": fastnn.zeros(3, dtype=fastnn.float64),
                             "s": "x"})
    theirs = torch.nn.ParameterDict({"w": torch.ones(2, 3),
                                     "b": torch.zeros(3, dtype=torch.float64), "s": "x"})
    assert repr(ours) == repr(theirs)


def test_containers_in_state_dict_round_trip():
    model = nn.Module()
    model.blocks = nn.ModuleList([nn.ParameterList([fastnn.ones(2)]) for _ in range(2)])
    model.table = nn.ParameterDict({"emb": fastnn.ones(3)})
    sd = model.state_dict()
    assert list(sd) == ["blocks.0.0", "blocks.1.0", "table.emb"]
    with fastnn.no_grad():
        for p in model.parameters():
            p.fill_(0.0)
    model.load_state_dict({k: v + 1 for k, v in sd.items()})
    assert all((p == 1.0).all() for p in model.parameters())
