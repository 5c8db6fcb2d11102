"""The random tensor factories: rand, randn, randint, randperm, normal, bernoulli and
multinomial (``fastnn._creation`` imports them back, so both modules name them)."""
import numpy as np

from . import _dtype as D
from .random import draw_normal, draw_uniform, get_generator
from ._tensor_random import check_std, check_p, check_multinomial, sample_rows, \
    check_random_bounds
from ._tensor_build import alloc_error, bad_call
from ._creation_out import out_dtype, write_out, check_factory_kwargs
from ._creation_ranges import scalar_bound
from ._creation import _dt, _finish, _size, _sizes


def _check_float(dt, fn):
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{fn}\" not implemented for '{D._LEGACY[dt.name][:-6]}'")


def rand(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         pin_memory=False, requires_grad=False):
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    if out is not None:
        return write_out(out, rand(*args, size=size, generator=generator, device=device,
                                   dtype=out_dtype(out, dtype, "rand")))
    dt = _dt(dtype)
    _check_float(dt, "check_uniform_bounds")
    shape = _sizes(args, size, "rand")
    try:
        arr = draw_uniform(shape, dt.np, generator).astype(dt.np, copy=False)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, dt.np) from None
    return _finish(arr, device, requires_grad)


def randn(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
         pin_memory=False, requires_grad=False):
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    if out is not None:
        return write_out(out, randn(*args, size=size, generator=generator, device=device,
                                   dtype=out_dtype(out, dtype, "randn")))
    dt = _dt(dtype)
    _check_float(dt, "normal_kernel_cpu")
    shape = _sizes(args, size, "randn")
    try:
        arr = draw_normal(shape, dt.np, generator)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, dt.np) from None
    return _finish(arr, device, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
            device=None, pin_memory=False, requires_grad=False):
    check_factory_kwargs(layout, pin_memory)
    if out is not None:
        return write_out(out, randint(low, high, size, generator=generator, device=device,
                                      dtype=out_dtype(out, dtype, "randint")))
    if size is None:
        if high is None:
            raise bad_call("randint", (low,))
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if isinstance(size, (int, np.integer)) or isinstance(low, (float, np.floating)) or \
            isinstance(high, (float, np.floating)):
        raise bad_call("randint", (low, high, size))
    low, high = scalar_bound(low), scalar_bound(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    npd = _dt(dtype, D.int64).np
    check_random_bounds(npd, low, high)
    arr = get_generator(generator).np.integers(low, high, _size((size,)))
    return _finish(arr.astype(npd), device, requires_grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             pin_memory=False, requires_grad=False):
    check_factory_kwargs(layout, pin_memory)
    if out is not None:
        return write_out(out, randperm(n, generator=generator, device=device,
                                       dtype=out_dtype(out, dtype, "randperm")))
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    arr = get_generator(generator).np.permutation(int(n))
    return _finish(arr.astype(_dt(dtype, D.int64).np), device, requires_grad)


def normal(mean, std, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False):
    from .tensor import Tensor
    check_std(std)
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    if out is not None:
        if tensors:  # the tensor forms write their result in out's dtype
            from ._normal_sample import check_floating
            check_floating(out._data.dtype)
            out_dtype(out, None, "normal")
            return write_out(out, normal(mean, std, generator=generator).detach())
        return write_out(out, normal(mean, std, size, generator=generator, device=device,
                                     dtype=out_dtype(out, dtype, "normal")))
    if tensors:
        from ._normal_sample import normal_from_tensors
        return normal_from_tensors(mean, std, generator, lambda v: isinstance(v, Tensor))
    if size is None:
        raise TypeError("normal() missing required argument 'size'")
    # the scalar form takes the factory arguments (dtype=, requires_grad=, ...)
    check_factory_kwargs(layout, pin_memory)
    return (randn(size, generator=generator, dtype=dtype, device=device) * std + mean
            ).requires_grad_(requires_grad)


def bernoulli(input, p=None, *, generator=None):
    if p is None:
        probs = input._host()
        if probs.dtype.kind not in "fc":
            raise NotImplementedError("\"bernoulli_tensor_cpu_p_\" not implemented for "
                                      f"'{D.scalar_type_name(probs.dtype)}'")
        check_p(None, probs)
    else:
        check_p(p)
        probs = np.full(input._data.shape, p)
    u = draw_uniform(input._data.shape, input._data.dtype, generator)
    return _finish((u < probs).astype(input._data.dtype), D.CPU, False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    check_multinomial(input, num_samples, replacement)
    p = input._host().astype(np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    out = sample_rows(get_generator(generator).np, rows, int(num_samples), replacement)
    return _finish(out.reshape(p.shape[:-1] + (int(num_samples),)).astype(np.int64), D.CPU,
                   False)
