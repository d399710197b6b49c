"""How a background is measured and interpolated (``lsst.afw.math.BackgroundControl``)."""

from __future__ import annotations

__all__ = [
    "INCREASE_NXNYSAMPLE",
    "REDUCE_INTERP_ORDER",
    "THROW_EXCEPTION",
    "BackgroundControl",
    "UndersampleStyle",
    "stringToUndersampleStyle",
]

import copy
import enum
from typing import Any

import numpy as np

from ._approximate import ApproximateControl
from ._errors import InvalidParameterError
from ._interpolate import Interpolate, stringToInterpStyle
from ._statistics import MEANCLIP, Property, StatisticsControl, stringToStatisticsProperty


class UndersampleStyle(enum.IntEnum):
    """What to do when a grid has too few points for the interpolation style."""

    THROW_EXCEPTION = 0
    REDUCE_INTERP_ORDER = 1
    INCREASE_NXNYSAMPLE = 2


THROW_EXCEPTION = UndersampleStyle.THROW_EXCEPTION
REDUCE_INTERP_ORDER = UndersampleStyle.REDUCE_INTERP_ORDER
INCREASE_NXNYSAMPLE = UndersampleStyle.INCREASE_NXNYSAMPLE


def stringToUndersampleStyle(style: str) -> UndersampleStyle:
    """The undersample style named ``style`` (e.g. ``"REDUCE_INTERP_ORDER"``).

    Raises
    ------
    InvalidParameterError
        If no style has that name.
    """
    try:
        return UndersampleStyle[style]
    except KeyError:
        raise InvalidParameterError(f"Understample style not defined: {style!r}") from None


def _interpStyle(style: Interpolate.Style | int | str) -> Interpolate.Style:
    return stringToInterpStyle(style) if isinstance(style, str) else Interpolate.Style(style)


def _undersampleStyle(style: UndersampleStyle | int | str) -> UndersampleStyle:
    return stringToUndersampleStyle(style) if isinstance(style, str) else UndersampleStyle(style)


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"BackgroundControl: {name} must be an integer, got {value!r}")
    return int(value)


def _property(prop: Property | int | str) -> Property:
    return stringToStatisticsProperty(prop) if isinstance(prop, str) else Property(prop)


class BackgroundControl:
    """Grid size, statistic and interpolation settings of a background.

    Call either as ``BackgroundControl(nxSample, nySample, sctrl=..., prop=...,
    actrl=...)`` or as ``BackgroundControl(style, nxSample=10, nySample=10,
    undersampleStyle=THROW_EXCEPTION, sctrl=..., prop=..., actrl=...)``, as in
    afw.  Styles and the property may be given by name.

    Parameters
    ----------
    nxSample, nySample : `int`
        The number of grid cells along x and y.
    sctrl : `StatisticsControl`, optional
        How each cell's statistic is computed; a default control if absent.
        It is copied.
    prop : `Property` or `str`, optional
        The statistic of each cell (default ``MEANCLIP``).
    actrl : `ApproximateControl`, optional
        The approximation (default ``ApproximateControl(UNKNOWN, 1)``, i.e.
        interpolate).  It is copied.
    style : `Interpolate.Style` or `str`
        The interpolation style (default ``AKIMA_SPLINE``).
    undersampleStyle : `UndersampleStyle` or `str`
        What to do with too few cells (default ``THROW_EXCEPTION``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if (args and isinstance(args[0], Interpolate.Style | str)) or "style" in kwargs:
            self._init_with_style(*args, **kwargs)
        else:
            self._init_plain(*args, **kwargs)

    def _init_plain(
        self,
        nxSample: int,
        nySample: int,
        sctrl: StatisticsControl | None = None,
        prop: Property | int | str = MEANCLIP,
        actrl: ApproximateControl | None = None,
    ) -> None:
        self._init_with_style(
            Interpolate.AKIMA_SPLINE, nxSample, nySample, THROW_EXCEPTION, sctrl, prop, actrl
        )

    def _init_with_style(
        self,
        style: Interpolate.Style | int | str,
        nxSample: int = 10,
        nySample: int = 10,
        undersampleStyle: UndersampleStyle | int | str = THROW_EXCEPTION,
        sctrl: StatisticsControl | None = None,
        prop: Property | int | str = MEANCLIP,
        actrl: ApproximateControl | None = None,
    ) -> None:
        self.setNxSample(nxSample)
        self.setNySample(nySample)
        self._interpStyle = _interpStyle(style)
        self._undersampleStyle = _undersampleStyle(undersampleStyle)
        self._sctrl = StatisticsControl() if sctrl is None else copy.copy(sctrl)
        self._prop = _property(prop)
        self._actrl = ApproximateControl(ApproximateControl.UNKNOWN, 1) if actrl is None else copy.copy(actrl)

    # Grid ------------------------------------------------------------------------------------------
    def getNxSample(self) -> int:
        return self._nxSample

    def setNxSample(self, nxSample: int) -> None:
        # afw's binding takes an int: a float is refused, never truncated.
        nxSample = _count(nxSample, "nxSample")
        if nxSample < 1:
            raise InvalidParameterError(f"BackgroundControl: nxSample must be >= 1, got {nxSample}")
        self._nxSample = int(nxSample)

    def getNySample(self) -> int:
        return self._nySample

    def setNySample(self, nySample: int) -> None:
        nySample = _count(nySample, "nySample")
        if nySample < 1:
            raise InvalidParameterError(f"BackgroundControl: nySample must be >= 1, got {nySample}")
        self._nySample = int(nySample)

    # Interpolation -------------------------------------------------------------------------------------
    def getInterpStyle(self) -> Interpolate.Style:
        return self._interpStyle

    def setInterpStyle(self, style: Interpolate.Style | int | str) -> None:
        self._interpStyle = _interpStyle(style)

    def getUndersampleStyle(self) -> UndersampleStyle:
        return self._undersampleStyle

    def setUndersampleStyle(self, style: UndersampleStyle | int | str) -> None:
        self._undersampleStyle = _undersampleStyle(style)

    # Statistics ----------------------------------------------------------------------------------------
    def getStatisticsControl(self) -> StatisticsControl:
        """The live statistics control (changes to it apply to this background control)."""
        return self._sctrl

    def getStatisticsProperty(self) -> Property:
        return self._prop

    def setStatisticsProperty(self, prop: Property | int | str) -> None:
        self._prop = _property(prop)

    @property
    def statistic(self) -> Property:
        """The statistic of each cell (``getStatisticsProperty``)."""
        return self._prop

    @statistic.setter
    def statistic(self, prop: Property | int | str) -> None:
        self.setStatisticsProperty(prop)

    # Approximation ---------------------------------------------------------------------------------------
    def getApproximateControl(self) -> ApproximateControl:
        """The live approximation control."""
        return self._actrl

    def setApproximateControl(self, actrl: ApproximateControl) -> None:
        """Use ``actrl`` itself (afw shares it too: later changes to it apply here)."""
        self._actrl = actrl

    def __repr__(self) -> str:
        return (
            f"BackgroundControl({self._interpStyle.name}, nxSample={self._nxSample}, "
            f"nySample={self._nySample}, undersampleStyle={self._undersampleStyle.name}, "
            f"prop={self._prop!r}, actrl={self._actrl!r})"
        )
