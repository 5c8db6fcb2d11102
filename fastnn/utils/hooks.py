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
