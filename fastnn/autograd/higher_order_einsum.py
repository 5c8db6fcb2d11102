"""Second-order rule of einsum: its gradients written with the differentiable einsum itself."""
from string import ascii_letters

from .higher_order import _input, rule
from .ops_einsum import EinsumBackward0, gradient_target


@rule(EinsumBackward0)
def _einsum(node, g):
    from .. import eye
    from .._functions import einsum
    p = node.plan
    ops = [_input(node, j, a).reshape(s) for j, (a, s) in enumerate(zip(node.saved, p.shapes))]
    used = set(p.sizes)
    spare = [c for c in ascii_letters if c not in used]
    grads = []
    for k in range(len(ops)):
        if node._next[k] is None:
            grads.append(None)
            continue
        uniq, tgt = gradient_target(p, k)
        others = [j for j in range(len(ops)) if j != k]
        r = einsum(",".join([p.out] + [p.subs[j] for j in others]) + "->" + tgt,
                   g, *[ops[j] for j in others])
        if len(tgt) < len(uniq):
            r = r.reshape([p.sizes[c] if c in tgt else 1 for c in uniq]).expand(
                [p.sizes[c] for c in uniq])
        sk = p.subs[k]
        if len(uniq) < len(sk):
            # onto the diagonal: each repeat of a letter gets a fresh one tied to it by eye(n)
            fresh, ties, word, free = set(), [], [], iter(spare)
            for c in sk:
                if c in fresh:
                    d = next(free)
                    ties.append((c + d, eye(p.sizes[c], dtype=r.dtype)))
                    word.append(d)
                else:
                    fresh.add(c)
                    word.append(c)
            r = einsum(",".join([uniq] + [w for w, _ in ties]) + "->" + "".join(word),
                       r, *[e for _, e in ties])
        grads.append(r.reshape(p.orig[k]))
    return tuple(grads)
