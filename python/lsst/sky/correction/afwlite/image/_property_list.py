"""An ordered, FITS-header-like metadata container (``lsst.daf.base.PropertyList``)."""

from __future__ import annotations

__all__ = ["PropertyList"]

from collections.abc import Iterator, Mapping
from typing import Any

_MISSING = object()


class PropertyList:
    """Ordered name → value mapping with comments, shaped like ``PropertyList``.

    A name may hold several values (``add``); ``get``/``getScalar`` return the
    last one, ``getArray`` all of them, as in daf_base.
    """

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, list[Any]] = {}
        self._comments: dict[str, str] = {}
        if items is not None:
            for name, value in items.items():
                self.set(name, value)

    # Writing -------------------------------------------------------------
    def set(self, name: str, value: Any, comment: str | None = None) -> None:
        """Set ``name`` to ``value`` (a list sets several values), keeping its position."""
        values = list(value) if isinstance(value, list | tuple) else [value]
        self._values[name] = values
        if comment is not None:
            self._comments[name] = comment

    def add(self, name: str, value: Any, comment: str | None = None) -> None:
        """Append ``value`` to the values of ``name``."""
        self._values.setdefault(name, []).append(value)
        if comment is not None:
            self._comments[name] = comment

    def setComment(self, name: str, comment: str) -> None:
        if name not in self._values:
            raise KeyError(f"{name} not found in metadata")
        self._comments[name] = comment

    def remove(self, name: str) -> None:
        """Remove ``name`` if present (absent names are ignored, as in daf_base)."""
        self._values.pop(name, None)
        self._comments.pop(name, None)

    def update(self, other: PropertyList | Mapping[str, Any]) -> None:
        """Copy every entry of ``other`` into this list; its values win."""
        if isinstance(other, PropertyList):
            for name in other.names():
                self._values[name] = list(other._values[name])
                if name in other._comments:
                    self._comments[name] = other._comments[name]
        else:
            for name, value in other.items():
                self.set(name, value)

    combine = update

    # Reading -------------------------------------------------------------
    def exists(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str, default: Any = None) -> Any:
        values = self._values.get(name)
        if not values:
            return default
        return values[-1]

    def getScalar(self, name: str) -> Any:
        """The last value of ``name``; `KeyError` if it is absent."""
        values = self._values.get(name)
        if not values:
            raise KeyError(f"{name} not found in metadata")
        return values[-1]

    def getArray(self, name: str) -> list[Any]:
        if name not in self._values:
            raise KeyError(f"{name} not found in metadata")
        return list(self._values[name])

    def getComment(self, name: str) -> str:
        return self._comments.get(name, "")

    def valueCount(self, name: str) -> int:
        return len(self._values.get(name, []))

    def names(self) -> list[str]:
        return list(self._values)

    getOrderedNames = names

    def items(self) -> Iterator[tuple[str, Any]]:
        for name, values in self._values.items():
            yield name, values[-1]

    def toDict(self) -> dict[str, Any]:
        return {
            name: values[-1] if len(values) == 1 else list(values) for name, values in self._values.items()
        }

    def copy(self) -> PropertyList:
        result = PropertyList()
        result.update(self)
        return result

    deepCopy = copy

    # Mapping protocol ------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __getitem__(self, name: str) -> Any:
        return self.getScalar(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        if name not in self._values:
            raise KeyError(name)
        self.remove(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PropertyList):
            return NotImplemented
        return list(self._values.items()) == list(other._values.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PropertyList({self.toDict()!r})"
