"""Per-detector sky levels of a real visit: pedestals, effective gains, PSF and zero point.

The shipped table (``data/simulation/hsc_sky_levels_1176.ecsv``, made by
``scripts/make_hsc_sky_levels.py`` from the HSC visit summary of visit 1176)
has one row per detector: ``id``, ``skyBg`` (counts), ``skyNoise`` (counts),
``psfSigma`` (pixels) and ``zeroPoint`` (mag).  A visit summary FITS file
(an afw ``ExposureCatalog``) with those columns can be read directly.
"""

from __future__ import annotations

__all__ = ["SkyLevelTable", "readSkyLevelTable", "shippedSkyLevelTablePath"]

import functools
import math
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

#: The shipped table, relative to the package's data directory.
_SHIPPED = ("simulation", "hsc_sky_levels_1176.ecsv")


def shippedSkyLevelTablePath() -> Path:
    """Path of the shipped HSC visit 1176 sky-level table."""
    resource = resources.files("lsst.sky.correction").joinpath("data", *_SHIPPED)
    return Path(str(resource))


@dataclass(frozen=True)
class SkyLevelTable:
    """Sky levels per detector id.

    Attributes
    ----------
    skyBg : `dict` [`int`, `float`]
        Mean sky, counts per pixel.
    skyNoise : `dict` [`int`, `float`]
        Sky noise, counts (empty if the table has none).
    psfSigma : `float` or `None`
        Median PSF sigma, pixels (if the table has it).
    zeroPoint : `float` or `None`
        Median zero point, mag (if the table has it).
    source : `str`
        Where the table came from.
    """

    skyBg: dict[int, float]
    skyNoise: dict[int, float]
    psfSigma: float | None
    zeroPoint: float | None
    source: str

    @property
    def medianSkyBg(self) -> float:
        """Median ``skyBg`` over the table's detectors (the level of a missing detector)."""
        return float(np.median(list(self.skyBg.values())))

    @property
    def medianSkyNoise(self) -> float | None:
        """Median ``skyNoise`` (the noise of a missing detector), `None` without the column."""
        return float(np.median(list(self.skyNoise.values()))) if self.skyNoise else None

    def level(self, detectorId: int) -> float:
        """``skyBg`` of a detector, the median for one the table lacks."""
        return self.skyBg.get(int(detectorId), self.medianSkyBg)

    def noise(self, detectorId: int) -> float | None:
        """``skyNoise`` of a detector, the median for one the table lacks."""
        if not self.skyNoise:
            return None
        value = self.skyNoise.get(int(detectorId))
        return self.medianSkyNoise if value is None else value


def readSkyLevelTable(path: str | Path) -> SkyLevelTable:
    """Read a sky-level table (ECSV or visit-summary FITS); cached by resolved path.

    Parameters
    ----------
    path : `str` or `pathlib.Path`
        The file; it needs integer ``id`` and float ``skyBg`` columns, and may
        have ``skyNoise``, ``psfSigma`` and ``zeroPoint``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a required column is missing, an id repeats, or a value is not
        finite and positive.
    """
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise FileNotFoundError(f"sky-level table {resolved} does not exist")
    return _read(str(resolved))


@functools.cache
def _read(path: str) -> SkyLevelTable:
    from astropy.table import Table

    with warnings.catch_warnings():
        # Visit summaries hold afw archive HDUs astropy does not understand.
        warnings.simplefilter("ignore")
        table = Table.read(path, hdu=1) if path.lower().endswith((".fits", ".fit")) else Table.read(path)
    for required in ("id", "skyBg"):
        if required not in table.colnames:
            raise ValueError(f"{path}: the sky-level table has no {required!r} column")
    ids = [int(v) for v in table["id"]]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: detector ids repeat")

    def column(name: str) -> dict[int, float]:
        if name not in table.colnames:
            return {}
        values = {d: float(v) for d, v in zip(ids, table[name], strict=True)}
        bad = [d for d, v in values.items() if not (math.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(f"{path}: {name} is not finite and positive for detectors {bad}")
        return values

    def median(name: str) -> float | None:
        values = column(name)
        return float(np.median(list(values.values()))) if values else None

    return SkyLevelTable(
        skyBg=column("skyBg"),
        skyNoise=column("skyNoise"),
        psfSigma=median("psfSigma"),
        zeroPoint=median("zeroPoint"),
        source=path,
    )
