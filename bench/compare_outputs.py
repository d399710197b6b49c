"""Check that a code change leaves the task's outputs on a bench visit unchanged.

Runs `SkyCorrectionTask` on the same simulated visit as ``bench_visit.py``
(the camera's shipped config) and either saves its outputs or compares them
with saved ones:

    # before the change (e.g. from a worktree of the old commit):
    PYTHONPATH=<old>/python .venv/bin/python bench/compare_outputs.py --camera HSC --save /tmp/out-old
    # after it:
    PYTHONPATH=python .venv/bin/python bench/compare_outputs.py --camera HSC --against /tmp/out-old

Saved: every detector's ``skyCorr`` list (FITS, small: the statistics
images) and the sky-frame scale.  Compared: the largest absolute difference
of the full-resolution ``skyCorr`` images over every pixel of every detector,
the relative difference of the sky-frame scale, and the mosaics' largest
finite difference.  The issue's limits (1e-3 counts, 1e-5 relative) are
printed beside the figures; the exit status is 1 when one is exceeded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_visit import cameraAndSimulation, makeConfig
from harness import detectorsNearCentre

from lsst.sky.correction import SkyCorrectionTask
from lsst.sky.correction.afwlite.image import ImageF
from lsst.sky.correction.afwlite.math import BackgroundList
from lsst.sky.correction.simulation import VisitSimulator

IMAGE_LIMIT = 1e-3  # counts, anywhere
SCALE_LIMIT = 1e-5  # relative


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camera", default="HSC")
    parser.add_argument("--detectors", type=int, default=0, help="N detectors nearest the centre (0: all)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--visit", type=int, default=1)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--save", type=Path, help="directory to write the outputs to")
    where.add_argument("--against", type=Path, help="directory of saved outputs to compare with")
    args = parser.parse_args()

    camera, simulation = cameraAndSimulation(args.camera)
    nScience = len(VisitSimulator(camera, simulation, seed=args.seed, visit=args.visit).detectorIds)
    detectors = detectorsNearCentre(camera, args.detectors or nScience)
    simulator = VisitSimulator(
        camera, simulation.replace(detectors=detectors), seed=args.seed, visit=args.visit
    )
    task = SkyCorrectionTask(config=makeConfig(args.camera, args.threads, []))
    result = task.run(
        simulator.calexpHandles(), simulator.calexpBackgroundHandles(), simulator.skyFrameHandles(), camera
    )
    ids = [int(i) for i in simulator.detectorIds]

    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for detectorId, skyCorr in zip(ids, result.skyCorr, strict=True):
            skyCorr.writeFits(str(args.save / f"skyCorr_{detectorId}.fits"))
        result.calExpMosaic.writeFits(str(args.save / "calExpMosaic.fits"))
        result.calBkgMosaic.writeFits(str(args.save / "calBkgMosaic.fits"))
        (args.save / "scale.json").write_text(json.dumps({"skyFrameScale": result.skyFrameScale}))
        print(f"saved {len(ids)} skyCorr lists and the scale {result.skyFrameScale!r} to {args.save}")
        return 0

    worst = 0.0
    worstDetector = -1
    for detectorId, skyCorr in zip(ids, result.skyCorr, strict=True):
        saved = BackgroundList.readFits(str(args.against / f"skyCorr_{detectorId}.fits"))
        difference = float(np.max(np.abs(skyCorr.getImage().array - saved.getImage().array)))
        if difference >= worst:
            worst, worstDetector = difference, detectorId
    savedScale = json.loads((args.against / "scale.json").read_text())["skyFrameScale"]
    scaleDifference = abs(result.skyFrameScale / savedScale - 1)
    mosaics = {}
    for name in ("calExpMosaic", "calBkgMosaic"):
        ours = getattr(result, name).array
        saved = ImageF.readFits(str(args.against / f"{name}.fits")).array
        same = np.isfinite(ours) == np.isfinite(saved)
        both = np.isfinite(ours) & np.isfinite(saved)
        mosaics[name] = (bool(same.all()), float(np.max(np.abs(ours[both] - saved[both]), initial=0.0)))
    print(
        f"{args.camera}, {len(ids)} detectors: skyCorr images differ by at most {worst:.3g} counts "
        f"(detector {worstDetector}; limit {IMAGE_LIMIT:g}); sky-frame scale {result.skyFrameScale!r} "
        f"against {savedScale!r}, relative difference {scaleDifference:.3g} (limit {SCALE_LIMIT:g})"
    )
    for name, (sameNan, difference) in mosaics.items():
        print(
            f"  {name}: NaN pixels {'the same' if sameNan else 'DIFFER'}; largest difference {difference:.3g}"
        )
    return 0 if worst <= IMAGE_LIMIT and scaleDifference <= SCALE_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
