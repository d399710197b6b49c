"""afwlite.math.BackgroundList: afw's FITS layout card by card, round trips, and getImage."""

from __future__ import annotations

import os

import numpy as np
import pytest
from astropy.io import fits

from lsst.sky.correction.afwlite.fits import FitsError, FitsTypeError
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ImageF, Mask, MaskedImageF
from lsst.sky.correction.afwlite.math import (
    REDUCE_INTERP_ORDER,
    THROW_EXCEPTION,
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    UndersampleStyle,
)

A_WCS = ["CTYPE1A", "CTYPE2A", "CRPIX1A", "CRPIX2A", "CRVAL1A", "CRVAL2A", "CUNIT1A", "CUNIT2A"]
ELEMENT_KEYS = [
    "INTERPSTYLE",
    "UNDERSAMPLESTYLE",
    "APPROXSTYLE",
    "APPROXORDERX",
    "APPROXORDERY",
    "APPROXWEIGHTING",
    "BKGD_X0",
    "BKGD_Y0",
    "BKGD_WIDTH",
    "BKGD_HEIGHT",
]


def stats_image(nx: int, ny: int, seed: int, xy0: Point2I | None = None) -> MaskedImageF:
    rng = np.random.default_rng(seed)
    image = ImageF(rng.normal(100.0, 3.0, (ny, nx)).astype(np.float32), xy0=xy0)
    variance = ImageF(rng.uniform(0.1, 0.5, (ny, nx)).astype(np.float32), xy0=xy0)
    mask = Mask(np.zeros((ny, nx), dtype=np.int32), xy0=xy0)
    return MaskedImageF(image, mask=mask, variance=variance)


def hsc_like_element():
    """A typical HSC calexpBackground element: a 2048x4176 CCD, 16x33 cells, AKIMA + REDUCE, no Chebyshev."""
    stats = stats_image(16, 33, seed=1)
    stats.image.array[5, 7] = np.nan
    bkgd = BackgroundMI(Box2I(Point2I(0, 0), Extent2I(2048, 4176)), stats)
    return (bkgd, Interpolate.AKIMA_SPLINE, REDUCE_INTERP_ORDER, ApproximateControl.UNKNOWN, 0, 0, False)


def chebyshev_element():
    """A meas_algorithms-style element: Chebyshev of order 6, weighted."""
    stats = stats_image(16, 33, seed=2, xy0=Point2I(3, 4))
    bkgd = BackgroundMI(Box2I(Point2I(10, 20), Extent2I(2048, 4176)), stats)
    bkgd.getBackgroundControl().setApproximateControl(
        ApproximateControl(ApproximateControl.CHEBYSHEV, 6, 6, True)
    )
    bkgd.getBackgroundControl().setUndersampleStyle(REDUCE_INTERP_ORDER)
    return (bkgd, Interpolate.AKIMA_SPLINE, REDUCE_INTERP_ORDER, ApproximateControl.CHEBYSHEV, 6, 6, True)


# The layout, card by card ----------------------------------------------------------------------------------


def test_written_file_has_afws_layout(tmp_path):
    path = tmp_path / "bkgd.fits"
    BackgroundList(hsc_like_element(), chebyshev_element()).writeFits(path)
    with fits.open(path) as hdul:
        assert len(hdul) == 6
        assert isinstance(hdul[0], fits.PrimaryHDU) and hdul[0].data is not None  # no empty primary
        assert all(isinstance(h, fits.ImageHDU) and not isinstance(h, fits.CompImageHDU) for h in hdul[1:])
        assert [h.header["BITPIX"] for h in hdul] == [-32, 32, -32, -32, 32, -32]
        for h in hdul:
            assert (h.header["NAXIS1"], h.header["NAXIS2"]) == (16, 33)
            for absent in ("EXTNAME", "EXTTYPE", "INHERIT", "BZERO", "BSCALE", "ZIMAGE", "LTV1"):
                assert absent not in h.header

        expected_values = [
            [5, 1, -1, 0, 0, False, 0, 0, 2048, 4176],
            [5, 1, 0, 6, 6, True, 10, 20, 2048, 4176],
        ]
        for element, values in enumerate(expected_values):
            for plane in range(3):
                header = hdul[3 * element + plane].header
                structural = ["SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND"]
                if 3 * element + plane > 0:
                    structural = ["XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT"]
                planes = sorted(Mask.getMaskPlaneDict()) if plane == 1 else []
                expected_keys = structural + ELEMENT_KEYS + [f"MP_{p}" for p in planes] + A_WCS
                assert list(header.keys()) == expected_keys, f"HDU {3 * element + plane}"
                for key, value in zip(ELEMENT_KEYS, values, strict=True):
                    assert header[key] == value and type(header[key]) is type(value), key
                for name in planes:
                    assert header[f"MP_{name}"] == Mask.getMaskPlane(name)
                x0, y0 = (0, 0) if element == 0 else (3, 4)
                assert [header[k] for k in A_WCS] == ["LINEAR", "LINEAR", 1.0, 1.0, x0, y0, "PIXEL", "PIXEL"]
        # The long keys are HIERARCH cards, integers and booleans unquoted, as afw writes them.
        images = [card.image.rstrip() for card in hdul[0].header.cards]
        assert "HIERARCH INTERPSTYLE = 5" in images
        assert "HIERARCH APPROXWEIGHTING = F" in images
        assert "HIERARCH BKGD_WIDTH = 2048" in images
        assert "BKGD_X0 =                    0" in images
        assert "HIERARCH MP_DETECTED = 5" in [card.image.rstrip() for card in hdul[1].header.cards]
        np.testing.assert_array_equal(hdul[0].data, hsc_like_element()[0].getStatsImage().image.array)


def test_round_trip_is_exact(tmp_path):
    original = BackgroundList(hsc_like_element(), chebyshev_element())
    original[0][0].getStatsImage().mask.array[2, 3] = 5
    path = tmp_path / "round.fits"
    original.writeFits(path)
    copy = BackgroundList.readFits(path)
    assert len(copy) == 2
    for before, after in zip(original, copy, strict=True):
        assert after[1:] == before[1:]
        assert type(after[1]) is Interpolate.Style and type(after[2]) is UndersampleStyle
        assert after[0].getImageBBox() == before[0].getImageBBox()
        old, new = before[0].getStatsImage(), after[0].getStatsImage()
        assert new.getXY0() == old.getXY0()
        for a, b in ((old.image, new.image), (old.mask, new.mask), (old.variance, new.variance)):
            assert b.array.dtype == a.array.dtype
            np.testing.assert_array_equal(b.array.view(np.uint32), a.array.view(np.uint32))
        bctrl = after[0].getBackgroundControl()
        assert (bctrl.getInterpStyle(), bctrl.getUndersampleStyle()) == (after[1], after[2])
        actrl = bctrl.getApproximateControl()
        assert (actrl.getStyle(), actrl.getOrderX(), actrl.getOrderY(), actrl.getWeighting()) == after[3:]
    assert copy[1][0].getStatsImage().mask.getPlaneBitMask("EDGE") == 1 << Mask.getMaskPlane("EDGE")
    np.testing.assert_array_equal(copy.getImage().array, original.getImage().array)


def test_file_mask_planes_are_kept(tmp_path):
    element = list(hsc_like_element())
    stats = element[0].getStatsImage()
    legacy = Mask(np.zeros((33, 16), dtype=np.int32), planeDict={"BAD": 0, "CROSSTALK": 8, "NO_DATA": 9})
    element[0] = BackgroundMI(
        element[0].getImageBBox(), MaskedImageF(stats.image, mask=legacy, variance=stats.variance)
    )
    path = tmp_path / "planes.fits"
    BackgroundList(tuple(element)).writeFits(path)
    with fits.open(path) as hdul:
        assert [k for k in hdul[1].header if k.startswith("MP_")] == ["MP_BAD", "MP_CROSSTALK", "MP_NO_DATA"]
    mask = BackgroundList.readFits(path)[0][0].getStatsImage().mask
    assert dict(mask.planeDict) == {"BAD": 0, "CROSSTALK": 8, "NO_DATA": 9}


def test_missing_approx_keys_take_afws_defaults(tmp_path):
    path = tmp_path / "old.fits"
    BackgroundList(hsc_like_element()).writeFits(path)
    with fits.open(path, mode="update") as hdul:
        for hdu in hdul:
            for key in ("APPROXSTYLE", "APPROXORDERX", "APPROXORDERY", "APPROXWEIGHTING"):
                del hdu.header[key]
    (bkgd, interp, undersample, approx, orderX, orderY, weighting) = BackgroundList.readFits(path)[0]
    assert (interp, undersample) == (Interpolate.AKIMA_SPLINE, REDUCE_INTERP_ORDER)
    assert (approx, orderX, orderY, weighting) == (ApproximateControl.UNKNOWN, 1, -1, True)
    actrl = bkgd.getBackgroundControl().getApproximateControl()
    assert (actrl.getOrderX(), actrl.getOrderY()) == (1, 1)


# getImage ---------------------------------------------------------------------------------------------------


def constant_background(value: float, bbox: Box2I) -> BackgroundMI:
    return BackgroundMI(bbox, MaskedImageF(ImageF(np.full((1, 1), value, dtype=np.float32))))


def test_get_image_sums_in_float32_in_list_order():
    bbox = Box2I(Point2I(10, 20), Extent2I(7, 5))
    elements = [
        (
            constant_background(v, bbox),
            Interpolate.CONSTANT,
            THROW_EXCEPTION,
            ApproximateControl.UNKNOWN,
            0,
            0,
            False,
        )
        for v in (1e8, 1.0, -1e8)
    ]
    total = BackgroundList(*elements).getImage()
    assert total.array.dtype == np.float32
    assert total.getXY0() == Point2I(10, 20)
    # float32: (1e8 + 1) rounds back to 1e8, so the ordered sum is 0 (1 in exact arithmetic).
    np.testing.assert_array_equal(total.array, 0.0)
    reordered = BackgroundList(elements[0], elements[2], elements[1]).getImage()
    np.testing.assert_array_equal(reordered.array, 1.0)


def test_sky_frame_and_chebyshev_elements_in_one_list(tmp_path):
    # A pipe_tasks sky-frame element: NATURAL_SPLINE, variance plane all zero, approximation UNKNOWN.
    bbox = Box2I(Point2I(0, 0), Extent2I(2048, 4176))
    sky = stats_image(16, 33, seed=3)
    sky.variance.array[:] = 0.0
    sky_element = (BackgroundMI(bbox, sky), Interpolate.NATURAL_SPLINE, REDUCE_INTERP_ORDER)
    sky_element += (ApproximateControl.UNKNOWN, 0, 0, False)
    cheb = chebyshev_element()
    cheb = (BackgroundMI(bbox, cheb[0].getStatsImage()), *cheb[1:])
    cheb[0].getBackgroundControl().setApproximateControl(ApproximateControl(ApproximateControl.CHEBYSHEV, 6))
    cheb[0].getBackgroundControl().setUndersampleStyle(REDUCE_INTERP_ORDER)
    backgrounds = BackgroundList(sky_element, cheb)

    expected = sky_element[0].getImageF(Interpolate.NATURAL_SPLINE, REDUCE_INTERP_ORDER).array.copy()
    expected += cheb[0].getImageF().array
    total = backgrounds.getImage()
    np.testing.assert_array_equal(total.array, expected)
    assert total.getXY0() == Point2I(0, 0)

    path = tmp_path / "mixed.fits"
    backgrounds.writeFits(path)
    again = BackgroundList.readFits(path)
    assert (
        again[1][0].getBackgroundControl().getApproximateControl().getStyle() == ApproximateControl.CHEBYSHEV
    )
    assert again[0][0].getBackgroundControl().getApproximateControl().getStyle() == ApproximateControl.UNKNOWN
    np.testing.assert_array_equal(again.getImage().array, expected)


def test_bare_background_takes_its_as_used_styles(tmp_path):
    bkgd = BackgroundMI(Box2I(Point2I(0, 0), Extent2I(30, 30)), stats_image(3, 3, seed=4))
    backgrounds = BackgroundList(bkgd)
    assert backgrounds[0][1:3] == (Interpolate.UNKNOWN, THROW_EXCEPTION)  # getImageF not called yet
    backgrounds = BackgroundList()
    backgrounds.append(bkgd)
    bkgd.getImageF(Interpolate.AKIMA_SPLINE, REDUCE_INTERP_ORDER)  # 3 cells: reduced to CUBIC_SPLINE
    element = backgrounds[0]
    assert element[1:] == (
        Interpolate.CUBIC_SPLINE,
        REDUCE_INTERP_ORDER,
        ApproximateControl.UNKNOWN,
        1,
        1,
        True,
    )
    path = tmp_path / "bare.fits"
    backgrounds.writeFits(path)
    with fits.open(path) as hdul:
        assert (hdul[0].header["INTERPSTYLE"], hdul[0].header["UNDERSAMPLESTYLE"]) == (3, 1)


def test_clone_is_deep():
    backgrounds = BackgroundList(hsc_like_element())
    twin = backgrounds.clone()
    before = backgrounds[0][0].getStatsImage().image.array.copy()
    twin[0][0].getStatsImage().image.array[:] = 0.0
    twin[0][0].getBackgroundControl().setInterpStyle(Interpolate.LINEAR)
    np.testing.assert_array_equal(backgrounds[0][0].getStatsImage().image.array, before)
    assert backgrounds[0][0].getBackgroundControl().getInterpStyle() is Interpolate.AKIMA_SPLINE
    assert twin[0][1:] == backgrounds[0][1:]
    assert len(twin) == 1 and twin[0][0] is not backgrounds[0][0]


# Errors ---------------------------------------------------------------------------------------------------


def test_wrong_hdu_count_is_refused(tmp_path):
    path = tmp_path / "four.fits"
    BackgroundList(hsc_like_element()).writeFits(path)
    with fits.open(path, mode="append") as hdul:
        hdul.append(fits.ImageHDU(np.zeros((2, 2), dtype=np.float32)))
    with pytest.raises(FitsError, match=r"four\.fits has 4 HDUs; expected a multiple of 3"):
        BackgroundList.readFits(path)


def test_non_fits_and_missing_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("this is not a FITS file\n" * 100)
    with pytest.raises(FitsError, match=r"notes\.txt"):
        BackgroundList.readFits(text)
    with pytest.raises(FitsError, match="File not found"):
        BackgroundList.readFits(tmp_path / "absent.fits")


def test_broken_elements_are_refused(tmp_path):
    path = tmp_path / "nokey.fits"
    BackgroundList(hsc_like_element()).writeFits(path)
    with fits.open(path, mode="update") as hdul:
        del hdul[0].header["BKGD_WIDTH"]
    with pytest.raises(FitsError, match="BKGD_WIDTH is missing"):
        BackgroundList.readFits(path)

    float_mask = tmp_path / "floatmask.fits"
    BackgroundList(hsc_like_element()).writeFits(float_mask)
    with fits.open(float_mask, mode="update") as hdul:
        hdul[1].data = hdul[1].data.astype(np.float32)
    with pytest.raises(FitsTypeError):
        BackgroundList.readFits(float_mask)

    with pytest.raises(TypeError, match="7-tuple"):
        BackgroundList((hsc_like_element()[0], Interpolate.LINEAR))
    with pytest.raises(ValueError, match="empty BackgroundList"):
        BackgroundList().writeFits(tmp_path / "empty.fits")


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "keep.fits"
    BackgroundList(hsc_like_element()).writeFits(path)
    original = path.read_bytes()

    def fail_midway(self, name, *args, **kwargs):
        with open(name, "wb") as stream:
            stream.write(b"SIMPLE  =                    T")
        raise OSError("disk full")

    monkeypatch.setattr(fits.HDUList, "writeto", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        BackgroundList(chebyshev_element()).writeFits(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["keep.fits"]
