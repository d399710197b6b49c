"""Derive the compact, committed form of the reference runs' golden outputs.

The real reference-run directory (one sub-directory per case, as produced
outside this repository) holds each case's full mosaics, up to 7.9 MB each:
too big to commit.  This script reads them and writes, per case, what the
parity tests compare against:

``<case>/skyCorr_<detector>.fits.gz``
    The real ``skyCorr_<detector>.fits`` gzip-compressed (``gzip -9``, no name
    or time stamp): decompressed, byte for byte the real file.
``<case>/case.json``, ``make_inputs.py``
    Copied unchanged; the reference runs' ``README.md`` is copied unchanged
    as ``ORIGINAL_README.md`` (its paths name the original location).
``<case>/mosaics.npz``
    For each of ``calExpMosaic`` and ``calBkgMosaic`` (``{name}_`` prefix),
    computed on the task's full mosaic (the stored crop placed into a NaN
    array of ``full_shape``, as the reference README describes):

    ``shape``        full mosaic shape (rows, columns);
    ``finite``       ``np.packbits`` of ``isfinite(mosaic)`` over the whole
                     mosaic, row-major: the exact NaN footprint;
    ``block``        the block size B of ``blockmean``;
    ``blockmean``    float64 mean of the finite pixels of each BxB block
                     (the mosaic padded with NaN to a multiple of B; NaN where
                     a block has no finite pixel);
    ``cutout_origins`` (k, 2) array of (row, column) origins and
    ``cutouts``      (k, C, C) float32 windows copied bit for bit: a 3x3 grid
                     of windows centred at 1/6, 1/2 and 5/6 of the finite
                     pixels' bounding box in each direction;
    ``row``/``column`` float32 copies of the whole middle row and middle
                     column of that bounding box, with ``row_index`` and
                     ``column_index``;
    ``stats``        float64 [finite count, sum, mean, std, min, max] of the
                     finite pixels.

    ``source_sha256`` records the SHA-256 of each real file it came from.

Usage (from the repository root)::

    python tests/data/reference-runs/derive_compact.py /path/to/reference-runs

It reads only that directory (FITS through ``lsst.sky.correction.afwlite``,
whose tile-compressed reader is lossless) and writes into this script's
directory.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from lsst.sky.correction.afwlite.image import ImageF

HERE = Path(__file__).parent
BLOCK = 8
CUTOUT = 64
MOSAICS = ("calExpMosaic", "calBkgMosaic")


def full_mosaic(case_dir: Path, name: str, storage: dict) -> np.ndarray:
    """The task's full mosaic from its cropped, tile-compressed file."""
    image = ImageF.readFits(case_dir / f"{name}.fits")
    full = np.full(storage["full_shape"], np.nan, dtype=np.float32)
    x0 = image.getXY0().getX() - storage["full_xy0"][0]
    y0 = image.getXY0().getY() - storage["full_xy0"][1]
    full[y0 : y0 + image.getHeight(), x0 : x0 + image.getWidth()] = image.array
    return full


def block_mean(mosaic: np.ndarray, block: int) -> np.ndarray:
    """Mean of the finite pixels of each ``block`` x ``block`` block (float64)."""
    rows = -(-mosaic.shape[0] // block) * block
    cols = -(-mosaic.shape[1] // block) * block
    padded = np.full((rows, cols), np.nan)
    padded[: mosaic.shape[0], : mosaic.shape[1]] = mosaic
    finite = np.isfinite(padded)
    values = np.where(finite, padded, 0.0).reshape(rows // block, block, cols // block, block)
    counts = finite.reshape(rows // block, block, cols // block, block).sum(axis=(1, 3))
    sums = values.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def finite_bbox(mosaic: np.ndarray) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1), inclusive, of the finite pixels."""
    rows = np.flatnonzero(np.isfinite(mosaic).any(axis=1))
    cols = np.flatnonzero(np.isfinite(mosaic).any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def cutout_origins(mosaic: np.ndarray, size: int) -> np.ndarray:
    """Origins of a 3x3 grid of windows over the finite bounding box."""
    r0, r1, c0, c1 = finite_bbox(mosaic)
    origins = []
    for fy in (1 / 6, 1 / 2, 5 / 6):
        for fx in (1 / 6, 1 / 2, 5 / 6):
            row = int(r0 + fy * (r1 - r0)) - size // 2
            col = int(c0 + fx * (c1 - c0)) - size // 2
            origins.append(
                (min(max(row, 0), mosaic.shape[0] - size), min(max(col, 0), mosaic.shape[1] - size))
            )
    return np.array(origins, dtype=np.int64)


def summarize(mosaic: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """The compact arrays of one mosaic (see the module docstring)."""
    finite = np.isfinite(mosaic)
    values = mosaic[finite].astype(np.float64)
    origins = cutout_origins(mosaic, CUTOUT)
    r0, r1, c0, c1 = finite_bbox(mosaic)
    row_index, column_index = (r0 + r1) // 2, (c0 + c1) // 2
    out = {
        "shape": np.array(mosaic.shape, dtype=np.int64),
        "finite": np.packbits(finite.ravel()),
        "block": np.array(BLOCK),
        "blockmean": block_mean(mosaic, BLOCK),
        "cutout_origins": origins,
        "cutouts": np.stack([mosaic[r : r + CUTOUT, c : c + CUTOUT] for r, c in origins]),
        "row_index": np.array(row_index),
        "row": mosaic[row_index].copy(),
        "column_index": np.array(column_index),
        "column": mosaic[:, column_index].copy(),
        "stats": np.array(
            [values.size, values.sum(), values.mean(), values.std(), values.min(), values.max()]
        ),
    }
    return {f"{prefix}_{key}": value for key, value in out.items()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def derive_case(source: Path, case: str) -> None:
    case_dir = source / case
    target = HERE / case
    target.mkdir(exist_ok=True)
    info = json.loads((case_dir / "case.json").read_text())
    shutil.copyfile(case_dir / "case.json", target / "case.json")
    for detector in info["detector_ids"]:
        raw = (case_dir / f"skyCorr_{detector}.fits").read_bytes()
        with open(target / f"skyCorr_{detector}.fits.gz", "wb") as stream:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=stream, mtime=0) as gz:
                gz.write(raw)
    arrays: dict[str, np.ndarray] = {}
    hashes = {}
    for name in MOSAICS:
        arrays.update(summarize(full_mosaic(case_dir, name, info["mosaic_storage"][f"{name}.fits"]), name))
        hashes[f"{name}.fits"] = sha256(case_dir / f"{name}.fits")
    arrays["source_sha256"] = np.array(json.dumps(hashes, sort_keys=True))
    np.savez_compressed(target / "mosaics.npz", **arrays)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "source", type=Path, help="the real reference-runs directory (one sub-directory per case)"
    )
    args = parser.parse_args()
    cases = sorted(path.parent.name for path in args.source.glob("*/case.json"))
    if not cases:
        raise SystemExit(f"{args.source}: no <case>/case.json found")
    shutil.copyfile(args.source / "make_inputs.py", HERE / "make_inputs.py")
    shutil.copyfile(args.source / "README.md", HERE / "ORIGINAL_README.md")
    for case in cases:
        derive_case(args.source, case)
        print(f"{case}: done")


if __name__ == "__main__":
    main()
