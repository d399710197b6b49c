"""Property-based and fuzz tests: FITS readers, background interpolation, statistics.

Each test draws a bounded number of examples (``max_examples``), so the
module runs in a few seconds inside ``make test``; set
``SKY_CORRECTION_FUZZ_EXAMPLES`` (e.g. 5000) for a deeper, randomised run.  The contract under test:
bad input ends in the package's own clear error (`FitsError`, the
``afwlite.math`` errors), never in an exception from deep inside astropy or
numpy, and the results that do come back satisfy invariants known
independently of the implementation (numpy's order statistics, exact
reproduction of constant and linear fields, crops equal to the whole).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lsst.sky.correction.afwlite.fits import FitsError, read_exposure, read_image, readMetadata
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ExposureF, ImageF, Mask, MaskedImageF
from lsst.sky.correction.afwlite.math import (
    IQRANGE,
    MAX,
    MEAN,
    MEANCLIP,
    MEDIAN,
    MIN,
    NPOINT,
    STDEV,
    SUM,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    InvalidParameterError,
    OutOfRangeError,
    StatisticsControl,
    UndersampleStyle,
    computeGroupStatistics,
    makeStatistics,
)

# ``make test`` draws the same 40 examples per test every time (a failure is reproducible and
# the run stays short); SKY_CORRECTION_FUZZ_EXAMPLES=5000 explores further with fresh examples.
_DEEP_EXAMPLES = int(os.environ.get("SKY_CORRECTION_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=_DEEP_EXAMPLES or 40,
    deadline=None,
    derandomize=not _DEEP_EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# FITS readers ----------------------------------------------------------------------------------


def _sampleFiles(directory: Path) -> dict[str, Path]:
    """Valid files of every layout the readers handle, written by afwlite."""
    rng = np.random.default_rng(11)
    files = {}
    exposure = ExposureF(Box2I(Point2I(3, -2), Extent2I(24, 17)))
    exposure.image.array[:] = rng.normal(10.0, 2.0, exposure.image.array.shape).astype(np.float32)
    exposure.mask.array[::3, ::5] = exposure.mask.getPlaneBitMask("BAD")
    exposure.variance.array[:] = 4.0
    exposure.getMetadata().set("EXPTIME", 30.0)
    files["exposure"] = directory / "exposure.fits"
    exposure.writeFits(str(files["exposure"]))
    files["exposure_compressed"] = directory / "exposure_compressed.fits"
    exposure.writeFits(str(files["exposure_compressed"]), compression="lossless")
    image = ImageF(rng.normal(0.0, 1.0, (9, 13)).astype(np.float32))
    files["image"] = directory / "image.fits"
    image.writeFits(str(files["image"]))
    files["mask"] = directory / "mask.fits"
    exposure.mask.writeFits(str(files["mask"]))
    stats = MaskedImageF(4, 3)
    stats.image.array[:] = rng.normal(100.0, 5.0, (3, 4)).astype(np.float32)
    stats.variance.array[:] = 1.0
    files["background"] = directory / "background.fits"
    BackgroundList(
        (BackgroundMI(Box2I(Point2I(0, 0), Extent2I(40, 30)), stats), 1, 1, 0, 0, 0, False)
    ).writeFits(str(files["background"]))
    return files


_READERS: dict[str, Callable[[str], Any]] = {
    "exposure": lambda path: read_exposure(path),
    "exposure_compressed": lambda path: read_exposure(path),
    "image": lambda path: read_image(path, ImageF),
    "mask": lambda path: read_image(path, Mask),
    "background": BackgroundList.readFits,
}


@pytest.fixture(scope="module")
def sampleFiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _sampleFiles(tmp_path_factory.mktemp("fuzz-fits"))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory for the damaged copies (hypothesis re-runs a test body many times)."""
    yield tmp_path_factory.mktemp("fuzz-damaged")


def _readOrFitsError(kind: str, path: Path) -> Any:
    """Read ``path``; a `FitsError` naming the file is the only acceptable failure."""
    try:
        return _READERS[kind](str(path))
    except FitsError as error:
        assert str(path) in str(error), f"the message does not name the file: {error}"
        return None


#: The HDUs holding each kind's pixel arrays (uncompressed layouts: pixels at known byte offsets).
_PIXEL_HDUS: dict[str, tuple[tuple[str, int], ...]] = {
    "exposure": (("image", 1), ("mask", 2), ("variance", 3)),
    "image": (("", 0),),
    "mask": (("", 0),),
}


def _assertPixelsIntactOutside(original: Path, kind: str, result: Any, start: int, stop: int) -> None:
    """A damaged file that was read must give the original's pixels outside bytes [start, stop).

    The expectation comes from the undamaged file, read by astropy, and the
    byte offset of each pixel in it; pixels whose bytes were overwritten may
    hold anything.  Layouts without fixed pixel offsets (compressed,
    background lists) must at least keep the original's shapes.
    """
    reference = _READERS[kind](str(original))
    if kind not in _PIXEL_HDUS:
        if kind == "background":
            assert len(result) == len(reference)
            assert result[0][0].getStatsImage().image.array.shape == (3, 4)
        else:
            assert result.image.array.shape == reference.image.array.shape
        return
    with fits.open(original) as hdulist:
        for plane, index in _PIXEL_HDUS[kind]:
            expected = hdulist[index].data
            itemsize = expected.dtype.itemsize
            first = hdulist[index].fileinfo()["datLoc"]
            offsets = first + itemsize * np.arange(expected.size).reshape(expected.shape)
            damaged = (offsets + itemsize > start) & (offsets < stop)
            got = getattr(result, plane).array if plane else result.array
            assert got.shape == expected.shape
            np.testing.assert_array_equal(got[~damaged], expected[~damaged].astype(got.dtype))


def _damagedCopy(data: bytes, directory: Path) -> Path:
    handle, name = tempfile.mkstemp(suffix=".fits", dir=directory)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    return Path(name)


def test_sample_files_read_back(sampleFiles: dict[str, Path]) -> None:
    """The undamaged files read (the fuzz tests below start from them)."""
    for kind, path in sampleFiles.items():
        assert _readOrFitsError(kind, path) is not None, kind


def _hduStarts(path: Path) -> list[int]:
    with fits.open(path) as hdulist:
        return [hdu.fileinfo()["hdrLoc"] for hdu in hdulist]


@FUZZ
@given(kind=st.sampled_from(sorted(_READERS)), fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_files_are_refused(
    sampleFiles: dict[str, Path], scratch: Path, kind: str, fraction: float
) -> None:
    data = sampleFiles[kind].read_bytes()
    cut = int(fraction * len(data))
    # A cut exactly between two HDUs leaves a valid shorter file; those are tested below.
    assume(cut not in _hduStarts(sampleFiles[kind]))
    path = _damagedCopy(data[:cut], scratch)
    # A file cut anywhere else is missing part of an HDU: never read as valid.
    assert _readOrFitsError(kind, path) is None
    with pytest.raises(FitsError, match=r"truncated|not a readable FITS file|HDUs; expected"):
        _READERS[kind](str(path))


@pytest.mark.parametrize("kind", ["exposure", "exposure_compressed"])
def test_exposures_cut_between_hdus_are_refused(
    sampleFiles: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    """afw writes the image plane (EXTTYPE = 'IMAGE') only with the mask and variance after it."""
    data = sampleFiles[kind].read_bytes()
    starts = _hduStarts(sampleFiles[kind])
    for count in (1, 2, 3):  # primary only; + image; + image and mask
        path = tmp_path / f"cut{count}.fits"
        path.write_bytes(data[: starts[count]])
        with pytest.raises(FitsError, match=r"no image HDU|no mask plane|no variance plane"):
            read_exposure(str(path))


@FUZZ
@given(
    kind=st.sampled_from(sorted(_READERS)),
    where=st.floats(0.0, 1.0, exclude_max=True),
    garbage=st.binary(min_size=1, max_size=200),
)
def test_overwritten_bytes_read_or_fail_cleanly(
    sampleFiles: dict[str, Path], scratch: Path, kind: str, where: float, garbage: bytes
) -> None:
    data = bytearray(sampleFiles[kind].read_bytes())
    start = int(where * len(data))
    data[start : start + len(garbage)] = garbage[: len(data) - start]
    path = _damagedCopy(bytes(data), scratch)
    result = _readOrFitsError(kind, path)
    if result is not None:
        _assertPixelsIntactOutside(sampleFiles[kind], kind, result, start, start + len(garbage))


@FUZZ
@given(
    kind=st.sampled_from(sorted(_READERS)),
    card=st.integers(0, 35),
    text=st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=80, max_size=80),
)
def test_garbled_header_cards_read_or_fail_cleanly(
    sampleFiles: dict[str, Path], scratch: Path, kind: str, card: int, text: str
) -> None:
    """Replace one 80-character card of the first header with printable garbage."""
    data = bytearray(sampleFiles[kind].read_bytes())
    original = bytes(data[80 * card : 80 * (card + 1)])
    data[80 * card : 80 * (card + 1)] = text.encode("ascii")
    path = _damagedCopy(bytes(data), scratch)
    result = _readOrFitsError(kind, path)
    if card == 0 and text.encode("ascii") != original:
        assert result is None, "a file without its SIMPLE card was read"
    if result is not None:
        # Only a header card changed: every pixel is the original's.
        _assertPixelsIntactOutside(sampleFiles[kind], kind, result, 80 * card, 80 * card)


@FUZZ
@given(data=st.binary(max_size=6000))
def test_arbitrary_bytes_are_not_fits(scratch: Path, data: bytes) -> None:
    path = _damagedCopy(data, scratch)
    for kind in ("exposure", "image", "background"):
        assert _readOrFitsError(kind, path) is None
    with pytest.raises(FitsError):
        readMetadata(str(path))


@FUZZ
@given(kind=st.sampled_from(sorted(_READERS)), keep=st.floats(0.0, 1.0))
def test_zero_filled_tails_are_refused(
    sampleFiles: dict[str, Path], scratch: Path, kind: str, keep: float
) -> None:
    """A file whose end was lost and zero-filled (a crash before the data reached the disk)."""
    data = sampleFiles[kind].read_bytes()
    with fits.open(sampleFiles[kind]) as hdulist:
        lastHeader = hdulist[-1].fileinfo()["hdrLoc"]
    # Zero from a block boundary up to the last header or earlier, so a header is lost
    # (zeros only in the last HDU's data are indistinguishable from zero pixels).
    cut = int(keep * lastHeader) // 2880 * 2880
    path = _damagedCopy(data[:cut] + b"\0" * (len(data) - cut), scratch)
    assert _readOrFitsError(kind, path) is None


# Background interpolation ------------------------------------------------------------------------

_STYLES = [Interpolate.CONSTANT, Interpolate.LINEAR, Interpolate.NATURAL_SPLINE, Interpolate.AKIMA_SPLINE]
# afw's lookupMinInterpPoints (lsst/afw src/math/Interpolate.cc).
_MIN_POINTS = {
    Interpolate.CONSTANT: 1,
    Interpolate.LINEAR: 2,
    Interpolate.NATURAL_SPLINE: 3,
    Interpolate.AKIMA_SPLINE: 5,
}


@st.composite
def backgroundGrids(draw: st.DrawFn, nanFraction: float = 0.5) -> tuple[BackgroundMI, np.ndarray]:
    """A BackgroundMI over a random image box, from a random grid with NaN cells."""
    nx, ny = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    width = draw(st.integers(nx, 60))
    height = draw(st.integers(ny, 60))
    x0, y0 = draw(st.integers(-50, 50)), draw(st.integers(-50, 50))
    values = draw(hnp.arrays(np.float32, (ny, nx), elements=st.floats(-1e6, 1e6, width=32, allow_nan=False)))
    holes = draw(hnp.arrays(np.bool_, (ny, nx), elements=st.booleans()))
    if draw(st.floats(0, 1)) < nanFraction:
        values = np.where(holes, np.float32(np.nan), values)
    stats = MaskedImageF(nx, ny)
    stats.image.array[:] = values
    bbox = Box2I(Point2I(x0, y0), Extent2I(width, height))
    return BackgroundMI(bbox, stats), values


@FUZZ
@given(grid=backgroundGrids(), style=st.sampled_from(_STYLES))
def test_interpolation_of_any_grid_with_reduce_interp_order(
    grid: tuple[BackgroundMI, np.ndarray], style: Interpolate.Style
) -> None:
    background, values = grid
    image = background.getImageF(style, UndersampleStyle.REDUCE_INTERP_ORDER)
    assert image.getBBox() == background.getImageBBox()
    # One finite cell is enough for a value everywhere (the order is reduced down to a
    # constant); with none, the background is NaN everywhere.
    if np.isfinite(values).any():
        assert np.isfinite(image.array).all()
    else:
        assert np.isnan(image.array).all()


@FUZZ
@given(grid=backgroundGrids(), style=st.sampled_from(_STYLES))
def test_interpolation_without_fallback_fails_cleanly(
    grid: tuple[BackgroundMI, np.ndarray], style: Interpolate.Style
) -> None:
    """Without a fallback, too few cells for the style raise; enough finite cells never do.

    afw's minimum number of points per style (lsst/afw src/math/Interpolate.cc,
    ``lookupMinInterpPoints``): CONSTANT 1, LINEAR 2, NATURAL_SPLINE 3,
    AKIMA_SPLINE 5.  A grid narrower or shorter than that must raise; a grid
    with no NaN cell that is at least that wide and tall must interpolate to a
    finite image.  (Grids with holes in between depend on where the holes are,
    and are only required to end in one of the two.)
    """
    background, values = grid
    minimum = _MIN_POINTS[style]
    ny, nx = values.shape
    try:
        image = background.getImageF(style, UndersampleStyle.THROW_EXCEPTION)
    except (InvalidParameterError, OutOfRangeError) as error:
        assert "interpolation" in str(error) or "too few" in str(error)
        assert not (np.isfinite(values).all() and min(nx, ny) >= minimum), str(error)
        return
    assert min(nx, ny) >= minimum, f"a {nx}x{ny} grid interpolated with {style} without raising"
    assert image.getBBox() == background.getImageBBox()
    if np.isfinite(values).all():
        assert np.isfinite(image.array).all()


@FUZZ
@given(
    grid=backgroundGrids(),
    style=st.sampled_from(_STYLES),
    constant=st.floats(-1e4, 1e4, allow_nan=False),
)
def test_a_constant_field_with_holes_is_reproduced(
    grid: tuple[BackgroundMI, np.ndarray], style: Interpolate.Style, constant: float
) -> None:
    background, values = grid
    assume(np.isfinite(values).any())
    statsImage = background.getStatsImage().image.array
    statsImage[np.isfinite(statsImage)] = np.float32(constant)
    image = background.getImageF(style, UndersampleStyle.REDUCE_INTERP_ORDER)
    np.testing.assert_allclose(image.array, np.float32(constant), rtol=1e-5, atol=1e-3)


@FUZZ
@given(
    nx=st.integers(5, 8),  # Akima needs 5 points per axis
    ny=st.integers(5, 8),
    size=st.tuples(st.integers(30, 80), st.integers(30, 80)),
    plane=st.tuples(*(st.floats(-100, 100, allow_nan=False),) * 3),
    style=st.sampled_from([Interpolate.LINEAR, Interpolate.NATURAL_SPLINE, Interpolate.AKIMA_SPLINE]),
)
def test_a_linear_field_is_reproduced_and_crops_match(
    nx: int,
    ny: int,
    size: tuple[int, int],
    plane: tuple[float, float, float],
    style: Interpolate.Style,
) -> None:
    width, height = size
    bbox = Box2I(Point2I(0, 0), Extent2I(width, height))
    probe = BackgroundMI(bbox, MaskedImageF(nx, ny))
    xcen, ycen = probe.getBinCentersX(), probe.getBinCentersY()
    a, b, c = plane
    stats = MaskedImageF(nx, ny)
    stats.image.array[:] = (a + b * xcen[np.newaxis, :] + c * ycen[:, np.newaxis]).astype(np.float32)
    background = BackgroundMI(bbox, stats)
    image = background.getImageF(style, UndersampleStyle.THROW_EXCEPTION)
    yy, xx = np.mgrid[0:height, 0:width]
    # Linear interpolation, natural and Akima splines all reproduce a plane, extrapolation included.
    np.testing.assert_allclose(image.array, a + b * xx + c * yy, rtol=1e-4, atol=2e-3 * (1 + abs(b) + abs(c)))
    crop = Box2I(Point2I(width // 3, height // 4), Extent2I(width // 2, height // 2))
    np.testing.assert_array_equal(
        background.getImageF(crop, style, UndersampleStyle.THROW_EXCEPTION).array, image[crop].array
    )


# Statistics ------------------------------------------------------------------------------------

_SPECIALS = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def pixelRows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Float32 pixels with NaN and ±inf sprinkled in, and a mask."""
    n = draw(st.integers(1, 300))
    values = draw(hnp.arrays(np.float32, n, elements=st.floats(-1e6, 1e6, width=32)))
    special = draw(hnp.arrays(np.bool_, n, elements=st.booleans()))
    if draw(st.booleans()):
        values = np.where(special, np.float32(draw(_SPECIALS)), values)
    mask = draw(hnp.arrays(np.int32, n, elements=st.sampled_from([0, 0, 0, 1, 2])))
    return values, mask


_FLAGS = NPOINT | MEAN | STDEV | MEDIAN | IQRANGE | MEANCLIP | MIN | MAX | SUM


@FUZZ
@given(row=pixelRows(), clip=st.floats(0.5, 6.0), nIter=st.integers(1, 5), andMask=st.sampled_from([0, 1, 3]))
def test_statistics_invariants(
    row: tuple[np.ndarray, np.ndarray], clip: float, nIter: int, andMask: int
) -> None:
    values, maskBits = row
    sctrl = StatisticsControl(clip, nIter)
    sctrl.setAndMask(andMask)
    stats = makeStatistics(ImageF(values.reshape(1, -1)), Mask(maskBits.reshape(1, -1)), _FLAGS, sctrl)
    usable = values[np.isfinite(values) & ((maskBits & andMask) == 0)].astype(np.float64)
    assert stats.getValue(NPOINT) == usable.size
    if usable.size == 0:
        for prop in (MEAN, MEDIAN, MIN, MAX, MEANCLIP):
            assert np.isnan(stats.getValue(prop))
        return
    low, high = usable.min(), usable.max()
    assert stats.getValue(MIN) == low and stats.getValue(MAX) == high
    assert stats.getValue(SUM) == pytest.approx(usable.sum(), rel=1e-9, abs=1e-6)
    span = 1e-9 * max(abs(low), abs(high), 1.0)
    for prop in (MEAN, MEDIAN):
        assert low - span <= stats.getValue(prop) <= high + span, prop
    # Clipping may reject every pixel (afw then gives NaN), never invent a value outside them.
    meanClip = stats.getValue(MEANCLIP)
    assert np.isnan(meanClip) or low - span <= meanClip <= high + span
    # Order statistics by linear interpolation between the sorted values (numpy's default).
    assert stats.getValue(MEDIAN) == pytest.approx(np.percentile(usable, 50), rel=1e-6, abs=1e-6)
    assert stats.getValue(IQRANGE) >= 0.0
    if usable.size > 1:
        assert stats.getValue(STDEV) >= 0.0


@FUZZ
@given(rows=st.lists(pixelRows(), min_size=1, max_size=6), clip=st.floats(0.5, 6.0))
def test_group_statistics_equal_one_group_at_a_time(
    rows: list[tuple[np.ndarray, np.ndarray]], clip: float
) -> None:
    """Batching the groups (as the background code does) changes no result."""
    width = max(values.size for values, _ in rows)
    padded = np.zeros((len(rows), width), dtype=np.float32)
    good = np.zeros((len(rows), width), dtype=bool)
    for index, (values, _) in enumerate(rows):
        padded[index, : values.size] = values
        good[index, : values.size] = True
    sctrl = StatisticsControl(clip, 3)
    together = computeGroupStatistics(padded, good, _FLAGS, sctrl)
    for index, (values, _) in enumerate(rows):
        alone = makeStatistics(values, _FLAGS, sctrl)
        for prop in (NPOINT, MEDIAN, MIN, MAX):  # order statistics: exactly the same values
            assert together.getValue(prop)[index] == alone.getValue(prop) or (
                np.isnan(together.getValue(prop)[index]) and np.isnan(alone.getValue(prop))
            ), prop
        for prop in (MEAN, MEANCLIP, SUM):  # sums: the same up to the order of the additions
            np.testing.assert_allclose(
                together.getValue(prop)[index],
                alone.getValue(prop),
                rtol=1e-12,
                atol=1e-12,
                err_msg=str(prop),
            )


@FUZZ
@given(
    shape=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    dtype=st.sampled_from([np.int16, np.int32, np.float16]),
)
def test_statistics_refuse_what_they_cannot_measure(shape: tuple[int, int], dtype: Any) -> None:
    values = np.zeros(shape, dtype=dtype)
    # Integer pixels are an afw feature afwlite lacks (NotImplementedError); float16 is no afw type.
    with pytest.raises((TypeError, InvalidParameterError, NotImplementedError), match="makeStatistics"):
        makeStatistics(values, MEAN)
