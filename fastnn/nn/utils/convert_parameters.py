"""Flattening parameters into one vector and back (``nn.utils.convert_parameters``)."""

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D tensor (a copy)."""
    from ... import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters`` (in place)."""
    from ...tensor import Tensor
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected fastnn.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.dim() != 1 or vec.numel() != total:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector of {total} elements "
                           f"(the parameters' total), got shape {list(vec.shape)}")
    start = 0
    for p in params:
        n = p.numel()
        # in place, so the parameters (and any optimizer views of them) stay the same objects
        p._data[...] = vec._data[start:start + n].reshape(p._data.shape)
        p._vc[0] += 1
        start += n
