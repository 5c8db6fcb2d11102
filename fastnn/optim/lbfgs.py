"""L-BFGS over one flat vector made of all the parameters, optionally with a line search
that enforces the strong Wolfe conditions.

fastnn's trajectories and closure-call counts follow PyTorch's step for step, so the order
of every floating-point operation below is deliberate. The work runs in numpy on flat arrays
of the parameters' dtype; quantities PyTorch holds as 0-d tensors (``ro``, ``H_diag``,
``al``, usually ``t``) are numpy scalars of that dtype here, so they round the same way,
and they are saved in the optimizer state as 0-d fastnn tensors.
"""
from collections import namedtuple

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor, _wrap
from .optimizer import Optimizer, _check_lr, _scalar

__all__ = ["LBFGS"]

# one trial point of the line search: step length, loss, gradient, slope along the direction
_Trial = namedtuple("_Trial", "step loss grad slope")


def _cubic_min(a, fa, ga, b, fb, gb, lo=None, hi=None):
    """Minimiser of the cubic matching value and slope at ``a`` and ``b``, clamped to
    [lo, hi] (by default the interval between the two points); the midpoint when the cubic
    has no real minimiser."""
    # name the two ends by position so one formula serves either argument order
    if a <= b:
        (left, g_left), (right, g_right) = (a, ga), (b, gb)
    else:
        (left, g_left), (right, g_right) = (b, gb), (a, ga)
    if lo is None:
        lo, hi = left, right
    secant = 3 * (fa - fb) / (a - b)
    d1 = ga + gb - secant
    disc = d1 ** 2 - ga * gb
    if disc >= 0:  # written this way round so that a NaN also takes the midpoint
        d2 = np.sqrt(disc)
        ratio = (g_right + d2 - d1) / (g_right - g_left + 2 * d2)
        guess = right - (right - left) * ratio
        return min(max(guess, lo), hi)
    return (lo + hi) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """Search along ``d`` from the parameters ``x`` for a step meeting the strong Wolfe
    conditions, starting at step ``t``; ``f``, ``g`` and ``gtd`` describe the start point.

    Returns (loss, flat gradient, step, number of evaluations).
    """
    scale = np.abs(d).max()
    calls = 0

    def trial(step):
        nonlocal calls
        calls += 1
        loss, grad = obj_func(x, step, d)
        return _Trial(step, loss, grad, grad.dot(d))

    def too_high(p):  # sufficient decrease (Armijo) violated
        return p.loss > (f + c1 * p.step * gtd)

    def flat_enough(p):  # strong curvature condition met
        return abs(p.slope) <= -c2 * gtd

    origin = _Trial(0, f, g.copy(), gtd)
    # 1) grow the step until an interval [ends[0], ends[1]] must hold an acceptable point
    last, now = origin, trial(t)
    ends, accepted, rounds = None, False, 0
    while rounds < max_ls:
        if too_high(now) or (rounds > 1 and now.loss >= last.loss):
            ends = [last, now]
            break
        if flat_enough(now):
            ends, accepted = [now], True
            break
        if now.slope >= 0:
            ends = [last, now]
            break
        # extrapolate, keeping the new step well beyond the current one but not wildly so
        reach = now.step - last.step
        nxt = _cubic_min(last.step, last.loss, last.slope, now.step, now.loss, now.slope,
                         lo=now.step + 0.01 * reach, hi=now.step * 10)
        last, now = now, trial(nxt)
        rounds += 1
    if rounds == max_ls:  # out of evaluations: settle for the better of start and last
        ends = [origin, now]

    # 2) shrink the interval until a point in it satisfies both conditions
    best = 0 if ends[0].loss <= ends[-1].loss else 1
    stalled = False
    while not accepted and rounds < max_ls:
        if abs(ends[1].step - ends[0].step) * scale < tolerance_change:
            break
        p, q = ends
        step = _cubic_min(p.step, p.loss, p.slope, q.step, q.loss, q.slope)
        top = max(p.step, q.step)
        bottom = min(p.step, q.step)
        margin = 0.1 * (top - bottom)
        near_edge = min(top - step, step - bottom) < margin
        if not near_edge:
            stalled = False
        elif stalled or step >= top or step <= bottom:
            # two crowded guesses in a row (or one outside): move a margin inside instead
            step = top - margin if abs(step - top) < abs(step - bottom) else bottom + margin
            stalled = False
        else:
            stalled = True
        new = trial(step)
        rounds += 1
        other = 1 - best
        if too_high(new) or new.loss >= ends[best].loss:
            ends[other] = new
            best = 0 if ends[0].loss <= ends[1].loss else 1
            continue
        if flat_enough(new):
            accepted = True
        elif new.slope * (ends[other].step - ends[best].step) >= 0:
            ends[other] = ends[best]  # keep a minimum between the two ends
        ends[best] = new

    win = ends[best]
    return win.loss, win.grad, win.step, calls


def _two_loop(grad, dirs, stps, ro, h_diag):
    """``-H grad`` for the L-BFGS inverse-Hessian estimate ``H`` held by the history.

    Returns the direction and the first-loop coefficients (which go into the state).
    """
    cast = grad.dtype.type
    q = np.negative(grad)
    alphas = [None] * len(dirs)
    for i in reversed(range(len(dirs))):
        alphas[i] = stps[i].dot(q) * ro[i]
        q += cast(-alphas[i]) * dirs[i]
    direction = q * h_diag
    for y, s, rho, alpha in zip(dirs, stps, ro, alphas):
        beta = y.dot(direction) * rho
        direction += cast(alpha - beta) * s
    return direction, alphas


def _arr(v):
    """A state value as the numpy object the algorithm works on."""
    if isinstance(v, Tensor):
        a = v._data
        return a[()] if a.ndim == 0 else a
    if isinstance(v, list):
        return [_arr(x) for x in v]
    return v


def _tensor(v):
    """The numpy object as it is saved in the state (0-d values as 0-d tensors)."""
    if isinstance(v, np.ndarray):
        return _wrap(v)
    if isinstance(v, np.generic):
        return _wrap(np.array(v))
    if isinstance(v, list):
        return [_tensor(x) for x in v]
    return v


def _sup(a):
    return np.abs(a).max()


class LBFGS(Optimizer):
    """``torch.optim.LBFGS``: one parameter group; ``step`` needs a closure."""

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        _check_lr(lr)
        defaults = {"lr": lr, "max_iter": max_iter,
                    "max_eval": max_iter * 5 // 4 if max_eval is None else max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        self._only_group()
        self._params = self.param_groups[0]["params"]

    def _only_group(self):
        # the flat-vector view spans every parameter, so per-group settings cannot apply
        if len(self.param_groups) == 1:
            return self.param_groups[0]
        raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")

    def _flat_grad(self):
        parts = [np.zeros(p._data.size, p._data.dtype) if p._grad is None
                 else np.broadcast_to(p._grad._data, p._data.shape).reshape(-1)
                 for p in self._params]
        return np.concatenate(parts)

    def _move(self, step, direction):
        """parameters += step * direction, in place, a slice of ``direction`` per tensor."""
        start = 0
        for p in self._params:
            data = p._data
            stop = start + data.size
            data += data.dtype.type(step) * direction[start:stop].reshape(data.shape)
            p._vc[0] += 1
            start = stop
        if start != direction.size:  # a parameter changed size since the step began
            raise RuntimeError(f"LBFGS: the search direction has {direction.size} elements but "
                               f"the parameters have {start}")

    def _restore(self, saved):
        for p, data in zip(self._params, saved):
            np.copyto(p._data, data)
            p._vc[0] += 1

    def _loss_and_grad_at(self, closure, saved, step, direction):
        """Loss and gradient at ``saved + step * direction``; the parameters are put back."""
        self._move(step, direction)
        loss = float(closure())
        grad = self._flat_grad()
        self._restore(saved)
        return loss, grad

    def step(self, closure):
        """One optimization step: up to ``max_iter`` L-BFGS iterations."""
        # under no_grad as in PyTorch (only the closure records a graph), so reading the loss
        # as a number gives no requires-grad conversion warning
        with grad_mode.no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self._only_group()
        if closure is None:
            raise RuntimeError("LBFGS requires a closure that reevaluates the model and "
                               "returns the loss")

        def evaluate():
            # the closure builds a graph even when step() runs under no_grad
            return self._closure_loss(closure)

        lr = _scalar(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        search, memory = group["line_search_fn"], group["history_size"]

        # everything lives in the state of the first parameter, as in PyTorch's checkpoints
        state = self.state[self._params[0]]
        for counter in ("func_evals", "n_iter"):
            state.setdefault(counter, 0)

        first_loss = evaluate()
        loss = float(first_loss)
        evals_now = 1
        state["func_evals"] += 1
        grad = self._flat_grad()
        if _sup(grad) <= tol_grad:  # already at a stationary point
            return first_loss

        d, t, H_diag = (_arr(state.get(k)) for k in ("d", "t", "H_diag"))
        old_dirs, old_stps, ro = (_arr(state.get(k)) for k in ("old_dirs", "old_stps", "ro"))
        prev_grad, prev_loss = _arr(state.get("prev_flat_grad")), state.get("prev_loss")

        for it in range(1, max_iter + 1):
            state["n_iter"] += 1
            fresh = state["n_iter"] == 1

            if fresh:
                d = np.negative(grad)
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                # fold the last step into the curvature history, if it kept H positive
                y = grad - prev_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:
                    if len(old_dirs) == memory:
                        del old_dirs[0], old_stps[0], ro[0]
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                alphas_saved = state.setdefault("al", [None] * memory)
                d, alphas = _two_loop(grad, old_dirs, old_stps, ro, H_diag)
                for i, alpha in enumerate(alphas):
                    alphas_saved[i] = _tensor(alpha)

            if prev_grad is not None:
                np.copyto(prev_grad, grad)
            else:
                prev_grad = grad.copy()
            prev_loss = loss

            # the first step of a run is scaled down so it cannot overshoot wildly
            t = min(1.0, 1.0 / np.abs(grad).sum()) * lr if fresh else lr

            gtd = grad.dot(d)  # slope along d; not a descent direction means we are done
            if gtd > -tol_change:
                break

            if search == "strong_wolfe":
                saved = [p._data.copy() for p in self._params]
                loss, grad, t, used = _strong_wolfe(
                    lambda x, step, direction: self._loss_and_grad_at(evaluate, x, step,
                                                                      direction),
                    saved, t, d, loss, grad, gtd, max_ls=max_eval - evals_now)
                self._move(t, d)
                at_optimum = _sup(grad) <= tol_grad
            elif search is None:
                self._move(t, d)
                used = 0
                if it < max_iter:  # the last iteration's point is left unevaluated
                    loss = float(evaluate())
                    grad = self._flat_grad()
                    at_optimum = _sup(grad) <= tol_grad
                    used = 1
            else:
                raise RuntimeError("only 'strong_wolfe' is supported")

            evals_now += used
            state["func_evals"] += used

            if (it == max_iter or evals_now >= max_eval or at_optimum
                    or _sup(d * t) <= tol_change or abs(loss - prev_loss) < tol_change):
                break

        state.update(d=_tensor(d), t=_tensor(t), old_dirs=_tensor(old_dirs),
                     old_stps=_tensor(old_stps), ro=_tensor(ro), H_diag=_tensor(H_diag),
                     prev_flat_grad=_tensor(prev_grad), prev_loss=prev_loss)
        return first_loss
