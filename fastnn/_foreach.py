"""``fastnn._foreach_*``: one op over a list of tensors (PyTorch's multi-tensor ops).

EMA and target-network updates call these by name. Each runs the tensor op once per list
element (the work per element is a whole tensor, so the Python loop costs a call per
tensor, not per number); out-of-place versions return a tuple, in-place ones update the
tensors and return the list they were given, as in PyTorch.
"""
import math

__all__ = []  # filled below: every generated name


def _tensors(name, xs):
    xs = list(xs)
    if not xs:
        raise RuntimeError(f"{name}: Tensor list must have at least one tensor.")
    return xs


def _pair(name, xs, other):
    """``other`` spread over the list: a tensor list, a scalar list, or one scalar/tensor."""
    if isinstance(other, (list, tuple)):
        if len(other) != len(xs):
            kind = "Tensor lists" if other and hasattr(other[0], "_data") else "Scalar list"
            if kind == "Scalar list":
                raise RuntimeError(f"{name}: Tensor list must have same number of elements as "
                                   "scalar list.")
            raise RuntimeError(f"{name}: Tensor lists must have the same number of tensors, "
                               f"got {len(xs)} and {len(other)}")
        return list(other)
    return [other] * len(xs)


def _unary(op):
    def out_of_place(self):
        return tuple(getattr(t, op)() for t in _tensors(f"_foreach_{op}", self))

    def in_place(self):
        for t in _tensors(f"_foreach_{op}_", self):
            getattr(t, op + "_")()
        return self
    return out_of_place, in_place


def _binary(op, has_alpha=False):
    def run(self, other, alpha, method):
        xs = _tensors(f"_foreach_{method}", self)
        ys = _pair(f"_foreach_{method}", xs, other)
        if has_alpha and alpha != 1:
            return [getattr(x, method)(y, alpha=alpha) for x, y in zip(xs, ys)]
        return [getattr(x, method)(y) for x, y in zip(xs, ys)]

    def out_of_place(self, other, *, alpha=1):
        return tuple(run(self, other, alpha, op))

    def in_place(self, other, *, alpha=1):
        run(self, other, alpha, op + "_")
        return self
    return out_of_place, in_place


def _register(name, pair):
    out_of_place, in_place = pair
    for fn, suffix in ((out_of_place, ""), (in_place, "_")):
        full = f"_foreach_{name}{suffix}"
        fn.__name__ = fn.__qualname__ = full
        globals()[full] = fn
        __all__.append(full)


for _op in ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp",
            "expm1", "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "neg",
            "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "tan",
            "tanh", "trunc"):
    _register(_op, _unary(_op))
for _op, _alpha in (("add", True), ("sub", True), ("mul", False), ("div", False),
                    ("maximum", False), ("minimum", False), ("pow", False),
                    ("clamp_min", False), ("clamp_max", False)):
    _register(_op, _binary(_op, _alpha))


def _foreach_lerp(self, tensors1, weight):
    xs = _tensors("_foreach_lerp", self)
    return tuple(x.lerp(e, w) for x, e, w in zip(xs, _pair("_foreach_lerp", xs, tensors1),
                                                 _pair("_foreach_lerp", xs, weight)))


def _foreach_lerp_(self, tensors1, weight):
    xs = _tensors("_foreach_lerp_", self)
    for x, e, w in zip(xs, _pair("_foreach_lerp_", xs, tensors1),
                       _pair("_foreach_lerp_", xs, weight)):
        x.lerp_(e, w)
    return self


def _addc(method):
    def out_of_place(self, tensor1, tensor2, value=1):
        xs = _tensors(f"_foreach_{method}", self)
        vs = _pair(f"_foreach_{method}", xs, value)
        return tuple(getattr(x, method)(a, b, value=v) for x, a, b, v in
                     zip(xs, _pair(method, xs, tensor1), _pair(method, xs, tensor2), vs))

    def in_place(self, tensor1, tensor2, value=1):
        xs = _tensors(f"_foreach_{method}_", self)
        vs = _pair(f"_foreach_{method}_", xs, value)
        for x, a, b, v in zip(xs, _pair(method, xs, tensor1), _pair(method, xs, tensor2), vs):
            getattr(x, method + "_")(a, b, value=v)
        return self
    return out_of_place, in_place


_register("addcmul", _addc("addcmul"))
_register("addcdiv", _addc("addcdiv"))


def _foreach_zero_(self):
    for t in _tensors("_foreach_zero_", self):
        t.zero_()
    return self


def _foreach_copy_(self, src, non_blocking=False):
    xs = _tensors("_foreach_copy_", self)
    for x, s in zip(xs, _pair("_foreach_copy_", xs, list(src))):
        x.copy_(s)
    return self


def _foreach_clone(self):
    return tuple(t.clone() for t in _tensors("_foreach_clone", self))


def _foreach_norm(self, ord=2, dtype=None):
    """One norm per tensor, over all its elements."""
    xs = _tensors("_foreach_norm", self)
    p = float(ord)
    out = []
    for t in xs:
        flat = t.reshape(-1) if dtype is None else t.reshape(-1).to(dtype)
        out.append(flat.abs().max() if math.isinf(p) and p > 0 else flat.norm(p))
    return tuple(out)


def _foreach_max(self):
    return tuple(t.max() for t in _tensors("_foreach_max", self))


__all__ += ["_foreach_lerp", "_foreach_lerp_", "_foreach_zero_", "_foreach_copy_",
            "_foreach_clone", "_foreach_norm", "_foreach_max"]
