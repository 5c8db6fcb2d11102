"""The GPU kernels at the sizes real models use: products that span many tiles and blocks, rows
longer than a block, reductions over millions of elements, MNIST-sized training runs. On the
simulator these would take minutes, so they run only on a real device; the other tests in this
folder cover the same kernels at tiny shapes everywhere.

Float32 on the GPU sums in another order than the CPU, so results are compared by relative
norm error, which float32 keeps far below 1e-5 for these sizes.
"""
import numpy as np
import pytest

pytest.importorskip("numba", exc_type=ImportError)

import fastnn  # noqa: E402
import fastnn.nn as nn  # noqa: E402
import fastnn.nn.functional as F  # noqa: E402

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(fastnn.cuda.is_simulator(),
                                 reason="real-size shapes take minutes on the simulator")]


def rel_err(gpu, cpu):
    g = gpu.detach().cpu().numpy().astype(np.float64)
    c = cpu.detach().numpy().astype(np.float64)
    assert g.shape == c.shape and np.isfinite(g).all()
    return np.linalg.norm(g - c) / max(np.linalg.norm(c), 1e-30)


def leaves(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for shape in shapes:
        a = rng.standard_normal(shape).astype(np.float32)
        out.append((fastnn.tensor(a, requires_grad=True),
                    fastnn.tensor(a).cuda().requires_grad_()))
    return out


def same_on_both(fn, pairs, tol=1e-5):
    cpu = fn(*[c for c, _ in pairs])
    gpu = fn(*[g for _, g in pairs])
    assert gpu.is_cuda and rel_err(gpu, cpu) < tol
    w = np.random.default_rng(7).standard_normal(tuple(cpu.shape)).astype(np.float32)
    (cpu * fastnn.tensor(w)).sum().backward()
    (gpu * fastnn.tensor(w).cuda()).sum().backward()
    for c, g in pairs:
        assert g.grad.is_cuda and rel_err(g.grad, c.grad) < tol


# the last size is large enough that forward and both gradients take the register-blocked
# kernel, with partial 64 x 64 tiles on every edge
@pytest.mark.parametrize("n,k,m", [(257, 1000, 333), (128, 784, 512), (1, 4099, 3),
                                   (600, 1100, 1000)])
def test_linear_spanning_many_tiles(n, k, m):
    same_on_both(F.linear, leaves((n, k), (m, k), (m,)))


def test_register_blocked_gemm_matches_the_tiled_one_at_size():
    from fastnn.cuda import kernels_gemm
    from fastnn.cuda._array import from_host
    rng = np.random.default_rng(5)
    a = from_host(rng.standard_normal((3, 300, 517)).astype(np.float32))
    b = from_host(rng.standard_normal((3, 290, 517)).astype(np.float32)).transpose(0, 2, 1)
    outs = []
    for blocked in (False, True):
        out = from_host(np.zeros((3, 300, 290), np.float32))
        kernels_gemm.gemm(a, b, out, tiled=True, blocked=blocked)
        outs.append(out.copy_to_host())
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    want = a.copy_to_host() @ b.copy_to_host()
    assert np.linalg.norm(outs[1] - want) / np.linalg.norm(want) < 1e-5


# the weight gradients here are long, narrow products that run split over K
@pytest.mark.parametrize("x_shape,w_shape", [((64, 6, 14, 14), (16, 6, 5, 5)),
                                             ((128, 1, 28, 28), (20, 1, 5, 5))])
def test_conv_and_pool_at_lenet_sizes(x_shape, w_shape):
    pairs = leaves(x_shape, w_shape, (w_shape[0],))
    same_on_both(lambda x, w, b: F.max_pool2d(F.relu(F.conv2d(x, w, b)), 2), pairs)
    same_on_both(lambda x: F.avg_pool2d(x, 2), leaves((64, 6, 28, 28), seed=1))


@pytest.mark.parametrize("classes", [10, 5000])
def test_cross_entropy_with_rows_longer_than_a_block(classes):
    (xc, xg), = leaves((300, classes))
    y = np.random.default_rng(2).integers(0, classes, 300)
    yc, yg = fastnn.tensor(y), fastnn.tensor(y).cuda()
    lc, lg = F.cross_entropy(xc, yc), F.cross_entropy(xg, yg)
    assert abs(lg.item() - lc.item()) < 1e-5 * abs(lc.item())
    lc.backward()
    lg.backward()
    assert rel_err(xg.grad, xc.grad) < 1e-5
    assert rel_err(F.softmax(xg, dim=1), F.softmax(xc, dim=1)) < 1e-5


def test_reductions_over_millions_of_elements():
    (c, g), = leaves((1_000_003,))
    assert rel_err(g.sum(), c.sum().to(fastnn.float32)) < 1e-5
    assert rel_err(g.abs().mean(), c.abs().mean()) < 1e-5
    (c2, g2), = leaves((3000, 517), seed=3)
    for dim in (0, 1):
        assert rel_err(g2.sum(dim), c2.sum(dim)) < 1e-5
        assert rel_err(g2.amax(dim), c2.amax(dim)) == 0
    assert g2.argmax().item() == c2.argmax().item()


def test_dropout_keeps_the_expected_fraction():
    x = fastnn.ones(4_000_000, device="cuda")
    kept = (F.dropout(x, 0.3, training=True) != 0).float().mean().item()
    assert abs(kept - 0.7) < 2e-3


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_optimizer_arena_over_millions_of_parameters(opt):
    def run(device):
        fastnn.manual_seed(0)
        model = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)).to(device)
        optim = (fastnn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
                 if opt == "sgd" else fastnn.optim.Adam(model.parameters(), lr=1e-3))
        x = fastnn.randn(64, 1024, generator=fastnn.Generator().manual_seed(1)).to(device)
        y = fastnn.tensor(np.arange(64) % 10).to(device)
        for _ in range(3):
            optim.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optim.step()
        return list(model.parameters())
    for pg, pc in zip(run("cuda"), run("cpu")):
        assert rel_err(pg, pc) < 1e-5


def mnist_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512),
                         nn.ReLU(), nn.Linear(512, 10))


def mnist_lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


@pytest.mark.parametrize("make,batch", [(mnist_mlp, 128), (mnist_lenet, 64)])
def test_mnist_models_train_like_the_cpu(make, batch):
    rng = np.random.default_rng(4)
    x = fastnn.tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = fastnn.tensor(rng.integers(0, 10, batch))

    def run(device):
        fastnn.manual_seed(0)
        model = make().to(device)
        optim = fastnn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        losses = []
        for _ in range(4):
            optim.zero_grad()
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
            loss.backward()
            optim.step()
            losses.append(loss.item())
        return losses, list(model.parameters())
    (lg, pg), (lc, pc) = run("cuda"), run("cpu")
    np.testing.assert_allclose(lg, lc, rtol=1e-4)
    assert lg[-1] < lg[0]
    for a, b in zip(pg, pc):
        assert rel_err(a, b) < 1e-4


@pytest.mark.parametrize("name", ["mnist_mlp", "mnist_lenet"])
def test_the_examples_train_on_the_gpu_as_on_the_cpu(name, tmp_path):
    """`--device cuda` on real digits: the same batches and initial weights as the CPU run,
    so the same losses up to float32 summation order."""
    import importlib.util
    from pathlib import Path
    from fastnn.datasets import mnist
    if mnist.find_mnist() is None:
        pytest.skip("MNIST t10k files not found; set FASTNN_DATA to their directory")
    path = Path(__file__).resolve().parents[2] / "examples" / f"{name}.py"
    runs = {}
    for device in ("cpu", "cuda"):
        spec = importlib.util.spec_from_file_location(f"_gpu_example_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        runs[device] = module.main(["--device", device, "--epochs", "2", "--limit", "1024",
                                    "--seed", "0", "--no-plot", "--no-progress",
                                    "--out-dir", str(tmp_path / device)])
    for cpu, gpu in zip(runs["cpu"], runs["cuda"]):
        assert gpu["train_loss"] == pytest.approx(cpu["train_loss"], rel=5e-3)
        assert abs(gpu["test_acc"] - cpu["test_acc"]) <= 3 / 1024
    assert runs["cuda"][-1]["test_acc"] > 0.6  # 0.80 (MLP) and 0.74 (LeNet) on the CPU
