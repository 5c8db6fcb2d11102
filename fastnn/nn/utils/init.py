"""skip_init: build a module without spending time on its parameter initialisation."""
import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters and buffers left uninitialised.

    The class must take a ``device`` argument, as in PyTorch. fastnn has no "meta" device,
    so the module is built on the CPU and its tensors are then replaced by empty ones on
    ``device`` (default "cpu"): the values are arbitrary, as PyTorch's are.
    """
    from ..modules.module import Module
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    kwargs["device"] = "cpu"
    return module_cls(*args, **kwargs).to_empty(device=device)
