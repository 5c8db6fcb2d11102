"""Per-worker default random streams for DataLoader worker threads.

DataLoader workers are threads of this process, but each must draw from its own default
generator (seeded ``base_seed + worker_id``), as a PyTorch worker process does: otherwise
workers and the main thread interleave on one stream and results depend on timing.

``fastnn.random.default_generator`` keeps its stream in three attributes (``bitgen``,
``np``, ``_seed``) that everything drawing from it reads (``get_generator(None)``,
``manual_seed``, ``initial_seed``, ``get_rng_state``...). ``install()`` turns those three
into per-thread attributes of the same object (its class becomes a subclass of
``Generator`` with one property per attribute): a thread that called ``own_stream`` sees
its own stream, every other thread (the main one included) keeps sharing the one stream it
used before. Nothing is installed until the first DataLoader with workers starts; after
that a read costs one C-level property lookup more (no Python frame).
"""
import operator
import threading

from ... import random as _random

_STATE = ("bitgen", "np", "_seed")


class _Slots(threading.local):
    """Per-thread overrides of the default stream's attributes.

    A worker thread's own values live in its per-thread ``__dict__``; the class attributes
    hold the stream shared by every thread without an override.
    """


_slots = _Slots()
_install_lock = threading.Lock()


def _make_setter(name):
    def setter(gen, value):
        own = _slots.__dict__
        if name in own:
            own[name] = value
        else:
            setattr(_Slots, name, value)
    return setter


def _slot_property(name):
    # attrgetter is implemented in C, so a read does not enter the interpreter
    return property(operator.attrgetter(f"_thread_slots.{name}"), _make_setter(name))


class _PerThreadGenerator(_random.Generator):
    """The default generator once per-thread streams are installed (see module doc)."""

    bitgen = _slot_property("bitgen")
    np = _slot_property("np")
    _seed = _slot_property("_seed")

    def __reduce__(self):
        # copies and pickles are plain generators holding the calling thread's stream
        state = {k: v for k, v in self.__dict__.items() if k != "_thread_slots"}
        state.update(bitgen=self.bitgen, np=self.np, _seed=self._seed)
        return (_random.Generator.__new__, (_random.Generator,), state)


_PerThreadGenerator.__name__ = _PerThreadGenerator.__qualname__ = "Generator"
_PerThreadGenerator.__module__ = _random.Generator.__module__


def install():
    """Make the default generator's stream per-thread (idempotent, thread-safe)."""
    gen = _random.default_generator
    if type(gen) is _PerThreadGenerator:
        return
    with _install_lock:
        if type(gen) is _PerThreadGenerator:
            return
        d = gen.__dict__
        before = {name: d[name] for name in _STATE}
        for name, value in before.items():
            setattr(_Slots, name, value)
        d["_thread_slots"] = _slots
        gen.__class__ = _PerThreadGenerator
        # a thread that reseeded between the copy and the switch wrote the instance dict
        for name in _STATE:
            value = d.pop(name)
            if value is not before[name]:
                setattr(_Slots, name, value)


def new_stream(seed):
    """The attributes of a fresh stream seeded with ``seed`` (for ``own_stream``/``use``)."""
    g = _random.Generator().manual_seed(seed)
    return {name: g.__dict__[name] for name in _STATE}


def own_stream(seed):
    """Give the calling thread its own default stream, seeded with ``seed``, for the rest
    of its life."""
    install()
    _slots.__dict__.update(new_stream(seed))


class use:
    """``with use(state):`` draws from the stream ``state`` (from ``new_stream``) in the
    calling thread only; the stream's progress is written back into ``state`` on exit."""

    __slots__ = ("state", "prev")

    def __init__(self, state):
        self.state = state

    def __enter__(self):
        install()
        own = _slots.__dict__
        self.prev = {name: own[name] for name in _STATE if name in own}
        own.update(self.state)
        return self

    def __exit__(self, *exc):
        own = _slots.__dict__
        for name in _STATE:
            self.state[name] = own.pop(name)
        own.update(self.prev)
        return False
