"""Spectral normalisation in hook form: ``weight = weight_orig / sigma(weight_orig)``.

``spectral_norm(module)`` renames the parameter ``weight`` to ``weight_orig`` and adds two
buffers, ``weight_u`` and ``weight_v``: running estimates of the leading left and right
singular vectors. In training mode a forward pre-hook refines them by power iteration (in
place, outside autograd) before every call; ``sigma = u . (W v)`` then divides the weight,
and the gradient reaches ``weight_orig`` through ``sigma`` as well. In eval mode the stored
vectors are used unchanged, so inference is deterministic.
"""
from ... import _creation
from ...autograd.grad_mode import no_grad
from .. import functional as F
from ..modules._hooks import refresh_module
from ..parameter import Parameter

__all__ = ["SpectralNorm", "SpectralNormStateDictHook", "spectral_norm",
           "remove_spectral_norm"]


def _first_key(hooks, wanted):
    """The key of the first hook in ``hooks`` for which ``wanted(hook)`` holds, or None."""
    return next((key for key, hook in hooks.items() if wanted(hook)), None)


class SpectralNorm:
    """The forward pre-hook that rescales ``module.<name>`` by its estimated spectral norm."""
    _version = 1

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.dim, self.eps = name, dim, eps
        self.n_power_iterations = n_power_iterations

    def reshape_weight_to_matrix(self, weight):
        """The weight as a matrix whose rows run along ``dim``."""
        if self.dim != 0:
            order = [self.dim] + [axis for axis in range(weight.dim()) if axis != self.dim]
            weight = weight.permute(*order)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        stem = self.name
        original = getattr(module, f"{stem}_orig")
        left, right = getattr(module, f"{stem}_u"), getattr(module, f"{stem}_v")
        matrix = self.reshape_weight_to_matrix(original)
        if do_power_iteration:
            with no_grad():
                steps = self.n_power_iterations
                while steps:
                    # out= writes into the buffers, so the module keeps the refined vectors
                    right = F.normalize(matrix.t().mv(left), dim=0, eps=self.eps, out=right)
                    left = F.normalize(matrix.mv(right), dim=0, eps=self.eps, out=left)
                    steps -= 1
                # snapshots: the next forward's in-place refinement must not change the
                # values this forward's graph was built from
                left, right = left.clone(), right.clone()
        sigma = left.dot(matrix.mv(right))
        return original / sigma

    def remove(self, module):
        """Freeze the current normalised weight into a plain parameter named ``<name>``."""
        with no_grad():
            frozen = self.compute_weight(module, do_power_iteration=False)
        for attr in (self.name, f"{self.name}_u", f"{self.name}_v", f"{self.name}_orig"):
            delattr(module, attr)
        module.register_parameter(self.name, Parameter(frozen.detach()))

    def __call__(self, module, inputs):
        refine = module.training
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=refine))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        taken = _first_key(module._forward_pre_hooks,
                           lambda h: isinstance(h, SpectralNorm) and h.name == name)
        if taken is not None:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same "
                               f"parameter {name}")
        hook = SpectralNorm(name, n_power_iterations, dim, eps)
        trained = module._parameters[name]
        if trained is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")

        def random_unit(size):
            start = _creation.empty(size, dtype=trained.dtype).normal_(0, 1)
            return F.normalize(start, dim=0, eps=hook.eps)

        with no_grad():
            rows, cols = hook.reshape_weight_to_matrix(trained).shape
            u0 = random_unit(rows)  # drawn before v, as PyTorch draws them
            v0 = random_unit(cols)
        # the trainable tensor moves to <name>_orig; <name> becomes a plain attribute that
        # the hook overwrites before every forward
        delattr(module, name)
        module.register_parameter(f"{name}_orig", trained)
        setattr(module, name, trained.detach())
        module.register_buffer(f"{name}_u", u0)
        module.register_buffer(f"{name}_v", v0)
        module.register_forward_pre_hook(hook)
        module._register_state_dict_hook(SpectralNormStateDictHook(hook))
        return hook


class SpectralNormStateDictHook:
    """Stamps the spectral-norm format version into the state dict's metadata, so a loader
    can tell which layout of ``<name>_orig/_u/_v`` it is reading."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, module, state_dict, prefix, local_metadata):
        stored = getattr(state_dict, "_metadata", None)
        if stored is None:
            return
        versions = stored.setdefault(prefix[:-1], {}).setdefault("spectral_norm", {})
        key = f"{self.fn.name}.version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.fn._version


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its largest singular value, estimated by power iteration.

    ``dim`` is the dimension that becomes the matrix rows (default 0, or 1 for transposed
    convolutions, whose output channels sit in dim 1). Returns the module.
    """
    if dim is None:
        from ..modules.conv import _ConvTransposeNd
        dim = int(isinstance(module, _ConvTransposeNd))
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo ``spectral_norm``: ``<name>`` becomes a plain parameter again. Returns the module."""
    pre_hooks = module._forward_pre_hooks
    key = _first_key(pre_hooks, lambda h: isinstance(h, SpectralNorm) and h.name == name)
    if key is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    pre_hooks[key].remove(module)
    del pre_hooks[key]
    refresh_module(module)
    sd_hooks = module._state_dict_hooks
    key = _first_key(sd_hooks,
                     lambda h: isinstance(h, SpectralNormStateDictHook) and h.fn.name == name)
    if key is not None:
        del sd_hooks[key]
    return module
