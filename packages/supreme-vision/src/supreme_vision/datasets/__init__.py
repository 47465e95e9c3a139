"""The datasets supreme-vision registers (each in its own module)."""

from supreme_vision.datasets.caltech import Caltech101
from supreme_vision.datasets.cifar import Cifar10, Cifar20, Cifar100
from supreme_vision.datasets.digits import Digits
from supreme_vision.datasets.mnist import Mnist5k
from supreme_vision.datasets.pins import Pins

#: Every dataset spec this package provides, in registration order.
DATASETS = (Digits, Mnist5k, Cifar10, Cifar20, Cifar100, Caltech101, Pins)

__all__ = ["DATASETS", "Caltech101", "Cifar10", "Cifar20", "Cifar100", "Digits", "Mnist5k", "Pins"]
