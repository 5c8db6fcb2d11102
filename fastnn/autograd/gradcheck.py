"""Finite-difference checks of analytic gradients (use float64 inputs)."""
import warnings

import numpy as np


class GradcheckError(RuntimeError):
    pass


def _numerical(fn, inputs, k, eps):
    """Central differences of every output element w.r.t. every element of inputs[k]."""
    x = inputs[k]._data
    flat = x.reshape(-1)
    cols = []
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        plus = _outputs(fn, inputs)
        flat[i] = orig - eps
        minus = _outputs(fn, inputs)
        flat[i] = orig
        cols.append((plus - minus) / (2 * eps))
    n_out = _outputs(fn, inputs).size
    return np.stack(cols, axis=1) if cols else np.zeros((n_out, 0))


def _outputs(fn, inputs):
    from .grad_mode import no_grad
    with no_grad():
        out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return np.concatenate([np.asarray(o._data, np.float64).reshape(-1) for o in outs
                           if hasattr(o, "_data")])


def _analytical(fn, inputs, diff_idx):
    from . import grad
    out = fn(*inputs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else (out,)) if hasattr(o, "_data")]
    flat = [o.reshape(-1) for o in outs]
    n_out = sum(f.numel() for f in flat)
    jac = [np.zeros((n_out, inputs[k].numel())) for k in diff_idx]
    row = 0
    for f in flat:
        if not f.requires_grad:  # constant in the inputs (a linear function's gradient)
            row += f.numel()
            continue
        for i in range(f.numel()):
            gs = grad(f[i], [inputs[k] for k in diff_idx], retain_graph=True, allow_unused=True,
                      materialize_grads=True)
            for j, g in enumerate(gs):
                jac[j][row] = g._data.reshape(-1)
            row += 1
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False, **kwargs):
    """Compare backward's Jacobian with central finite differences; True when they agree."""
    from ..tensor import Tensor
    inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for i in diff_idx:
        if inputs[i].dtype.name != "float64":
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of "
                          "double precision floating point.")
    analytic = _analytical(func, inputs, diff_idx)
    numeric = [_numerical(func, inputs, k, eps) for k in diff_idx]
    row = 0
    for i, size in enumerate(_output_sizes(func, inputs)):
        rows = slice(row, row + size)
        row += size
        for j, k in enumerate(diff_idx):
            a, n = analytic[j][rows], numeric[j][rows]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(_mismatch_message(i, k, n, a))
                return False
    return True


def _output_sizes(fn, inputs):
    from .grad_mode import no_grad
    with no_grad():
        out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o._data.size for o in outs if hasattr(o, "_data")]


def _mismatch_message(i, k, numeric, analytic):
    # PyTorch's layout: a row per input element, a column per output element, as tensors
    from ..tensor import _wrap
    return (f"Jacobian mismatch for output {i} with respect to input {k},\n"
            f"numerical:{_wrap(np.ascontiguousarray(numeric.T))}\n"
            f"analytical:{_wrap(np.ascontiguousarray(analytic.T))}\n")


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **kwargs):
    """gradcheck of the first-order gradients (computed with create_graph=True): compares
    second derivatives with finite differences of the gradients."""
    from ..tensor import Tensor
    from .._creation import randn_like
    from .._functions import cat
    from . import grad
    from .grad_mode import enable_grad
    inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    outs = func(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    if grad_outputs is None:  # fixed random weights for the outputs, as PyTorch draws them
        grad_outputs = tuple(randn_like(o.detach()) for o in outs)
    gos = tuple(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else (grad_outputs,)

    def first_grads(*xs):
        with enable_grad():  # the finite differences call this under no_grad
            ys = func(*xs)
            ys = ys if isinstance(ys, tuple) else (ys,)
            diff = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
            gs = grad(ys, diff, gos, create_graph=True, allow_unused=True,
                      materialize_grads=True)
            return cat([g.reshape(-1) for g in gs])

    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
