"""Neural-network layers, losses and helpers, as ``torch.nn``."""

from . import functional, init, utils
from .modules import *  # noqa: F403
from .modules import Module
from .parameter import Buffer, Parameter

__all__ = ["Buffer", "Module", "Parameter", "functional", "init", "utils"]
