"""A small stand-in for torchvision: ``import nbtorch.vision as torchvision`` gives
``torchvision.datasets`` (MNIST, FashionMNIST, CIFAR10), ``torchvision.transforms`` and
``torchvision.utils`` (make_grid, save_image), plus offline toy datasets in ``toy``."""

from . import datasets, toy, transforms, utils

__all__ = ["datasets", "toy", "transforms", "utils"]
