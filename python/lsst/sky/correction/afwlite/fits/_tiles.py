"""Lossless GZIP tile compression of image HDUs, written and read with ISA-L in threads.

A tile-compressed image (FITS tiled image convention, as CFITSIO and afw
write it) is a binary table with one ``COMPRESSED_DATA`` variable-length
byte column: row *i* holds tile *i* (tiles in FITS order, x fastest),
gzip-compressed.  ``GZIP_1`` compresses the big-endian pixel bytes as they
are; ``GZIP_2`` first shuffles them so that all the most significant bytes
of a tile come first, then the next ones, and so on.  Without quantization
(``ZQUANTIZ = 'NONE'`` on floats) this is lossless.

astropy implements the same convention, but compresses at gzip level 9 one
tile at a time in Python, and decompresses with per-tile overheads several
times the cost of zlib itself.  Here the tiles are compressed and
decompressed in a few threads by ISA-L (`isal.isal_zlib`, Intel's
deflate, the zlib API and the same gzip streams), at its level 1 by default:
measured on a simulated HSC calexp (2048 x 4176, one-row tiles;
``bench/results/fits_tiles.md``), zlib's level 1 is ~4x faster than level 9
for files ~3% larger, and ISA-L's level 1 ~3.5x faster again than zlib's
for files of the same size.  Any gzip decoder (CFITSIO, astropy, zlib)
reads the tiles.  Each tile is compressed independently and the tiles are
assembled in order, so the bytes do not depend on the number of threads;
the gzip header carries no time stamp.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_GZIP_LEVEL",
    "GZIP_ALGORITHMS",
    "TiledLayout",
    "compressed_hdu_bytes",
    "decompress_region",
    "tile_threads",
    "tiled_layout",
]

import dataclasses
import os
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from astropy.io import fits
from isal import isal_zlib

#: Compression level of written tiles (ISA-L: 0 fastest .. 3 smallest).
DEFAULT_GZIP_LEVEL = 1
GZIP_ALGORITHMS = ("GZIP_1", "GZIP_2")
_BLOCK = 2880
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # gzip wrapper, as the FITS convention and CFITSIO use
_ANY_WBITS = 32 + zlib.MAX_WBITS  # accept gzip or zlib streams on read
# Tiles per thread task: enough to amortise the task overhead, few enough to balance.
_TILES_PER_TASK = 256
# Keys of the table structure; never copied from the image header into the table header.
_RESERVED = frozenset(
    {"SIMPLE", "XTENSION", "BITPIX", "EXTEND", "PCOUNT", "GCOUNT", "TFIELDS", "THEAP", "GROUPS"}
)
_RESERVED_PATTERN = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TDIM", "TSCAL", "TZERO", "ZNAXIS", "ZTILE")
_RESERVED_Z = frozenset(
    {
        "ZIMAGE",
        "ZTENSION",
        "ZBITPIX",
        "ZPCOUNT",
        "ZGCOUNT",
        "ZCMPTYPE",
        "ZQUANTIZ",
        "ZDITHER0",
        "ZSIMPLE",
        "ZEXTEND",
        "ZBLOCKED",
        "ZHECKSUM",
        "ZDATASUM",
        "CHECKSUM",
        "DATASUM",
    }
)


def tile_threads() -> int:
    """Threads used to (de)compress tiles: the cores this process may use, at most 4."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 4))


def _is_reserved(keyword: str) -> bool:
    if keyword in _RESERVED or keyword in _RESERVED_Z:
        return True
    return any(
        keyword.startswith(prefix) and keyword[len(prefix) :].isdigit() for prefix in _RESERVED_PATTERN
    )


def _tile_slices(shape: tuple[int, int], tile: tuple[int, int]) -> list[tuple[slice, slice]]:
    """The tiles of an image, in FITS order (x fastest)."""
    height, width = shape
    tile_height, tile_width = tile
    return [
        (slice(y, min(y + tile_height, height)), slice(x, min(x + tile_width, width)))
        for y in range(0, height, tile_height)
        for x in range(0, width, tile_width)
    ]


def _tile_bytes(pixels: np.ndarray, shuffle: bool) -> np.ndarray:
    """The bytes of tiles stacked on axis 0 (each a 2-d block), big-endian, shuffled for GZIP_2.

    Returns a ``(tiles, bytes per tile)`` uint8 array.
    """
    count = pixels.shape[0]
    big = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder(">"))
    raw = big.view(np.uint8).reshape(count, -1, big.dtype.itemsize)
    if shuffle:
        raw = raw.transpose(0, 2, 1)
    return np.ascontiguousarray(raw).reshape(count, -1)


def _gzip(data: Any, level: int) -> bytes:
    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, _GZIP_WBITS)
    return compressor.compress(data) + compressor.flush()


def _encode_tiles(
    array: np.ndarray, tiles: Sequence[tuple[slice, slice]], shuffle: bool, level: int
) -> list[bytes]:
    """Compress a run of tiles; equal full-width tiles are shuffled with one numpy call."""
    first, last = tiles[0], tiles[-1]
    height = first[0].stop - first[0].start
    same = all(t[0].stop - t[0].start == height for t in tiles)
    if same and first[1] == slice(0, array.shape[1]) and last[1] == first[1]:
        block = array[first[0].start : last[0].stop].reshape(len(tiles), height, array.shape[1])
        return [_gzip(row, level) for row in _tile_bytes(block, shuffle)]
    return [_gzip(_tile_bytes(array[t][np.newaxis], shuffle)[0], level) for t in tiles]


def _map_chunks(function: Any, items: Sequence[Any], threads: int) -> list[Any]:
    """``function`` applied to runs of ``items`` on ``threads`` threads; the results concatenated in order."""
    chunks = [items[i : i + _TILES_PER_TASK] for i in range(0, len(items), _TILES_PER_TASK)]
    if threads <= 1 or len(chunks) <= 1:
        return [result for chunk in chunks for result in function(chunk)]
    with ThreadPoolExecutor(max_workers=min(threads, len(chunks))) as pool:
        return [result for done in pool.map(function, chunks) for result in done]


def _card_bytes(cards: Sequence[fits.Card]) -> bytes:
    text = "".join(card.image for card in cards) + "END".ljust(80)
    padded = text + " " * (-len(text) % _BLOCK)
    return padded.encode("ascii")


def compressed_hdu_bytes(
    array: np.ndarray,
    cards: Sequence[fits.Card],
    algorithm: str,
    tile: tuple[int, int],
    *,
    level: int = DEFAULT_GZIP_LEVEL,
    threads: int | None = None,
) -> bytes:
    """A tile-compressed image extension (header and data blocks), lossless.

    Parameters
    ----------
    array : `numpy.ndarray`
        2-d pixels (integer or floating point; not modified).
    cards : sequence of `astropy.io.fits.Card`
        The image header's own cards (EXTNAME, metadata, ...); structural
        and compression keywords among them are ignored.
    algorithm : `str`
        ``"GZIP_1"`` or ``"GZIP_2"``.
    tile : `tuple` [`int`, `int`]
        Tile ``(height, width)``.
    level : `int`, optional
        ISA-L compression level (0-3).
    threads : `int`, optional
        Compression threads; default `tile_threads`.  The bytes do not
        depend on it.

    Returns
    -------
    hdu : `bytes`
        A multiple of 2880 bytes.
    """
    if algorithm not in GZIP_ALGORITHMS:
        raise ValueError(f"tile writer: unsupported algorithm {algorithm!r}; one of {GZIP_ALGORITHMS}")
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"tile writer: needs a non-empty 2-d image, got shape {array.shape}")
    height, width = array.shape
    tile = (min(tile[0], height), min(tile[1], width))
    shuffle = algorithm == "GZIP_2"
    tiles = _map_chunks(
        lambda run: _encode_tiles(array, run, shuffle, level),
        _tile_slices((height, width), tile),
        tile_threads() if threads is None else threads,
    )
    lengths = np.fromiter((len(t) for t in tiles), dtype=np.int64, count=len(tiles))
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    heap_size = int(lengths.sum())
    wide = heap_size >= 2**31  # 32-bit 'P' descriptors cannot address the heap
    descriptor = np.dtype(">i8" if wide else ">i4")
    table = np.empty((len(tiles), 2), dtype=descriptor)
    table[:, 0] = lengths
    table[:, 1] = offsets
    is_float = array.dtype.kind == "f"
    zbitpix = (-8 if is_float else 8) * array.dtype.itemsize
    header = [
        fits.Card("XTENSION", "BINTABLE", "binary table extension"),
        fits.Card("BITPIX", 8, "array data type"),
        fits.Card("NAXIS", 2, "number of array dimensions"),
        fits.Card("NAXIS1", 2 * descriptor.itemsize, "width of table in bytes"),
        fits.Card("NAXIS2", len(tiles), "number of rows in table"),
        fits.Card("PCOUNT", heap_size, "number of group parameters"),
        fits.Card("GCOUNT", 1, "number of groups"),
        fits.Card("TFIELDS", 1, "number of fields in each row"),
        fits.Card("TTYPE1", "COMPRESSED_DATA"),
        fits.Card("TFORM1", f"1{'Q' if wide else 'P'}B({int(lengths.max())})"),
        fits.Card("ZIMAGE", True, "extension contains compressed image"),
        fits.Card("ZTENSION", "IMAGE", "Image extension"),
        fits.Card("ZBITPIX", zbitpix, "array data type"),
        fits.Card("ZNAXIS", 2, "number of array dimensions"),
        fits.Card("ZNAXIS1", width),
        fits.Card("ZNAXIS2", height),
        fits.Card("ZPCOUNT", 0, "number of parameters"),
        fits.Card("ZGCOUNT", 1, "number of groups"),
        fits.Card("ZTILE1", tile[1], "size of tiles to be compressed"),
        fits.Card("ZTILE2", tile[0], "size of tiles to be compressed"),
        fits.Card("ZCMPTYPE", algorithm, "compression algorithm"),
    ]
    if is_float:
        # CFITSIO (hence afw) reads floats as quantized unless told otherwise.
        header.append(fits.Card("ZQUANTIZ", "NONE", "Lossless compression without quantization"))
    header += [card for card in cards if not _is_reserved(card.keyword)]
    data_size = table.nbytes + heap_size
    return b"".join([_card_bytes(header), table.tobytes(), *tiles, b"\0" * (-data_size % _BLOCK)])


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TiledLayout:
    """Where a GZIP tile-compressed image's tiles are in its file."""

    path: str
    shape: tuple[int, int]
    tile: tuple[int, int]
    dtype: np.dtype[Any]
    shuffle: bool
    table_offset: int
    rows: int
    descriptor: np.dtype[Any]
    heap_offset: int


def tiled_layout(path: str, header_start: int, data_start: int) -> TiledLayout | None:
    """The tile layout of a GZIP-compressed image HDU, or `None` if this reader cannot handle it.

    Only the lossless layout with a single ``COMPRESSED_DATA`` column (no
    quantization, no null values, no uncompressed-tile fallback columns) of
    a 2-d image in a plain (not gzip-streamed) file is handled; anything
    else is left to astropy.

    Parameters
    ----------
    path : `str`
        The file.
    header_start, data_start : `int`
        Byte offsets of the HDU's header and data.
    """
    with open(path, "rb") as stream:
        if stream.read(2) == b"\x1f\x8b":
            return None
        stream.seek(header_start)
        raw = stream.read(data_start - header_start)
    header = fits.Header.fromstring(raw.decode("ascii", errors="replace"))
    algorithm = str(header.get("ZCMPTYPE", "")).strip()
    if algorithm not in GZIP_ALGORITHMS or header.get("TFIELDS") != 1:
        return None
    if str(header.get("TTYPE1", "")).strip() != "COMPRESSED_DATA" or int(header.get("ZNAXIS", 0)) != 2:
        return None
    if str(header.get("ZQUANTIZ", "NONE")).strip() != "NONE" or any(
        key in header for key in ("ZSCALE", "ZZERO", "BLANK")
    ):
        return None
    # Unquantized floats keep their NaNs as they are (CFITSIO still writes a ZBLANK
    # for them); in an integer image ZBLANK marks null pixels, left to astropy.
    if "ZBLANK" in header and int(header.get("ZBITPIX", 0)) > 0:
        return None
    form = str(header.get("TFORM1", "")).strip().upper()
    descriptor: np.dtype[Any]
    if form.startswith("1PB"):
        descriptor = np.dtype(">i4")
    elif form.startswith("1QB"):
        descriptor = np.dtype(">i8")
    else:
        return None
    zbitpix = int(header["ZBITPIX"])
    dtypes = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}
    if zbitpix not in dtypes:
        return None
    width, height = int(header["ZNAXIS1"]), int(header["ZNAXIS2"])
    tile = (int(header.get("ZTILE2", 1)), int(header.get("ZTILE1", width)))
    rows, row_bytes = int(header["NAXIS2"]), int(header["NAXIS1"])
    if row_bytes != 2 * descriptor.itemsize or rows != len(_tile_slices((height, width), tile)):
        return None
    return TiledLayout(
        path=path,
        shape=(height, width),
        tile=tile,
        dtype=np.dtype(dtypes[zbitpix]),
        shuffle=algorithm == "GZIP_2",
        table_offset=data_start,
        rows=rows,
        descriptor=descriptor,
        heap_offset=data_start + int(header.get("THEAP", rows * row_bytes)),
    )


def _inflate(compressed: Any, expected: int) -> bytes:
    raw = isal_zlib.decompress(compressed, _ANY_WBITS)
    if len(raw) != expected:
        raise ValueError(f"a tile decompressed to {len(raw)} bytes, expected {expected}")
    return raw


def _unshuffle(raw: bytes, count: int, pixels: int, dtype: np.dtype[Any], shuffle: bool) -> np.ndarray:
    """``count`` tiles of ``pixels`` values each from their concatenated bytes: ``(count, pixels)``."""
    data: np.ndarray = np.frombuffer(raw, dtype=np.uint8)
    if shuffle:
        data = data.reshape(count, dtype.itemsize, pixels).transpose(0, 2, 1)
    return np.ascontiguousarray(data).view(dtype).reshape(count, pixels)


def decompress_region(
    layout: TiledLayout, slices: tuple[slice, slice], *, threads: int | None = None
) -> np.ndarray:
    """Decompress the tiles overlapping ``slices`` and return that region (native byte order).

    Raises
    ------
    ValueError, EOFError, isal.isal_zlib.error
        If the file is truncated or a tile is damaged.
    """
    ys, xs = slices
    all_tiles = _tile_slices(layout.shape, layout.tile)
    wanted = [
        (row, tile)
        for row, tile in enumerate(all_tiles)
        if tile[0].start < ys.stop
        and tile[0].stop > ys.start
        and tile[1].start < xs.stop
        and tile[1].stop > xs.start
    ]
    with open(layout.path, "rb") as stream:
        stream.seek(layout.table_offset)
        size = layout.rows * 2 * layout.descriptor.itemsize
        table_bytes = stream.read(size)
        if len(table_bytes) != size:
            raise EOFError("the tile table is cut short")
        table = np.frombuffer(table_bytes, dtype=layout.descriptor).reshape(layout.rows, 2).astype(np.int64)
        rows = np.array([row for row, _ in wanted], dtype=np.int64)
        first = int(table[rows, 1].min())
        last = int((table[rows, 1] + table[rows, 0]).max())
        stream.seek(layout.heap_offset + first)
        heap = stream.read(last - first)
    if len(heap) != last - first:
        raise EOFError("the compressed tiles are cut short")
    heap_view = memoryview(heap)
    dtype, itemsize = layout.dtype, layout.dtype.itemsize
    out = np.empty((ys.stop - ys.start, xs.stop - xs.start), dtype=dtype.newbyteorder("="))

    def compressed(row: int) -> memoryview:
        offset = int(table[row, 1]) - first
        return heap_view[offset : offset + int(table[row, 0])]

    def place(tile: tuple[slice, slice], pixels: np.ndarray) -> None:
        tile_ys, tile_xs = tile
        y0, y1 = max(tile_ys.start, ys.start), min(tile_ys.stop, ys.stop)
        x0, x1 = max(tile_xs.start, xs.start), min(tile_xs.stop, xs.stop)
        out[y0 - ys.start : y1 - ys.start, x0 - xs.start : x1 - xs.start] = pixels[
            y0 - tile_ys.start : y1 - tile_ys.start, x0 - tile_xs.start : x1 - tile_xs.start
        ]

    def decode(run: Sequence[tuple[int, tuple[slice, slice]]]) -> list[None]:
        # Runs of equal tiles are unshuffled with one numpy call.
        start = 0
        while start < len(run):
            shape = _shape(run[start][1])
            stop = start + 1
            while stop < len(run) and _shape(run[stop][1]) == shape:
                stop += 1
            count, pixels = stop - start, shape[0] * shape[1]
            raw = b"".join(_inflate(compressed(row), pixels * itemsize) for row, _ in run[start:stop])
            values = _unshuffle(raw, count, pixels, dtype, layout.shuffle)
            for (_, tile), tile_values in zip(run[start:stop], values, strict=True):
                place(tile, tile_values.reshape(shape))
            start = stop
        return []

    _map_chunks(decode, wanted, tile_threads() if threads is None else threads)
    return out


def _shape(tile: tuple[slice, slice]) -> tuple[int, int]:
    return tile[0].stop - tile[0].start, tile[1].stop - tile[1].start
