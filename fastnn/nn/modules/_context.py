"""Errors that name the module: the path of the module whose forward raised, in its model.

Nothing here runs on the happy path: ``Module.__call__`` only has a try/except, and the
stack is walked once an error has been raised (or when anomaly mode records an op).
"""
import sys

CALL_CODE = None  # Module.__call__.__code__, set by module.py once the class exists


def _module_stack(frame):
    """Modules whose ``__call__`` is on the stack from ``frame`` outward, outermost first."""
    from .module import Module
    mods = []
    while frame is not None:
        if frame.f_code is CALL_CODE:
            m = frame.f_locals.get("self")
            if isinstance(m, Module) and (not mods or mods[-1] is not m):
                mods.append(m)
        frame = frame.f_back
    mods.reverse()
    return mods


def _child_name(parent, child):
    for name, m in parent._modules.items():
        if m is child:
            return name
    for name, m in parent.named_modules():  # called through a grandchild's forward
        if m is child and name:
            return name
    return None


def _path(mods):
    # the dotted path under the outermost module, or its class name for the root itself
    if not mods:
        return ""
    names = [n for n in (_child_name(p, c) for p, c in zip(mods, mods[1:])) if n]
    return ".".join(names) if names else mods[-1]._get_name()


def current_module_path():
    """Dotted path (under the outermost module) of the module whose forward runs now."""
    return _path(_module_stack(sys._getframe(1)))


def add_context(exc, module):
    """Add a note naming the module's path and repr to ``exc`` (once: innermost wins).

    A note (shown under the message in tracebacks) leaves ``str(exc)`` and ``exc.args``
    exactly as raised, so code that inspects them sees what PyTorch would give it."""
    if getattr(exc, "_fastnn_module", None) is not None or isinstance(exc, RecursionError):
        return
    try:
        exc._fastnn_module = module
        mods = _module_stack(sys._getframe(1))
        if not mods or mods[-1] is not module:
            mods.append(module)
        text = repr(module)
        if "\n" in text:
            text = module._get_name()
        note = f"in module '{_path(mods)}' ({text})"
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        else:  # Python 3.10: the same attribute, though tracebacks do not print it there
            exc.__notes__ = [*getattr(exc, "__notes__", ()), note]
    except Exception:  # the context is a courtesy: never mask the user's error
        pass
