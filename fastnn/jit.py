"""``fastnn.jit``: TorchScript's entry points, so code written for it runs.

fastnn has no graph compiler: ``script`` and ``trace`` return the module or function they are
given (``trace`` runs it once on the example inputs, so errors show up where they would),
and the decorators return what they decorate. PyTorch 2.x deprecates TorchScript; the same
DeprecationWarning is given. Saving a scripted program needs its code, which fastnn never
stores or loads: ``jit.save``/``jit.load`` raise and point to ``state_dict``.
"""
import warnings

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting",
           "is_tracing", "annotate", "Final", "Attribute", "freeze", "optimize_for_inference",
           "fork", "wait", "Future", "save", "load", "script_if_tracing", "interface"]


def _deprecated(name, advice="Please switch to `torch.compile` or `torch.export`."):
    warnings.warn(f"`torch.jit.{name}` is deprecated. {advice}", DeprecationWarning,
                  stacklevel=3)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """The module or function itself."""
    _deprecated("script")
    return obj


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """``func`` itself, after one call on ``example_inputs``."""
    _deprecated("trace")
    from .autograd.grad_mode import no_grad
    args = example_inputs if isinstance(example_inputs, tuple) else \
        (() if example_inputs is None else (example_inputs,))
    with no_grad():
        func(*args, **(example_kwarg_inputs or {}))
    return func


def trace_module(mod, inputs, *args, **kwargs):
    """``mod`` itself, after calling each named method on its example inputs."""
    _deprecated("trace_module")
    for method, example in inputs.items():
        getattr(mod, method)(*(example if isinstance(example, tuple) else (example,)))
    return mod


def ignore(drop=False, **kwargs):
    """Decorator (bare or called): the function unchanged."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn):
    return fn


def export(fn):
    return fn


def interface(obj):
    return obj


def script_if_tracing(fn):
    return fn


def is_scripting():
    return False


def is_tracing():
    return False


def annotate(the_type, the_value):
    return the_value


class Final:
    """Type marker for constants; nothing to enforce without a compiler."""

    def __class_getitem__(cls, item):
        return item


def Attribute(value, type=None):
    return value


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


class Future:
    """The finished result of ``fork`` (it runs at once)."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def done(self):
        return True

    def value(self):
        return self._value


def fork(func, *args, **kwargs):
    _deprecated("fork", "Please use `torch.compile` instead.")
    return Future(func(*args, **kwargs))


def wait(future):
    _deprecated("wait", "Please use `torch.compile` instead.")
    return future.wait()


def save(m, f, _extra_files=None):
    raise NotImplementedError(
        "fastnn.jit.save: fastnn has no TorchScript programs to save; save the model's "
        "state_dict with fastnn.save(model.state_dict(), f) and rebuild the module in code")


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    raise NotImplementedError(
        "fastnn.jit.load: TorchScript archives hold code, which fastnn never loads; load a "
        "state_dict with fastnn.load(f) into a module built in code")
