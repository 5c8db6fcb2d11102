"""The planned kernel launch packs arguments exactly as numba-cuda does: the packer against
numba's own marshalling (tests/cuda/launch_plan_check.py, run without the simulator, which
has no marshalling), and launch() under the simulator, where it is numba's plain launch."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba", exc_type=ImportError)
pytestmark = pytest.mark.cuda
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def test_packer_matches_numbas_marshalling():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, os.path.join(HERE, "launch_plan_check.py")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 failed" in r.stdout


def test_planned_launches_compute_what_numbas_launches_do():
    import fastnn
    from fastnn.cuda import _launch
    _launch._plans.clear()  # plans are rebuilt on the next launch of each overload
    x = fastnn.randn(5, 7, device="cuda")
    w = fastnn.randn(3, 7, device="cuda")
    b = fastnn.randn(3, device="cuda")
    got = fastnn.nn.functional.linear(x, w, b).relu().sum().item()
    want = np.maximum(x.cpu().numpy() @ w.cpu().numpy().T + b.cpu().numpy(), 0).sum()
    assert got == pytest.approx(float(want), rel=1e-5)
    if not fastnn.cuda.is_simulator():
        # every overload this used got a plan that matched numba's marshalling
        assert _launch._plans and all(p is not None for p in _launch._plans.values())


_TRAIN = """
import fastnn, numpy as np
fastnn.manual_seed(0)
m = fastnn.nn.Sequential(fastnn.nn.Linear(6, 5), fastnn.nn.ReLU(), fastnn.nn.Linear(5, 3)).cuda()
opt = fastnn.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
x = fastnn.randn(4, 6).cuda()
y = fastnn.tensor([0, 2, 1, 2]).cuda()
for _ in range(3):
    opt.zero_grad()
    loss = fastnn.nn.functional.cross_entropy(m(x), y)
    loss.backward()
    opt.step()
    print(repr(loss.item()))
print(repr(float(m[0].weight.sum().item())))
from fastnn.cuda import _launch
print("planned" if _launch._plans else "numba")
"""


def test_training_is_bitwise_the_same_with_and_without_plans(tmp_path):
    import fastnn
    # the fastnn this test imported (an install, or a checkout built in place), not the
    # source tree that `python -c` would find first in the working directory
    home = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    outs = {}
    for mode in ("0", "1"):
        env = dict(os.environ, FASTNN_CUDA_PLANNED_LAUNCH=mode)
        env["PYTHONPATH"] = home + os.pathsep + env.get("PYTHONPATH", "")
        r = subprocess.run([sys.executable, "-c", _TRAIN], capture_output=True, text=True,
                           env=env, timeout=300, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        outs[mode] = r.stdout.split()
    assert outs["0"][:-1] == outs["1"][:-1]
    assert outs["0"][-1] == "numba"
    assert outs["1"][-1] == ("numba" if fastnn.cuda.is_simulator() else "planned")
