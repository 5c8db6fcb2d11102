"""DataParallel: a wrapper that runs the wrapped module unchanged.

fastnn computes on one device, so there are no replicas to split a batch across: the
wrapper only keeps the ``module.`` prefix in state_dict keys and the ``.module`` attribute
that training scripts written for several GPUs rely on.
"""
from ..modules.module import Module


class DataParallel(Module):
    """Calls ``module`` directly with the given inputs.

    ``device_ids``, ``output_device`` and ``dim`` are accepted for compatibility and not
    used: even where fastnn has a CUDA device, the module runs on the one device that holds
    its parameters, with the whole batch. ``device_ids`` reads as an empty list, as for a
    model that is not spread over devices.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
