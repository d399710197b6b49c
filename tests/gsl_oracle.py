"""GNU GSL's 1-d interpolators through ctypes: the independent oracle for afw's interpolation.

afw's ``Interpolate`` wraps ``gsl_interp_*``; calling the real library lets the
tests check ``afwlite`` against the very code afw runs, instead of against a
second reading of it.  Only the tests use this module.

`load_gsl` raises (it never skips) when ``libgsl.so.27`` cannot be loaded, so
a machine without GSL fails the comparison tests loudly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Sequence

import numpy as np

MISSING_MESSAGE = (
    "libgsl27 (GNU GSL) is missing: run `make install` (the bootstrap installs it) "
    "or `apt-get install libgsl27`"
)

#: The GSL interpolation types afw uses, by their GSL symbol suffix.
KINDS = ("linear", "cspline", "cspline_periodic", "akima", "akima_periodic")

_DOUBLE_ARRAY = np.ctypeslib.ndpointer(dtype=np.float64, ndim=1, flags="C_CONTIGUOUS")


class GslAllocError(RuntimeError):
    """``gsl_interp_alloc`` returned NULL: fewer points than the type's ``min_size``."""


class GslInitError(RuntimeError):
    """``gsl_interp_init`` returned a non-zero GSL status."""

    def __init__(self, kind: str, size: int, status: int) -> None:
        super().__init__(f"gsl_interp_init({kind}, size={size}) failed with GSL status {status}")
        self.status = status


class Gsl:
    """The loaded library with the prototypes of the functions the tests call."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        lib.gsl_set_error_handler_off.restype = ctypes.c_void_p
        lib.gsl_set_error_handler_off.argtypes = []
        # GSL's default handler aborts the process; afw switches it off too.
        lib.gsl_set_error_handler_off()

        lib.gsl_interp_alloc.restype = ctypes.c_void_p
        lib.gsl_interp_alloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.gsl_interp_init.restype = ctypes.c_int
        lib.gsl_interp_init.argtypes = [ctypes.c_void_p, _DOUBLE_ARRAY, _DOUBLE_ARRAY, ctypes.c_size_t]
        lib.gsl_interp_free.restype = None
        lib.gsl_interp_free.argtypes = [ctypes.c_void_p]
        lib.gsl_interp_type_min_size.restype = ctypes.c_uint
        lib.gsl_interp_type_min_size.argtypes = [ctypes.c_void_p]
        for name in ("gsl_interp_eval", "gsl_interp_eval_deriv", "gsl_interp_eval_deriv2"):
            func = getattr(lib, name)
            func.restype = ctypes.c_double
            func.argtypes = [ctypes.c_void_p, _DOUBLE_ARRAY, _DOUBLE_ARRAY, ctypes.c_double, ctypes.c_void_p]

    def interp_type(self, kind: str) -> int:
        """The ``const gsl_interp_type *`` of ``gsl_interp_<kind>``."""
        if kind not in KINDS:
            raise ValueError(f"unknown GSL interpolation type {kind!r}; expected one of {KINDS}")
        pointer = ctypes.c_void_p.in_dll(self._lib, f"gsl_interp_{kind}").value
        assert pointer is not None
        return pointer

    def min_size(self, kind: str) -> int:
        return int(self._lib.gsl_interp_type_min_size(self.interp_type(kind)))

    def interp(
        self, kind: str, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
    ) -> GslInterp:
        return GslInterp(self, kind, x, y)


class GslInterp:
    """One initialised ``gsl_interp`` (no accelerator: GSL then bisects)."""

    def __init__(
        self, gsl: Gsl, kind: str, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
    ) -> None:
        self._lib = gsl._lib
        self.kind = kind
        # GSL keeps no copy of the nodes: every eval call passes them again.
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.y = np.ascontiguousarray(y, dtype=np.float64)
        if self.x.shape != self.y.shape or self.x.ndim != 1:
            raise ValueError(f"x and y must be 1-d and equally long, got {self.x.shape} and {self.y.shape}")
        self._handle: int | None = self._lib.gsl_interp_alloc(gsl.interp_type(kind), self.x.size)
        if not self._handle:
            self._handle = None
            raise GslAllocError(f"gsl_interp_alloc({kind}, {self.x.size}) returned NULL")
        status = self._lib.gsl_interp_init(self._handle, self.x, self.y, self.x.size)
        if status != 0:
            self.close()
            raise GslInitError(kind, self.x.size, status)

    def close(self) -> None:
        if self._handle is not None:
            self._lib.gsl_interp_free(self._handle)
            self._handle = None

    def __del__(self) -> None:
        self.close()

    def eval(self, x: float) -> float:
        return float(self._lib.gsl_interp_eval(self._handle, self.x, self.y, float(x), None))

    def eval_deriv(self, x: float) -> float:
        return float(self._lib.gsl_interp_eval_deriv(self._handle, self.x, self.y, float(x), None))

    def eval_deriv2(self, x: float) -> float:
        return float(self._lib.gsl_interp_eval_deriv2(self._handle, self.x, self.y, float(x), None))


@functools.cache
def load_gsl() -> Gsl:
    """Load ``libgsl.so.27``; raise `RuntimeError` with set-up advice when it is absent."""
    names = dict.fromkeys(name for name in (ctypes.util.find_library("gsl"), "libgsl.so.27") if name)
    errors = []
    for name in names:
        try:
            # libgsl.so.27 names libgslcblas.so.0 as a dependency, so the loader finds CBLAS itself.
            return Gsl(ctypes.CDLL(name))
        except OSError as error:
            errors.append(str(error))
    raise RuntimeError(f"{MISSING_MESSAGE} ({'; '.join(errors)})")
