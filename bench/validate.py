"""Science validation of one simulated visit: every method against the truth, tables and figures.

Run (one command per camera; on the 2-core machine a full HSC visit took 48 minutes with other jobs
running, a full LSSTCam visit 46 minutes):

    .venv/bin/python bench/validate.py --camera HSC
    .venv/bin/python bench/validate.py --camera LSSTCam
    .venv/bin/python bench/validate.py --camera HSC --near-targets 60   # ~15 detectors, minutes

Everything (``results.json``, ``tables.md``, ``arrays.npz`` and the PNGs) goes
to ``--out`` (default ``/tmp/sky_correction_validation/<camera>``); with
``--docs DIR`` the tables, the JSON summary and the PNGs are also copied to
``DIR`` as ``<camera>_*`` (``docs/validation`` holds the committed ones).
Any other option is passed to ``python -m lsst.sky.correction.tools.validation run``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from lsst.sky.correction.tools.validation.__main__ import main as validationMain


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--camera", default="HSC")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--docs", type=Path, default=None, help="copy tables, summary and PNGs here")
    args, rest = parser.parse_known_args()
    out = args.out or Path("/tmp/sky_correction_validation") / args.camera
    status = validationMain(["run", "--camera", args.camera, "--out", str(out), *rest])
    if status == 0 and args.docs is not None:
        args.docs.mkdir(parents=True, exist_ok=True)
        prefix = args.camera.lower()
        for name in ("results.json", "tables.md", *(p.name for p in sorted(out.glob("*.png")))):
            shutil.copyfile(out / name, args.docs / f"{prefix}_{name}")
            print(f"copied {out / name} -> {args.docs / f'{prefix}_{name}'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
