"""Stochastic weight averaging and exponential moving averages of a model
(``torch.optim.swa_utils``): AveragedModel, the averaging functions, update_bn and SWALR."""
import itertools
import math
from copy import deepcopy

import numpy as np

from .. import _creation, _dtype
from ..autograd import grad_mode
from ..nn.modules.module import Module
from ..nn.modules.normalization import _BatchNorm
from ..tensor import Tensor
from ._lr_base import LRScheduler
from ._lr_cycles import _per_group
from .adam import lerp_ as _lerp_arr

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay):
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


def _is_float(t):
    return t._data.dtype.kind in "fc"


def _write(dst, value):
    """dst <- value in place (cast to dst's dtype, truncating for integer buffers)."""
    src = value._data if isinstance(value, Tensor) else value
    if type(dst._data) is np.ndarray and type(src) is np.ndarray:
        np.copyto(dst._data, src, casting="unsafe")
        dst._vc[0] += 1
    else:
        with grad_mode.no_grad():
            dst.copy_(value if isinstance(value, Tensor) else dst.new_tensor(value))


def _lerp_all(dsts, srcs, weight):
    """dst <- lerp(dst, src, weight) for each pair, with torch.lerp's two-sided formula."""
    for d, s in zip(dsts, srcs):
        if type(d._data) is np.ndarray and type(s._data) is np.ndarray:
            _lerp_arr(d._data, s._data.astype(d._data.dtype, copy=False), weight)
            d._vc[0] += 1
        else:
            with grad_mode.no_grad():
                d.lerp_(s, weight)


def get_ema_multi_avg_fn(decay=0.999):
    """A multi-tensor update moving each average a fraction 1 - decay toward the model."""
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _):
        if _is_float(ema_param_list[0]):
            _lerp_all(ema_param_list, current_param_list, 1 - decay)
            return
        # integer tensors (BatchNorm's num_batches_tracked): PyTorch's tensor-times-float
        # arithmetic, in the default float dtype, truncated when written back
        ft = _dtype.get_default_dtype().np.type
        for e, c in zip(ema_param_list, current_param_list):
            _write(e, e._data.astype(ft) * ft(decay) + c._data.astype(ft) * ft(1 - decay))
    return ema_update


_ADDCDIV_INTEGER_MESSAGE = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv "
    "will perform a true division of tensor1 and tensor2. The historic addcdiv behavior can "
    "be implemented as (input + value * fastnn.trunc(tensor1 / tensor2)).to(input.dtype) for "
    "integer inputs and as (input + value * tensor1 / tensor2) for float inputs. The future "
    "addcdiv behavior is just the latter implementation: (input + value * tensor1 / "
    "tensor2), for all dtypes.")


def get_swa_multi_avg_fn():
    """A multi-tensor update keeping the running mean of every model seen."""
    def swa_update(averaged_param_list, current_param_list, num_averaged):
        n = float(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)
        if _is_float(averaged_param_list[0]):
            _lerp_all(averaged_param_list, current_param_list, 1 / (n + 1))
            return
        # PyTorch's integer path (an integer division or an integer add with a float
        # alpha) always fails; fail the same way
        if isinstance(num_averaged, Tensor):
            raise RuntimeError(_ADDCDIV_INTEGER_MESSAGE)
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """A per-tensor EMA: returns decay * average + (1 - decay) * current."""
    _check_decay(decay)

    def ema_update(average, current, n):
        with grad_mode.no_grad():
            return average * decay + current * (1 - decay)
    return ema_update


def get_swa_avg_fn():
    """A per-tensor running mean: returns average + (current - average) / (n + 1)."""
    def swa_update(average, current, n):
        with grad_mode.no_grad():
            step = (current - average) / (n + 1)
            return average + step
    return swa_update


def _groups(avg, cur):
    """Pairs of lists split by (device, dtype) of the averages, in first-seen order."""
    out = {}
    for a, c in zip(avg, cur):
        key = (str(a.device), a._data.dtype)
        pa, pc = out.setdefault(key, ([], []))
        pa.append(a)
        pc.append(c)
    return list(out.values())


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and buffers, with ``use_buffers``) are a
    running average of the model's, updated by ``update_parameters``."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None,
                 use_buffers=False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged",
                             _creation.tensor(0, dtype=_dtype.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        """Fold the current ``model`` into the average (the first call copies it)."""
        if self.use_buffers:
            mine = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            theirs = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        n = len(min(mine, theirs, key=len))
        mine = [p.detach() for p in mine[:n]]
        theirs = [p.detach().to(a.device) for p, a in zip(theirs, mine)]
        count = int(self.n_averaged.item())
        if count == 0:
            for a, c in zip(mine, theirs):
                _write(a, c)
        elif self.avg_fn is None:
            for avg, cur in _groups(mine, theirs):
                device = avg[0].device
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(avg, cur, self.n_averaged.to(device))
                elif device.type == "cuda":  # PyTorch's foreach path
                    get_swa_multi_avg_fn()(avg, cur, self.n_averaged.to(device))
                else:  # off the foreach devices PyTorch averages tensor by tensor
                    swa = get_swa_avg_fn()
                    for a, c in zip(avg, cur):
                        _write(a, swa(a, c, self.n_averaged.to(device)))
        else:
            for a, c in zip(mine, theirs):
                _write(a, self.avg_fn(a, c, self.n_averaged.to(a.device)))
        if not self.use_buffers:
            # buffers are not averaged: they follow the source model
            for b, mb in zip(self.module.buffers(), model.buffers()):
                _write(b.detach(), mb.detach().to(b.device))
        self.n_averaged._data += 1
        self.n_averaged._vc[0] += 1


def update_bn(loader, model, device=None):
    """Recompute every BatchNorm's running statistics with one pass over ``loader``."""
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None  # a cumulative average over the whole pass
    with grad_mode.no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to its ``swa_lr`` over ``anneal_epochs`` steps (cosine or
    linear), then holds it there."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos",
                 last_epoch=-1):
        for lr, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr.clone() if isinstance(lr, Tensor) else lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, strategy):
        self._anneal_strategy = strategy
        self.anneal_func = self._cosine_anneal if strategy == "cos" else self._linear_anneal

    def get_lr(self):
        self._warn_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        span = max(1, self.anneal_epochs)
        # the lr the schedule started from is recovered from the current one, so the
        # scheduler composes with changes made to the group's lr in between
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / span)))
        alpha = self.anneal_func(max(0, min(1, step / span)))
        groups = self.optimizer.param_groups
        return [g["swa_lr"] * alpha + self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) *
                (1 - alpha) for g in groups]

    def state_dict(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self._set_anneal_func(self._anneal_strategy)
