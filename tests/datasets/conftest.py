"""Fixtures shared by the MNIST tests: the shipped files, and no outside network."""
import pytest

from fastnn.datasets import mnist

IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"


@pytest.fixture(scope="session")
def shipped():
    """The directory holding the gzipped t10k files that ship beside the repository."""
    directory = mnist.find_mnist()
    if directory is None:
        pytest.skip(
            "MNIST t10k files not found (searched: "
            + ", ".join(str(r) for r in mnist.data_roots())
            + "); set FASTNN_DATA to the directory holding them"
        )
    for name in (IMAGES, LABELS):
        if not (directory / name).is_file():
            pytest.skip(f"{directory} holds MNIST only un-gzipped; these tests need {name}")
    return directory


@pytest.fixture(autouse=True)
def no_outside_network(monkeypatch):
    # Any download a test forgets to point at the local server fails at once (port 9 is
    # "discard", closed on test machines) instead of reaching the internet.
    monkeypatch.setattr(mnist, "DEFAULT_MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.delenv(mnist.MIRRORS_ENV, raising=False)
