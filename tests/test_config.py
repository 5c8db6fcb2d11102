"""fastnn.__config__: show() and parallel_info() name what fastnn was built with and what runs
its products and threads, as torch.__config__ does for PyTorch."""
import os
import subprocess
import sys

import fastnn
from fastnn import _core


def test_show_names_the_build_and_the_gemm_in_use():
    text = fastnn.__config__.show()
    assert text.startswith(f"fastnn {fastnn.__version__} built with:")
    assert "Cython core: yes" in text
    assert ("OpenMP: yes" in text) == _core.HAVE_OPENMP
    words = {"fastnn": "fastnn's own AVX-512 kernel", "mkl": "Intel MKL",
             "numpy": "numpy's BLAS"}
    assert "gemm: " + words[_core._blas_info()["name"]] in text
    assert ", ".join(_core._blas_backends()) in text


def test_show_follows_the_gemm_chosen_at_run_time():
    previous = _core._select_blas("numpy")
    try:
        assert "gemm: numpy's BLAS" in fastnn.__config__.show()
    finally:
        _core._select_blas(previous)


def test_parallel_info_gives_the_thread_count():
    previous = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(1)
        text = fastnn.__config__.parallel_info()
        assert "fastnn.get_num_threads() : 1" in text
        assert ("wait policy" in text) == _core.HAVE_OPENMP
    finally:
        fastnn.set_num_threads(previous)


def test_without_the_compiled_core():
    code = ('import sys; sys.modules["fastnn._core"] = None\n'
            'import fastnn; print(fastnn.__config__.show()); print(fastnn.__config__.parallel_info())')
    home = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=home)
    assert out.returncode == 0, out.stderr
    assert "Cython core: no" in out.stdout and "no compiled core" in out.stdout
    assert "OpenMP not in use" in out.stdout
