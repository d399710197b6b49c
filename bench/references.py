"""The references a sky correction is measured against, on the same simulated pixels.

* **floor**: generate each detector once (what fetching it costs here) and
  take the mean of its image -- no method can do less per detector.
* **sep**: ``sep.Background`` with 128-pixel boxes and a 3x3 median filter,
  plus its full-resolution map (``back()``).
* **photutils**: ``photutils.background.Background2D`` with 128-pixel boxes,
  a 3x3 median filter, 3-sigma clipping and the median estimator; its
  ``background`` property is the full-resolution map.

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

BOX = 128
FILTER = 3
MASK_PLANES = ("BAD", "SAT", "NO_DATA")
NAMES = ("generate", "mean", "restore", "sep", "photutils")


def sepBackground(image: np.ndarray, bad: np.ndarray) -> np.ndarray:
    import sep

    background = sep.Background(image, mask=bad, bw=BOX, bh=BOX, fw=FILTER, fh=FILTER)
    return background.back()


def photutilsBackground(image: np.ndarray, bad: np.ndarray) -> np.ndarray:
    from astropy.stats import SigmaClip
    from photutils.background import Background2D, MedianBackground

    background = Background2D(
        image,
        (BOX, BOX),
        mask=bad,
        filter_size=(FILTER, FILTER),
        sigma_clip=SigmaClip(sigma=3.0),
        bkg_estimator=MedianBackground(),
    )
    return np.asarray(background.background)


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
                sepBackground(restored, bad)
            totals["sep"].add(spent)
            with measure() as spent:
                photutilsBackground(restored, bad)
            totals["photutils"].add(spent)
            del restored, bad, background
        del detector, calexp
        gc.collect()
    totals["floor"] = Measured(
        totals["generate"].wall + totals["mean"].wall, totals["generate"].cpu + totals["mean"].cpu
    )
    return totals
