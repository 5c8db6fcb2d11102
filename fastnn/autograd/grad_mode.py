"""Grad mode: thread-local switch read by every op before it records a graph node."""
import functools
import inspect
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled", "set_multithreading_enabled",
           "is_multithreading_enabled"]


class _State(threading.local):
    # reported by is_multithreading_enabled; fastnn's backward always runs on the calling
    # thread, so the setting changes nothing else
    multithreading = True

    def __init__(self):
        self.enabled = True
        self.inference = False
        # grad mode as reported, when it differs from `enabled` (whether ops record): only
        # enable_grad inside inference mode, which reports True but records nothing
        self.shown = None


state = _State()


class InferenceVersion(list):
    """The version counter of an inference tensor: its type is the mark, and views share the
    counter, so they are inference tensors too at no cost to anything else."""
    __slots__ = ()


SAVED_INFERENCE = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`.")

# Tensors made in inference mode are marked at creation. Rather than have the tensor
# constructor test the mode on every op, the constructor's code is exchanged for a variant
# that tests it while some thread is in inference mode, and exchanged back when none is.
_swaps = []  # [function, (everyday code, inference-mode code)]
_threads_inside = 0
_swap_lock = threading.Lock()


def register_inference_variant(fn, variant):
    """Run ``variant``'s code as ``fn`` while any thread is in inference mode."""
    codes = (fn.__code__, variant.__code__)
    _swaps.append((fn, codes))
    fn.__code__ = codes[_threads_inside > 0]


def _set_inference(on):
    """Set this thread's inference flag; returns the previous value for restoring."""
    global _threads_inside
    prev = state.inference
    if on != prev:
        state.inference = on
        with _swap_lock:
            _threads_inside += 1 if on else -1
            pick = _threads_inside > 0
            for fn, codes in _swaps:
                fn.__code__ = codes[pick]
    return prev


def is_grad_enabled():
    s = state
    return s.enabled if s.shown is None else s.shown


def _switch(target):
    """Set grad mode to ``target``; returns what to hand ``_restore``."""
    s = state
    prev = (s.enabled, s.shown)
    if target and s.inference:  # inference mode still records nothing
        s.enabled, s.shown = False, True
    else:
        s.enabled, s.shown = target, None
    return prev


def _restore(prev):
    state.enabled, state.shown = prev


def is_inference_mode_enabled():
    return state.inference


class _DecoratorContextManager:
    """Base of context managers that also decorate functions: ``@mode()`` runs each call of
    the function (or each resume of a generator) under a fresh ``clone()`` of the mode.
    Subclasses define ``__enter__`` and ``__exit__``."""

    def __call__(self, fn):
        return _decorate(self.clone, fn)

    def __enter__(self):
        raise NotImplementedError

    def __exit__(self, exc_type, exc_value, traceback):
        raise NotImplementedError

    def clone(self):
        return self.__class__()


class _Mode(_DecoratorContextManager):
    """Context manager and decorator; the subclass says what grad mode it sets."""
    _target = True

    def __enter__(self):
        self._prev = _switch(self._target)

    def __exit__(self, *exc):
        _restore(self._prev)
        return False


def _decorate(make_mode, fn):
    """fn run under a fresh ``make_mode()`` context; a generator function gets the mode each
    time it runs (from each resume to its next yield), never while its caller runs."""
    if not inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with make_mode():
                return fn(*args, **kwargs)
        return wrapper

    @functools.wraps(fn)
    def generator(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with make_mode():
                out = next(gen)
            while True:
                try:
                    sent = yield out
                except GeneratorExit:
                    with make_mode():
                        gen.close()
                    raise
                except BaseException as exc:  # thrown in by the caller: pass it on
                    with make_mode():
                        out = gen.throw(exc)
                else:
                    with make_mode():
                        out = gen.send(sent)
        except StopIteration as stop:
            return stop.value
    return generator


class _ModeMeta(type):
    def __call__(cls, *args, **kwargs):
        # @no_grad without parentheses: the class receives the function itself
        if len(args) == 1 and not kwargs and callable(args[0]) and cls._accepts_fn_bare:
            return type.__call__(cls)(args[0])
        return type.__call__(cls, *args, **kwargs)


class no_grad(_Mode, metaclass=_ModeMeta):
    """Disable graph recording: ``with fastnn.no_grad():`` or ``@fastnn.no_grad()``."""
    _target = False
    _accepts_fn_bare = True


class enable_grad(_Mode, metaclass=_ModeMeta):
    _target = True
    _accepts_fn_bare = True


class set_grad_enabled(_Mode):
    """Sets grad mode immediately (function form) and restores it on ``__exit__``."""

    def __init__(self, mode):
        if type(mode) is not bool:
            raise TypeError("set_grad_enabled(): argument 'enabled' (position 1) must be bool, "
                            f"not {_type_name(mode)}")
        self._target = mode
        self._prev = _switch(mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _restore(self._prev)
        return False

    def __call__(self, fn):
        # as a decorator, the mode applies inside fn only: undo the immediate switch
        _restore(self._prev)
        target = self._target
        return _decorate(lambda: set_grad_enabled(target), fn)

    def clone(self):
        return set_grad_enabled(self._target)


class inference_mode(_Mode, metaclass=_ModeMeta):
    """No graph recording, and the tensors made inside are inference tensors: they cannot
    later be saved for backward, updated in place or made to require grad outside the mode.
    ``inference_mode(False)`` inside restores normal behaviour."""
    _accepts_fn_bare = True

    def __init__(self, mode=True):
        self._target = not mode
        self._mode = mode

    def __enter__(self):
        self._prev = (state.enabled, state.shown)
        state.enabled, state.shown = self._target, None
        self._prev_inf = _set_inference(bool(self._mode))

    def __exit__(self, *exc):
        _restore(self._prev)
        _set_inference(self._prev_inf)
        return False

    def clone(self):
        return inference_mode(self._mode)


def is_multithreading_enabled():
    return state.multithreading


class set_multithreading_enabled(_Mode):
    """Sets whether backward may use worker threads, at once (function form) and until
    ``__exit__``; per thread. fastnn runs backward on the calling thread either way."""

    def __init__(self, mode):
        if type(mode) is not bool:
            raise TypeError("set_multithreading_enabled(): argument 'enabled' (position 1) must "
                            f"be bool, not {_type_name(mode)}")
        self.mode = mode
        self._prev_threads = state.multithreading
        state.multithreading = mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.multithreading = self._prev_threads
        return False

    def __call__(self, fn):
        # as a decorator, the setting applies inside fn only: undo the immediate switch
        state.multithreading = self._prev_threads
        mode = self.mode
        return _decorate(lambda: set_multithreading_enabled(mode), fn)

    def clone(self):
        return set_multithreading_enabled(self.mode)


def _type_name(obj):
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"
