"""Stars and galaxies: drawing catalogues from number counts, and rendering them.

Compact sources are elliptical Gaussians (a star is the PSF; a galaxy is an
elliptical Gaussian of its half-light radius convolved with the PSF),
rendered as stamps: every source gets a square of pixels just large enough
for its profile to fall below `RENDER_CUTOFF` counts, and sources with
stamps of the same size are evaluated together as one array.  Extended
profiles (the LSB galaxy, the bright star's halo) are evaluated on the part
of the detector they cover.
"""

from __future__ import annotations

__all__ = [
    "RENDER_CUTOFF",
    "SOURCE_DTYPE",
    "drawMagnitudes",
    "drawSources",
    "renderGaussians",
    "renderProfile",
]

import math
from collections.abc import Callable

import numpy as np

from ..afwlite.geom import Box2I
from ._config import GalaxyConfig, SourceCountsConfig

#: Stamps extend until a source's Gaussian falls below this many counts (at least 3 sigma).
RENDER_CUTOFF = 0.02

#: One row per compact source.  Positions are PARENT pixel coordinates of the
#: detector; ``sigmaXX/YY/XY`` are the PSF-convolved second moments (pixels²).
SOURCE_DTYPE = np.dtype(
    [
        ("x", np.float64),
        ("y", np.float64),
        ("magnitude", np.float64),
        ("flux", np.float64),
        ("isStar", np.bool_),
        ("halfLightRadius", np.float64),
        ("axisRatio", np.float64),
        ("theta", np.float64),
        ("sigmaXX", np.float64),
        ("sigmaYY", np.float64),
        ("sigmaXY", np.float64),
    ]
)

# Stamp half-widths are rounded up to one of these, so that few groups are evaluated.
_STAMP_RADII = np.array([2, 3, 4, 5, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128])
_MAX_STAMP_RADIUS = int(_STAMP_RADII[-1])
# Pixels evaluated per batch of stamps (bounds the temporaries to a few tens of MB).
_BATCH_PIXELS = 1 << 21
_CHUNK_ROWS = 256


def drawMagnitudes(rng: np.random.Generator, counts: SourceCountsConfig, areaArcmin2: float) -> np.ndarray:
    """Magnitudes of sources drawn from power-law counts over an area.

    The number is Poisson with mean ``area * density * (10**(slope (faint -
    ref)) - 10**(slope (bright - ref)))``; each magnitude is drawn by
    inverting the cumulative counts ``N(< m) ∝ 10**(slope m)``.
    """
    low = 10.0 ** (counts.slope * (counts.brightMagnitude - counts.refMagnitude))
    high = 10.0 ** (counts.slope * (counts.faintMagnitude - counts.refMagnitude))
    number = int(rng.poisson(areaArcmin2 * counts.density * (high - low)))
    uniform = rng.random(number)
    return counts.refMagnitude + np.log10(low + uniform * (high - low)) / counts.slope


def drawSources(
    rng: np.random.Generator,
    bbox: Box2I,
    margin: int,
    pixelScale: float,
    zeroPoint: float,
    psfSigma: float,
    stars: SourceCountsConfig,
    galaxies: GalaxyConfig,
) -> np.ndarray:
    """Draw the stars and galaxies of one detector.

    Positions are uniform over the bbox grown by ``margin`` pixels (so that
    sources just off the edge still spill light onto it).

    Parameters
    ----------
    rng : `numpy.random.Generator`
        The detector's source generator.
    bbox : `Box2I`
        Detector pixels.
    margin : `int`
        Pixels added on each side of the drawing area.
    pixelScale : `float`
        arcsec per pixel.
    zeroPoint : `float`
        Magnitude of a one-count source.
    psfSigma : `float`
        PSF sigma, pixels.
    stars, galaxies : `SourceCountsConfig`, `GalaxyConfig`
        Counts (and galaxy shapes).

    Returns
    -------
    catalog : `numpy.ndarray`
        Structured array of `SOURCE_DTYPE`, stars first.
    """
    xMin, yMin = bbox.getMinX() - margin - 0.5, bbox.getMinY() - margin - 0.5
    width, height = bbox.getWidth() + 2 * margin, bbox.getHeight() + 2 * margin
    areaArcmin2 = width * height * pixelScale**2 / 3600.0
    parts = []
    for isStar, counts in ((True, stars), (False, galaxies)):
        magnitudes = drawMagnitudes(rng, counts, areaArcmin2)
        n = magnitudes.size
        part = np.zeros(n, dtype=SOURCE_DTYPE)
        part["x"] = xMin + width * rng.random(n)
        part["y"] = yMin + height * rng.random(n)
        part["magnitude"] = magnitudes
        part["flux"] = 10.0 ** (-0.4 * (magnitudes - zeroPoint))
        part["isStar"] = isStar
        part["sigmaXX"] = psfSigma**2
        part["sigmaYY"] = psfSigma**2
        part["axisRatio"] = 1.0
        if not isStar and n:
            assert isinstance(counts, GalaxyConfig)
            logRadius = (
                math.log10(counts.halfLightRadius)
                - counts.sizeSlope * (magnitudes - counts.refMagnitude)
                + rng.normal(0.0, counts.sizeScatter, n)
            )
            radius = 10.0**logRadius
            axisRatio = rng.uniform(counts.minAxisRatio, 1.0, n)
            theta = rng.uniform(0.0, math.pi, n)
            # A Gaussian's half-light radius is sigma * sqrt(2 ln 2); r_e is along the major axis.
            major = radius / pixelScale / math.sqrt(2.0 * math.log(2.0))
            minor = axisRatio * major
            cos, sin = np.cos(theta), np.sin(theta)
            part["halfLightRadius"] = radius
            part["axisRatio"] = axisRatio
            part["theta"] = theta
            part["sigmaXX"] += (major * cos) ** 2 + (minor * sin) ** 2
            part["sigmaYY"] += (major * sin) ** 2 + (minor * cos) ** 2
            part["sigmaXY"] = (major**2 - minor**2) * cos * sin
        parts.append(part)
    return np.concatenate(parts)


def _stampRadii(flux: np.ndarray, sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray) -> np.ndarray:
    """Half-width of each source's stamp: where its Gaussian drops below `RENDER_CUTOFF`."""
    det = sxx * syy - sxy * sxy
    major = np.sqrt(0.5 * (sxx + syy) + np.sqrt(0.25 * (sxx - syy) ** 2 + sxy * sxy))
    peak = flux / (2.0 * math.pi * np.sqrt(det))
    with np.errstate(divide="ignore", invalid="ignore"):
        nSigma = np.sqrt(2.0 * np.log(np.maximum(peak / RENDER_CUTOFF, 1.0)))
    nSigma = np.maximum(nSigma, 3.0)
    wanted = np.ceil(nSigma * major)
    index = np.minimum(np.searchsorted(_STAMP_RADII, wanted), _STAMP_RADII.size - 1)
    return _STAMP_RADII[index]


def renderGaussians(
    image: np.ndarray,
    bbox: Box2I,
    x: np.ndarray,
    y: np.ndarray,
    flux: np.ndarray,
    sxx: np.ndarray,
    syy: np.ndarray,
    sxy: np.ndarray,
) -> None:
    """Add elliptical Gaussians to an image, each on its own stamp.

    Parameters
    ----------
    image : `numpy.ndarray`
        float32 pixels of ``bbox`` (modified in place).
    bbox : `Box2I`
        The image's PARENT bounding box.
    x, y : `numpy.ndarray`
        Centres, PARENT pixel coordinates.
    flux : `numpy.ndarray`
        Total fluxes (counts).
    sxx, syy, sxy : `numpy.ndarray`
        Second moments, pixels².

    Notes
    -----
    The Gaussian is sampled at pixel centres (the profiles here are at
    least a PSF wide, so the sampled sum equals the flux to well under
    1e-3).  A stamp is cut where the profile falls below `RENDER_CUTOFF`
    counts (or at 128 pixels).
    """
    height, width = image.shape
    x = np.asarray(x, dtype=np.float64) - bbox.getMinX()
    y = np.asarray(y, dtype=np.float64) - bbox.getMinY()
    flux, sxx, syy, sxy = (np.asarray(a, dtype=np.float64) for a in (flux, sxx, syy, sxy))
    radii = _stampRadii(flux, sxx, syy, sxy)
    # Stamps entirely off the image contribute nothing.
    keep = (
        (x + radii >= -0.5) & (x - radii <= width - 0.5) & (y + radii >= -0.5) & (y - radii <= height - 0.5)
    )
    keep &= flux > 0
    flat = image.reshape(-1)
    det = sxx * syy - sxy * sxy
    for radius in np.unique(radii[keep]):
        members = np.flatnonzero(keep & (radii == radius))
        size = 2 * int(radius) + 1
        batch = max(1, _BATCH_PIXELS // (size * size))
        for start in range(0, members.size, batch):
            chosen = members[start : start + batch]
            _renderBatch(
                flat,
                width,
                height,
                int(radius),
                x[chosen],
                y[chosen],
                flux[chosen] / (2.0 * math.pi * np.sqrt(det[chosen])),
                syy[chosen] / det[chosen],
                -sxy[chosen] / det[chosen],
                sxx[chosen] / det[chosen],
            )


def _renderBatch(
    flat: np.ndarray,
    width: int,
    height: int,
    radius: int,
    x: np.ndarray,
    y: np.ndarray,
    peak: np.ndarray,
    ia: np.ndarray,
    ib: np.ndarray,
    ic: np.ndarray,
) -> None:
    """Add one batch of same-size stamps: ``peak * exp(-(ia dx² + 2 ib dx dy + ic dy²) / 2)``."""
    offsets = np.arange(-radius, radius + 1)
    ix = np.rint(x).astype(np.int64)
    iy = np.rint(y).astype(np.int64)
    columns = ix[:, None] + offsets  # (n, S)
    rows = iy[:, None] + offsets
    dx = (columns - x[:, None]).astype(np.float32)
    dy = (rows - y[:, None]).astype(np.float32)
    alongX = (-0.5 * ia[:, None]).astype(np.float32) * dx * dx
    alongY = (-0.5 * ic[:, None]).astype(np.float32) * dy * dy + np.log(peak).astype(np.float32)[:, None]
    exponent = alongY[:, :, None] + alongX[:, None, :]
    exponent += (-ib[:, None]).astype(np.float32)[:, :, None] * dy[:, :, None] * dx[:, None, :]
    values = np.exp(exponent, out=exponent)
    index = rows[:, :, None] * width + columns[:, None, :]
    inside = (ix - radius >= 0) & (ix + radius < width) & (iy - radius >= 0) & (iy + radius < height)
    if inside.all():
        np.add.at(flat, index.reshape(-1), values.reshape(-1))
        return
    valid = ((rows >= 0) & (rows < height))[:, :, None] & ((columns >= 0) & (columns < width))[:, None, :]
    np.add.at(flat, index[valid], values[valid])


def renderProfile(
    image: np.ndarray,
    bbox: Box2I,
    centre: tuple[float, float],
    metric: np.ndarray,
    maxRadius: float,
    profile: Callable[[np.ndarray], np.ndarray],
) -> int:
    """Add an extended profile of the radius ``r² = dpᵀ metric dp`` to the pixels it covers.

    Parameters
    ----------
    image : `numpy.ndarray`
        float32 pixels of ``bbox`` (modified in place).
    bbox : `Box2I`
        The image's PARENT bounding box.
    centre : `tuple` [`float`, `float`]
        Profile centre, PARENT pixel coordinates.
    metric : `numpy.ndarray`
        Symmetric positive-definite 2x2 matrix mapping a pixel offset to the
        squared radius in the profile's unit.
    maxRadius : `float`
        The profile is zero beyond this radius (profile unit).
    profile : callable
        Maps a float32 array of squared radii to surface brightness per pixel.

    Returns
    -------
    npix : `int`
        Number of pixels evaluated (0 if the profile misses the detector).
    """
    inverse = np.linalg.inv(metric)
    halfX = maxRadius * math.sqrt(inverse[0, 0])
    halfY = maxRadius * math.sqrt(inverse[1, 1])
    cx, cy = centre
    x0 = max(bbox.getMinX(), math.floor(cx - halfX))
    x1 = min(bbox.getMaxX(), math.ceil(cx + halfX))
    y0 = max(bbox.getMinY(), math.floor(cy - halfY))
    y1 = min(bbox.getMaxY(), math.ceil(cy + halfY))
    if x0 > x1 or y0 > y1:
        return 0
    dx = np.arange(x0, x1 + 1, dtype=np.float64) - cx
    dy = np.arange(y0, y1 + 1, dtype=np.float64) - cy
    alongX = (metric[0, 0] * dx * dx).astype(np.float32)
    alongY = metric[1, 1] * dy * dy
    cross = 2.0 * metric[0, 1] * dy
    columns = slice(x0 - bbox.getMinX(), x1 - bbox.getMinX() + 1)
    dxf = dx.astype(np.float32)
    for start in range(0, dy.size, _CHUNK_ROWS):
        part = slice(start, min(start + _CHUNK_ROWS, dy.size))
        r2 = alongX[None, :] + alongY[part].astype(np.float32)[:, None]
        if metric[0, 1] != 0.0:
            r2 += np.multiply.outer(cross[part].astype(np.float32), dxf)
        rows = slice(y0 - bbox.getMinY() + start, y0 - bbox.getMinY() + part.stop)
        image[rows, columns] += profile(r2)
    return (x1 - x0 + 1) * (y1 - y0 + 1)
