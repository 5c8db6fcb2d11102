"""Handles returned by every ``register_*`` call."""
import itertools

_ids = itertools.count()


class RemovableHandle:
    """Inserting ``hook`` into ``hooks_dict``; ``remove()`` (or leaving a ``with``) takes it out."""

    def __init__(self, hooks_dict, hook=None):
        self.hooks_dict = hooks_dict
        self.id = next(_ids)
        if hook is not None:
            hooks_dict[self.id] = hook

    def remove(self):
        self.hooks_dict.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def unserializable_hook(f):
    """Marks hook ``f`` as one that need not be saved with a tensor (no warning about it)."""
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor):
    """Warn when ``tensor`` has backward hooks that saving it would not keep."""
    import warnings
    if tensor.grad_fn is not None:  # a non-leaf's hooks sit on its grad_fn, beside retain_grad's
        retain = tensor._retain
        hooks = {k: h for k, h in (tensor.grad_fn._pre_hooks or {}).items()
                 if retain is None or k != retain.id}
    else:
        acc = tensor._acc
        hooks = acc.tensor_hooks if acc is not None else None
    for hook in (hooks or {}).values():
        if not hasattr(hook, "__torch_unserializable__"):
            warnings.warn(f"backward hook {hook} on tensor will not be serialized.  If this is "
                          "expected, you can decorate the function with "
                          "@torch.utils.hooks.unserializable_hook to suppress this warning")


def __getattr__(name):
    if name == "BackwardHook":  # lives with the module hooks, which import this file
        from ..nn.modules._hooks import BackwardHook
        return BackwardHook
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
