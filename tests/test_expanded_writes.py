"""Writing into an expanded tensor: as in PyTorch, a write whose target elements each have
their own memory slot goes through to the shared storage, fill_ sets every alias, and a
write that would put several values into one slot is refused."""
import warnings

import numpy as np
import pytest

import fastnn

OVERLAP = "more than one element of the written-to tensor refers to a single memory location"


def test_single_element_write_reaches_every_row():
    base = fastnn.arange(4.0)
    a = base.unsqueeze(0).expand(3, 4)
    a[0, 0] = 5
    assert base.tolist() == [5, 1, 2, 3]
    assert a.tolist() == [[5, 1, 2, 3]] * 3


def test_column_and_advanced_writes():
    base = fastnn.zeros(2, 1)
    e = base.expand(2, 3)
    e[:, 0] = fastnn.tensor([7.0, 8.0])
    assert base.tolist() == [[7], [8]]
    e[fastnn.tensor([0]), 0] = 3.0
    assert base.tolist() == [[3], [8]]


def test_fill_sets_the_shared_value():
    base = fastnn.zeros(1)
    base.expand(3).fill_(2)
    assert base.tolist() == [2]


@pytest.mark.parametrize("write", [
    lambda e: e.__setitem__(1, fastnn.ones(3)),
    lambda e: e.add_(1),
])
def test_overlapping_targets_are_refused(write):
    base = fastnn.zeros(4, 1)
    with pytest.raises(RuntimeError, match=OVERLAP):
        write(base.expand(4, 3))
    assert base.tolist() == [[0]] * 4


def test_read_only_numpy_memory_is_shared_as_in_pytorch():
    # PyTorch warns (once) and shares the memory: writes through the tensor reach the array
    arr = np.zeros(3, np.float32)
    arr.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = fastnn.from_numpy(arr)
    t[0] = 1.0
    assert arr.tolist() == [1, 0, 0] and not arr.flags.writeable


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    got = []
    for lib in (fastnn, torch):
        base = lib.arange(6.0).reshape(2, 3)[:, :1]
        e = base.expand(2, 4)
        e[1, 2] = 9.0
        got.append(np.asarray(base.tolist()))
    np.testing.assert_array_equal(got[0], got[1])
