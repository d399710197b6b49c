#!/usr/bin/env python
"""Regenerate the HSC sky-level table shipped for the simulation.

Reads the real HSC visit summary of visit 1176 (``tests/data/
hsc_visitSummary_1176.fits`` in the repository: one row per detector,
103 of 104 science detectors, ccd 9 absent) and keeps, per detector id,
``skyBg`` and ``skyNoise`` (counts), ``psfSigma`` (pixels) and ``zeroPoint``
(mag).  The result is ``python/lsst/sky/correction/data/simulation/
hsc_sky_levels_1176.ecsv``; the simulator reads only that file.

Usage::

    python scripts/make_hsc_sky_levels.py            # rewrite the shipped table
    python scripts/make_hsc_sky_levels.py --check    # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import io
import sys
import warnings
from pathlib import Path

import numpy as np
from astropy.table import Table

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO / "tests" / "data" / "hsc_visitSummary_1176.fits"
DEFAULT_OUTPUT = (
    REPO / "python" / "lsst" / "sky" / "correction" / "data" / "simulation" / "hsc_sky_levels_1176.ecsv"
)

COLUMNS = {
    "id": ("detector id (HSC ccd number)", None),
    "skyBg": ("average sky background of the calexp before subtraction", "adu"),
    "skyNoise": ("average sky noise", "adu"),
    "psfSigma": ("PSF model second-moments determinant radius at the detector centre", "pix"),
    "zeroPoint": ("mean zero point (magnitude of one count)", "mag"),
}


def makeTable(source: Path) -> Table:
    """The derived table: the columns above, sorted by detector id."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = Table.read(source, hdu=1)
    order = np.argsort(np.asarray(summary["id"]))
    table = Table()
    for name, (description, unit) in COLUMNS.items():
        values = np.asarray(summary[name])[order]
        table[name] = values.astype(np.int64 if name == "id" else np.float64)
        table[name].description = description
        if unit is not None:
            table[name].unit = unit
    visits = sorted({int(v) for v in summary["visit"]})
    filters = sorted({str(v) for v in summary["physical_filter"]})
    table.meta["description"] = (
        "Per-detector sky levels of HSC visit(s) "
        + ", ".join(map(str, visits))
        + " ("
        + ", ".join(filters)
        + "), derived from the visit summary by scripts/make_hsc_sky_levels.py"
    )
    table.meta["source"] = source.name
    return table


def render(table: Table) -> str:
    stream = io.StringIO()
    table.write(stream, format="ascii.ecsv")
    return stream.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="visit summary FITS file")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="ECSV file to write")
    parser.add_argument("--check", action="store_true", help="exit 1 if the output is out of date")
    args = parser.parse_args(argv)
    text = render(makeTable(args.source))
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
