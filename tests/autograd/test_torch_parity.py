"""The same inputs through fastnn and PyTorch: outputs, gradients and grad_fn names agree."""
import importlib.util
import pathlib

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

_spec = importlib.util.spec_from_file_location(
    "autograd_op_cases", pathlib.Path(__file__).with_name("op_cases.py"))
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
CASES, make_inputs = _cases.CASES, _cases.make_inputs

TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def _run(lib, fn, specs, dtype):
    inputs = make_inputs(specs, lib, dtype)
    out = fn(lib, *inputs)
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(1)
    loss = 0
    for o in outs:  # a random weighting exercises every element of every output's gradient
        w = lib.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype)
        loss = loss + (o * w).sum()
    loss.backward()
    return outs, [t.grad for t in inputs]


def _np(t):
    return t.detach().numpy().astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_outputs_and_grads_match_torch(name, fn, specs, dtype):
    outs, grads = _run(fastnn, fn, specs, dtype)
    touts, tgrads = _run(torch, fn, specs, dtype)
    assert len(outs) == len(touts)
    for o, t in zip(outs, touts):
        assert o.dtype.name == dtype and tuple(o.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(o), _np(t), **TOL[dtype])
    for g, t in zip(grads, tgrads):
        if t is None:
            assert g is None or not np.any(_np(g))
            continue
        assert g is not None and g.dtype.name == dtype and g.shape == tuple(t.shape)
        np.testing.assert_allclose(_np(g), _np(t), **TOL[dtype])


# torch picks a more specific kernel for these; the math is the same
_NAME_EXCEPTIONS = {"matmul_vv", "matmul_mv", "matmul_vm", "matmul_batched", "matmul_bcast",
                    "bmm", "dot", "reshape_t", "T", "index_mask", "pow_tensor", "rsub", "rdiv",
                    "rpow", "reciprocal", "clamp_tensor", "lerp", "amax", "norm", "norm_dim",
                    "norm_p1", "view_inplace"}


@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_grad_fn_names_match_torch(name, fn, specs):
    out = fn(fastnn, *make_inputs(specs, fastnn, "float32"))
    tout = fn(torch, *make_inputs(specs, torch, "float32"))
    if isinstance(out, tuple) or name in _NAME_EXCEPTIONS:
        return
    assert out.grad_fn.name() == tout.grad_fn.name().replace("torch::autograd::", "")
