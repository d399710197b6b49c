"""FITS reading and writing of ImageF, Mask, MaskedImageF and ExposureF in afw's layouts.

Expectations come from the afw-written fixtures (their headers and the
contents afw's own tests document), from astropy's independent reading of
the same HDUs, and from the layout rules of afw (HDU order, "A" WCS, MP_*
cards...), checked card by card on the files afwlite writes.
"""

from __future__ import annotations

import gzip
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from lsst.sky.correction.afwlite.fits import ExposureArchive, FitsError, FitsTypeError, readMetadata
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import (
    LOCAL,
    ExposureF,
    ImageD,
    ImageF,
    Mask,
    MaskedImageF,
    PropertyList,
)

V2 = "exposure-version-2.fits"
HSC = "HSC-0908120-056-small.fits"


@pytest.fixture(scope="module")
def fixtures(test_data: Path) -> Path:
    return test_data / "afw-fixtures"


def astropy_hdus(path: Path) -> list[tuple[fits.Header, Any]]:
    """Headers and (scaled) data of every HDU, read by astropy alone."""
    with fits.open(path) as hdulist:
        return [(hdu.header.copy(), None if hdu.data is None else np.array(hdu.data)) for hdu in hdulist]


def hdu_spans(path: Path) -> list[tuple[int, int]]:
    """(start, end) byte offsets of each HDU of an uncompressed file, from astropy."""
    with fits.open(path) as hdulist:
        infos = [hdu.fileinfo() for hdu in hdulist]
    return [(info["hdrLoc"], info["datLoc"] + info["datSpan"]) for info in infos]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-for-bit equality of two float32 arrays (NaN payloads and -0.0 included)."""
    a32 = np.ascontiguousarray(a, dtype=np.float32)
    b32 = np.ascontiguousarray(b, dtype=np.float32)
    return a32.shape == b32.shape and np.array_equal(a32.view(np.uint32), b32.view(np.uint32))


class FakeDetector:
    """Just the two methods the writer uses (duck-typed like afw's Detector)."""

    def getName(self) -> str:
        return "R22_S11"

    def getSerial(self) -> str:
        return "ITL-3800C-042"


def make_exposure(width: int, height: int, xy0: tuple[int, int], seed: int = 1) -> ExposureF:
    rng = np.random.default_rng(seed)
    bbox = Box2I(Point2I(*xy0), Extent2I(width, height))
    exposure = ExposureF(bbox)
    exposure.image.array[...] = rng.normal(100.0, 5.0, size=(height, width)).astype(np.float32)
    exposure.variance.array[...] = rng.uniform(1.0, 2.0, size=(height, width)).astype(np.float32)
    exposure.mask.array[...] = rng.integers(0, 1 << 11, size=(height, width), dtype=np.int32)
    return exposure


# ---------------------------------------------------------------------------
# Reading afw's fixtures
# ---------------------------------------------------------------------------


def test_every_fixture_reads_with_the_pixels_astropy_sees(fixtures: Path) -> None:
    files = sorted(p for p in fixtures.iterdir() if p.is_file())
    assert len(files) >= 9
    for path in files:
        hdus = astropy_hdus(path)
        # afw's default HDU: the primary unless it is empty.
        image_index = 1 if hdus[0][1] is None else 0
        exposure = ExposureF(path)
        expected = hdus[image_index][1].astype(np.float32)
        assert same_bits(exposure.image.array, expected), path.name


@pytest.mark.parametrize(
    ("name", "version"),
    [(V2, 2), ("exposure-version-1.fits", 1), ("exposure-version-0.fits", 0), ("exposure-noversion.fits", 0)],
)
def test_make_test_exposure_contents(fixtures: Path, name: str, version: int) -> None:
    # Contents written by afw's tests/data/makeTestExposure.py (tests/data/README.md).
    exposure = ExposureF.readFits(fixtures / name)
    assert exposure.getBBox() == Box2I(Point2I(0, 0), Extent2I(10, 10))
    assert exposure.image.array.dtype == np.float32
    np.testing.assert_array_equal(exposure.image.array, np.arange(100, dtype=np.float32).reshape(10, 10))
    np.testing.assert_array_equal(exposure.variance.array, np.ones((10, 10), np.float32))
    expected_mask = np.zeros((10, 10), np.int32)
    expected_mask[5, 5] = 5
    assert exposure.mask.array.dtype == np.int32
    np.testing.assert_array_equal(exposure.mask.array, expected_mask)
    assert exposure.mask.getPlaneBitMask(["BAD", "INTRP"]) == 5
    assert dict(exposure.mask.planeDict) == {
        "BAD": 0,
        "SAT": 1,
        "INTRP": 2,
        "CR": 3,
        "EDGE": 4,
        "DETECTED": 5,
        "DETECTED_NEGATIVE": 6,
        "SUSPECT": 7,
        "NO_DATA": 8,
    }
    metadata = exposure.getMetadata()
    assert metadata.getScalar("EXPID") == 12345 and type(metadata.getScalar("EXPID")) is int
    assert metadata.getScalar("EXPTIME") == 30.0 and type(metadata.getScalar("EXPTIME")) is float
    assert metadata.getScalar("DETNAME") == "detector 1"
    assert metadata.getScalar("DETSER") == "xkcd722"
    primary = astropy_hdus(fixtures / name)[0][0]
    assert metadata.getScalar("DETECTOR_ID") == primary["DETECTOR_ID"] > 0  # archive ids stay
    for stripped in (
        "EXPINFO_V",
        "AR_HDU",
        "INHERIT",
        "EXTTYPE",
        "LTV1",
        "LTV2",
        "CRVAL1A",
        "CRPIX1A",
        "NAXIS",
    ):
        assert stripped not in metadata, stripped
    # The sky WCS of the image HDU stays in the (merged) metadata.
    assert metadata.getScalar("CTYPE1") == "RA---TAN"
    archive = exposure.archive
    assert isinstance(archive, ExposureArchive)
    index = astropy_hdus(fixtures / name)[4][0]
    assert len(archive) == index["AR_NCAT"] == len(hdu_spans(fixtures / name)) - 4
    assert archive.version == version == primary.get("EXPINFO_V", 0)
    assert archive.getHdus()[0].header["EXTTYPE"] == "ARCHIVE_INDEX"


def test_version_2_archive_index_rows(fixtures: Path) -> None:
    archive = ExposureF(fixtures / V2).archive
    index = archive.getHduList()[1].data
    # The file's archive index (lsst/afw src/table/io/OutputArchive.cc layout): ten rows;
    # the Detector (id 4) owns catalogs 4 and 7.
    assert len(index) == 10
    detector_rows = index[index["id"] == 4]
    assert sorted(detector_rows["cat.archive"]) == [4, 7]
    assert {name.strip() for name in detector_rows["name"]} == {"Detector"}


def test_hsc_cutout_legacy_uint16_mask(fixtures: Path) -> None:
    path = fixtures / HSC
    hdus = astropy_hdus(path)
    exposure = ExposureF(path)
    assert exposure.getXY0() == Point2I(100, 100)
    assert exposure.getBBox() == Box2I(Point2I(100, 100), Extent2I(200, 200))
    assert hdus[2][0]["BITPIX"] == 16 and hdus[2][0]["BZERO"] == 32768
    assert exposure.mask.array.dtype == np.int32
    np.testing.assert_array_equal(exposure.mask.array, hdus[2][1].astype(np.int32))
    assert set(np.unique(exposure.mask.array)) == {0, 32, 256}
    planes = dict(exposure.mask.planeDict)
    assert planes["CROSSTALK"] == 8 and planes["NO_DATA"] == 9 and planes["UNMASKEDNAN"] == 10
    file_planes = {k[3:]: v for k, v in hdus[2][0].items() if k.startswith("MP_")}
    assert planes == file_planes and len(planes) == 11
    assert same_bits(exposure.image.array, hdus[1][1])
    assert same_bits(exposure.variance.array, hdus[3][1])
    metadata = exposure.getMetadata()
    assert metadata.getScalar("WCS_ID") == 1  # the pre-2017 archive id stays, as in afw
    assert metadata.getScalar("FILTER") == "_unknown_"
    assert metadata.getScalar("FLUXMAG0") == 0.0 and type(metadata.getScalar("FLUXMAG0")) is float
    assert metadata.getScalar("CRPIX1") == pytest.approx(866.842697735752, abs=0, rel=1e-15)
    assert "LTV1" not in metadata and "CRVAL1A" not in metadata
    assert exposure.archive is not None and len(exposure.archive) == 3 and exposure.archive.version == 0


def test_mask_read_alone_keeps_the_file_planes(fixtures: Path) -> None:
    mask = Mask.readFits(fixtures / HSC, hdu=2)
    assert mask.getXY0() == Point2I(100, 100)
    assert mask.getPlaneBitMask("NO_DATA") == 1 << 9  # the file's bit, not today's default 8
    assert Mask.getPlaneBitMask("NO_DATA") == 1 << 8  # the process default is untouched
    metadata = PropertyList()
    same = Mask(str(fixtures / HSC), 2, metadata=metadata)
    np.testing.assert_array_equal(same.array, mask.array)
    assert metadata.getScalar("EXTTYPE") == "MASK"


def test_parent_fits_reads_only_the_primary_image(fixtures: Path) -> None:
    path = fixtures / "parent.fits"
    hdus = astropy_hdus(path)
    masked = MaskedImageF(path)
    assert same_bits(masked.image.array, hdus[0][1])
    # afw reads mask and variance only when the image is HDU 1.
    assert not masked.mask.array.any() and not masked.variance.array.any()
    exposure = ExposureF(path)
    assert exposure.archive is None
    assert exposure.metadata.getScalar("CRVAL1") == 45.0
    mask = Mask.readFits(path, hdu=1)  # still readable explicitly (uint16 on disk)
    np.testing.assert_array_equal(mask.array, hdus[1][1].astype(np.int32))


def test_fpacked_image_reads_like_the_gzipped_original(fixtures: Path) -> None:
    plain = ExposureF(fixtures / "ticketdm26260.fits")
    packed = ExposureF(fixtures / "ticketdm26260.fits.fz")
    with fits.open(fixtures / "ticketdm26260.fits.fz", disable_image_compression=True) as hdulist:
        assert hdulist[1].header["ZCMPTYPE"] == "GZIP_2"  # really tile-compressed
    assert plain.getDimensions() == Extent2I(512, 512)
    assert same_bits(plain.image.array, packed.image.array)
    assert same_bits(plain.image.array, astropy_hdus(fixtures / "ticketdm26260.fits")[0][1])
    # hdu=0 on an empty primary in front of a compressed image means HDU 1 (afw).
    assert same_bits(ImageF.readFits(fixtures / "ticketdm26260.fits.fz", hdu=0).array, plain.image.array)


def test_raw_16_bit_image_becomes_float32(fixtures: Path) -> None:
    path = fixtures / "small_MI_corrupt_img.fits"
    header, data = astropy_hdus(path)[0]
    assert header["BITPIX"] == 16
    image = ImageF.readFits(path)
    assert image.array.dtype == np.float32
    np.testing.assert_array_equal(image.array, data.astype(np.float32))


def test_empty_planes_like_ticket2233(tmp_path: Path) -> None:
    # afw's ticket2233.fits: 0x0 planes, i4/u2/f4, no INHERIT, a WCS in the primary.
    path = tmp_path / "ticket2233.fits"
    primary = fits.PrimaryHDU()
    primary.header["CTYPE1"] = "RA---TAN"
    fits.HDUList(
        [
            primary,
            fits.ImageHDU(np.zeros((0, 0), np.int32)),
            fits.ImageHDU(np.zeros((0, 0), np.uint16)),
            fits.ImageHDU(np.zeros((0, 0), np.float32)),
        ]
    ).writeto(path)
    exposure = ExposureF(path)
    assert exposure.getDimensions() == Extent2I(0, 0)
    assert "CTYPE1" not in exposure.metadata  # no INHERIT: the image header alone
    out = tmp_path / "empty_out.fits"
    exposure.writeFits(out, compression="lossless")  # empty planes are written uncompressed
    assert ExposureF(out).getDimensions() == Extent2I(0, 0)


def test_empty_archive_index_is_carried(tmp_path: Path) -> None:
    # Like afw's ZPN.fits: an Exposure always has an archive index, possibly empty.
    path = tmp_path / "zpn_like.fits"
    source = make_exposure(6, 4, (0, 0))
    source.writeFits(path)
    index = fits.BinTableHDU.from_columns([fits.Column(name="id", format="1J", array=np.zeros(0, np.int32))])
    index.header["EXTTYPE"] = "ARCHIVE_INDEX"
    index.header["AR_CATN"] = 0
    index.header["AR_NCAT"] = 1
    with fits.open(path) as hdulist:
        hdulist[0].header["AR_HDU"] = 5
        fits.HDUList([*hdulist, index]).writeto(tmp_path / "with_index.fits")
    exposure = ExposureF(tmp_path / "with_index.fits")
    assert exposure.archive is not None and len(exposure.archive) == 1
    exposure.writeFits(tmp_path / "again.fits")
    with fits.open(tmp_path / "again.fits") as hdulist:
        assert len(hdulist) == 5 and hdulist[0].header["AR_HDU"] == 5


def test_read_metadata_merges_inherit(fixtures: Path) -> None:
    metadata = readMetadata(fixtures / HSC)  # default HDU: 1, behind the empty primary
    assert metadata.getScalar("EXTTYPE") == "IMAGE"
    assert metadata.getScalar("FILTER") == "_unknown_"  # from the primary, via INHERIT
    assert metadata.getScalar("BITPIX") == -32  # not stripped by default
    stripped = readMetadata(fixtures / HSC, hdu=2, strip=True)
    assert "BITPIX" not in stripped and "INHERIT" not in stripped and stripped.getScalar("MP_NO_DATA") == 9


def test_sub_region_read(fixtures: Path) -> None:
    full = ExposureF(fixtures / HSC)
    bbox = Box2I(Point2I(150, 120), Extent2I(20, 30))
    part = ExposureF(fixtures / HSC, bbox=bbox)
    assert part.getBBox() == bbox
    np.testing.assert_array_equal(part.image.array, full.image.array[20:50, 50:70])
    np.testing.assert_array_equal(part.mask.array, full.mask.array[20:50, 50:70])
    local = ImageF(str(fixtures / HSC), bbox=Box2I(Point2I(50, 20), Extent2I(20, 30)), origin=LOCAL)
    assert local.getXY0() == Point2I(150, 120)
    np.testing.assert_array_equal(local.array, part.image.array)
    with pytest.raises(FitsError, match=re.escape(HSC)):
        ExposureF(fixtures / HSC, bbox=Box2I(Point2I(0, 0), Extent2I(20, 20)))


# ---------------------------------------------------------------------------
# Files written by afwlite, checked card by card with astropy
# ---------------------------------------------------------------------------


def test_written_exposure_layout(tmp_path: Path) -> None:
    exposure = make_exposure(13, 7, (-3, 7))
    exposure.setDetector(FakeDetector())
    exposure.metadata.set("EXTNAME", "SHOULD_NOT_BE_IN_PRIMARY")
    exposure.metadata.set("CTYPE1", "RA---TAN")
    exposure.metadata.set("OBSID", "x")
    path = tmp_path / "exposure.fits"
    exposure.writeFits(path)
    with fits.open(path) as hdulist:
        assert [type(h) for h in hdulist] == [fits.PrimaryHDU, fits.ImageHDU, fits.ImageHDU, fits.ImageHDU]
        primary = hdulist[0].header
        assert primary["NAXIS"] == 0
        assert "EXTNAME" not in primary and "AR_HDU" not in primary and "CTYPE1" not in primary
        assert primary["EXPINFO_V"] == 2
        assert primary.cards["EXPINFO_V"].image.startswith("HIERARCH EXPINFO_V")
        assert primary["DETNAME"] == "R22_S11" and primary["DETSER"] == "ITL-3800C-042"
        assert primary["OBSID"] == "x"
        planes = exposure.image, exposure.mask, exposure.variance
        for hdu, name, bitpix, plane in zip(
            hdulist[1:], ("IMAGE", "MASK", "VARIANCE"), (-32, 32, -32), planes, strict=True
        ):
            header = hdu.header
            assert header["BITPIX"] == bitpix
            assert "BZERO" not in header and "BSCALE" not in header
            assert header["INHERIT"] is True
            assert header["EXTTYPE"] == name and header["EXTNAME"] == name
            assert header["LTV1"] == 3.0 and header["LTV2"] == -7.0
            assert header["CTYPE1"] == "RA---TAN"  # the sky WCS goes on every plane
            # lsst/afw wcsUtils.cc createTrivialWcsMetadata("A", xy0)
            assert header["CTYPE1A"] == "LINEAR" and header["CTYPE2A"] == "LINEAR"
            assert header["CRPIX1A"] == 1.0 and header["CRPIX2A"] == 1.0
            assert header["CRVAL1A"] == -3.0 and header["CRVAL2A"] == 7.0
            assert header["CUNIT1A"] == "PIXEL" and header["CUNIT2A"] == "PIXEL"
            assert header.comments["CRPIX1A"] == "Column Pixel Coordinate of Reference"
            assert header.comments["CRVAL2A"] == "Row pixel of Reference Pixel"
            np.testing.assert_array_equal(hdu.data, plane.array)
        mask_header = hdulist[2].header
        mp_keys = [k for k in mask_header if k.startswith("MP_")]
        assert mp_keys == sorted(mp_keys)
        assert {k[3:]: mask_header[k] for k in mp_keys} == dict(exposure.mask.planeDict)
        assert not any(k.startswith("MP_") for k in hdulist[1].header)


def test_written_masked_image_layout(tmp_path: Path) -> None:
    masked = make_exposure(5, 4, (2, 9)).maskedImage
    path = tmp_path / "mi.fits"
    primary = PropertyList({"OBSERVER": "me"})
    masked.writeFits(path, primary, PropertyList({"IMKEY": 1.5}))
    with fits.open(path) as hdulist:
        assert len(hdulist) == 4 and hdulist[0].header["OBSERVER"] == "me"
        assert "EXPINFO_V" not in hdulist[0].header  # only Exposures carry it
        assert "LTV1" not in hdulist[1].header  # afw writes LTV for Exposures only
        assert hdulist[1].header["IMKEY"] == 1.5 and hdulist[2].header["EXTNAME"] == "MASK"
    metadata, image_metadata = PropertyList(), PropertyList()
    back = MaskedImageF(path, metadata=metadata, imageMetadata=image_metadata)
    assert metadata.getScalar("OBSERVER") == "me"
    assert image_metadata.getScalar("IMKEY") == 1.5 and image_metadata.getScalar("OBSERVER") == "me"
    assert back.getXY0() == Point2I(2, 9)
    np.testing.assert_array_equal(back.mask.array, masked.mask.array)


def test_written_image_layouts(tmp_path: Path) -> None:
    image = ImageF(np.arange(12, dtype=np.float32).reshape(3, 4), xy0=Point2I(5, -2))
    path = tmp_path / "image.fits"
    image.writeFits(path, PropertyList({"KEY": "value"}))
    with fits.open(path) as hdulist:
        assert len(hdulist) == 1 and hdulist[0].header["BITPIX"] == -32
        assert hdulist[0].header["CRVAL1A"] == 5.0 and hdulist[0].header["CRVAL2A"] == -2.0
        assert hdulist[0].header["KEY"] == "value"
    second = ImageF(np.full((2, 2), 7.0, np.float32))
    second.writeFits(path, mode="a")
    with fits.open(path) as hdulist:
        assert len(hdulist) == 2 and isinstance(hdulist[1], fits.ImageHDU)
    assert ImageF.readFits(path).getXY0() == Point2I(5, -2)
    np.testing.assert_array_equal(ImageF.readFits(path, hdu=1).array, second.array)
    mask = Mask(np.array([[0, -(2**31)], [4, 0]], np.int32), xy0=Point2I(1, 1), planeDict={"ZED": 0, "AB": 2})
    mask.writeFits(tmp_path / "mask.fits")
    with fits.open(tmp_path / "mask.fits") as hdulist:
        header = hdulist[0].header
        assert header["BITPIX"] == 32 and "BZERO" not in header
        assert [k for k in header if k.startswith("MP_")] == ["MP_AB", "MP_ZED"]
    back_mask = Mask.readFits(tmp_path / "mask.fits")
    assert dict(back_mask.planeDict) == {"ZED": 0, "AB": 2} and back_mask.getXY0() == Point2I(1, 1)
    np.testing.assert_array_equal(back_mask.array, mask.array)
    packed = tmp_path / "image_packed.fits"
    image.writeFits(packed, compression="lossless")
    with fits.open(packed, disable_image_compression=True) as hdulist:
        # A compressed single image sits behind an empty primary, as CFITSIO writes it.
        assert len(hdulist) == 2 and hdulist[0].header["NAXIS"] == 0 and hdulist[1].header["ZIMAGE"]
    assert ImageF.readFits(packed).getXY0() == Point2I(5, -2)
    np.testing.assert_array_equal(ImageF.readFits(packed).array, image.array)


def _gzip2_row(compressed_row: np.ndarray, width: int, dtype: str) -> np.ndarray:
    """Decode one GZIP_2 tile by hand: gunzip, then undo the byte shuffle."""
    raw = gzip.decompress(bytes(np.asarray(compressed_row, dtype=np.uint8)))
    size = np.dtype(dtype).itemsize
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(size, width)
    return np.ascontiguousarray(planes.T).view(dtype).ravel()


def test_lossless_compression_is_bit_exact(tmp_path: Path) -> None:
    exposure = make_exposure(37, 11, (4, 1))
    exposure.image.array[2, 3] = np.nan
    exposure.image.array[4, 5] = -np.inf
    exposure.image.array[5, 6] = -0.0
    exposure.image.array[6, 7] = np.float32(1e-42)  # subnormal
    exposure.mask.array[1, 1] = -(2**31)  # bit 31 set
    path = tmp_path / "packed.fits"
    exposure.writeFits(path, compression="lossless")
    with fits.open(path, disable_image_compression=True) as hdulist:
        assert len(hdulist) == 4
        for index, dtype, plane in ((1, ">f4", exposure.image), (2, ">i4", exposure.mask)):
            header = hdulist[index].header
            assert header["ZCMPTYPE"] == "GZIP_2"
            assert header["ZTILE1"] == 37 and header["ZTILE2"] == 1  # one row per tile
            assert header.get("ZQUANTIZ", "NONE") == "NONE"
            assert hdulist[index].columns.names == ["COMPRESSED_DATA"]  # no ZSCALE/ZZERO: not quantized
            assert header["EXTNAME"] == ("IMAGE" if index == 1 else "MASK")
            rows = hdulist[index].data["COMPRESSED_DATA"]
            for y in (0, 2, 4, 10):
                decoded = _gzip2_row(rows[y], 37, dtype)
                assert np.array_equal(
                    decoded.astype(plane.array.dtype).view(np.uint32), plane.array[y].view(np.uint32)
                )
        assert hdulist[1].header["ZQUANTIZ"] == "NONE"  # float planes say so explicitly (CFITSIO)
    with fits.open(path) as hdulist:  # astropy's own decompression agrees
        assert same_bits(hdulist[1].data, exposure.image.array)
        assert same_bits(hdulist[3].data, exposure.variance.array)
    back = ExposureF(path)
    assert same_bits(back.image.array, exposure.image.array)
    np.testing.assert_array_equal(back.mask.array, exposure.mask.array)
    assert back.getXY0() == Point2I(4, 1)


def test_compression_options(tmp_path: Path) -> None:
    exposure = make_exposure(8, 6, (0, 0))
    path = tmp_path / "per_plane.fits"
    exposure.writeFits(
        path, compression={"image": "lossless", "mask": {"algorithm": "RICE_1"}, "variance": None}
    )
    with fits.open(path, disable_image_compression=True) as hdulist:
        assert hdulist[1].header["ZCMPTYPE"] == "GZIP_2"
        assert hdulist[2].header["ZCMPTYPE"] == "RICE_1"
        assert isinstance(hdulist[3], fits.ImageHDU)
    np.testing.assert_array_equal(ExposureF(path).mask.array, exposure.mask.array)
    with pytest.raises(NotImplementedError, match=r"lossy"):
        exposure.writeFits(tmp_path / "lossy.fits", compression={"quantization": {"level": 16}})
    with pytest.raises(ValueError, match=r"RICE_1"):
        exposure.writeFits(tmp_path / "rice.fits", compression="RICE_1")
    assert not (tmp_path / "rice.fits").exists() and not (tmp_path / "lossy.fits").exists()


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


def test_metadata_values_round_trip(tmp_path: Path) -> None:
    metadata = PropertyList()
    values: dict[str, Any] = {
        "INTKEY": -17,
        "BIGINT": 2**40 + 3,
        "FLT": 0.1 + 0.2,
        "THIRD": 1.0 / 3.0,
        "TINY": -1.2345678901234567e-105,  # 24 characters: needs free format to keep every digit
        "NANKEY": math.nan,
        "POSINF": math.inf,
        "NEGINF": -math.inf,
        "TRUEKEY": True,
        "FALSEKEY": False,
        "UNDEF": None,
        "STR": "hello world",
        "LONGSTR": "x" * 150 + "END",
        "A_VERY_LONG_KEY_NAME": 3.5,
        "LSST BUTLER ID": "0e6a9f5c",
    }
    for key, value in values.items():
        metadata.set(key, value)
    metadata.setComment("INTKEY", "an integer")
    metadata.add("COMMENT", "first comment")
    metadata.add("COMMENT", "second comment")
    metadata.add("HISTORY", "made by a test")
    metadata.add("MULTI", 1)
    metadata.add("MULTI", 2)
    exposure = make_exposure(3, 2, (0, 0))
    exposure.setMetadata(metadata)
    path = tmp_path / "metadata.fits"
    exposure.writeFits(path)
    with fits.open(path) as hdulist:
        primary = hdulist[0].header
        # afw's encoding, seen by astropy: non-finite floats are strings, None is undefined.
        assert (
            primary["NANKEY"] == "NAN"
            and primary["POSINF"] == "+INFINITY"
            and primary["NEGINF"] == "-INFINITY"
        )
        assert primary.cards["UNDEF"].image[8:].strip() == "="  # a card with no value
        assert primary.cards["A_VERY_LONG_KEY_NAME"].image.startswith("HIERARCH A_VERY_LONG_KEY_NAME")
        assert primary["LONGSTR"] == "x" * 150 + "END"
        assert primary["TINY"] == values["TINY"]
        assert list(primary["COMMENT"]) == ["first comment", "second comment"]
        assert [card.value for card in primary.cards if card.keyword == "MULTI"] == [1, 2]
    back = ExposureF(path).getMetadata()
    for key, value in values.items():
        got = back.getScalar(key) if value is not None else back.get(key, "missing")
        if isinstance(value, float) and math.isnan(value):
            assert isinstance(got, float) and math.isnan(got), key
        else:
            assert got == value and type(got) is type(value), key
    assert back.getComment("INTKEY") == "an integer"
    assert back.getArray("COMMENT") == ["first comment", "second comment"]
    assert back.getArray("HISTORY") == ["made by a test"]
    assert back.getArray("MULTI") == [1, 2]
    assert exposure.getMetadata() == metadata  # the writer did not touch its input


def test_randomised_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(20240613)
    shapes = [(1, 1), (1, 17), (23, 1), (31, 45), (64, 3)]
    for trial, (height, width) in enumerate(shapes):
        xy0 = (int(rng.integers(-500, 500)), int(rng.integers(-500, 500)))
        exposure = make_exposure(width, height, xy0, seed=trial)
        image = exposure.image.array
        image[rng.random(image.shape) < 0.1] = np.nan
        exposure.mask.array[...] = rng.integers(-(2**31), 2**31, size=(height, width), dtype=np.int64)
        planes = {f"PLANE{i}": int(bit) for i, bit in enumerate(rng.permutation(32)[:5])}
        exposure.setMask(Mask(exposure.mask.array, xy0=exposure.getXY0(), planeDict=planes))
        before = [a.copy() for a in (image, exposure.mask.array, exposure.variance.array)]
        for compression in (None, "lossless"):
            path = tmp_path / f"trial{trial}_{compression}.fits"
            exposure.writeFits(path, compression=compression)
            back = ExposureF.readFits(path)
            assert back.getXY0() == Point2I(*xy0)
            assert same_bits(back.image.array, image)
            assert same_bits(back.variance.array, exposure.variance.array)
            np.testing.assert_array_equal(back.mask.array, exposure.mask.array)
            assert dict(back.mask.planeDict) == planes
        # Writing left the inputs as they were (astropy byte-swaps writeable arrays in place).
        assert all(
            np.array_equal(a.view(np.uint32), b.view(np.uint32))
            for a, b in zip(before, (image, exposure.mask.array, exposure.variance.array), strict=True)
        )
        assert image.flags.writeable


@pytest.mark.parametrize("name", [V2, HSC])
def test_archive_copied_byte_for_byte(fixtures: Path, tmp_path: Path, name: str) -> None:
    source = fixtures / name
    exposure = ExposureF(source)
    out = tmp_path / "copy.fits"
    exposure.writeFits(out)
    source_spans, out_spans = hdu_spans(source), hdu_spans(out)
    assert len(out_spans) == len(source_spans)
    source_bytes, out_bytes = source.read_bytes(), out.read_bytes()
    for (s0, s1), (o0, o1) in zip(source_spans[4:], out_spans[4:], strict=True):
        assert source_bytes[s0:s1] == out_bytes[o0:o1]
    with fits.open(source) as original, fits.open(out) as copy:
        assert copy[0].header["AR_HDU"] == 5
        assert copy[0].header.get("EXPINFO_V", 0) == original[0].header.get("EXPINFO_V", 0)
        ids = [k for k in original[0].header if k.endswith("_ID")]
        assert ids and all(copy[0].header[k] == original[0].header[k] for k in ids)
    back = ExposureF(out)
    assert back.archive is not None and back.archive.hduBytes == exposure.archive.hduBytes
    assert same_bits(back.image.array, exposure.image.array)
    # A gzipped copy (CFITSIO and astropy read those transparently) carries the same archive.
    zipped = tmp_path / "copy.fits.gz"
    zipped.write_bytes(gzip.compress(source_bytes))
    assert ExposureF(zipped).archive.hduBytes == exposure.archive.hduBytes


def test_archive_dropped_for_a_subset(fixtures: Path, tmp_path: Path) -> None:
    exposure = ExposureF(fixtures / V2)
    clone = exposure.clone()
    clone.writeFits(tmp_path / "clone.fits")
    with fits.open(tmp_path / "clone.fits") as hdulist:
        assert len(hdulist) == 13  # a deep copy of the same pixels keeps the archive
    part = exposure[Box2I(Point2I(2, 2), Extent2I(5, 5))]
    part.writeFits(tmp_path / "part.fits")
    with fits.open(tmp_path / "part.fits") as hdulist:
        assert len(hdulist) == 4
        primary = hdulist[0].header
        assert "AR_HDU" not in primary
        assert not [k for k in primary if k.endswith("_ID") or k.startswith("ARCHIVE_ID_")]
        assert primary["EXPID"] == 12345  # ordinary metadata is kept
    assert ExposureF(tmp_path / "part.fits").archive is None
    assert part.getMetadata().getScalar("DETECTOR_ID") == 4  # the input metadata is untouched


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_not_fits_and_missing(tmp_path: Path) -> None:
    text = tmp_path / "notes.fits"
    text.write_text("this is not FITS\n" * 200)
    for reader in (ExposureF, ImageF.readFits, MaskedImageF.readFits, Mask.readFits):
        with pytest.raises(FitsError, match=r"notes\.fits"):
            reader(text)
    with pytest.raises(FitsError, match=r"absent\.fits.*no such file"):
        ExposureF(tmp_path / "absent.fits")


@pytest.mark.parametrize("cut", [8740, 14500, 104440])
def test_truncated_files(fixtures: Path, tmp_path: Path, cut: int) -> None:
    # 8740: inside HDU 2's header; 14500: inside the mask data; 104440: inside the archive.
    path = tmp_path / "truncated.fits"
    path.write_bytes((fixtures / V2).read_bytes()[:cut])
    with pytest.raises(FitsError, match=r"truncated\.fits.*truncated"):
        ExposureF(path)


def test_unsafe_mask_types(tmp_path: Path) -> None:
    image = np.zeros((3, 4), np.float32)
    bits = np.array([[0, 1, 2**31, 2**32 - 1]] * 3, dtype=np.uint32)
    path = tmp_path / "uint32mask.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.ImageHDU(image), fits.ImageHDU(bits), fits.ImageHDU(image)]
    ).writeto(path)
    with fits.open(path) as hdulist:
        assert hdulist[2].header["BZERO"] == 2**31  # astropy's uint32 convention, as CFITSIO's
    with pytest.raises(FitsTypeError, match=r"uint32mask\.fits\[HDU 2\].*allowUnsafe"):
        ExposureF(path)
    with pytest.raises(FitsTypeError, match=r"uint32mask\.fits"):
        Mask.readFits(path, hdu=2)
    unsafe = ExposureF(path, allowUnsafe=True)
    np.testing.assert_array_equal(unsafe.mask.array.view(np.uint32), bits)
    float_path = tmp_path / "floatmask.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.ImageHDU(image), fits.ImageHDU(image + 3), fits.ImageHDU(image)]
    ).writeto(float_path)
    with pytest.raises(FitsTypeError, match=r"floatmask\.fits"):
        MaskedImageF(float_path)
    assert (MaskedImageF(float_path, allowUnsafe=True).mask.array == 3).all()


def _exposure_hdus(mask_shape: tuple[int, int] = (3, 4), mask_x0: float = 0.0) -> list[Any]:
    mask = fits.ImageHDU(np.zeros(mask_shape, np.int32))
    for key, value in (("CRPIX1A", 1.0), ("CRPIX2A", 1.0), ("CRVAL1A", mask_x0), ("CRVAL2A", 0.0)):
        mask.header[key] = value
    return [
        fits.PrimaryHDU(),
        fits.ImageHDU(np.zeros((3, 4), np.float32)),
        mask,
        fits.ImageHDU(np.zeros((3, 4))),
    ]


def test_inconsistent_planes(tmp_path: Path) -> None:
    path = tmp_path / "shape.fits"
    fits.HDUList(_exposure_hdus(mask_shape=(3, 5))).writeto(path)
    with pytest.raises(FitsError, match=r"shape\.fits\[HDU 2\].*5x3.*4x3"):
        ExposureF(path)
    path = tmp_path / "xy0.fits"
    fits.HDUList(_exposure_hdus(mask_x0=7.0)).writeto(path)
    with pytest.raises(FitsError, match=r"xy0\.fits\[HDU 2\].*xy0"):
        MaskedImageF(path)


def test_missing_or_wrong_image_hdu(tmp_path: Path) -> None:
    empty = tmp_path / "empty.fits"
    fits.PrimaryHDU().writeto(empty)
    with pytest.raises(FitsError, match=r"empty\.fits: no image HDU"):
        ExposureF(empty)
    image = tmp_path / "one.fits"
    fits.PrimaryHDU(np.zeros((2, 2), np.float32)).writeto(image)
    with pytest.raises(FitsError, match=r"one\.fits: no HDU 3"):
        ImageF.readFits(image, hdu=3)
    table = tmp_path / "table.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "J", array=[1])])]
    ).writeto(table)
    with pytest.raises(FitsError, match=r"table\.fits\[HDU 1\].*not an image"):
        ImageF.readFits(table)
    wrong = tmp_path / "exttype.fits"
    hdus = _exposure_hdus()
    hdus[1].header["EXTTYPE"] = "MASK"
    fits.HDUList(hdus).writeto(wrong)
    with pytest.raises(FitsError, match=r"exttype\.fits\[HDU 1\].*EXTTYPE"):
        ExposureF(wrong)
    assert ImageF.readFits(wrong).getDimensions() == Extent2I(4, 3)  # a bare image read does not check it


def test_clashing_mask_plane_cards(tmp_path: Path) -> None:
    for name, cards in (("shared_bit", [("MP_A", 1), ("MP_B", 1)]), ("two_bits", [("MP_A", 1), ("MP_A", 2)])):
        hdus = _exposure_hdus()
        for key, value in cards:
            hdus[2].header.append((key, value))
        path = tmp_path / f"{name}.fits"
        fits.HDUList(hdus).writeto(path)
        with pytest.raises(FitsError, match=rf"{name}.fits\[HDU 2\]"):
            ExposureF(path)


def test_three_d_images(tmp_path: Path) -> None:
    ok = tmp_path / "cube1.fits"
    fits.PrimaryHDU(np.arange(6, dtype=np.float32).reshape(1, 2, 3)).writeto(ok)
    np.testing.assert_array_equal(ImageF.readFits(ok).array, np.arange(6, dtype=np.float32).reshape(2, 3))
    bad = tmp_path / "cube2.fits"
    fits.PrimaryHDU(np.zeros((2, 2, 3), np.float32)).writeto(bad)
    with pytest.raises(FitsError, match=r"cube2\.fits\[HDU 0\].*NAXIS3"):
        ImageF.readFits(bad)


def test_newer_exposure_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.fits"
    hdus = _exposure_hdus()
    hdus[0].header["HIERARCH EXPINFO_V"] = 3
    fits.HDUList(hdus).writeto(path)
    with pytest.raises(FitsError, match=r"future\.fits.*EXPINFO_V"):
        ExposureF(path)


def test_failed_writes_leave_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "keep.fits"
    target.write_bytes(b"previous contents")
    exposure = make_exposure(4, 3, (0, 0))
    exposure.metadata.set("BAD", object())
    with pytest.raises(FitsError, match=r"keep\.fits.*BAD"):
        exposure.writeFits(target)
    exposure.metadata.remove("BAD")

    def fail_midway(self: fits.HDUList, fileobj: Any, **kwargs: Any) -> None:
        with open(fileobj, "wb") as stream:
            stream.write(b"SIMPLE  =  half a file")
        raise OSError("disk full")

    monkeypatch.setattr(fits.HDUList, "writeto", fail_midway)
    with pytest.raises(OSError, match=r"disk full"):
        exposure.writeFits(target)
    assert target.read_bytes() == b"previous contents"
    assert sorted(os.listdir(tmp_path)) == ["keep.fits"]
    with pytest.raises(FitsError, match=r"nowhere"):
        exposure.writeFits(tmp_path / "nowhere" / "x.fits")
    with pytest.raises(FitsError, match=r"absent\.fits: cannot append"):
        ImageF(2, 2).writeFits(tmp_path / "absent.fits", mode="a")


def test_scaled_and_quantized_pixels_match_astropy(tmp_path: Path) -> None:
    raw = np.array([[-32768, 0, 7], [100, -5, 32767]], np.int16)
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"] = 0.5
    hdu.header["BZERO"] = 10.0
    hdu.header["BLANK"] = -32768
    scaled = tmp_path / "scaled.fits"
    hdu.writeto(scaled)
    with fits.open(scaled) as hdulist:
        expected = np.array(hdulist[0].data, dtype=np.float32)
    assert np.isnan(expected[0, 0]) and expected[0, 2] == 13.5  # astropy: BLANK → NaN, 7 * 0.5 + 10
    assert same_bits(ImageF.readFits(scaled).array, expected)
    with pytest.raises(FitsTypeError, match=r"scaled\.fits"):
        Mask.readFits(scaled)  # a scaled integer is a real number, not a bit mask

    data = np.random.default_rng(5).normal(size=(20, 30)).astype(np.float32)
    quantized = tmp_path / "quantized.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.CompImageHDU(data, compression_type="RICE_1", quantize_level=16)]
    ).writeto(quantized)
    with fits.open(quantized) as hdulist:
        expected = np.array(hdulist[1].data, dtype=np.float32)
    assert not np.array_equal(expected, data)  # really lossy
    assert same_bits(ImageF.readFits(quantized).array, expected)


def test_double_image_round_trip(tmp_path: Path) -> None:
    values = np.array([[1.0 / 3.0, 1e-300, -2.5e300], [np.pi, 0.0, np.nan]])
    image = ImageD(values.copy(), xy0=Point2I(1, 2))
    path = tmp_path / "double.fits"
    image.writeFits(path)
    with fits.open(path) as hdulist:
        assert hdulist[0].header["BITPIX"] == -64
    back = ImageD.readFits(path)
    assert np.array_equal(back.array.view(np.uint64), values.view(np.uint64))
    small = tmp_path / "small_double.fits"
    ImageD(np.array([[0.1, -7.25]])).writeFits(small)
    converted = ImageF.readFits(small)  # afw converts on read
    assert converted.array.dtype == np.float32
    np.testing.assert_array_equal(converted.array, np.array([[0.1, -7.25]], dtype=np.float32))


def test_exposure_reader_attaches_the_archived_detector(fixtures: Path, tmp_path: Path) -> None:
    # §6.1: exposure-version-2.fits archives Detector 'detector 1' (id 1, serial xkcd722, 10x10 px).
    exposure = ExposureF(fixtures / "exposure-version-2.fits")
    detector = exposure.getDetector()
    assert detector is not None
    assert (detector.getName(), detector.getId(), detector.getSerial()) == ("detector 1", 1, "xkcd722")
    assert detector.getBBox() == Box2I(Point2I(0, 0), Extent2I(10, 10))
    # The pre-2017 HSC cutout has an archive (a TanWcs) but no Detector.
    assert ExposureF(fixtures / "HSC-0908120-056-small.fits").getDetector() is None
    # Written back with its archive, the detector survives the round trip.
    path = tmp_path / "copy.fits"
    exposure.writeFits(path)
    again = ExposureF(path).getDetector()
    assert again is not None and again.getName() == "detector 1"
