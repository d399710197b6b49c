"""CPU cost of the per-pixel passes of the focal-plane stages on one LSSTCam-sized detector.

Times (CPU seconds, best of ``--repeat``) the library's own functions, so the
same script measures any checkout: run it with ``PYTHONPATH`` pointing at the
code to measure.  Beside each pass it prints the physical floor: the bytes
a single fused pass must read and write (the inputs once, the result once)
divided by the memory bandwidth, measured here
as a plain numpy copy of a 512 MiB array.  Run from the repository root::

    .venv/bin/python bench/bench_kernels.py
    .venv/bin/python bench/bench_kernels.py --compile   # numba's first-call cost, cold and warm

``--compile`` runs two fresh interpreters against one new, empty
``NUMBA_CACHE_DIR``: the first compiles every kernel and writes the cache
(cold), the second loads it (warm); each reports the CPU time of the first
call of every kernel on a tiny input.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import ImageF, MaskedImageF
from lsst.sky.correction.afwlite.math import (
    REDUCE_INTERP_ORDER,
    ApproximateControl,
    BackgroundList,
    BackgroundMI,
    Interpolate,
    binImage,
)

WIDTH, HEIGHT = 4072, 4000  # an LSSTCam detector
MOSAIC_BINNING = 8  # SkyCorrectionConfig.binning
NO_DATA = 1 << 8


def cpuSeconds(function: Callable[[], object], repeat: int) -> float:
    """The fewest CPU seconds of ``repeat`` calls (after one call to warm caches and compile)."""
    function()
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        function()
        best = min(best, time.process_time() - start)
    return best


def bandwidth() -> float:
    """Bytes per second of a numpy copy of 512 MiB (read + write counted)."""
    source = np.ones(1 << 27, dtype=np.float32)
    target = np.empty_like(source)
    seconds = cpuSeconds(lambda: np.copyto(target, source), 5)
    return 2 * source.nbytes / seconds


def background(nx: int, ny: int, seed: int) -> BackgroundList:
    """One element of an ``nx`` x ``ny`` Akima background over the detector, smooth plus noise."""
    rng = np.random.default_rng(seed)
    stats = MaskedImageF(nx, ny)
    yy, xx = np.mgrid[0:ny, 0:nx]
    stats.image.array[...] = 1000.0 + 3.0 * np.sin(xx / 7.0) * np.cos(yy / 5.0) + rng.normal(0, 0.1, (ny, nx))
    bbox = Box2I(Point2I(0, 0), Extent2I(WIDTH, HEIGHT))
    return BackgroundList(
        (
            BackgroundMI(bbox, stats),
            Interpolate.AKIMA_SPLINE,
            REDUCE_INTERP_ORDER,
            ApproximateControl.UNKNOWN,
            0,
            0,
            False,
        )
    )


def blockAnyBits(mask: np.ndarray, bits: int) -> np.ndarray:
    """The task's NO_DATA flags of the mosaic blocks, whichever checkout is on the path."""
    from lsst.sky.correction import sky_correction

    if hasattr(sky_correction, "_blockAnyBits"):
        return sky_correction._blockAnyBits(mask, bits, MOSAIC_BINNING)
    return sky_correction._blockAny((mask & bits) != 0, MOSAIC_BINNING)  # type: ignore[attr-defined]


def passes(repeat: int) -> None:
    rate = bandwidth()
    pixels = WIDTH * HEIGHT
    rng = np.random.default_rng(1)
    image = ImageF(rng.normal(1000.0, 10.0, size=(HEIGHT, WIDTH)).astype(np.float32))
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.int32)
    mask[:, :20] = NO_DATA
    one = background(64, 63, 2)  # bgModel1/bgModel2 per detector (binning 64)
    two = BackgroundList(*one, *background(32, 32, 3))  # the sky-frame pass subtracts two
    # (name, call, bytes the pass must move at the least)
    cases: list[tuple[str, Callable[[], object], float]] = [
        ("evaluate one background element (writes 4 B/px)", one.getImage, 4 * pixels),
        ("evaluate and sum two elements (writes 4 B/px)", two.getImage, 4 * pixels),
        (
            "subtract two elements from an image (reads, writes 4 B/px)",
            lambda: image.array.copy().__isub__(two.getImage().array),  # type: ignore[union-attr]
            8 * pixels,
        ),
        ("binImage 8x8 for the mosaic (reads 4 B/px)", lambda: binImage(image, MOSAIC_BINNING), 4 * pixels),
        ("NO_DATA flags of the 8x8 blocks (reads 4 B/px)", lambda: blockAnyBits(mask, NO_DATA), 4 * pixels),
    ]
    print(f"memory bandwidth (numpy copy, read + write): {rate / 1e9:.1f} GB/s")
    print(f"load average: {os.getloadavg()}")
    results = {}
    for name, call, nbytes in cases:
        seconds = cpuSeconds(call, repeat)
        results[name] = seconds
        print(f"{seconds:7.3f} CPU s   floor {nbytes / rate:6.3f} s   {name}")
    print(json.dumps(results))


_COMPILE_PROBE = """
import json, time, numpy as np
start = time.process_time()
import numba
costs = {"import numba": time.process_time() - start}
start = time.process_time()
import lsst.sky.correction.afwlite.image
costs["import afwlite (baseline)"] = time.process_time() - start
start = time.process_time()
from lsst.sky.correction.afwlite.math import _kernels
costs["import _kernels"] = time.process_time() - start
small = np.ones((4, 4), dtype=np.float32)
calls = {
    "evaluatePieces float32": lambda: _kernels.evaluatePieces(
        np.ones((4, 2, 3)), np.zeros(4, dtype=np.intp), np.ones(4), np.empty((2, 4), np.float32)),
    "evaluatePieces float64": lambda: _kernels.evaluatePieces(
        np.ones((4, 2, 3)), np.zeros(4, dtype=np.intp), np.ones(4), np.empty((2, 4))),
    "blockSum float32": lambda: _kernels.blockSum(small, 2, 2),
    "blockSum float64": lambda: _kernels.blockSum(small.astype(np.float64), 2, 2),
    "blockOr int32": lambda: _kernels.blockOr(small.astype(np.int32), 2, 2),
}
for name, call in calls.items():
    start = time.process_time()
    call()
    costs[name] = time.process_time() - start
print(json.dumps(costs))
"""


def compileCost() -> None:
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cacheDir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cacheDir)
        for label in ("cold", "warm"):
            output = subprocess.run(
                [sys.executable, "-c", _COMPILE_PROBE], env=env, check=True, capture_output=True, text=True
            ).stdout
            costs = json.loads(output)
            total = sum(seconds for name, seconds in costs.items() if "baseline" not in name)
            detail = ", ".join(f"{name} {seconds:.3f}" for name, seconds in costs.items())
            print(f"{label}: {total:.2f} CPU s ({detail})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="measure numba's compile cost instead")
    args = parser.parse_args(argv)
    if args.compile:
        compileCost()
    else:
        passes(args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
