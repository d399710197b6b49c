"""Bit masks with named planes (``lsst.afw.image.Mask``).

A mask holds int32 pixels and a reference to a `MaskPlaneDict` that names the
bits.  New masks share the process-wide default dictionary, as in afw, so a
plane added through one of them is visible through all.  A mask read from a
file keeps the file's own dictionary instead (the ``MP_*`` cards can differ
from today's defaults, e.g. ``NO_DATA`` is bit 9 in old HSC data).
"""

from __future__ import annotations

__all__ = ["DEFAULT_MASK_PLANES", "Mask", "MaskPlaneDict", "MaskX"]

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Self

import numpy as np

from ._image import ImageBase

MAX_MASK_PLANES = 32

#: afw's initial mask planes, in bit order (lsst/afw MaskDict defaults).
DEFAULT_MASK_PLANES = (
    "BAD",
    "SAT",
    "INTRP",
    "CR",
    "EDGE",
    "DETECTED",
    "DETECTED_NEGATIVE",
    "SUSPECT",
    "NO_DATA",
    "VIGNETTED",
    "STREAK",
)


class MaskPlaneDict(Mapping[str, int]):
    """Plane name → bit index, at most 32 planes, with unique names and bits."""

    def __init__(self, planes: Mapping[str, int] | None = None) -> None:
        self._planes: dict[str, int] = {}
        if planes is not None:
            for name, bit in planes.items():
                self._insert(name, int(bit))

    @classmethod
    def makeDefault(cls) -> MaskPlaneDict:
        return cls({name: bit for bit, name in enumerate(DEFAULT_MASK_PLANES)})

    def _insert(self, name: str, bit: int) -> None:
        if not 0 <= bit < MAX_MASK_PLANES:
            raise ValueError(f"mask plane {name!r}: bit {bit} is outside 0..{MAX_MASK_PLANES - 1}")
        if name in self._planes and self._planes[name] != bit:
            raise ValueError(f"mask plane {name!r} is defined twice, as bits {self._planes[name]} and {bit}")
        for other, other_bit in self._planes.items():
            if other_bit == bit and other != name:
                raise ValueError(f"mask planes {other!r} and {name!r} both use bit {bit}")
        self._planes[name] = bit

    def add(self, name: str) -> int:
        """Add ``name`` on the lowest free bit (or return its existing bit)."""
        if name in self._planes:
            return self._planes[name]
        used = set(self._planes.values())
        for bit in range(MAX_MASK_PLANES):
            if bit not in used:
                self._planes[name] = bit
                return bit
        raise RuntimeError(f"cannot add mask plane {name!r}: all {MAX_MASK_PLANES} bits are in use")

    def remove(self, name: str) -> None:
        self._planes.pop(name, None)

    def copy(self) -> MaskPlaneDict:
        return MaskPlaneDict(self._planes)

    def __getitem__(self, name: str) -> int:
        return self._planes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._planes)

    def __len__(self) -> int:
        return len(self._planes)

    def __repr__(self) -> str:
        return f"MaskPlaneDict({self._planes!r})"


_default_planes = MaskPlaneDict.makeDefault()


class _ClassOrInstanceMethod:
    """Call as ``Mask.f(...)`` (acts on the default planes) or ``mask.f(...)``.

    afw exposes the plane-dictionary functions both ways; code in the stack
    uses ``afwImage.Mask.getPlaneBitMask("BAD")`` and ``mask.getPlaneBitMask``.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func
        self.__doc__ = func.__doc__

    def __get__(self, instance: Mask | None, owner: type) -> Callable[..., Any]:
        planes = instance._planes if instance is not None else _default_planes

        def bound(*args: Any, **kwargs: Any) -> Any:
            return self._func(planes, *args, **kwargs)

        bound.__doc__ = self._func.__doc__
        return bound


def _plane_bit(planes: MaskPlaneDict, name: str) -> int:
    try:
        return planes[name]
    except KeyError:
        raise KeyError(f"Invalid mask plane name: {name!r} (known planes: {sorted(planes)})") from None


class Mask(ImageBase):
    """An int32 bit mask (``lsst.afw.image.Mask``, i.e. ``MaskX``).

    Parameters
    ----------
    arg
        As for `ImageF`; an array must be int32.  A file name reads the mask
        and its ``MP_*`` plane dictionary from the file (``hdu``, ``bbox``,
        ``origin``, ``metadata`` and ``allowUnsafe`` as for `ImageF`).
    planeDict : `MaskPlaneDict` or `dict`, optional
        The plane names of this mask.  Default: the shared default dictionary.
    """

    dtype = np.dtype(np.int32)
    _planes: MaskPlaneDict

    def __init__(self, arg: Any = None, height: int | None = None, *, planeDict: Any = None, **kwargs: Any):
        super().__init__(arg, height, **kwargs)
        if isinstance(arg, str | os.PathLike):
            return  # read from a file: the file's MP_* planes are already in place
        if planeDict is None and isinstance(arg, Mask):
            planeDict = arg._planes
        if planeDict is None:
            self._planes = _default_planes
        elif isinstance(planeDict, MaskPlaneDict):
            self._planes = planeDict
        else:
            self._planes = MaskPlaneDict(planeDict)

    # Plane dictionary ------------------------------------------------------
    @_ClassOrInstanceMethod
    def getPlaneBitMask(planes: MaskPlaneDict, names: str | Iterable[str]) -> int:  # noqa: N805
        """The bit mask (``1 << bit``, or their OR for several names)."""
        if isinstance(names, str):
            names = [names]
        value = 0
        for name in names:
            value |= 1 << _plane_bit(planes, name)
        # Bit 31 wraps to a negative int32, as afw's MaskPixel does.
        return int(np.array(value, dtype=np.uint32).view(np.int32))

    @_ClassOrInstanceMethod
    def getMaskPlane(planes: MaskPlaneDict, name: str) -> int:  # noqa: N805
        """The bit index of plane ``name``."""
        return _plane_bit(planes, name)

    @_ClassOrInstanceMethod
    def addMaskPlane(planes: MaskPlaneDict, name: str) -> int:  # noqa: N805
        """Add plane ``name`` (if new) and return its bit index."""
        return planes.add(name)

    @_ClassOrInstanceMethod
    def getMaskPlaneDict(planes: MaskPlaneDict) -> dict[str, int]:  # noqa: N805
        """A copy of the plane dictionary."""
        return dict(planes)

    @_ClassOrInstanceMethod
    def getNumPlanesUsed(planes: MaskPlaneDict) -> int:  # noqa: N805
        return len(planes)

    @staticmethod
    def getNumPlanesMax() -> int:
        return MAX_MASK_PLANES

    @property
    def planeDict(self) -> MaskPlaneDict:
        """The live plane dictionary of this mask."""
        return self._planes

    def conformMaskPlanes(self, planes: Mapping[str, int]) -> None:
        """Renumber the pixels to ``planes`` (planes missing there are added)."""
        target = planes if isinstance(planes, MaskPlaneDict) else MaskPlaneDict(planes)
        if all(target.get(name) == bit for name, bit in self._planes.items()):
            # Every plane keeps its bit (``target`` only adds planes): the pixels stay as they are.
            self._planes = target
            return
        remapped = np.zeros_like(self._array)
        for name, bit in self._planes.items():
            new_bit = target.add(name)
            plane = (self._array.view(np.uint32) >> np.uint32(bit)) & np.uint32(1)
            remapped |= (plane << np.uint32(new_bit)).view(np.int32)
        self._array[...] = remapped
        self._planes = target

    def clearMaskPlane(self, bit: int) -> None:
        """Clear one bit in every pixel."""
        self._array &= ~np.int32(np.array(1 << bit, dtype=np.uint32).view(np.int32))

    def removeAndClearMaskPlane(self, name: str) -> None:
        self.clearMaskPlane(self.getMaskPlane(name))
        self._planes.remove(name)

    def clone(self) -> Self:
        return type(self)(self._array.copy(), xy0=self.getXY0(), planeDict=self._planes)

    def subset(self, bbox: Any, origin: Any = 0) -> Self:
        return type(self)(self, bbox=bbox, origin=origin, planeDict=self._planes)

    # Bitwise arithmetic ----------------------------------------------------
    def _bits(self, other: Any) -> Any:
        if isinstance(other, Mask):
            if other.array.shape != self._array.shape:
                raise ValueError(
                    f"masks are of different size: {self.getDimensions()} vs {other.getDimensions()}"
                )
            return other.array
        return np.array(other, dtype=np.int64).astype(np.uint32).view(np.int32)

    def __ior__(self, other: Any) -> Self:
        self._array |= self._bits(other)
        return self

    def __iand__(self, other: Any) -> Self:
        self._array &= self._bits(other)
        return self

    def __ixor__(self, other: Any) -> Self:
        self._array ^= self._bits(other)
        return self


MaskX = Mask
