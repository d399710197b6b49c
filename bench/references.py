"""The references a sky correction is measured against, on the same simulated pixels.

* **floor**: generate each detector once (what fetching it costs here) and
  take the mean of its image -- no method can do less per detector.
* **sep** and **photutils**: the peers of `lsst.sky.correction.tools.peers`
  (``sep.Background`` and ``photutils.background.Background2D``, 128-pixel
  boxes, a 3x3 median filter, photutils' default clipped estimator) in their
  one-pass form (``maskSources=False``), with the full-resolution map.

The peers see the detector's restored image (calexp plus its
calexpBackground: the sky the correction works on) with BAD, SAT and
NO_DATA pixels masked, and run one detector after the other in one thread,
as a user's loop would.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import Any

import numpy as np
from harness import Measured, measure

from lsst.sky.correction.tools.peers import PeerConfig, photutilsBackground, sepBackground

MASK_PLANES = ("BAD", "SAT", "NO_DATA")
NAMES = ("generate", "mean", "restore", "sep", "photutils")
#: One background per detector, no source masking: the cheapest use of each peer.
PEERS = PeerConfig(boxSize=128, filterSize=3, maskSources=False)


def measureReferences(simulator: Any, detectors: Sequence[int], peers: bool = True) -> dict[str, Measured]:
    """Time the floor (and the peers) over every detector; returns summed wall/CPU per step.

    Steps: ``generate`` and ``mean`` (the floor is their sum), ``restore``
    (adding the calexpBackground back, for the peers), ``sep`` and
    ``photutils``.
    """
    totals = {name: Measured() for name in NAMES}
    for detectorId in detectors:
        with measure() as spent:
            detector = simulator.makeDetector(detectorId)
        totals["generate"].add(spent)
        calexp = detector.calexp
        with measure() as spent:
            float(np.mean(calexp.image.array, dtype=np.float64))
        totals["mean"].add(spent)
        if peers:
            with measure() as spent:
                background = detector.calexpBackground.getImage()
                restored = calexp.image.array + background.array
                mask = calexp.mask
                bad = (mask.array & mask.getPlaneBitMask(list(MASK_PLANES))) != 0
            totals["restore"].add(spent)
            with measure() as spent:
                sepBackground(restored, bad, PEERS)
            totals["sep"].add(spent)
            with measure() as spent:
                photutilsBackground(restored, bad, PEERS)
            totals["photutils"].add(spent)
            del restored, bad, background
        del detector, calexp
        gc.collect()
    totals["floor"] = Measured(
        totals["generate"].wall + totals["mean"].wall, totals["generate"].cpu + totals["mean"].cpu
    )
    return totals
