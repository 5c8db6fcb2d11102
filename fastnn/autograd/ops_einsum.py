"""einsum: the equation parsed with PyTorch's checks and messages, and its graph node.

Parsing turns the equation into a plan on plain letters: each ellipsis dimension gets a
letter of its own (right-aligned across operands), and operand dimensions of size 1 that
broadcast against a larger size are squeezed out, so every label has one size in every
operand that keeps it. Contractions then run on those letters alone.
"""
from functools import lru_cache
from math import prod
from string import ascii_letters

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .accumulate import HALF, sum_axes
from .node import Node

# sublist labels 0..51 name A..Z then a..z, as in PyTorch
_SUBLIST = ascii_letters[26:] + ascii_letters[:26]
_LETTERS = frozenset(ascii_letters)


def _fail(msg):
    raise RuntimeError("einsum(): " + msg)


def sublist_equation(args):
    """``einsum(op0, sub0, op1, sub1, ..., [out])`` as (equation, operands)."""
    ops, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(args) % 2:  # a trailing output sublist
        out = ops.pop()
    ops = ops[:len(subs)]

    def word(sub):
        parts = []
        for x in sub:
            if x is Ellipsis:
                parts.append("...")
            elif isinstance(x, int) and 0 <= x < 52:
                parts.append(_SUBLIST[x])
            else:
                raise ValueError("einsum(): subscript in subscript list is not within the valid "
                                 "range [0, 52)")
        return "".join(parts)
    eq = ",".join(word(s) for s in subs)
    return (eq if out is None else eq + "->" + word(out)), ops


def _parse_lhs(lhs, n):
    """Per operand: its labels in order, with None where its ellipsis stands."""
    ops, dots, k = [[]], 0, 0
    for i, c in enumerate(lhs):
        if c == " ":
            continue
        if c == ".":
            if None in ops[k]:
                _fail(f"found '.' for operand {k} for which an ellipsis was already found")
            dots += 1
            if dots == 3:
                ops[k].append(None)
                dots = 0
            continue
        if dots:
            _fail(f"found '.' for operand {k} that is not part of any ellipsis")
        if c == ",":
            k += 1
            if k >= n:
                _fail("fewer operands were provided than specified in the equation")
            ops.append([])
        elif c in _LETTERS:
            ops[k].append(c)
        else:
            _fail(f"invalid subscript given at index {i} in the equation string, subscripts "
                  "must be in [a-zA-Z]")
    if dots:
        _fail(f"found '.' for operand {k} that is not part of any ellipsis")
    if k != n - 1:
        _fail("more operands were provided than specified in the equation")
    return ops


def _parse_rhs(rhs, offset, seen):
    out, dots, ell = [], 0, False
    for i, c in enumerate(rhs):
        if c == " ":
            continue
        if c == ".":
            if ell:
                _fail("found '.' for output but an ellipsis (...) was already found")
            dots += 1
            if dots == 3:
                out.append(None)
                ell, dots = True, 0
            continue
        if dots:
            _fail("found '.' for output that is not part of any ellipsis (...)")
        if c not in _LETTERS:
            _fail(f"invalid subscript given at index {i + offset} in the equation string, "
                  "subscripts must be in [a-zA-Z]")
        if c not in seen:
            _fail(f"output subscript {c} does not appear in the equation for any input operand")
        if c in out:
            _fail(f"output subscript {c} appears more than once in the output")
        out.append(c)
    if dots:
        _fail("found '.' for output that is not part of any ellipsis (...)")
    return out


class Plan:
    """What a contraction needs: the operands' letters (``subs``) after squeezing their
    broadcast size-1 dims (to ``shapes``), the output letters and every letter's size."""

    def __init__(self, subs, shapes, out, sizes, orig):
        self.subs, self.shapes, self.out, self.sizes, self.orig = subs, shapes, out, sizes, orig

    def equation(self):
        return ",".join(self.subs) + "->" + self.out

    @property
    def layout(self):
        """The output letters from outermost to innermost in memory, as PyTorch lays an einsum
        result out, or None where the result keeps the layout the contraction gives it."""
        lay = self.__dict__.get("_layout", False)
        if lay is False:
            lay = self._layout = _torch_layout(self.subs, self.out, self.sizes)
        return lay


def _torch_layout(subs, out, sizes):
    """PyTorch sums a single operand into a fresh C-ordered result. Several operands are
    multiplied left to right, the last pair by one batched matmul (when they share a
    contracted letter) whose (batch, left-only, right-only) result is returned as a permuted
    view; the right-only letters go first when they all precede the left-only ones in the
    output and no contracted letter lingers as a size-1 dim of that product."""
    contracted = {c for w in subs for c in w if c not in out}
    if len(subs) == 1:
        return out if contracted else None
    left = {c for w in subs[:-1] for c in w if sizes[c] > 1}
    right = {c for c in subs[-1] if sizes[c] > 1}
    summed = contracted & left & right
    if not summed:
        return None  # an elementwise product
    both = [c for c in out if c in left and c in right]
    left_only = [c for c in out if c in left and c not in right]
    rest = [c for c in out if c not in left]
    if left_only and rest and summed == contracted and \
            out.index(rest[-1]) < out.index(left_only[0]):
        left_only, rest = rest, left_only
    return "".join(both + left_only + rest)


@lru_cache(maxsize=256)
def cached_plan(equation, shapes):
    """``plan`` remembered per (equation, shapes): models call the same einsum every step."""
    return plan(equation, shapes)


def plan(equation, shapes):
    n = len(shapes)
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    ops = _parse_lhs(lhs, n)
    n_ell = 0
    for k, (labels, shape) in enumerate(zip(ops, shapes)):
        named = len(labels) - (None in labels)
        if None in labels:
            if named > len(shape):
                _fail(f"the number of subscripts in the equation ({named}) is more than the "
                      f"number of dimensions ({len(shape)}) for operand {k}")
            n_ell = max(n_ell, len(shape) - named)
        elif named != len(shape):
            _fail(f"the number of subscripts in the equation ({named}) does not match the number "
                  f"of dimensions ({len(shape)}) for operand {k} and no ellipsis was given")
    seen = {c for labels in ops for c in labels if c is not None}
    if arrow >= 0:
        out = _parse_rhs(equation[arrow + 2:], arrow + 2, seen)
    else:
        counts = {}
        for labels in ops:
            for c in labels:
                if c is not None:
                    counts[c] = counts.get(c, 0) + 1
        out = ([None] if any(None in labels for labels in ops) else []) + \
            sorted(c for c, m in counts.items() if m == 1)
    spare = [c for c in ascii_letters if c not in seen]
    if len(spare) < n_ell:
        _fail("too many dimensions covered by the ellipsis for the unused subscripts")
    ell = spare[:n_ell]
    subs, sizes, ell_at = [], {}, {c: d for d, c in enumerate(ell)}
    for k, (labels, shape) in enumerate(zip(ops, shapes)):
        word = []
        for c in labels:
            word.extend(ell[n_ell - (len(shape) - len(labels) + 1):] if c is None else [c])
        own = {}
        for c, s in zip(word, shape):
            if c in own:
                if s != own[c]:
                    _fail(f"subscript {c} is repeated for operand {k} but the sizes don't "
                          f"match, {s} != {own[c]}")
                continue
            own[c] = s
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = s
            elif s != 1 and s != prev:
                if c in ell_at:
                    _fail(f"dimension {ell_at[c]} covered by ellipsis in operand {k}has size {s} "
                          f"which does not broadcast with previously seen ellipsis with size "
                          f"{prev} for the respective dimension")
                _fail(f"subscript {c} has size {s} for operand {k} which does not broadcast "
                      f"with previously seen size {prev}")
        subs.append(word)
    out_word = []
    for c in out:
        out_word.extend(ell if c is None else [c])
    # a size-1 dim broadcast against a larger size carries no label of its own
    kept = [[c for c, s in zip(w, shape) if s == sizes[c]] for w, shape in zip(subs, shapes)]
    return Plan(["".join(w) for w in kept], [tuple(sizes[c] for c in w) for w in kept],
                "".join(out_word), sizes, [tuple(s) for s in shapes])


def _sum_out(x, s, keep):
    axes = tuple(i for i, c in enumerate(s) if c not in keep)
    if not axes:
        return x, s
    return sum_axes(x, axes), "".join(c for c in s if c in keep)


def _pair(a, sa, b, sb, so):
    """Two operands without repeated labels as one (batched) matmul."""
    a, sa = _sum_out(a, sa, set(sb) | set(so))
    b, sb = _sum_out(b, sb, set(sa) | set(so))
    size = dict(zip(sa, a.shape))
    size.update(zip(sb, b.shape))
    batch = [c for c in so if c in sa and c in sb]
    con = [c for c in sa if c in sb and c not in so]
    ka = [c for c in so if c in sa and c not in sb]  # in output order: fewer copies below
    kb = [c for c in so if c in sb and c not in sa]
    if ka and kb and so.index(kb[0]) < so.index(ka[0]):
        return _pair(b, sb, a, sa, so)  # b's letters come first: its product is C-ordered
    bs = [size[c] for c in batch]
    ma, kk, nb = prod(size[c] for c in ka), prod(size[c] for c in con), prod(size[c] for c in kb)
    am = a.transpose([sa.index(c) for c in batch + ka + con]).reshape(bs + [ma, kk])
    bm = b.transpose([sb.index(c) for c in batch + con + kb]).reshape(bs + [kk, nb])
    r = np.matmul(am, bm).reshape(bs + [size[c] for c in ka] + [size[c] for c in kb])
    have = batch + ka + kb
    r = r.transpose([have.index(c) for c in so])
    return r if r.flags.c_contiguous else r.copy()


def contract(arrays, subs, out):
    if arrays and all(a.dtype == HALF for a in arrays):
        # numpy's einsum adds float16 products in float16 (its sums stall at 2048);
        # PyTorch accumulates them in float32 and rounds once
        return contract([a.astype(np.float32) for a in arrays], subs, out).astype(HALF)
    if len(arrays) == 2 and len(set(subs[0])) == len(subs[0]) and \
            len(set(subs[1])) == len(subs[1]):
        size = dict(zip(subs[0], arrays[0].shape))
        size.update(zip(subs[1], arrays[1].shape))
        # small products: numpy's loop beats the transposes and copies of the matmul path
        if prod(size.values()) >= 1 << 14:
            return _pair(arrays[0], subs[0], arrays[1], subs[1], out)
    r = np.einsum(",".join(subs) + "->" + out, *arrays, optimize=len(arrays) > 2)
    if any(np.may_share_memory(r, a) for a in arrays):  # einsum's diagonal/transpose views
        r = r.copy()
    return np.asarray(r)


def gradient_target(p, k):
    """Operand k's distinct letters, and those of them the gradient einsum can produce (the
    rest were summed out in the forward pass, so the gradient is broadcast along them)."""
    sk = p.subs[k]
    uniq = "".join(dict.fromkeys(sk))
    avail = set(p.out).union(*(p.subs[j] for j in range(len(p.subs)) if j != k))
    return uniq, "".join(c for c in uniq if c in avail)


class EinsumBackward0(Node):
    """gA_k = einsum(g, the other operands -> A_k's letters), broadcast along letters summed
    only out of A_k, written onto A_k's diagonals and summed over its broadcast dims."""

    def forward(self, *args):
        *arrays, p = args
        self.plan = p
        self.save(*arrays)
        arrays = [a.reshape(s) for a, s in zip(arrays, p.shapes)]
        lay = p.layout
        if lay is None:
            return contract(arrays, p.subs, p.out)
        r = contract(arrays, p.subs, lay)
        if not r.flags.c_contiguous:
            r = r.copy()
        return r if lay == p.out else r.transpose([lay.index(c) for c in p.out])

    def backward(self, g):
        p = self.plan
        arrays = [a.reshape(s) for a, s in zip(self.saved, p.shapes)]
        grads = []
        for k in range(len(arrays)):
            if not self.needs(k):
                grads.append(None)
                continue
            uniq, tgt = gradient_target(p, k)
            others = [j for j in range(len(arrays)) if j != k]
            r = contract([g] + [arrays[j] for j in others], [p.out] + [p.subs[j] for j in others],
                         tgt)
            if len(tgt) < len(uniq):
                r = np.broadcast_to(r.reshape([p.sizes[c] if c in tgt else 1 for c in uniq]),
                                    [p.sizes[c] for c in uniq])
            sk = p.subs[k]
            if len(uniq) < len(sk):
                z = np.zeros(p.shapes[k], r.dtype)
                # the diagonal as a view: a repeated letter steps through all its axes at once
                strides = [sum(z.strides[i] for i, d in enumerate(sk) if d == c) for c in uniq]
                as_strided(z, [p.sizes[c] for c in uniq], strides)[...] = r
                r = z
            if not (r.flags.c_contiguous and r.flags.writeable):
                r = np.array(r)  # a broadcast view
            grads.append(r.reshape(p.orig[k]))
        return tuple(grads)
