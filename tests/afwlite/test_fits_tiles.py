"""The zlib tile writer and reader of afwlite.fits (``_tiles``), checked against CFITSIO and astropy.

CFITSIO (the ``fitsio`` wheel, what afw links against) and astropy are
independent implementations of the tiled-image convention: files we write
must read back bit-identical through both, with the header cards afw expects;
files CFITSIO writes must read back bit-identical through our fast reader.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import fitsio
import numpy as np
import pytest
from astropy.io import fits

from lsst.sky.correction.afwlite.fits import FitsError, _tiles, read_image
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import LOCAL, ExposureF, ImageD, ImageF, Mask

RNG = np.random.default_rng(2024)


def noisy(shape: tuple[int, int], dtype: type) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        values = RNG.normal(1000.0, 30.0, shape).astype(dtype)
        values.flat[:4] = [np.nan, np.inf, -np.inf, -0.0]
        return values
    return RNG.integers(-(2**30), 2**30, shape).astype(dtype)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return (
        a.shape == b.shape
        and a.astype(a.dtype.newbyteorder("=")).tobytes() == b.astype(b.dtype.newbyteorder("=")).tobytes()
    )


def write_one(path: Path, array: np.ndarray, algorithm: str, tile: tuple[int, int], threads: int) -> None:
    with open(path, "wb") as stream:
        stream.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
        cards = [fits.Card("EXTNAME", "IMAGE"), fits.Card("EXPTIME", 30.0, "seconds")]
        stream.write(_tiles.compressed_hdu_bytes(array, cards, algorithm, tile, threads=threads))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("algorithm", ["GZIP_1", "GZIP_2"])
@pytest.mark.parametrize("tile", [(1, 53), (1, 20), (4, 7), (29, 53)])
def test_written_tiles_read_bit_exact_by_cfitsio_and_astropy(
    tmp_path: Path, dtype: type, algorithm: str, tile: tuple[int, int]
) -> None:
    array = noisy((29, 53), dtype)
    path = tmp_path / "tiles.fits"
    write_one(path, array, algorithm, tile, threads=3)
    assert same_bits(fitsio.read(str(path), ext=1), array)
    with fits.open(path) as hdulist:
        assert same_bits(hdulist[1].data, array)
        assert hdulist[1].header["EXPTIME"] == 30.0
    with fits.open(path, disable_image_compression=True) as hdulist:
        raw = hdulist[1].header
        assert raw["ZCMPTYPE"] == algorithm and raw["ZIMAGE"] is True
        assert (raw["ZTILE1"], raw["ZTILE2"]) == (tile[1], tile[0])
        assert raw["ZBITPIX"] == {np.float32: -32, np.float64: -64, np.int32: 32}[dtype]
        assert hdulist[1].columns.names == ["COMPRESSED_DATA"]
        # CFITSIO reads floats as quantized unless ZQUANTIZ says otherwise.
        assert raw.get("ZQUANTIZ") == ("NONE" if np.dtype(dtype).kind == "f" else None)
        assert hdulist[0].header["NAXIS"] == 0
    with fitsio.FITS(str(path)) as stream:
        assert stream[1].is_compressed()


def test_gzip2_tile_decodes_by_hand(tmp_path: Path) -> None:
    """Row 3 of a one-row-tile file: gunzip, undo the byte shuffle, big-endian floats (FITS convention)."""
    array = noisy((6, 40), np.float32)
    path = tmp_path / "rows.fits"
    write_one(path, array, "GZIP_2", (1, 40), threads=1)
    with fits.open(path, disable_image_compression=True) as hdulist:
        row = bytes(np.asarray(hdulist[1].data["COMPRESSED_DATA"][3], dtype=np.uint8))
    planes = np.frombuffer(gzip.decompress(row), dtype=np.uint8).reshape(4, 40)
    assert same_bits(np.ascontiguousarray(planes.T).view(">f4").ravel(), array[3])


def test_bytes_do_not_depend_on_threads_or_time() -> None:
    array = noisy((700, 64), np.float32)
    one = _tiles.compressed_hdu_bytes(array, [], "GZIP_2", (1, 64), threads=1)
    many = _tiles.compressed_hdu_bytes(array, [], "GZIP_2", (1, 64), threads=4)
    assert one == many
    assert one == _tiles.compressed_hdu_bytes(array, [], "GZIP_2", (1, 64), threads=2)
    assert len(one) % 2880 == 0


def test_exposure_file_deterministic_and_cfitsio_exact(tmp_path: Path) -> None:
    exposure = ExposureF(Box2I(Point2I(5, -3), Extent2I(300, 700)))
    exposure.image.array[:] = noisy((700, 300), np.float32)
    exposure.mask.array[:] = RNG.integers(0, 1 << 10, (700, 300), dtype=np.int32)
    exposure.variance.array[:] = noisy((700, 300), np.float32)
    first, second = tmp_path / "a.fits", tmp_path / "b.fits"
    exposure.writeFits(str(first), compression="lossless")
    exposure.writeFits(str(second), compression="lossless")
    assert first.read_bytes() == second.read_bytes()
    for ext, plane in ((1, exposure.image), (2, exposure.mask), (3, exposure.variance)):
        assert same_bits(fitsio.read(str(first), ext=ext), plane.array)
    back = ExposureF(str(first))
    assert same_bits(back.image.array, exposure.image.array)
    assert same_bits(back.mask.array, exposure.mask.array)
    assert back.getXY0() == Point2I(5, -3)


@pytest.mark.parametrize("tile", [[1, 53], [5, 8], [29, 53]])
@pytest.mark.parametrize("algorithm", ["GZIP_1", "GZIP_2"])
def test_fast_reader_reads_cfitsio_files(tmp_path: Path, tile: list[int], algorithm: str) -> None:
    array = noisy((29, 53), np.float32)
    path = tmp_path / "cfitsio.fits"
    with fitsio.FITS(str(path), "rw", clobber=True) as stream:
        stream.write(array, compress=algorithm, tile_dims=tile, qlevel=None)
    with fits.open(path) as hdulist:
        info = hdulist[1].fileinfo()
    layout = _tiles.tiled_layout(str(path), info["hdrLoc"], info["datLoc"])
    assert layout is not None  # the fast path, not astropy
    # CFITSIO stores the infinities of a lossless float image as NaN: its own read is the truth.
    expected = fitsio.read(str(path), ext=1)
    finite = np.isfinite(array)
    assert same_bits(expected[finite], array[finite])
    assert same_bits(_tiles.decompress_region(layout, (slice(0, 29), slice(0, 53)), threads=2), expected)
    assert same_bits(ImageF.readFits(str(path)).array, expected)
    region = Box2I(Point2I(3, 6), Extent2I(17, 11))
    part = read_image(str(path), ImageF, bbox=region, origin=LOCAL)
    assert same_bits(part.array, expected[6:17, 3:20])


def test_quantized_cfitsio_file_is_left_to_astropy(tmp_path: Path) -> None:
    array = noisy((20, 30), np.float32)
    array.flat[:4] = 1.0
    path = tmp_path / "quantized.fits"
    with fitsio.FITS(str(path), "rw", clobber=True) as stream:
        stream.write(array, compress="GZIP_2", tile_dims=[1, 30], qlevel=4.0)
    with fits.open(path) as hdulist:
        info = hdulist[1].fileinfo()
        expected = hdulist[1].data.astype(np.float32)
    assert _tiles.tiled_layout(str(path), info["hdrLoc"], info["datLoc"]) is None
    assert same_bits(ImageF.readFits(str(path)).array, expected)


def test_double_and_mask_images_round_trip(tmp_path: Path) -> None:
    image = ImageD(noisy((40, 30), np.float64), xy0=Point2I(2, 3))
    image.writeFits(str(tmp_path / "d.fits"), compression="lossless")
    assert same_bits(fitsio.read(str(tmp_path / "d.fits"), ext=1), image.array)
    assert same_bits(ImageD.readFits(str(tmp_path / "d.fits")).array, image.array)
    mask = Mask(Box2I(Point2I(0, 0), Extent2I(30, 40)))
    mask.array[:] = RNG.integers(0, 1 << 8, (40, 30), dtype=np.int32)
    mask.writeFits(str(tmp_path / "m.fits"), compression="GZIP_1")
    assert same_bits(fitsio.read(str(tmp_path / "m.fits"), ext=1), mask.array)
    assert same_bits(Mask.readFits(str(tmp_path / "m.fits")).array, mask.array)


def test_damaged_tile_is_a_fits_error(tmp_path: Path) -> None:
    image = ImageF(noisy((50, 40), np.float32))
    path = tmp_path / "damaged.fits"
    image.writeFits(str(path), compression="lossless")
    data = bytearray(path.read_bytes())
    with fits.open(path) as hdulist:
        heap = hdulist[1].fileinfo()["datLoc"] + 50 * 8
    data[heap + 30 : heap + 60] = b"\xff" * 30  # inside the first tile's deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(FitsError, match=r"damaged\.fits"):
        ImageF.readFits(str(path))
