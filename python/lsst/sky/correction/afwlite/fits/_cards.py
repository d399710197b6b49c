"""Header cards shared by every afw image layout: xy0 ("A" WCS) and mask planes."""

from __future__ import annotations

__all__ = ["mask_plane_cards", "read_mask_planes", "read_xy0", "strip_xy0_cards", "xy0_cards"]

from collections.abc import Mapping

from astropy.io import fits

from ._errors import FitsError

# The order and comments afw's createTrivialWcsMetadata writes (lsst/afw wcsUtils.cc).
_XY0_KEYS = ("CTYPE1A", "CTYPE2A", "CRPIX1A", "CRPIX2A", "CRVAL1A", "CRVAL2A", "CUNIT1A", "CUNIT2A")


def xy0_cards(x0: int, y0: int) -> list[fits.Card]:
    """The "A" WCS cards afw writes on every image plane to record xy0."""
    return [
        fits.Card("CTYPE1A", "LINEAR", "Type of projection"),
        fits.Card("CTYPE2A", "LINEAR", "Type of projection"),
        fits.Card("CRPIX1A", 1.0, "Column Pixel Coordinate of Reference"),
        fits.Card("CRPIX2A", 1.0, "Row Pixel Coordinate of Reference"),
        fits.Card("CRVAL1A", float(x0), "Column pixel of Reference Pixel"),
        fits.Card("CRVAL2A", float(y0), "Row pixel of Reference Pixel"),
        fits.Card("CUNIT1A", "PIXEL", "Column unit"),
        fits.Card("CUNIT2A", "PIXEL", "Row unit"),
    ]


def read_xy0(header: fits.Header) -> tuple[int, int]:
    """xy0 from the "A" WCS, with afw's rule: only when ``CRPIX?A == 1``.

    ``LTV1``/``LTV2`` are ignored, as afw ignores them.
    """
    keys = ("CRPIX1A", "CRPIX2A", "CRVAL1A", "CRVAL2A")
    if all(k in header for k in keys) and header["CRPIX1A"] == 1.0 and header["CRPIX2A"] == 1.0:
        # lround: half away from zero.
        def lround(v: float) -> int:
            return int(v + 0.5) if v >= 0 else -int(-v + 0.5)

        return lround(float(header["CRVAL1A"])), lround(float(header["CRVAL2A"]))
    return 0, 0


def strip_xy0_cards(header: fits.Header) -> None:
    """Remove the "A" WCS cards (and ``WCSAXESA``, ``CD?_?A``) in place."""
    for key in (*_XY0_KEYS, "WCSAXESA", "CD1_1A", "CD1_2A", "CD2_1A", "CD2_2A", "LTV1", "LTV2"):
        while key in header:
            del header[key]


def mask_plane_cards(planes: Mapping[str, int]) -> list[fits.Card]:
    """``MP_<NAME> = bit`` cards in alphabetical order (afw's std::map order)."""
    return [fits.Card(f"MP_{name}", int(planes[name])) for name in sorted(planes)]


def read_mask_planes(header: fits.Header, where: str) -> dict[str, int] | None:
    """The mask plane dictionary from ``MP_*`` cards; `None` when there are none.

    Raises
    ------
    FitsError
        If one name has two bits or two names share a bit (afw refuses both).
    """
    planes: dict[str, int] = {}
    for key, value in header.items():
        if not key.startswith("MP_"):
            continue
        name = key[3:]
        try:
            bit = int(value)
        except (TypeError, ValueError):
            raise FitsError(f"{where}: mask plane card {key} has a non-integer value {value!r}") from None
        if name in planes and planes[name] != bit:
            raise FitsError(f"{where}: mask plane {name} is given two bits, {planes[name]} and {bit}")
        clash = [other for other, b in planes.items() if b == bit and other != name]
        if clash:
            raise FitsError(f"{where}: mask planes {clash[0]} and {name} both claim bit {bit}")
        if not 0 <= bit < 32:
            raise FitsError(f"{where}: mask plane {name} has bit {bit}, outside 0..31")
        planes[name] = bit
    return planes or None
