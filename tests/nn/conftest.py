"""Fixtures shared by the nn tests."""
import pytest

from fastnn.nn._functional import rnn_fused


@pytest.fixture
def calls(monkeypatch):
    """Counts the recurrent loops that took the fused node."""
    seen = []
    real = rnn_fused.run

    def counting(*args):
        seen.append(args[0])
        return real(*args)
    monkeypatch.setattr(rnn_fused, "run", counting)
    return seen
