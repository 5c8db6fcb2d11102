import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.nn.modules.module import current_module_path


def build(lib):
    """The same small models written against ``lib`` (fastnn or torch)."""
    class Lin(lib.nn.Module):
        def __init__(self, i, o, bias=True):
            super().__init__()
            self.in_features, self.out_features = i, o
            self.weight = lib.nn.Parameter(lib.ones(o, i))
            if bias:
                self.bias = lib.nn.Parameter(lib.zeros(o))
            else:
                self.register_parameter("bias", None)

        def forward(self, x):
            y = x @ self.weight.T
            return y if self.bias is None else y + self.bias

        def extra_repr(self):
            return (f"in_features={self.in_features}, out_features={self.out_features}, "
                    f"bias={self.bias is not None}")

    class Multi(lib.nn.Module):
        def forward(self, x):
            return x

        def extra_repr(self):
            return "first line\nsecond line"

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = Lin(4, 3)
            self.act = lib.nn.Sequential(Multi(), lib.nn.Sequential(Lin(3, 3, bias=False)))
            self.fc2 = Lin(3, 2)
            self.register_buffer("steps", lib.zeros(1, dtype=lib.int64))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    return Lin, Net


Lin, Net = build(fastnn)


class Holder(nn.Module):
    pass


def set_weights(model, seed=0):
    rng = np.random.default_rng(seed)
    with fastnn.no_grad():
        for p in model.parameters():
            p.copy_(fastnn.tensor(rng.standard_normal(tuple(p.shape)), dtype=p.dtype))
    return model


# ---- construction and attribute routing --------------------------------------------------
def test_assign_before_init():
    class Early(nn.Module):
        def __init__(self, value):
            self.x = value
    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module\.__init__"):
        Early(nn.Parameter(fastnn.ones(1)))
    with pytest.raises(AttributeError, match=r"cannot assign module before Module\.__init__"):
        Early(nn.Module())
    with pytest.raises(AttributeError, match=r"cannot assign parameter before Module"):
        nn.Module.__new__(nn.Module).register_parameter("w", None)


def test_init_rejects_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        nn.Module(foo=1)
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        nn.Module(1)


def test_forward_missing():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(fastnn.ones(1))


def test_setattr_routes_and_type_errors():
    m = Holder()
    p = nn.Parameter(fastnn.ones(2))
    m.w = p
    m.sub = nn.Module()
    m.register_buffer("b", fastnn.zeros(1))
    assert m._parameters["w"] is p and m._modules["sub"] is m.sub and m._buffers["b"] is m.b
    with pytest.raises(TypeError, match=r"cannot assign 'torch\.FloatTensor' as parameter 'w' "
                                        r"\(fastnn\.nn\.Parameter or None expected\)"):
        m.w = fastnn.ones(2)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    with pytest.raises(TypeError, match="cannot assign 'str' as buffer 'b'"):
        m.b = "x"
    m.b = fastnn.ones(3)  # a tensor assigned to a buffer name replaces the buffer
    assert m._buffers["b"].shape == (3,)
    m.w = None
    assert m.w is None and m._parameters["w"] is None
    with pytest.raises(TypeError, match="cannot assign 'fastnn.nn.modules.module.Module' as parameter 'w'"):
        m.w = nn.Module()  # as in PyTorch: a parameter slot takes Parameters or None
    m.b = nn.Parameter(fastnn.ones(1))  # a Parameter moves a buffer name to the parameters
    assert "b" not in m._buffers and m._parameters["b"] is m.b
    m.plain = fastnn.ones(1)  # plain tensors stay plain attributes
    assert "plain" not in m._buffers


def test_registries_and_attributes_stay_in_sync():
    m = Holder()
    p = nn.Parameter(fastnn.ones(2))
    m._parameters["weight"] = p
    assert m.weight is p
    m._modules.update({"child": nn.Module()})
    assert m.child is m._modules["child"]
    del m._parameters["weight"]
    assert not hasattr(m, "weight")
    m.weight = p
    del m.weight
    assert "weight" not in m._parameters and not hasattr(m, "weight")
    m._buffers.setdefault("b", fastnn.zeros(1))
    assert m.b is m._buffers["b"]
    m._buffers.pop("b")
    assert not hasattr(m, "b")
    with pytest.raises(AttributeError, match="'Holder' object has no attribute 'nothing'"):
        m.nothing


def test_register_parameter_errors():
    m = Holder()
    with pytest.raises(KeyError, match=r'parameter name can\\\'t contain "\."'):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match='parameter name can\\\\\'t be empty string ""'):
        m.register_parameter("", None)
    m.x = 1
    with pytest.raises(KeyError, match="attribute 'x' already exists"):
        m.register_parameter("x", None)
    with pytest.raises(KeyError, match="attribute 'train' already exists"):
        m.register_parameter("train", None)
    with pytest.raises(TypeError, match="parameter name should be a string. Got int"):
        m.register_parameter(1, None)
    with pytest.raises(TypeError, match=r"cannot assign 'torch\.FloatTensor' object to "
                                        r"parameter 'w' \(fastnn\.nn\.Parameter or None"):
        m.register_parameter("w", fastnn.ones(1))
    q = nn.Parameter(fastnn.ones(1))
    q.grad_fn = (q * 2).grad_fn  # simulate a non-leaf parameter
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'w'"):
        m.register_parameter("w", q)
    m.register_parameter("bias", None)
    assert m.bias is None and list(m.named_parameters()) == []


def test_register_buffer_and_add_module_errors():
    m = Holder()
    with pytest.raises(KeyError, match=r'buffer name can\\\'t contain "\."'):
        m.register_buffer("a.b", None)
    with pytest.raises(KeyError, match="buffer name can\\\\'t be empty string"):
        m.register_buffer("", None)
    with pytest.raises(TypeError, match="cannot assign 'list' object to buffer 'b'"):
        m.register_buffer("b", [1])
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("c", 3)
    with pytest.raises(KeyError, match=r'module name can\\\'t contain "\.", got: a\.b'):
        m.add_module("a.b", nn.Module())
    with pytest.raises(KeyError, match="module name can\\\\'t be empty string"):
        m.register_module("", nn.Module())
    with pytest.raises(KeyError, match="attribute 'forward' already exists"):
        m.add_module("forward", nn.Module())
    m.add_module("c", None)
    assert m.c is None and list(m.children()) == []


# ---- traversal ---------------------------------------------------------------------------
def test_names_and_order_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = Net(), build(torch)[1]()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters(prefix="model", recurse=False)] == \
        [n for n, _ in theirs.named_parameters(prefix="model", recurse=False)]
    assert repr(ours) == repr(theirs)


def test_shared_parameter_and_module_yielded_once():
    m = Holder()
    m.a = Lin(2, 2)
    m.b = Lin(2, 2)
    m.b.weight = m.a.weight
    m.c = m.a  # the same module twice
    names = [n for n, _ in m.named_parameters()]
    assert names == ["a.weight", "a.bias", "b.bias"]
    assert len(list(m.parameters())) == 3
    assert len([n for n, _ in m.named_parameters(remove_duplicate=False)]) == 6
    assert [n for n, _ in m.named_modules()] == ["", "a", "b"]
    assert len(list(m.named_modules(remove_duplicate=False))) == 4
    assert [n for n, _ in m.named_children()] == ["a", "b"]
    assert list(m.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias", "c.weight",
                                    "c.bias"]


def test_layer_used_twice_gets_both_gradients():
    lin = Lin(2, 2)
    x = fastnn.tensor([[1.0, 2.0]])
    lin(lin(x)).sum().backward()
    # d/dW of sum(W (W x + b) + b) with W = ones: both uses contribute
    torch = pytest.importorskip("torch")
    tl = build(torch)[0](2, 2)
    tl(tl(torch.tensor([[1.0, 2.0]]))).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), tl.weight.grad.numpy())
    np.testing.assert_allclose(lin.bias.grad.numpy(), tl.bias.grad.numpy())


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("act.1.0") is net.act[1][0]
    assert net.get_submodule("") is net
    assert net.get_parameter("fc1.weight") is net.fc1.weight
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match="Lin has no attribute `nope`"):
        net.get_submodule("fc1.nope")
    with pytest.raises(AttributeError, match="`in_features` is not an nn.Module"):
        net.get_submodule("fc1.in_features")
    with pytest.raises(AttributeError, match="`in_features` is not an nn.Parameter"):
        net.get_parameter("fc1.in_features")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("fc1.weight")


def test_dir_lists_members():
    net = Net()
    d = dir(net)
    for name in ("fc1", "steps", "forward", "training", "state_dict"):
        assert name in d
    assert "weight" in dir(net.fc1)
    assert "0" not in dir(net.act)


# ---- modes and bulk operations -----------------------------------------------------------
def test_apply_visits_children_first():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Lin", "Multi", "Lin", "Sequential", "Sequential", "Lin", "Net"]


def test_apply_init_idiom():
    def init(m):
        if isinstance(m, Lin):
            with fastnn.no_grad():
                m.weight.fill_(0.5)
    net = Net().apply(init)
    assert all((m.weight == 0.5).all() for m in net.modules() if isinstance(m, Lin))


def test_train_eval():
    net = Net()
    assert net.training and net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    net = set_weights(Net())
    net(fastnn.ones(2, 4)).sum().backward()
    w = net.fc1.weight
    g = w.grad
    net.zero_grad(set_to_none=False)
    assert w.grad is g and (g == 0).all()
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())


def test_to_dtype_in_place():
    net = set_weights(Net())
    params = list(net.parameters())
    net(fastnn.ones(1, 4)).sum().backward()
    assert net.double() is net
    assert list(net.parameters()) == params and all(p.dtype == fastnn.float64 for p in params)
    assert all(p.grad.dtype == fastnn.float64 for p in params)
    assert net.steps.dtype == fastnn.int64  # integer buffers keep their dtype
    assert net.scratch.dtype == fastnn.float64
    net.to(fastnn.float32)
    assert net.fc1.weight.dtype == fastnn.float32
    arr = net.fc1.weight._data
    net.to("cpu")
    net.float()
    assert net.fc1.weight._data is arr  # nothing to change: storage untouched
    net.half()
    assert net.fc1.weight.dtype == fastnn.float16
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex "
                                        "dtypes, but got desired dtype=fastnn.int64"):
        net.to(fastnn.int64)


def test_cuda_error_is_clear():
    cuda = getattr(fastnn, "cuda", None)
    try:
        available = cuda.is_available()
    except Exception:
        available = False
    if available:
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match="CUDA"):
        Net().cuda()
    with pytest.raises(RuntimeError, match="CUDA"):
        Net().to("cuda")


def test_to_cuda_moves_in_place():
    try:
        available = fastnn.cuda.is_available()
    except Exception:
        available = False
    if not available:
        pytest.skip("no CUDA device (or simulator)")
    lin = Lin(3, 2)
    params = list(lin.parameters())
    lin(fastnn.ones(1, 3)).sum().backward()
    assert lin.cuda() is lin and list(lin.parameters()) == params
    assert all(p.device.type == "cuda" and p.grad.device.type == "cuda" for p in params)
    assert lin(fastnn.ones(1, 3).cuda()).device.type == "cuda"
    lin.cpu()
    assert all(p.device.type == "cpu" for p in params)


# ---- state_dict ---------------------------------------------------------------------------
def test_state_dict_is_detached_and_shares_storage():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    # a module's own entries first, then each child's, as in PyTorch
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "act.1.0.weight", "fc2.weight",
                        "fc2.bias"]
    assert not sd["fc1.weight"].requires_grad and type(sd["fc1.weight"]) is fastnn.Tensor
    sd["fc1.weight"][0, 0] = 42.0
    assert net.fc1.weight[0, 0].item() == 42.0
    kept = net.state_dict(keep_vars=True)
    assert kept["fc1.weight"] is net.fc1.weight
    assert list(net.fc1.state_dict(prefix="enc.")) == ["enc.weight", "enc.bias"]


def test_load_state_dict_round_trip_keeps_identity():
    src, dst = set_weights(Net(), 1), Net()
    params = list(dst.parameters())
    result = dst.load_state_dict(src.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert list(dst.parameters()) == params
    for a, b in zip(src.parameters(), dst.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # a second load writes into the same storage
    arr = dst.fc1.weight._data
    dst.load_state_dict(set_weights(Net(), 2).state_dict())
    assert dst.fc1.weight._data is arr


def test_load_state_dict_errors():
    torch = pytest.importorskip("torch")
    sd = Net().state_dict()
    del sd["fc2.bias"]
    sd["x"] = fastnn.zeros(1)
    sd["fc1.weight"] = fastnn.zeros(5, 4)
    with pytest.raises(RuntimeError) as ours:
        Net().load_state_dict(sd)
    tsd = build(torch)[1]().state_dict()
    del tsd["fc2.bias"]
    tsd["x"] = torch.zeros(1)
    tsd["fc1.weight"] = torch.zeros(5, 4)
    with pytest.raises(RuntimeError) as theirs:
        build(torch)[1]().load_state_dict(tsd)
    assert str(ours.value) == str(theirs.value).replace("torch.Size", "fastnn.Size")
    assert str(ours.value) == (
        'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "fc2.bias". '
        '\n\tUnexpected key(s) in state_dict: "x". \n\tsize mismatch for fc1.weight: copying a '
        "param with shape fastnn.Size([5, 4]) from checkpoint, the shape in current model is "
        "fastnn.Size([3, 4]).")
    del sd["fc1.weight"]
    result = Net().load_state_dict(sd, strict=False)
    assert result.missing_keys == ["fc1.weight", "fc2.bias"] and result.unexpected_keys == ["x"]
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        Net().load_state_dict([1, 2])


def test_load_state_dict_assign():
    net, src = Net(), set_weights(Net(), 3)
    net.load_state_dict(src.state_dict(), assign=True)
    assert isinstance(net.fc1.weight, nn.Parameter) and net.fc1.weight.requires_grad
    np.testing.assert_array_equal(net.fc1.weight.detach().numpy(),
                                  src.fc1.weight.detach().numpy())


# ---- copies ------------------------------------------------------------------------------
def test_deepcopy_keeps_sharing():
    net = set_weights(Net())
    net.fc2.weight = nn.Parameter(fastnn.ones(2, 3))
    net.tied = net.fc1
    dup = copy.deepcopy(net)
    assert dup.tied is dup.fc1 and dup.fc1 is not net.fc1
    assert dup._modules["tied"] is dup.tied and dup.fc1.weight is dup.fc1._parameters["weight"]
    dup.fc1.weight.data.fill_(0.0)
    assert net.fc1.weight.abs().sum().item() > 0
    out = dup(fastnn.ones(1, 4))
    assert out.shape == (1, 2)


def test_pickle_keeps_sharing():
    shared = nn.Parameter(fastnn.randn(3))
    model = nn.ModuleList([nn.ParameterList([shared]), nn.ParameterList([shared])])
    model[0].register_buffer("count", fastnn.tensor([7]))
    back = pickle.loads(pickle.dumps(model))
    assert back[0][0] is back[1][0] and type(back[0][0]) is nn.Parameter
    np.testing.assert_array_equal(back[0][0].detach().numpy(), shared.detach().numpy())
    assert back[0].count.item() == 7 and back[0]._buffers["count"] is back[0].count


# ---- hooks -------------------------------------------------------------------------------
def test_forward_hooks_order_and_replacement():
    lin = Lin(2, 2)
    calls = []

    def pre1(m, args):
        calls.append("pre1")
        return args[0] * 2  # a single value is wrapped into a tuple

    def pre2(m, args):
        calls.append("pre2")

    def fwd1(m, args, out):
        calls.append("fwd1")
        return out + 1

    def fwd2(m, args, out):
        calls.append("fwd2")

    h = [lin.register_forward_pre_hook(pre1), lin.register_forward_pre_hook(pre2),
         lin.register_forward_hook(fwd1), lin.register_forward_hook(fwd2)]
    h.append(lin.register_forward_hook(lambda m, a, o: calls.append("first"), prepend=True))
    out = lin(fastnn.ones(1, 2))
    assert calls == ["pre1", "pre2", "first", "fwd1", "fwd2"]
    np.testing.assert_allclose(out.detach().numpy(), [[5.0, 5.0]])
    for handle in h:
        handle.remove()
    assert not lin._hooked
    np.testing.assert_allclose(lin(fastnn.ones(1, 2)).detach().numpy(), [[2.0, 2.0]])


def test_forward_hooks_with_kwargs():
    class KW(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale
    m = KW()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 3.0}),
                                with_kwargs=True)
    seen = {}
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.update(kwargs),
                            with_kwargs=True)
    assert m(fastnn.ones(1)).item() == 3.0 and seen == {"scale": 3.0}
    m.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple of "
                                           r"\(new_args, new_kwargs\), but got 5"):
        m(fastnn.ones(1))


def test_handle_as_context_manager_and_global_hooks():
    lin = Lin(2, 2)
    seen = []
    with nn.register_module_forward_hook(lambda m, a, o: seen.append(type(m).__name__)):
        nn.Sequential(lin, Lin(2, 2))(fastnn.ones(1, 2))
    assert seen == ["Lin", "Lin", "Sequential"]
    lin(fastnn.ones(1, 2))
    assert len(seen) == 3  # removed on leaving the block
    with lin.register_forward_pre_hook(lambda m, a: seen.append("pre")):
        lin(fastnn.ones(1, 2))
    lin(fastnn.ones(1, 2))
    assert seen[-1] == "pre" and len(seen) == 4


def test_full_backward_hook_matches_torch():
    torch = pytest.importorskip("torch")
    got = {}
    for lib in (fastnn, torch):
        lin = build(lib)[0](3, 2)
        x = lib.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0]], requires_grad=True)
        record = []
        lin.register_full_backward_pre_hook(lambda m, go: record.append(("pre", len(go))))
        lin.register_full_backward_hook(
            lambda m, gi, go: record.append(([g.shape for g in gi], [g.shape for g in go],
                                             gi[0].detach().numpy().copy())))
        (lin(x) * lib.tensor([1.0, 2.0])).sum().backward()
        got[lib.__name__] = (record, x.grad.numpy().copy())
    (ours, ogx), (theirs, tgx) = got["fastnn"], got["torch"]
    assert ours[0] == theirs[0] == ("pre", 1)
    assert [tuple(s) for s in ours[1][0]] == [tuple(s) for s in theirs[1][0]] == [(2, 3)]
    assert [tuple(s) for s in ours[1][1]] == [(2, 2)]
    np.testing.assert_allclose(ours[1][2], theirs[1][2])
    np.testing.assert_allclose(ogx, tgx)


def test_full_backward_hook_replaces_grad_input():
    lin = Lin(2, 2)
    x = fastnn.ones(1, 2, requires_grad=True)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 7,))
    lin(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[7.0, 7.0]])
    assert lin.weight.grad is not None  # parameter gradients are unaffected
    bad = Lin(2, 2)
    bad.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                           "grad_input, got 2, but expected 1"):
        bad(fastnn.ones(1, 2, requires_grad=True)).sum().backward()


def test_full_backward_hook_multiple_inputs_and_no_grad_inputs():
    class Add(nn.Module):
        def forward(self, a, b, c):
            return a * 2 + b * 3
    m = Add()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    a = fastnn.ones(2, requires_grad=True)
    b = fastnn.ones(2, requires_grad=True)
    m(a, b, fastnn.ones(2)).sum().backward()
    gi = seen[-1]
    # a tensor input that needs no gradient gets zeros, as in PyTorch
    assert len(gi) == 3 and gi[2] is not None
    np.testing.assert_allclose(gi[2].numpy(), 0.0)
    np.testing.assert_allclose(gi[0].numpy(), 2.0)
    np.testing.assert_allclose(gi[1].numpy(), 3.0)
    # no input needs a gradient: the hook still runs, with grad_input all None
    lin = Lin(2, 2)
    seen.clear()
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go[0].shape)))
    lin(fastnn.ones(1, 2)).sum().backward()
    assert seen == [((None,), (1, 2))]


# ---- printing ----------------------------------------------------------------------------
def test_repr_nested_and_multiline_extra_repr():
    assert repr(Net()) == (
        "Net(\n  (fc1): Lin(in_features=4, out_features=3, bias=True)\n  (act): Sequential(\n"
        "    (0): Multi(\n      first line\n      second line\n    )\n    (1): Sequential(\n"
        "      (0): Lin(in_features=3, out_features=3, bias=False)\n    )\n  )\n"
        "  (fc2): Lin(in_features=3, out_features=2, bias=True)\n)")
    assert repr(nn.Module()) == "Module()"


def test_lenet_repr_matches_torch():
    torch = pytest.importorskip("torch")
    if not hasattr(nn, "Conv2d") or not hasattr(nn, "Linear"):
        pytest.skip("Conv2d/Linear not available")

    def lenet(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 20, 5), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
                                 lib.nn.Conv2d(20, 50, 5), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
                                 lib.nn.Flatten(), lib.nn.Linear(800, 500), lib.nn.ReLU(),
                                 lib.nn.Linear(500, 10))
    try:
        ours = lenet(fastnn)
    except AttributeError:
        pytest.skip("some LeNet layers are not available")
    assert repr(ours) == repr(lenet(torch))


# ---- errors that name the module -------------------------------------------------------
def test_shape_error_names_module_path():
    model = nn.Sequential(OrderedDict(encoder=Lin(784, 128), decoder=Lin(128, 10)))
    with pytest.raises(RuntimeError) as err:
        model(fastnn.ones(2, 785))
    # the message stays PyTorch's; the module is named in a note under it
    assert str(err.value) == "mat1 and mat2 shapes cannot be multiplied (2x785 and 784x128)"
    assert err.value.__notes__ == [
        "in module 'encoder' (Lin(in_features=784, out_features=128, bias=True))"]
    assert getattr(err.value, "_fastnn_module") is model.encoder
    assert model(fastnn.ones(2, 784)).shape == (2, 10)  # the happy path is untouched


def test_error_path_nested_and_root():
    net = Net()
    net.act[1][0] = Lin(5, 3, bias=False)
    with pytest.raises(RuntimeError, match=r"\(2x3 and 5x3\)") as err:
        net(fastnn.ones(2, 4))
    assert err.value.__notes__ == [
        "in module 'act.1.0' (Lin(in_features=5, out_features=3, bias=False))"]
    # called directly, a submodule's path starts from itself
    with pytest.raises(RuntimeError) as err:
        net.act(fastnn.ones(2, 3))
    assert err.value.__notes__[0].startswith("in module '1.0' (Lin")

    class Root(nn.Module):
        def forward(self, x):
            raise ValueError("bad input")
    with pytest.raises(ValueError, match=r"^bad input") as err:
        Root()(1)
    assert err.value.args == ("bad input",)
    assert err.value.__notes__ == ["in module 'Root' (Root())"]
    with pytest.raises(IndexError) as err:
        class Idx(Net):
            def forward(self, x):
                return self.fc1(x)
        net2 = Idx()
        net2.fc1.forward = lambda x: [][1]
        net2(fastnn.ones(1))
    assert err.value.__notes__[0].startswith("in module 'fc1'")


def test_error_path_with_hooks_and_other_errors_untouched():
    model = nn.Sequential(Holder(), Lin(3, 2))
    model[0].forward = lambda x: x
    model.register_forward_hook(lambda m, a, o: None)
    with pytest.raises(RuntimeError) as err:
        model(fastnn.ones(1, 4))
    assert err.value.__notes__[0].startswith("in module '1' (Lin(")
    model[1].forward = lambda x: {}["missing"]
    with pytest.raises(KeyError) as err:
        model(fastnn.ones(1, 3))
    assert "in module" not in str(err.value)


def test_current_module_path():
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(current_module_path())
            return x
    model = nn.Sequential(OrderedDict(block=nn.Sequential(Probe())))
    model(1)
    model.block[0](1)
    assert seen == ["block.0", "Probe"]
    assert current_module_path() == ""


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_anomaly_names_module_path():
    class Root(nn.Module):
        def forward(self, x):
            return x.sqrt()
    model = nn.Sequential(OrderedDict(enc=Root()))
    x = fastnn.tensor([-1.0, 1.0], requires_grad=True)  # a nan gradient (inf is no anomaly)
    with fastnn.autograd.detect_anomaly():
        y = model(x).sum()
        with pytest.raises(RuntimeError, match=r"(?s)SqrtBackward0.*in module 'enc'"):
            y.backward()


def test_parameters_vector_round_trip():
    lin = Lin(3, 2)
    params = list(lin.parameters())
    vec = nn.utils.parameters_to_vector(lin.parameters())
    assert vec.shape == (8,)
    nn.utils.vector_to_parameters(fastnn.arange(8.0), lin.parameters())
    assert list(lin.parameters()) == params
    np.testing.assert_array_equal(lin.weight.detach().numpy(), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(lin.bias.detach().numpy(), [6, 7])
    with pytest.raises(RuntimeError, match="expected a 1-D vector of 8 elements"):
        nn.utils.vector_to_parameters(fastnn.ones(7), lin.parameters())
    with pytest.raises(TypeError, match="expected fastnn.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], lin.parameters())

