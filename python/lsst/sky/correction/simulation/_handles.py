"""Dataset handles that generate their dataset on ``get()``."""

from __future__ import annotations

__all__ = ["SimulatedDatasetHandle"]

from collections.abc import Mapping
from typing import Any, Protocol


class DatasetProducer(Protocol):
    """What a handle needs of its simulator (`VisitSimulator` is one)."""

    def dataId(self, detectorId: int) -> dict[str, Any]: ...

    def produce(self, kind: str, detectorId: int) -> Any: ...


# Components an exposure hands out, as afw names them.
_EXPOSURE_COMPONENTS = {
    "image": "getImage",
    "mask": "getMask",
    "variance": "getVariance",
    "maskedImage": "getMaskedImage",
    "detector": "getDetector",
    "metadata": "getMetadata",
}


class SimulatedDatasetHandle:
    """A handle shaped like ``lsst.pipe.base.InMemoryDatasetHandle`` that generates on ``get()``.

    It holds only the simulator, the dataset kind and the detector id: every
    ``get()`` generates the dataset afresh (see `VisitSimulator.produce` for
    the cost), so a visit can be streamed without holding its pixels.

    Parameters
    ----------
    simulator : `DatasetProducer`
        The visit (a `VisitSimulator`).
    kind : `str`
        ``"calexp"``, ``"calexpBackground"``, ``"sky"``, ``"truthSky"`` or
        ``"truthSources"``.
    detectorId : `int`
        The detector.

    Attributes
    ----------
    dataId : `dict`
        ``instrument``, ``visit`` and ``detector``.
    """

    __slots__ = ("_detectorId", "_kind", "_simulator", "dataId")

    def __init__(self, simulator: DatasetProducer, kind: str, detectorId: int) -> None:
        self._simulator = simulator
        self._kind = kind
        self._detectorId = int(detectorId)
        self.dataId: dict[str, Any] = simulator.dataId(detectorId)

    @property
    def kind(self) -> str:
        return self._kind

    def get(
        self,
        *,
        component: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        storageClass: Any = None,
    ) -> Any:
        """Generate the dataset.

        Parameters
        ----------
        component : `str`, optional
            For exposures: ``image``, ``mask``, ``variance``,
            ``maskedImage``, ``detector`` or ``metadata``.
        parameters : `dict`, optional
            ``{"bbox": Box2I}`` cuts an exposure or image to a box.
        storageClass : optional
            Ignored (the dataset's own type is returned).

        Raises
        ------
        ValueError
            For an unknown component or parameter.
        """
        dataset = self._simulator.produce(self._kind, self._detectorId)
        for name in parameters or {}:
            if name != "bbox":
                raise ValueError(f"{self!r}: unsupported parameter {name!r} (only 'bbox')")
        if parameters and parameters.get("bbox") is not None:
            dataset = dataset.subset(parameters["bbox"])
        if component is not None:
            if component not in _EXPOSURE_COMPONENTS or not hasattr(dataset, _EXPOSURE_COMPONENTS[component]):
                raise ValueError(f"{self!r}: unknown component {component!r}")
            dataset = getattr(dataset, _EXPOSURE_COMPONENTS[component])()
        return dataset

    def __repr__(self) -> str:
        return f"SimulatedDatasetHandle({self._kind!r}, {self.dataId})"
