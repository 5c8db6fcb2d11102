"""Build script for fastnn's compiled core (fastnn/_core.pyx).

Environment switches:
  FASTNN_DEBUG=1      bounds checking on, -O0 -g, for use under gdb/valgrind.
  FASTNN_NO_OPENMP=1  skip OpenMP even where the compiler supports it.
"""
import contextlib
import os
import shutil
import sys
import tempfile

import numpy as np
from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("FASTNN_DEBUG", "") == "1"
NO_OPENMP = os.environ.get("FASTNN_NO_OPENMP", "") == "1"

_OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return (n > 0 && omp_get_max_threads() > 0) ? 0 : 1;
}
"""


@contextlib.contextmanager
def _silenced():
    """Hide the compiler's complaints while probing: a failed probe is expected, not an error."""
    saved = [os.dup(1), os.dup(2)]
    sys.stdout.flush()
    sys.stderr.flush()
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _openmp_flags(compiler):
    if compiler.compiler_type == "msvc":
        return ["/openmp"], []
    return ["-fopenmp"], ["-fopenmp"]


def _probe_openmp(compiler):
    """True when the compiler can both compile and link an OpenMP program."""
    return _compiles(compiler, _OPENMP_PROBE, "omp_probe", *_openmp_flags(compiler))


_GCC_PROBE = """
#if defined(__clang__) || !defined(__GNUC__)
#error not GCC
#endif
int fastnn_probe;
"""

# GCC: -O2 plus the -O3 loop passes the kernels use (vectorization with the dynamic cost
# model, unswitching, peeling, versioning for strides, loop distribution...), without -O3's
# larger inlining budget and without debug info. The MLP and LeNet steps and the SGD,
# bias/ReLU, column-sum and im2col kernels measured the same as at -O3 within the machine's
# noise; the compile took 15 s instead of 26 s, which keeps the README's first command
# (install and train) under a minute on 2 cores.
_GCC_FAST_BUILD = ["-O2", "-g0", "-ftree-vectorize", "-fvect-cost-model=dynamic",
                   "-funswitch-loops", "-fpeel-loops", "-fversion-loops-for-strides",
                   "-fpredictive-commoning", "-fsplit-loops", "-fsplit-paths",
                   "-fgcse-after-reload", "-fipa-cp-clone", "-floop-interchange",
                   "-floop-unroll-and-jam", "-ftree-loop-distribution", "-ftree-partial-pre"]


def _compiles(compiler, source, name, cflags=None, lflags=None):
    """True when ``source`` compiles (and, given ``lflags``, links into a program)."""
    tmp = tempfile.mkdtemp(prefix="fastnn-probe-")
    try:
        src = os.path.join(tmp, name + ".c")
        with open(src, "w") as f:
            f.write(source)
        with _silenced():
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
            if lflags is not None:
                compiler.link_executable(objs, name, output_dir=tmp, extra_postargs=lflags)
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def build_extensions(self):
        # Cython runs here, when the extension is built, not when this script loads: pip
        # also runs it to ask for requirements and metadata, and each time Cython scanned
        # the .pyx and everything it includes and cimports, seconds of every install.
        # (the objects stay: setuptools has attached its own attributes to them)
        for ext, generated in zip(self.extensions, _cythonize(self.extensions)):
            ext.sources = generated.sources
        if not DEBUG and self.compiler.compiler_type == "unix" and \
                _compiles(self.compiler, _GCC_PROBE, "gcc_probe"):
            for ext in self.extensions:
                ext.extra_compile_args = [a for a in ext.extra_compile_args or [] if a != "-O3"]
                ext.extra_compile_args += _GCC_FAST_BUILD
        use_omp = False
        if NO_OPENMP:
            print("fastnn: OpenMP disabled by FASTNN_NO_OPENMP=1; building serial kernels")
        else:
            use_omp = _probe_openmp(self.compiler)
            print("fastnn: OpenMP %s" % ("found; building parallel kernels" if use_omp
                                         else "not available; building serial kernels"))
        if use_omp:
            cflags, lflags = _openmp_flags(self.compiler)
            for ext in self.extensions:
                ext.extra_compile_args = list(ext.extra_compile_args or []) + cflags
                ext.extra_link_args = list(ext.extra_link_args or []) + lflags
        super().build_extensions()


def _extensions():
    numpy_dir = os.path.dirname(np.__file__)
    is_msvc = sys.platform == "win32"
    if is_msvc:
        compile_args = ["/Od", "/Zi"] if DEBUG else ["/O2"]
    else:
        compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
        # errno is never read, and setting it is what stops sqrt from vectorizing.
        compile_args.append("-fno-math-errno")
        # No fused multiply-add contraction: the kernels must round like the numpy reference
        # path step for step (tests hold them bit-equal), and on aarch64 GCC and clang would
        # otherwise fuse a*b + c into one rounding.
        compile_args.append("-ffp-contract=off")
    # numpy's random C distributions (ziggurat normal etc.) ship as static libraries.
    lib_dirs = [os.path.join(numpy_dir, "random", "lib"), os.path.join(numpy_dir, "_core", "lib")]
    return [Extension(
        "fastnn._core",
        ["fastnn/_core.pyx"],
        depends=["fastnn/_gemm_avx512.h", "fastnn/_gemm_avx512_body.h"],  # the C kernel
        include_dirs=[np.get_include(), "fastnn"],  # fastnn/_gemm_avx512.h
        library_dirs=[d for d in lib_dirs if os.path.isdir(d)],
        libraries=["npyrandom", "npymath"] + ([] if is_msvc else ["m"]),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
    )]


def _cythonize(extensions):
    from Cython.Build import cythonize
    directives = {
        "language_level": 3,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "cdivision": not DEBUG,
        "initializedcheck": DEBUG,
        "embedsignature": True,
    }
    # Separate C output per mode: cythonize only regenerates when the .pyx is newer,
    # so sharing one file would silently keep the other mode's directives.
    build_dir = os.path.join("build", "cython-debug" if DEBUG else "cython")
    return cythonize(extensions, compiler_directives=directives, build_dir=build_dir)


setup(
    packages=find_packages(include=["fastnn", "fastnn.*"]),
    ext_modules=_extensions(),
    cmdclass={"build_ext": BuildExt},
    zip_safe=False,
)
