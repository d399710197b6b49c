"""PNG figures of a sky correction: mosaics, residual vs truth, superpixel coverage.

matplotlib (Agg) draws; astropy's normalisation and stretch helpers set the
grey levels, the same for every panel of a figure so that methods compare.
"""

from __future__ import annotations

__all__ = [
    "plotBackgroundMosaic",
    "plotCorrectedMosaics",
    "plotCoverage",
    "plotResidualMaps",
]

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._coverage import CoverageMap
from ._metrics import ResidualMap


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grid(count: int, panelSize: float = 5.0) -> tuple[Any, np.ndarray]:
    plt = _pyplot()
    columns = min(count, 3)
    rows = (count + columns - 1) // columns
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(panelSize * columns + 1.0, panelSize * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for extra in axes.ravel()[count:]:
        extra.set_visible(False)
    return figure, axes.ravel()


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    _pyplot().close(figure)
    return path


def _mosaicArray(image: Any) -> np.ndarray:
    return np.asarray(image.array if hasattr(image, "array") else image, dtype=np.float64)


def plotCorrectedMosaics(mosaics: Mapping[str, Any], path: Path, title: str) -> Path:
    """The corrected focal-plane mosaic of each method, one grey scale for all.

    Parameters
    ----------
    mosaics : `Mapping` [`str`, `ImageF` or `numpy.ndarray`]
        Binned mosaics (NaN off the detectors) by method label; the first
        sets the grey scale (z-scale interval, asinh stretch).
    path : `pathlib.Path`
        The PNG to write.
    title : `str`
        Figure title.
    """
    from astropy.visualization import AsinhStretch, ImageNormalize, ZScaleInterval

    arrays = {label: _mosaicArray(image) for label, image in mosaics.items()}
    first = next(iter(arrays.values()))
    norm = ImageNormalize(first[np.isfinite(first)], interval=ZScaleInterval(), stretch=AsinhStretch(0.1))
    figure, axes = _grid(len(arrays))
    shown = None
    for ax, (label, array) in zip(axes, arrays.items(), strict=False):
        shown = ax.imshow(array, origin="lower", cmap="gray", norm=norm, interpolation="nearest")
        ax.set_title(label)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(f"{title}: corrected image (binned mosaic)")
    figure.colorbar(shown, ax=list(axes[: len(arrays)]), shrink=0.8, label="counts per pixel")
    return _save(figure, path)


def plotBackgroundMosaic(mosaic: Any, path: Path, title: str) -> Path:
    """The background a sky correction subtracted (``calexpBackground_skyCorr_visit_mosaic``)."""
    from astropy.visualization import ImageNormalize, LinearStretch, MinMaxInterval

    array = _mosaicArray(mosaic)
    finite = array[np.isfinite(array)]
    norm = ImageNormalize(finite, interval=MinMaxInterval(), stretch=LinearStretch())
    figure, axes = _grid(1, panelSize=7.0)
    shown = axes[0].imshow(array, origin="lower", cmap="viridis", norm=norm, interpolation="nearest")
    axes[0].set_xlabel("mosaic x (binned pixels)")
    axes[0].set_ylabel("mosaic y (binned pixels)")
    axes[0].set_title(f"{title}: new background (bgModel1 + sky frame + bgModel2)")
    figure.colorbar(shown, ax=axes[0], shrink=0.8, label="counts per pixel")
    return _save(figure, path)


def plotResidualMaps(
    maps: Mapping[str, ResidualMap],
    path: Path,
    title: str,
    limit: float | None = None,
    markers: Sequence[tuple[float, float, float, str]] = (),
) -> Path:
    """Binned residual (true sky - subtracted background) of each method, in noise units.

    Parameters
    ----------
    maps : `Mapping` [`str`, `ResidualMap`]
        By method label.
    path : `pathlib.Path`
        The PNG to write.
    title : `str`
        Figure title.
    limit : `float`, optional
        Colour scale ``[-limit, limit]``; default the 99th percentile of
        ``|residual|`` over all maps.
    markers : sequence of (`float`, `float`, `float`, `str`)
        Circles ``(x, y, radius, label)`` in focal-plane mm (e.g. the LSB
        galaxy and the bright star).
    """
    from astropy.visualization import ImageNormalize, LinearStretch, ManualInterval

    if limit is None:
        values = np.concatenate([m.values[np.isfinite(m.values)] for m in maps.values()])
        limit = float(np.percentile(np.abs(values), 99)) if values.size else 1.0
        limit = max(limit, 1e-3)
    norm = ImageNormalize(interval=ManualInterval(-limit, limit), stretch=LinearStretch())
    figure, axes = _grid(len(maps))
    plt = _pyplot()
    shown = None
    for ax, (label, residualMap) in zip(axes, maps.items(), strict=False):
        shown = ax.imshow(
            residualMap.values,
            origin="lower",
            extent=residualMap.extent,
            cmap="RdBu_r",
            norm=norm,
            interpolation="nearest",
        )
        for x, y, radius, name in markers:
            ax.add_patch(plt.Circle((x, y), radius, fill=False, color="k", lw=0.8))
            ax.annotate(name, (x, y + radius), fontsize=7, ha="center", va="bottom")
        ax.set_title(label)
        ax.set_xlabel("focal plane x (mm)")
        ax.set_ylabel("focal plane y (mm)")
    binSize = next(iter(maps.values())).binSize
    figure.suptitle(f"{title}: residual sky (true sky - background) in {binSize}-px bins")
    figure.colorbar(shown, ax=list(axes[: len(maps)]), shrink=0.8, label="per-pixel noise units")
    return _save(figure, path)


def plotCoverage(maps: Sequence[CoverageMap], path: Path, title: str) -> Path:
    """Fraction of usable pixels in each superpixel of the focal-plane models.

    Superpixels below the model's ``minFrac`` (hatched contour) are not
    used by the fit.
    """
    from astropy.visualization import ImageNormalize, LinearStretch, ManualInterval

    norm = ImageNormalize(interval=ManualInterval(0.0, 1.0), stretch=LinearStretch())
    figure, axes = _grid(len(maps), panelSize=6.0)
    shown = None
    for ax, coverage in zip(axes, maps, strict=False):
        shown = ax.imshow(
            coverage.fraction, origin="lower", extent=coverage.extent, cmap="magma", norm=norm,
            interpolation="nearest",
        )  # fmt: skip
        low = (coverage.fraction > 0) & (coverage.fraction < coverage.minFrac)
        ax.set_title(
            f"{coverage.name}: {int(np.count_nonzero(coverage.fraction >= coverage.minFrac))} superpixels "
            f">= minFrac {coverage.minFrac:g}, {int(np.count_nonzero(low))} below"
        )
        if np.any(low):
            ax.contourf(
                low.astype(float), levels=[0.5, 1.5], extent=coverage.extent, hatches=["///"], colors="none"
            )
        ax.set_xlabel("focal plane x (mm)")
        ax.set_ylabel("focal plane y (mm)")
    figure.suptitle(f"{title}: usable-pixel fraction per superpixel")
    figure.colorbar(shown, ax=list(axes[: len(maps)]), shrink=0.8, label="fraction of superpixel area")
    return _save(figure, path)
