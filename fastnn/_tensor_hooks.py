"""Gradient hooks on a tensor (a mixin of Tensor): retain_grad, register_hook and
register_post_accumulate_grad_hook. A non-leaf's hooks sit on its grad_fn; a leaf's on the
AccumulateGrad node its gradient flows into."""
import weakref

from . import tensor as _t


class HooksMixin:
    __slots__ = ()

    def retain_grad(self):
        if self.grad_fn is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retain is not None:
            return
        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                if g.requires_grad:  # backward(create_graph=True): .grad stays in the graph
                    t._grad = g.clone() if t._grad is None else t._grad + g
                elif t._grad is None:
                    t._grad = _t._wrap(g._data.copy())
                else:
                    t._grad = _t._wrap(t._grad._data + g._data)
        self._retain = self.grad_fn._register_grad_hook(keep)

    @property
    def retains_grad(self):
        return self._retain is not None

    def register_hook(self, hook):
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        from .utils.hooks import RemovableHandle
        if self.grad_fn is not None:
            handle = self.grad_fn._register_grad_hook(hook)
            if self._retain is not None:  # retain_grad sees the gradient after every hook
                hooks = self.grad_fn._pre_hooks
                hooks[self._retain.id] = hooks.pop(self._retain.id)
            return handle
        acc = _t._edge(self)
        if acc.tensor_hooks is None:
            acc.tensor_hooks = {}
        return RemovableHandle(acc.tensor_hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(self)`` runs each time a backward pass has accumulated into ``self.grad``."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        from .utils.hooks import RemovableHandle
        return RemovableHandle(self.__dict__.setdefault("_post_acc_hooks", {}), hook)
