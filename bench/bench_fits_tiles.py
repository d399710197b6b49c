"""Time lossless GZIP_2 tile compression of one simulated HSC calexp: astropy, fitsio (CFITSIO), afwlite.

Run: ``PYTHONPATH=python python bench/bench_fits_tiles.py [--repeat N]``.  Prints wall and CPU
seconds per writer/reader and the file sizes; results are recorded in
``bench/results/fits_tiles.md``.  CPU seconds are the less load-sensitive figure on a shared
machine; wall seconds show what threads buy.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import fitsio
import numpy as np
from astropy.io import fits

from lsst.sky.correction.afwlite.fits import _tiles
from lsst.sky.correction.afwlite.image import ExposureF
from lsst.sky.correction.cameras import getCamera
from lsst.sky.correction.simulation import SimulationConfig, VisitSimulator


def timed(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall and CPU seconds of ``repeat`` calls."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    simulator = VisitSimulator(getCamera("HSC"), SimulationConfig(), seed=1, visit=1)
    calexp = simulator.makeDetector(simulator.detectorIds[40]).calexp
    planes = (calexp.image.array, calexp.mask.array, calexp.variance.array)
    height, width = planes[0].shape
    out = Path(tempfile.mkdtemp(prefix="bench-fits-tiles-"))
    rows: list[tuple[str, float, float, int]] = []

    def astropyWrite(path: Path) -> None:
        hdus: list[fits.PrimaryHDU | fits.CompImageHDU] = [fits.PrimaryHDU()]
        for array in planes:
            options = {"quantize_level": 0.0} if array.dtype.kind == "f" else {}
            hdus.append(fits.CompImageHDU(array, compression_type="GZIP_2", tile_shape=(1, width), **options))
        fits.HDUList(hdus).writeto(path, overwrite=True)

    def fitsioWrite(path: Path) -> None:
        with fitsio.FITS(str(path), "rw", clobber=True) as stream:
            for array in planes:
                stream.write(array, compress="GZIP_2", tile_dims=[1, width], qlevel=None)

    def afwliteWrite(path: Path, level: int, threads: int) -> None:
        with open(path, "wb") as stream:
            stream.write(fits.PrimaryHDU().header.tostring().encode("ascii"))
            for array in planes:
                stream.write(
                    _tiles.compressed_hdu_bytes(array, [], "GZIP_2", (1, width), level=level, threads=threads)
                )

    writers: dict[str, Callable[[Path], None]] = {
        "astropy CompImageHDU (gzip level 9)": astropyWrite,
        "fitsio/CFITSIO": fitsioWrite,
    }
    for level in (1, 3):
        for threads in (1, 2):
            writers[f"afwlite ISA-L level {level}, {threads} thread(s)"] = (
                lambda path, level=level, threads=threads: afwliteWrite(path, level, threads)
            )
    for name, write in writers.items():
        path = out / "calexp.fits"
        wall, cpu = timed(lambda write=write, path=path: write(path), args.repeat)
        rows.append((f"write {name}", wall, cpu, os.path.getsize(path)))
    path = out / "calexp.fits"
    afwliteWrite(path, 1, 1)
    exposureRead = ExposureF(str(path))
    assert np.array_equal(exposureRead.image.array.view(np.uint32), planes[0].view(np.uint32))
    readers: dict[str, Callable[[], object]] = {
        "astropy section": lambda: [fits.open(path)[i].section[:, :] for i in (1, 2, 3)],
        "fitsio/CFITSIO": lambda: [fitsio.read(str(path), ext=i) for i in (1, 2, 3)],
        "afwlite ExposureF (zlib in threads)": lambda: ExposureF(str(path)),
    }
    for threads in (1, 2):

        def afwliteRead(threads: int = threads) -> None:
            with fits.open(path) as hdulist:
                for i in (1, 2, 3):
                    info = hdulist[i].fileinfo()
                    layout = _tiles.tiled_layout(str(path), info["hdrLoc"], info["datLoc"])
                    assert layout is not None
                    _tiles.decompress_region(layout, (slice(0, height), slice(0, width)), threads=threads)

        readers[f"afwlite decompress_region, {threads} thread(s)"] = afwliteRead
    for name, read in readers.items():
        wall, cpu = timed(read, args.repeat)
        rows.append((f"read {name}", wall, cpu, os.path.getsize(path)))
    print(f"one simulated HSC calexp, {width}x{height}, image/mask/variance GZIP_2 one-row tiles")
    print(f"{'what':60s} {'wall s':>7s} {'CPU s':>7s} {'bytes':>10s}")
    for name, wall, cpu, size in rows:
        print(f"{name:60s} {wall:7.2f} {cpu:7.2f} {size:10d}")


if __name__ == "__main__":
    main()
