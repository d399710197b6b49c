"""Files written by afwlite, read back by CFITSIO (the library afw itself reads with).

astropy is our own reader's engine, so agreeing with it proves little about
afw; CFITSIO (bundled in the ``fitsio`` wheel) is independent and is what
afw links against.  Compressed HDUs are the risky part: CFITSIO must see them
as lossless (``ZQUANTIZ = 'NONE'``) and return the exact bits.
"""

from __future__ import annotations

from pathlib import Path

import fitsio
import numpy as np
import pytest

from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF
from lsst.sky.correction.afwlite.math import (
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    UndersampleStyle,
)

RNG = np.random.default_rng(11)


def make_exposure() -> ExposureF:
    exposure = ExposureF(Box2I(Point2I(12, -7), Extent2I(37, 23)))
    exposure.image.array[:] = RNG.normal(100.0, 20.0, (23, 37)).astype(np.float32)
    exposure.image.array[0, :3] = [np.nan, np.inf, -0.0]
    exposure.mask.array[:] = RNG.integers(0, 1 << 10, (23, 37), dtype=np.int32)
    exposure.variance.array[:] = RNG.uniform(1.0, 5.0, (23, 37)).astype(np.float32)
    exposure.getMetadata().set("EXPTIME", 30.0)
    return exposure


@pytest.mark.parametrize("compression", [None, "lossless"])
def test_cfitsio_reads_exposure_bit_exact(tmp_path: Path, compression: str | None) -> None:
    exposure = make_exposure()
    path = tmp_path / "exposure.fits"
    exposure.writeFits(path, compression=compression)
    with fitsio.FITS(str(path)) as fits:
        assert len(fits) == 4
        planes = [fits[i].read() for i in (1, 2, 3)]
        headers = [fits[i].read_header() for i in (1, 2, 3)]
        primary = fits[0].read_header()
    assert planes[0].dtype == np.dtype(">f4") or planes[0].dtype == np.float32
    assert planes[1].dtype.kind == "i" and planes[1].dtype.itemsize == 4
    np.testing.assert_array_equal(planes[0].view(np.uint32), exposure.image.array.view(np.uint32))
    np.testing.assert_array_equal(planes[1], exposure.mask.array)
    np.testing.assert_array_equal(planes[2], exposure.variance.array)
    for header, exttype in zip(headers, ("IMAGE", "MASK", "VARIANCE"), strict=True):
        assert header["EXTTYPE"].strip() == exttype
        assert (header["CRVAL1A"], header["CRVAL2A"], header["CRPIX1A"]) == (12.0, -7.0, 1.0)
    assert primary["EXPTIME"] == 30.0
    if compression:
        assert fits_is_compressed(path)


def fits_is_compressed(path: Path) -> bool:
    with fitsio.FITS(str(path)) as fits:
        return all(fits[i].is_compressed() for i in (1, 2, 3))


def test_cfitsio_reads_compressed_image_lossless(tmp_path: Path) -> None:
    image = ImageF(RNG.normal(0.0, 1e-3, (64, 50)).astype(np.float32), xy0=Point2I(3, 4))
    path = tmp_path / "image.fits"
    image.writeFits(path, compression="lossless")
    np.testing.assert_array_equal(fitsio.read(str(path)).astype(np.float32), image.array)


def test_cfitsio_reads_background_list(tmp_path: Path) -> None:
    bbox = Box2I(Point2I(0, 0), Extent2I(256, 200))
    stats = [make_exposure().maskedImage for _ in range(2)]
    backgrounds = BackgroundList(
        *(
            (
                BackgroundMI(bbox, s),
                Interpolate.AKIMA_SPLINE,
                UndersampleStyle.REDUCE_INTERP_ORDER,
                ApproximateControl.UNKNOWN,
                0,
                0,
                False,
            )
            for s in stats
        )
    )
    path = tmp_path / "bkg.fits"
    backgrounds.writeFits(path)
    with fitsio.FITS(str(path)) as fits:
        assert len(fits) == 6
        for element, s in enumerate(stats):
            header = fits[3 * element].read_header()
            assert header["INTERPSTYLE"] == int(Interpolate.AKIMA_SPLINE)
            assert (header["BKGD_WIDTH"], header["BKGD_HEIGHT"]) == (256, 200)
            np.testing.assert_array_equal(fits[3 * element].read(), s.image.array)
            np.testing.assert_array_equal(fits[3 * element + 2].read(), s.variance.array)
