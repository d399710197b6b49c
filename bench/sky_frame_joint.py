"""The joint sky-frame construction against cp_pipe's clipped mean, on simulated TinyCam visits.

Run (about 10 CPU seconds per case on the 2-core machine):

    PYTHONPATH=python .venv/bin/python bench/sky_frame_joint.py --visits 20

The visits are tests/sky_frames/sky_frame_visits.py's: four 256 x 200-pixel
detectors, restored images ``a_v (1 + P_d) + noise`` (1 % per pixel), ``P_d``
a plane per detector.  Cases add, per visit, an additive focal-plane gradient
and additive detector pistons (``--gradient`` per mm and ``--piston``, in
units of the level; neither follows the amplitude), and one visit that the
template does not describe (a bowl over each detector, 1 % RMS).  Both constructions run
the same cpSkyImage and cpSkyScaleMeasure steps (a 20-mm superpixel: the
large-scale background is one constant per visit).  Printed, as a Markdown
table: the RMS of built - truth (units of the sky level) after fitting a
scale and a constant (``afterConstant``, what the clipped mean cannot
determine) or a scale and the order-2 focal-plane polynomial
(``afterSmooth``, what the joint fit cannot determine), and the visits the
joint fit rejected; also over the interior bins only (off the
detectors' edges, where the shared object-masking step leaves edge effects).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sky_frames"))

from sky_frame_builds import buildFrames, frameErrors
from sky_frame_visits import CAMERA

DETECTORS = (0, 1, 2, 3)


def bowls(detector: int) -> np.ndarray:
    """The outlier visit's own sky: a bowl over each detector (a bad flat, say), 1 % RMS."""
    bbox = CAMERA[detector].getBBox()
    yy, xx = np.mgrid[0 : bbox.getHeight(), 0 : bbox.getWidth()].astype(float)
    radius2 = (xx / (bbox.getWidth() - 1) - 0.5) ** 2 + (yy / (bbox.getHeight() - 1) - 0.5) ** 2
    return 0.1 * (radius2 - radius2.mean())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--visits", type=int, default=20)
    parser.add_argument("--gradient", type=float, default=0.004, help="per mm, units of the level")
    parser.add_argument("--piston", type=float, default=0.003, help="sigma, units of the level")
    args = parser.parse_args()
    visits = range(1, args.visits + 1)
    outlier = {visits[len(visits) // 2]: {d: bowls(d) for d in DETECTORS}}
    cases = [
        ("pattern only", 0.0, 0.0, None),
        ("+ additive gradient and pistons", args.gradient, args.piston, None),
        ("+ gradient, pistons and one outlier visit", args.gradient, args.piston, outlier),
    ]
    print(
        "| case | construction | afterConstant | afterSmooth | afterConstant, interior | "
        "afterSmooth, interior | rejected visits | CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, gradient, piston, extra in cases:
        start = time.process_time()
        built = buildFrames(visits, DETECTORS, gradient, piston, extraVisits=extra)
        cpu = time.process_time() - start
        rejected = [
            v for v, r in zip(built.jointSummary["visits"], built.jointSummary["rejected"], strict=True) if r
        ]
        for label, frames, note in (
            ("clipped mean", built.clippedMean, "n/a"),
            ("joint", built.joint, str(rejected)),
        ):
            errors = frameErrors(frames)
            print(
                f"| {name} | {label} | {errors['afterConstant']:.2e} | {errors['afterSmooth']:.2e} | "
                f"{errors['afterConstantInterior']:.2e} | {errors['afterSmoothInterior']:.2e} | "
                f"{note} | {cpu:.1f} (both) |"
            )
    errors = frameErrors(built.clippedMean)
    print(
        f"\nTrue pattern RMS {errors['patternRms']:.2e}; after the order-2 polynomial "
        f"{errors['smoothPatternRms']:.2e} (units of the sky level)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
