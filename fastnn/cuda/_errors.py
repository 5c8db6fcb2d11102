"""The CUDA backend's error, in a module that imports without numba.

``_backend`` fails to import when numba is missing, and Python forgets a module whose import
failed: a class defined there would be a new class on every attempt, so ``except`` clauses
holding the first one would miss the second raise.
"""

INSTALL_HINT = ("Install the GPU extras with `pip install fastnn[cuda]` (numba and numba-cuda) "
                "on a machine with an NVIDIA GPU and driver.")


class CudaUnavailableError(RuntimeError, AssertionError):
    """CUDA was requested but numba or a GPU is missing (PyTorch raises AssertionError or
    RuntimeError here, so this is both)."""
