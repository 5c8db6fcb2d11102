"""State of the scaled-dot-product-attention backend switches.

fastnn has one attention implementation on the CPU. The switches are kept so that code
choosing kernels runs unchanged: ``scaled_dot_product_attention`` runs whenever the math or
the flash switch is on (both stand for fastnn's kernel) and raises, as PyTorch does on the
CPU, when only the CUDA-only kernels (mem-efficient, cuDNN, overrideable) are left on.
"""
import contextlib
import warnings


class _SdpFlags:
    flash = True
    mem_efficient = True
    math = True
    cudnn = True
    overrideable = True
    # kernel order used when set_priority is given; recorded only, one kernel runs anyway
    priority = None


flags = _SdpFlags()


def cpu_kernel_enabled():
    """Whether some switch that fastnn's CPU attention kernel honours is on."""
    return flags.math or flags.flash


def _setter(name, attr):
    def enable(enabled):
        if not isinstance(enabled, bool):
            raise RuntimeError(f"set_sdp_use_{attr} expects a bool, but got "
                               f"{type(enabled).__name__}")
        setattr(flags, attr, enabled)
    enable.__name__ = name
    enable.__doc__ = f"Turn the {attr} attention switch on or off (state only in fastnn)."
    return enable


def _getter(name, attr):
    def enabled():
        return getattr(flags, attr)
    enabled.__name__ = name
    enabled.__doc__ = f"Whether the {attr} attention switch is on."
    return enabled


flash_sdp_enabled = _getter("flash_sdp_enabled", "flash")
enable_flash_sdp = _setter("enable_flash_sdp", "flash")
mem_efficient_sdp_enabled = _getter("mem_efficient_sdp_enabled", "mem_efficient")
enable_mem_efficient_sdp = _setter("enable_mem_efficient_sdp", "mem_efficient")
math_sdp_enabled = _getter("math_sdp_enabled", "math")
enable_math_sdp = _setter("enable_math_sdp", "math")
cudnn_sdp_enabled = _getter("cudnn_sdp_enabled", "cudnn")
enable_cudnn_sdp = _setter("enable_cudnn_sdp", "cudnn")


def is_flash_attention_available():
    """False: fastnn has no CUDA flash-attention kernel."""
    return False


def snapshot():
    return (flags.flash, flags.mem_efficient, flags.math, flags.cudnn, flags.overrideable,
            flags.priority)


def restore(state):
    (flags.flash, flags.mem_efficient, flags.math, flags.cudnn, flags.overrideable,
     flags.priority) = state


def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
               enable_cudnn=True):
    """Deprecated: set the four switches for the ``with`` block, then restore them."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this "
                  "context manager will be removed. Please see "
                  "`torch.nn.attention.sdpa_kernel()` for the new context manager, with "
                  "updated signature.", FutureWarning, stacklevel=2)
    return _switches(enable_flash, enable_math, enable_mem_efficient, enable_cudnn)


@contextlib.contextmanager
def _switches(enable_flash, enable_math, enable_mem_efficient, enable_cudnn):
    saved = snapshot()
    try:
        enable_flash_sdp(enable_flash)
        enable_math_sdp(enable_math)
        enable_mem_efficient_sdp(enable_mem_efficient)
        enable_cudnn_sdp(enable_cudnn)
        yield {}
    finally:
        restore(saved)
