"""fastnn.optim: PyTorch's optimizers and learning-rate schedulers.

SGD, Adam, AdamW, RMSprop and Adagrad pack each parameter group into one contiguous arena
and update it with a single fused call per group (``fused=False`` keeps PyTorch's
per-parameter algorithm, in numpy).
"""
from .optimizer import Optimizer  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .adadelta import Adadelta  # noqa: F401
from .adamax import Adamax  # noqa: F401
from .nadam import NAdam  # noqa: F401
from .radam import RAdam  # noqa: F401
from .asgd import ASGD  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .rprop import Rprop  # noqa: F401
from .adafactor import Adafactor  # noqa: F401
from .muon import Muon  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "ASGD", "LBFGS", "Rprop", "Adafactor", "Muon",
           "lr_scheduler", "swa_utils"]


def __getattr__(name):
    # swa_utils builds on fastnn.nn, which `import fastnn.optim` alone should not load
    if name == "swa_utils":
        import importlib
        return importlib.import_module(".swa_utils", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
