"""Analytic surface-brightness profiles and their integrals.

Radii are dimensionless here (in units of the profile's scale); the
callers convert pixels, mm and arcsec.
"""

from __future__ import annotations

__all__ = [
    "moffatEnclosedFraction",
    "moffatProfile",
    "sersicB",
    "sersicEnclosedFraction",
    "sersicProfile",
    "sersicTotalFlux",
]

import math

import numpy as np
from scipy import special


def sersicB(n: float) -> float:
    """The Sérsic ``b_n``: half of the light lies inside the effective radius.

    ``b_n`` solves ``P(2n, b_n) = 1/2`` (``P``: regularised lower incomplete
    gamma function); ``b_1 = 1.6783...``.
    """
    if not n > 0:
        raise ValueError(f"the Sérsic index must be > 0, got {n}")
    return float(special.gammaincinv(2.0 * n, 0.5))


def sersicProfile(m2: np.ndarray, n: float, intensity: float, truncation: float) -> np.ndarray:
    """Sérsic surface brightness at squared elliptical radii ``m2 = (r / r_e)**2``.

    Parameters
    ----------
    m2 : `numpy.ndarray`
        Squared elliptical radius in units of the effective radius (float32
        keeps the result float32).
    n : `float`
        Sérsic index.
    intensity : `float`
        Surface brightness at the effective radius.
    truncation : `float`
        Zero beyond this elliptical radius (in effective radii).

    Returns
    -------
    values : `numpy.ndarray`
        ``intensity * exp(-b_n * (m**(1/n) - 1))``, 0 where ``m > truncation``.
    """
    b = sersicB(n)
    dtype = m2.dtype if m2.dtype in (np.float32, np.float64) else np.float64
    exponent = np.sqrt(m2, dtype=dtype) if n == 1.0 else np.power(m2, 0.5 / n, dtype=dtype)
    exponent *= -b
    exponent += b + math.log(intensity)
    values = np.exp(exponent, out=exponent)
    values[m2 > truncation * truncation] = 0.0
    return values


def sersicTotalFlux(n: float, intensity: float, effectiveRadius: float, axisRatio: float) -> float:
    """Total flux of an untruncated elliptical Sérsic profile.

    ``2 pi n q r_e**2 I_e exp(b_n) b_n**(-2n) Gamma(2n)``, with ``r_e`` the
    major-axis effective radius and ``I_e`` the surface brightness there.
    """
    b = sersicB(n)
    logFactor = b - 2.0 * n * math.log(b) + special.gammaln(2.0 * n)
    return 2.0 * math.pi * n * axisRatio * effectiveRadius**2 * intensity * math.exp(logFactor)


def sersicEnclosedFraction(n: float, radius: float) -> float:
    """Fraction of a Sérsic profile's flux inside elliptical radius ``radius`` (effective radii)."""
    b = sersicB(n)
    return float(special.gammainc(2.0 * n, b * radius ** (1.0 / n)))


def moffatProfile(r2: np.ndarray, flux: float, alpha: float, beta: float, maxRadius: float) -> np.ndarray:
    """A normalised Moffat profile at squared radii ``r2``, cut at ``maxRadius``.

    ``flux (beta - 1) / (pi alpha**2) * (1 + r2 / alpha**2)**(-beta)``; its
    integral over the plane is ``flux`` (for ``beta > 1``).  ``r2``,
    ``alpha`` and ``maxRadius`` share one length unit, and the result is
    flux per that unit squared.
    """
    if not beta > 1:
        raise ValueError(f"the Moffat index must be > 1, got {beta}")
    dtype = r2.dtype if r2.dtype in (np.float32, np.float64) else np.float64
    values = np.multiply(r2, 1.0 / alpha**2, dtype=dtype)
    values += 1.0
    np.log(values, out=values)
    values *= -beta
    values += math.log(flux * (beta - 1.0) / (math.pi * alpha**2))
    np.exp(values, out=values)
    values[r2 > maxRadius * maxRadius] = 0.0
    return values


def moffatEnclosedFraction(alpha: float, beta: float, radius: float) -> float:
    """Fraction of a Moffat profile's flux inside ``radius``: ``1 - (1 + radius**2/alpha**2)**(1 - beta)``."""
    return 1.0 - (1.0 + (radius / alpha) ** 2) ** (1.0 - beta)
