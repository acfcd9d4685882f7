"""Dropout layers: active in training mode, the identity in eval mode."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; in eval mode, return the input unchanged.

    >>> import nbtorch as torch
    >>> drop = torch.nn.Dropout(p=0.5)
    >>> drop
    Dropout(p=0.5, inplace=False)
    >>> x = torch.ones(4)
    >>> drop.eval()(x) is x
    True
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs in training.

    >>> import nbtorch as torch
    >>> torch.nn.Dropout1d(0.2)
    Dropout1d(p=0.2, inplace=False)
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels (feature maps) of (N, C, H, W) inputs in training.

    >>> import nbtorch as torch
    >>> torch.nn.Dropout2d(0.2, inplace=True)
    Dropout2d(p=0.2, inplace=True)
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs in training.

    >>> import nbtorch as torch
    >>> torch.nn.Dropout3d()
    Dropout3d(p=0.5, inplace=False)
    """

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks (keeps zero mean and unit variance).

    >>> import nbtorch as torch
    >>> torch.nn.AlphaDropout(0.1)
    AlphaDropout(p=0.1, inplace=False)
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels.

    >>> import nbtorch as torch
    >>> torch.nn.FeatureAlphaDropout(0.1)
    FeatureAlphaDropout(p=0.1, inplace=False)
    """

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
