"""DataLoader workers: per-worker random streams, batch-to-worker mapping, errors.

Each worker draws from its own default generator seeded ``base_seed + worker_id``, with
``base_seed`` drawn once per iterator, and batch ``i`` goes to worker ``i % num_workers``,
so a run is reproducible whatever the thread timing.
"""
import copy
import random
import threading
import time

import pytest

import fastnn
from fastnn.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info


class Aug(Dataset):
    """Each sample is a random draw plus where it was drawn."""

    def __init__(self, n=24, jitter=False, draw=True):
        self.n = n
        self.jitter = jitter
        self.draw = draw

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.jitter:  # perturb thread timing without touching fastnn's streams
            time.sleep(random.random() * 0.002)
        info = get_worker_info()
        if info is None:  # num_workers=0
            return (-1.0, i, -1, -1, True)
        return (fastnn.rand(1).item() if self.draw else -1.0, i, info.id, info.seed,
                fastnn.initial_seed() == info.seed)


def _run(seed=0, epochs=1, **kw):
    fastnn.manual_seed(seed)
    kw.setdefault("batch_size", 3)
    dl = DataLoader(kw.pop("ds", None) or Aug(jitter=kw.pop("jitter", False)), **kw)
    out = []
    for _ in range(epochs):
        out.append([[t.tolist() for t in b] for b in dl])
    return out, fastnn.rand(4).tolist()


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_same_seed_same_values_and_workers(workers, shuffle):
    a, after_a = _run(num_workers=workers, shuffle=shuffle, jitter=True)
    b, after_b = _run(num_workers=workers, shuffle=shuffle, jitter=True)
    assert a == b and after_a == after_b
    (epoch,) = a
    for i, (vals, idx, ids, seeds, own) in enumerate(epoch):
        assert ids == [i % workers] * len(ids)  # round-robin, returned in order
        assert all(own)  # initial_seed() in a worker is its WorkerInfo seed
        assert len(set(seeds)) == 1
    base = epoch[0][3][0]
    assert {b[2][0]: b[3][0] for b in epoch} == {w: base + w for w in range(workers)}
    c, _ = _run(seed=1, num_workers=workers, shuffle=shuffle)
    assert c != a


@pytest.mark.parametrize("workers", [1, 3])
def test_worker_stream_is_a_generator_seeded_with_its_seed(workers):
    (epoch,), _ = _run(num_workers=workers)
    drawn = {}
    for vals, idx, ids, seeds, own in epoch:
        drawn.setdefault((ids[0], seeds[0]), []).extend(vals)
    for (w, seed), vals in drawn.items():
        g = fastnn.Generator().manual_seed(seed)
        expect = [fastnn.rand(1, generator=g).item() for _ in vals]
        assert vals == expect


def test_shuffle_order_and_main_stream_do_not_depend_on_workers():
    runs = [_run(num_workers=w, shuffle=True, epochs=2, ds=Aug(draw=False))
            for w in (0, 1, 2, 3)]
    order = [[idx for b in ep for idx in b[1]] for ep in runs[0][0]]
    for out, after in runs[1:]:
        assert [[idx for b in ep for idx in b[1]] for ep in out] == order
        assert after == runs[0][1]  # one draw per iterator, with or without workers
    assert order[0] != order[1]


def test_each_epoch_draws_a_new_base_seed():
    (e1, e2), _ = _run(num_workers=2, epochs=2)
    assert e1[0][3][0] != e2[0][3][0]
    assert [b[0] for b in e1] != [b[0] for b in e2]


def test_worker_info_fields():
    seen = []

    class Probe(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            seen.append((get_worker_info(), fastnn.initial_seed()))
            return i

    ds = Probe()
    list(DataLoader(ds, batch_size=2, num_workers=3))
    assert get_worker_info() is None
    infos = {info.id: info for info, _ in seen}
    assert sorted(infos) == [0, 1, 2]
    base = infos[0].seed
    for w, info in infos.items():
        assert info.num_workers == 3 and info.dataset is ds and info.seed == base + w
    assert all(seed == info.seed for info, seed in seen)
    assert "WorkerInfo(id=" in repr(infos[0])


def test_worker_init_fn_sees_its_stream():
    got = {}

    def init(w):
        info = get_worker_info()
        got[w] = (info.id, fastnn.initial_seed() == info.seed)

    list(DataLoader(Aug(6), batch_size=2, num_workers=3, worker_init_fn=init))
    assert got == {0: (0, True), 1: (1, True), 2: (2, True)}


def test_main_stream_is_untouched_by_workers_while_they_run():
    """The main thread draws while workers draw: neither stream sees the other."""
    def run(jitter):
        fastnn.manual_seed(5)
        main, work = [], []
        for b in DataLoader(Aug(40, jitter=jitter), batch_size=2, num_workers=3):
            main.append(fastnn.rand(2).tolist())
            work.append(b[0].tolist())
        return main, work

    a, b = run(False), run(True)
    assert a == b
    fastnn.manual_seed(5)
    fastnn.utils.data.dataloader._draw_base_seed(DataLoader(Aug()))
    assert a[0] == [fastnn.rand(2).tolist() for _ in a[0]]


def test_generator_argument():
    def run():
        fastnn.manual_seed(0)
        g = fastnn.Generator().manual_seed(7)
        dl = DataLoader(Aug(), batch_size=3, num_workers=2, shuffle=True, generator=g)
        return [[t.tolist() for t in b] for b in dl], fastnn.rand(3).tolist()

    a, after = run()
    assert run() == (a, after)
    fastnn.manual_seed(0)
    assert after == fastnn.rand(3).tolist()  # base seed and order come from ``g`` only
    g = fastnn.Generator().manual_seed(7)
    assert a[0][3][0] == int(g.np.integers(0, 1 << 63))  # drawn before the permutation
    assert [i for b in a for i in b[1]] == g.np.permutation(24).tolist()


def test_persistent_workers_keep_their_streams():
    inits = []

    def run():
        inits.clear()
        fastnn.manual_seed(0)
        dl = DataLoader(Aug(12), batch_size=2, num_workers=2, persistent_workers=True,
                        shuffle=True, worker_init_fn=inits.append)
        epochs = []
        for _ in range(3):
            epochs.append([[t.tolist() for t in b] for b in dl])
            it = dl._iterator
        it2 = iter(dl)
        next(it2)  # an epoch abandoned mid-way
        epochs.append([[t.tolist() for t in b] for b in dl])
        assert it2 is it and iter(dl) is it
        return epochs, fastnn.rand(2).tolist()

    a, after = run()
    assert sorted(inits) == [0, 1]  # workers started once
    assert run() == (a, after)
    seeds = {b[3][0] for ep in a for b in ep}
    assert len(seeds) == 2  # one base seed for the loader's lifetime
    assert [b[0] for b in a[0]] != [b[0] for b in a[1]]  # streams go on between epochs
    for ep in a:
        assert [b[2][0] for b in ep] == [i % 2 for i in range(6)]


def test_persistent_single_base_seed_draw():
    def after(persistent, epochs):
        fastnn.manual_seed(3)
        dl = DataLoader(Aug(6), batch_size=2, num_workers=2, persistent_workers=persistent)
        for _ in range(epochs):
            list(dl)
        return fastnn.rand(2).tolist()

    assert after(True, 3) == after(False, 1)
    assert after(False, 3) != after(False, 1)


class Broken(Dataset):
    def __init__(self, exc):
        self.exc = exc

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            raise self.exc
        return i


def test_worker_exception_is_raised_with_worker_and_traceback():
    it = iter(DataLoader(Broken(ValueError("bad sample 3")), batch_size=2, num_workers=2))
    assert next(it).tolist() == [0, 1]
    with pytest.raises(ValueError) as e:
        next(it)
    msg = str(e.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 1.\n"
                          "Original Traceback (most recent call last):\n")
    assert "raise self.exc" in msg and msg.rstrip().endswith("ValueError: bad sample 3")
    assert [b.tolist() for b in it] == [[4, 5], [6, 7]]  # goes on, as PyTorch's does


def test_worker_exception_types():
    with pytest.raises(KeyError) as e:
        list(DataLoader(Broken(KeyError("k")), batch_size=4, num_workers=1))
    assert str(e.value).startswith("Caught KeyError in DataLoader worker process 0.\nOriginal")

    class TwoArgs(Exception):
        def __init__(self, a, b):
            super().__init__(a, b)

    with pytest.raises(RuntimeError, match="Caught TwoArgs in DataLoader worker process 0"):
        list(DataLoader(Broken(TwoArgs(1, 2)), batch_size=4, num_workers=1))


def test_worker_init_fn_exception():
    def init(w):
        if w == 1:
            raise OSError("no such file")

    it = iter(DataLoader(Aug(12), batch_size=2, num_workers=2, worker_init_fn=init))
    next(it)
    for _ in range(2):  # every batch of worker 1 fails, the others arrive
        with pytest.raises(OSError, match="Caught OSError in DataLoader worker process 1"):
            next(it)
        assert get_worker_info() is None and next(it)[2].tolist() == [0, 0]


class RandStream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        for _ in range(4):
            yield (fastnn.rand(1).item(), info.id, fastnn.initial_seed() == info.seed)


def test_iterable_dataset_workers_have_their_own_streams():
    def run():
        fastnn.manual_seed(0)
        out = [[t.tolist() for t in b] for b in DataLoader(RandStream(), batch_size=2,
                                                            num_workers=2)]
        return out, fastnn.rand(2).tolist()

    a, after = run()
    assert run() == (a, after)
    assert [b[1][0] for b in a] == [0, 1, 0, 1]
    assert all(all(b[2]) for b in a)
    assert a[0][0] != a[1][0]  # the two workers draw different numbers
    fastnn.manual_seed(0)
    list(DataLoader(Aug(4), batch_size=2))  # a loader that only draws its base seed
    assert after == fastnn.rand(2).tolist()


def test_num_workers_zero_draws_from_main_stream():
    class Plain(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            assert get_worker_info() is None
            return fastnn.rand(1).item()

    fastnn.manual_seed(0)
    got = [b.tolist() for b in DataLoader(Plain(), batch_size=2)]
    fastnn.manual_seed(0)
    fastnn.utils.data.dataloader._draw_base_seed(DataLoader(Plain()))
    assert got == [fastnn.rand(2).tolist() for _ in range(2)]


def test_default_generator_api_after_workers_ran():
    list(DataLoader(Aug(4), batch_size=2, num_workers=2))
    g = fastnn.default_generator
    assert isinstance(g, fastnn.Generator) and type(g).__name__ == "Generator"
    fastnn.manual_seed(11)
    assert fastnn.initial_seed() == 11 and g.initial_seed() == 11
    state = fastnn.get_rng_state()
    x = fastnn.rand(3).tolist()
    fastnn.set_rng_state(state)
    assert fastnn.rand(3).tolist() == x
    c = copy.deepcopy(g)
    assert type(c) is fastnn.Generator and c.initial_seed() == 11
    assert fastnn.rand(2, generator=c).tolist() == fastnn.rand(2).tolist()
    # a thread that is not a worker shares the main stream, as before
    fastnn.manual_seed(4)
    box = []
    t = threading.Thread(target=lambda: box.append(fastnn.rand(2).tolist()))
    t.start()
    t.join()
    fastnn.manual_seed(4)
    assert box == [fastnn.rand(2).tolist()]


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_matches_pytorch_worker_mapping_and_error_text():
    torch = pytest.importorskip("torch")

    def mapping(m):
        class DS(m.utils.data.Dataset):
            def __len__(self):
                return 10

            def __getitem__(self, i):
                wi = m.utils.data.get_worker_info()
                if i == 9:
                    raise ValueError("nine")
                return wi.id, m.initial_seed() == wi.seed

        m.manual_seed(0)
        ids, msg = [], None
        try:
            for w, same in m.utils.data.DataLoader(DS(), batch_size=2, num_workers=3):
                assert bool(same.all())
                ids.append(w.tolist())
        except ValueError as e:
            msg = str(e).splitlines()[:2]
        return ids, msg

    assert mapping(fastnn) == mapping(torch)


def test_iterable_worker_errors():
    class Flaky(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            for k in range(3):
                if info.id == 1 and k == 1:
                    raise ValueError("flaky")
                yield info.id * 10 + k

    def init(w):
        if w == 2:
            raise OSError("init")

    it = iter(DataLoader(Flaky(), batch_size=None, num_workers=3, worker_init_fn=init))
    got = []
    while True:
        try:
            got.append(int(next(it)))
        except StopIteration:
            break
        except (ValueError, OSError) as e:
            got.append(str(e).splitlines()[0])
    assert got == [0, 10, "Caught OSError in DataLoader worker process 2.", 1,
                   "Caught ValueError in DataLoader worker process 1.", 2]
