"""Exponential families with closed forms (NumPy/SciPy); all implement
:class:`natgrad.ExponentialFamily`."""

from .continuous import Beta, DiagonalGaussian, Exponential, Gamma
from .discrete import Bernoulli, BinaryIndependence, Binomial, Categorical, Poisson

__all__ = [
    "Bernoulli",
    "Beta",
    "BinaryIndependence",
    "Binomial",
    "Categorical",
    "DiagonalGaussian",
    "Exponential",
    "Gamma",
    "Poisson",
]
