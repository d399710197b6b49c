"""Time BackgroundMI.getImageF on a 4072x4000 detector from a 64-px (64x63) grid.

Run: .venv/bin/python bench/bench_background_image.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from lsst.sky.correction.afwlite import math as afwMath
from lsst.sky.correction.afwlite.geom import Box2I, Extent2I, Point2I
from lsst.sky.correction.afwlite.image import MaskedImageF


def best(func: Callable[[], object], repeat: int = 5) -> float:
    func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    stats = MaskedImageF(64, 63)
    stats.image.array[:] = np.random.default_rng(0).normal(100, 5, (63, 64)).astype(np.float32)
    stats.variance.array[:] = 1.0
    background = afwMath.BackgroundMI(Box2I(Point2I(0, 0), Extent2I(4072, 4000)), stats)
    print("getImageF, 4072x4000 from 64x63 cells, best of 5")
    for style in list(afwMath.Interpolate.Style)[1:-1]:
        seconds = best(lambda style=style: background.getImageF(style, afwMath.THROW_EXCEPTION))
        print(f"  {style.name:24s} {seconds:.3f} s")
    stats.image.array[np.random.default_rng(1).random((63, 64)) < 0.1] = np.nan
    seconds = best(
        lambda: background.getImageF(afwMath.Interpolate.AKIMA_SPLINE, afwMath.REDUCE_INTERP_ORDER)
    )
    print(f"  {'AKIMA, 10% NaN cells':24s} {seconds:.3f} s")
    control = afwMath.ApproximateControl(afwMath.ApproximateControl.CHEBYSHEV, 6)
    background.getBackgroundControl().setApproximateControl(control)
    seconds = best(lambda: background.getImageF(afwMath.Interpolate.AKIMA_SPLINE, afwMath.THROW_EXCEPTION))
    print(f"  {'CHEBYSHEV order 6':24s} {seconds:.3f} s")


if __name__ == "__main__":
    main()
