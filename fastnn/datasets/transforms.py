"""A few ``torchvision.transforms`` for fastnn tensors: Compose, ToTensor, Normalize, Lambda.

fastnn's image datasets already return float tensors of shape ``(C, H, W)`` scaled to
[0, 1] (there is no PIL image type here), so ``ToTensor`` passes such a tensor through and
the classic ``Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`` works unchanged.

``ToTensor`` and ``Normalize`` give the same result applied to a stacked batch
``(B, C, H, W)`` as to each image, and say so with ``_batchable = True``; a dataset whose
whole transform is batchable applies it once per batch instead of once per image. Any
other callable (``Lambda`` included) is applied per image.
"""
import numpy as np

from ..tensor import Tensor, _wrap

__all__ = ["Compose", "Lambda", "Normalize", "ToTensor"]


class Compose:
    """Apply ``transforms`` one after another."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    @property
    def _batchable(self):
        return all(getattr(t, "_batchable", False) for t in self.transforms)

    def __repr__(self):
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """An image as a float tensor ``(C, H, W)``; uint8 values are scaled to [0, 1].

    Accepts a numpy array (or anything exposing ``__array_interface__``, such as a PIL
    image) laid out ``(H, W)`` or ``(H, W, C)``, or a tensor already laid out ``(..., C, H,
    W)``, which is returned as it is unless it holds uint8 values.
    """

    _batchable = True

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            if pic.is_floating_point():
                return pic
            arr = pic._data
        else:
            if not isinstance(pic, np.ndarray) and not hasattr(pic, "__array_interface__"):
                raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
            arr = np.asarray(pic)
            if arr.ndim not in (2, 3):
                raise ValueError(f"pic should be 2/3 dimensional. Got {arr.ndim} dimensions.")
            arr = arr[:, :, None] if arr.ndim == 2 else arr
            arr = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if arr.dtype == np.uint8:
            return _wrap(arr.astype(np.float32) / np.float32(255))
        return _wrap(arr)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Normalize:
    """``(image - mean[c]) / std[c]`` for each channel ``c`` of a float tensor."""

    _batchable = True

    def __init__(self, mean, std, inplace=False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {tensor.size()}.")
        dt = tensor._data.dtype
        mean = np.asarray(self.mean, dtype=dt).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=dt).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading "
                             "to division by zero.")
        m, s = _wrap(mean), _wrap(std)
        if self.inplace:
            return tensor.sub_(m).div_(s)
        return (tensor - m) / s

    def __repr__(self):
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{type(self).__name__}()"
