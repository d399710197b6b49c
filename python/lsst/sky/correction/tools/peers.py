"""Per-detector background estimators the focal-plane sky correction is compared with.

The one definition of each peer, used by the validation (`tools.validation`)
and by the benchmarks (``bench/``).  Both work on one detector at a time, on
the restored image (``calexp + calexpBackground``), as a user of sep or
photutils would:

1. a first background with the detector's bad pixels (``BAD``, ``SAT``,
   ``NO_DATA``) masked;
2. sources detected above ``detectThreshold`` times the background RMS on
   the image minus that background (each package's own detection), their
   footprints grown by ``growRadius`` pixels and masked;
3. the final background with bad pixels and sources masked.

With ``maskSources=False`` only step 1 runs (the benchmarks' cost
reference).  The box and median-filter sizes are the same for both
(`PeerConfig`).
"""

from __future__ import annotations

__all__ = ["PeerConfig", "photutilsBackground", "sepBackground"]

from dataclasses import dataclass

import numpy as np

from ..detection import dilateMask, stencilHalfWidths


@dataclass(frozen=True)
class PeerConfig:
    """Settings shared by the per-detector peers.

    Attributes
    ----------
    boxSize : `int`
        Background mesh cell, pixels (both axes).
    filterSize : `int`
        Median filter over cells (cells, both axes).
    detectThreshold : `float`
        Source detection threshold, units of the background RMS.
    minArea : `int`
        Smallest source, pixels.
    growRadius : `int`
        Pixels by which source footprints are grown before masking.
    kernelFwhm, kernelSize : `float`, `int`
        Gaussian smoothing before photutils' detection (sep smooths with
        its default 3x3 kernel).
    maskSources : `bool`
        Detect and mask sources, then measure the background again (steps
        2 and 3); `False` returns the first background.
    """

    boxSize: int = 128
    filterSize: int = 3
    detectThreshold: float = 1.5
    minArea: int = 5
    growRadius: int = 5
    kernelFwhm: float = 3.0
    kernelSize: int = 5
    maskSources: bool = True

    def __post_init__(self) -> None:
        if self.boxSize < 2 or self.filterSize < 1 or self.minArea < 1 or self.growRadius < 0:
            raise ValueError(f"PeerConfig: bad sizes in {self}")
        if not self.detectThreshold > 0:
            raise ValueError(f"PeerConfig.detectThreshold must be positive, got {self.detectThreshold}")


def _checked(image: np.ndarray, bad: np.ndarray, what: str) -> np.ndarray:
    if image.ndim != 2 or bad.shape != image.shape:
        raise ValueError(f"{what}: image {image.shape} and bad-pixel mask {bad.shape} must be 2-d and match")
    return np.ascontiguousarray(image, dtype=np.float32)


def _grow(footprints: np.ndarray, radius: int) -> np.ndarray:
    return dilateMask(footprints, stencilHalfWidths(radius, True)) if radius > 0 else footprints


def sepBackground(
    image: np.ndarray, bad: np.ndarray, config: PeerConfig | None = None, what: str = "image"
) -> np.ndarray:
    """Background of one detector with ``sep`` (SExtractor's algorithm), two passes.

    Parameters
    ----------
    image : `numpy.ndarray`
        The restored image (counts).
    bad : `numpy.ndarray`
        Boolean, pixels never to use.
    config : `PeerConfig`, optional
        Box, filter and detection settings.
    what : `str`
        Names the detector in errors.

    Returns
    -------
    background : `numpy.ndarray`
        float32, the image's shape.
    """
    import sep

    config = config or PeerConfig()
    data = _checked(image, bad, what)
    size, filt = config.boxSize, config.filterSize
    first = sep.Background(data, mask=bad, bw=size, bh=size, fw=filt, fh=filt)
    if not config.maskSources:
        return np.asarray(first.back(), dtype=np.float32)
    residual = data - first.back()
    sep.set_extract_pixstack(max(1_000_000, data.size // 2))
    sep.set_sub_object_limit(4096)
    _, segmentation = sep.extract(
        residual,
        config.detectThreshold,
        err=first.globalrms,
        mask=bad,
        minarea=config.minArea,
        deblend_cont=1.0,  # no deblending: only the footprints matter
        clean=False,
        segmentation_map=True,
    )
    sources = _grow(segmentation > 0, config.growRadius)
    final = sep.Background(data, mask=bad | sources, bw=size, bh=size, fw=filt, fh=filt)
    return np.asarray(final.back(), dtype=np.float32)


def photutilsBackground(
    image: np.ndarray, bad: np.ndarray, config: PeerConfig | None = None, what: str = "image"
) -> np.ndarray:
    """Background of one detector with photutils ``Background2D``, two passes.

    The cell statistic is photutils' default (``SExtractorBackground``
    after 3-sigma clipping); sources are found with ``detect_sources`` on
    the first residual.  Parameters and return as `sepBackground`.
    """
    from photutils.background import Background2D
    from photutils.segmentation import detect_sources, make_2dgaussian_kernel
    from scipy import ndimage

    config = config or PeerConfig()
    data = _checked(image, bad, what)
    size, filt = config.boxSize, config.filterSize
    first = Background2D(data, size, mask=bad, filter_size=filt)
    if not config.maskSources:
        return np.asarray(first.background, dtype=np.float32)
    # photutils' recipe: detect on the residual smoothed by a small Gaussian kernel, with the
    # threshold in units of the unsmoothed background RMS.
    kernel = np.asarray(make_2dgaussian_kernel(config.kernelFwhm, size=config.kernelSize).array)
    residual = ndimage.convolve(data - first.background, kernel.astype(np.float32), mode="nearest")
    segments = detect_sources(
        residual, config.detectThreshold * first.background_rms, n_pixels=config.minArea, mask=bad
    )
    sources = np.zeros(data.shape, dtype=bool) if segments is None else segments.data > 0
    sources = _grow(sources, config.growRadius)
    final = Background2D(data, size, mask=bad | sources, filter_size=filt)
    return np.asarray(final.background, dtype=np.float32)
