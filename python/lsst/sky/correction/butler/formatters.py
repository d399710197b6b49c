"""Butler formatters (and a delegate) for sky_correction's afwlite types.

The files are the ones afw writes, so the stack can read them by URI:

* `AfwliteExposureFormatter` and `AfwliteImageFormatter`: afw's FITS layouts,
  tile-compressed losslessly (GZIP_2, one row per tile, no quantization) as
  the stack's default ``lossless`` recipe does.  A ``recipe`` write parameter
  selects ``"lossless"`` (the default) or ``"noCompression"``; repositories
  may define further recipes as afw-style compression mappings.
* `AfwliteBackgroundFormatter`: ``BackgroundList.writeFits`` (afw's
  uncompressed three-HDUs-per-element layout).
* `AfwliteCameraFormatter`: sky_correction's ECSV camera file
  (``docs/cameras.md``).
* `FocalPlaneBackgroundFormatter`: a `FocalPlaneBackground` (the sky-frame
  builder's per-detector and per-visit models) as FITS: the summed values
  and the pixel counts as two image HDUs, the config and the focal-plane
  transform as header cards.
* `DetectorSkyBinsFormatter`: the two-step joint pipeline's per-detector
  bins (`DetectorSkyBins.writeFile`: an ``.npz`` file without pickles).

afwlite's Exposure files keep only the detector's name (``DETNAME``), not
the detector itself (afw keeps it in the file's archive).  On read,
`AfwliteExposureFormatter` re-attaches the detector of the data ID from the
instrument's camera when the instrument is one of
`lsst.sky.correction.butler.instrument`'s, as obs_base's raw formatters do.

The storage classes that use them are defined in
``data/butler/storageClasses.yaml`` and the mapping in ``data/butler/formatters.yaml``
(package data of ``lsst.sky.correction``).
"""

from __future__ import annotations

__all__ = [
    "AfwliteBackgroundFormatter",
    "AfwliteCameraFormatter",
    "AfwliteExposureFormatter",
    "AfwliteImageDelegate",
    "AfwliteImageFormatter",
    "DetectorSkyBinsFormatter",
    "FocalPlaneBackgroundFormatter",
]

import functools
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from lsst.daf.butler import FormatterV2, StorageClassDelegate
from lsst.resources import ResourcePath

from .._sky_bins import DetectorSkyBins
from ..afwlite.cameraGeom import Camera, TransformPoint2ToPoint2
from ..afwlite.geom import Box2I, Extent2I
from ..afwlite.image import PARENT, ExposureF, ImageF, ImageOrigin
from ..afwlite.math import BackgroundList
from ..cameras import readCameraFile, writeCameraFile
from ..focal_plane_background import FocalPlaneBackground, FocalPlaneBackgroundConfig
from ._instrument_names import INSTRUMENT_CLASS_NAMES

_LOG = logging.getLogger(__name__)

# Write recipes every FITS image formatter knows; a repository's
# ``datastore: formatters: write_recipes:`` may add others (afw-style
# compression mappings, passed to afwlite as they are).
_BUILTIN_RECIPES: Mapping[str, Any] = {
    "lossless": "lossless",
    "noCompression": None,
    "default": "lossless",
}


def _regionParameters(parameters: Mapping[str, Any] | None, what: str) -> tuple[Box2I | None, ImageOrigin]:
    """The ``bbox`` and ``origin`` read parameters, checked."""
    parameters = dict(parameters or {})
    bbox = parameters.pop("bbox", None)
    origin = parameters.pop("origin", PARENT)
    if parameters:
        raise ValueError(f"{what}: unsupported read parameters {sorted(parameters)}; known: bbox, origin")
    if bbox is not None and not isinstance(bbox, Box2I):
        raise TypeError(f"{what}: the bbox parameter must be an afwlite Box2I, got {type(bbox).__name__}")
    return bbox, ImageOrigin(origin)


class _AfwliteFitsImageFormatter(FormatterV2):
    """Shared behaviour of the compressed-FITS image formatters."""

    default_extension = ".fits"
    supported_extensions = frozenset({".fits", ".fits.fz", ".fz", ".fits.gz"})
    can_read_from_local_file = True
    unsupported_parameters: ClassVar[frozenset[str]] = frozenset()  # bbox and origin are handled here
    supported_write_parameters = frozenset({"recipe"})

    @classmethod
    def validate_write_recipes(cls, recipes: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """Accept recipes that are compression specifications afwlite understands.

        Parameters
        ----------
        recipes : `dict`, optional
            Recipe name to compression: `None`, a string (``"lossless"``,
            ``"GZIP_2"``...), or an afw-style mapping optionally keyed by
            ``image``/``mask``/``variance``.

        Returns
        -------
        recipes : `dict`
            The built-in recipes overlaid with the given ones.
        """
        merged = dict(_BUILTIN_RECIPES)
        for name, spec in (recipes or {}).items():
            if spec is not None and not isinstance(spec, str | Mapping):
                raise RuntimeError(
                    f"{cls.__name__}: write recipe {name!r} is not a compression spec: {spec!r}"
                )
            merged[name] = spec
        return merged

    def _compression(self) -> Any:
        """The compression of the selected write recipe."""
        name = self.write_parameters.get("recipe", "default")
        recipes = self.write_recipes or _BUILTIN_RECIPES
        if name not in recipes:
            raise ValueError(
                f"{type(self).__name__}: unknown write recipe {name!r}; known: {sorted(recipes)}"
            )
        return recipes[name]

    def _readRegion(self) -> tuple[Box2I | None, ImageOrigin]:
        return _regionParameters(self.file_descriptor.parameters, type(self).__name__)


class AfwliteExposureFormatter(_AfwliteFitsImageFormatter):
    """Read and write an afwlite `ExposureF` as afw's Exposure FITS file.

    Read parameters ``bbox`` (an afwlite ``Box2I``) and ``origin`` read a
    region only; only the tiles it touches are decompressed.
    """

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        bbox, origin = self._readRegion()
        exposure = ExposureF(path, bbox=bbox, origin=origin)
        self._attachDetector(exposure)
        return exposure

    def _attachDetector(self, exposure: ExposureF) -> None:
        """Give the exposure the camera detector its data ID names, when that camera is known."""
        if exposure.getDetector() is not None:
            return
        dataId = self.data_id
        if not {"instrument", "detector"} <= set(dataId.dimensions.names):
            return
        className = None
        if dataId.hasRecords():
            record = dataId.records["instrument"]
            className = None if record is None else record.class_name
        camera = _instrumentCamera(str(dataId["instrument"]), className)
        detectorId = int(dataId["detector"])  # type: ignore[call-overload]
        if camera is None or detectorId not in camera:
            return
        detector = camera[detectorId]
        fileName = exposure.getMetadata().get("DETNAME")
        if fileName is not None and fileName != detector.getName():
            _LOG.warning(
                "%s: the file says detector %r, the camera's detector %d is %r; not attaching it",
                self.file_descriptor.location.uri,
                fileName,
                detectorId,
                detector.getName(),
            )
            return
        exposure.setDetector(detector)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        if not isinstance(in_memory_dataset, ExposureF):
            raise TypeError(
                f"{type(self).__name__} writes afwlite ExposureF objects, "
                f"not {type(in_memory_dataset).__name__}"
            )
        in_memory_dataset.writeFits(uri.ospath, compression=self._compression())


class AfwliteImageFormatter(_AfwliteFitsImageFormatter):
    """Read and write an afwlite `ImageF` as afw's single-image FITS file.

    Compressed, the image sits behind an empty primary HDU (as CFITSIO writes
    it); readers find it at HDU 1.
    """

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        bbox, origin = self._readRegion()
        return ImageF(path, bbox=bbox, origin=origin)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        if not isinstance(in_memory_dataset, ImageF):
            raise TypeError(
                f"{type(self).__name__} writes afwlite ImageF objects, not {type(in_memory_dataset).__name__}"
            )
        in_memory_dataset.writeFits(uri.ospath, compression=self._compression())


class AfwliteBackgroundFormatter(FormatterV2):
    """Read and write an afwlite `BackgroundList` in afw's FITS layout (uncompressed)."""

    default_extension = ".fits"
    supported_extensions = frozenset({".fits"})
    can_read_from_local_file = True
    unsupported_parameters = None  # no read parameters

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        return BackgroundList.readFits(path)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        if not isinstance(in_memory_dataset, BackgroundList):
            raise TypeError(
                f"{type(self).__name__} writes afwlite BackgroundList objects, "
                f"not {type(in_memory_dataset).__name__}"
            )
        in_memory_dataset.writeFits(uri.ospath)


class AfwliteCameraFormatter(FormatterV2):
    """Read and write an afwlite `Camera` as a sky_correction camera file (ECSV)."""

    default_extension = ".ecsv"
    supported_extensions = frozenset({".ecsv"})
    can_read_from_local_file = True
    unsupported_parameters = None

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        return readCameraFile(path)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        writeCameraFile(in_memory_dataset, uri.ospath, description="written through the Butler")


class FocalPlaneBackgroundFormatter(FormatterV2):
    """Read and write a `FocalPlaneBackground` as FITS.

    The primary HDU's header holds the config (``XSIZE``, ``YSIZE``,
    ``PIXSIZE``, ``MINFRAC``, ``INTERP``, ``DOSMOOTH``, ``SMOOTHSC``,
    ``BINNING``, ``MASK1``...) and the affine focal-plane-to-superpixel
    transform (``TRMAT11``, ``TRMAT12``, ``TRMAT21``, ``TRMAT22``,
    ``TROFF1``, ``TROFF2``); the ``VALUES`` and ``COUNTS`` HDUs hold the
    accumulated images (float32, as the model keeps them).
    """

    default_extension = ".fits"
    supported_extensions = frozenset({".fits"})
    can_read_from_local_file = True
    unsupported_parameters = None

    _CONFIG_CARDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("XSIZE", "xSize"),
        ("YSIZE", "ySize"),
        ("PIXSIZE", "pixelSize"),
        ("MINFRAC", "minFrac"),
        ("INTERP", "interpolation"),
        ("DOSMOOTH", "doSmooth"),
        ("SMOOTHSC", "smoothScale"),
        ("BINNING", "binning"),
    )

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        from astropy.io import fits

        with fits.open(path) as hdus:
            header = hdus[0].header
            config = FocalPlaneBackgroundConfig()
            for card, field in self._CONFIG_CARDS:
                setattr(config, field, header[card])
            config.mask = [header[f"MASK{i}"] for i in range(1, int(header["NMASK"]) + 1)]
            matrix = [[header["TRMAT11"], header["TRMAT12"]], [header["TRMAT21"], header["TRMAT22"]]]
            transform = TransformPoint2ToPoint2(matrix, [header["TROFF1"], header["TROFF2"]])
            values = ImageF(np.asarray(hdus["VALUES"].data, dtype=np.float32))
            counts = ImageF(np.asarray(hdus["COUNTS"].data, dtype=np.float32))
        dims = Extent2I(values.getWidth(), values.getHeight())
        return FocalPlaneBackground(config, dims, transform, values, counts)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        from astropy.io import fits

        if not isinstance(in_memory_dataset, FocalPlaneBackground):
            raise TypeError(
                f"{type(self).__name__} writes FocalPlaneBackground objects, "
                f"not {type(in_memory_dataset).__name__}"
            )
        model = in_memory_dataset
        header = fits.Header()
        for card, field in self._CONFIG_CARDS:
            header[card] = getattr(model.config, field)
        header["NMASK"] = len(model.config.mask)
        for index, plane in enumerate(model.config.mask, start=1):
            header[f"MASK{index}"] = plane
        matrix, offset = model.transform.getJacobian(), model.transform.getTranslation()
        for (row, column), value in np.ndenumerate(matrix):
            header[f"TRMAT{row + 1}{column + 1}"] = float(value)
        header["TROFF1"], header["TROFF2"] = float(offset[0]), float(offset[1])
        hdus = fits.HDUList(
            [
                fits.PrimaryHDU(header=header),
                fits.ImageHDU(model.getValues().array, name="VALUES"),
                fits.ImageHDU(model.getCounts().array, name="COUNTS"),
            ]
        )
        hdus.writeto(uri.ospath, overwrite=True)


class DetectorSkyBinsFormatter(FormatterV2):
    """Read and write a `DetectorSkyBins` (``.npz``, exact round trip, no pickles)."""

    default_extension = ".npz"
    supported_extensions = frozenset({".npz"})
    can_read_from_local_file = True
    unsupported_parameters = None

    def read_from_local_file(self, path: str, component: str | None = None, expected_size: int = -1) -> Any:
        return DetectorSkyBins.readFile(path)

    def write_local_file(self, in_memory_dataset: Any, uri: ResourcePath) -> None:
        if not isinstance(in_memory_dataset, DetectorSkyBins):
            raise TypeError(
                f"{type(self).__name__} writes DetectorSkyBins objects, "
                f"not {type(in_memory_dataset).__name__}"
            )
        in_memory_dataset.writeFile(uri.ospath)


@functools.cache
def _instrumentCamera(instrumentName: str, className: str | None) -> Camera | None:
    """The camera of the instrument a data ID names, when sky_correction can build it.

    The instrument's class (from its dimension record, else from
    sky_correction's own instruments by name) is asked for its camera when
    it offers ``makeCamera``, as every `SkyCorrectionInstrument` does;
    `None` for any other instrument.
    """
    from lsst.utils import doImportType

    for name in (className, INSTRUMENT_CLASS_NAMES.get(instrumentName)):
        if not name:
            continue
        try:
            cls: Any = doImportType(name)
        except (ImportError, TypeError):
            continue
        makeCamera = getattr(cls, "makeCamera", None)
        if callable(makeCamera):
            return makeCamera()
    return None


class AfwliteImageDelegate(StorageClassDelegate):
    """Applies the ``bbox``/``origin`` parameters to an in-memory image or exposure.

    File datastores hand the parameters to the formatter; this delegate is
    what in-memory datastores (and handles holding an object) use instead.
    """

    def handleParameters(self, inMemoryDataset: Any, parameters: Mapping[str, Any] | None = None) -> Any:
        """Return the region the parameters select, as a copy.

        Parameters
        ----------
        inMemoryDataset : `ExposureF` or `ImageF`
            The full dataset; not modified.
        parameters : `dict`, optional
            ``bbox`` (afwlite ``Box2I``) and ``origin``.

        Returns
        -------
        dataset : `ExposureF` or `ImageF`
            ``inMemoryDataset`` itself without a ``bbox``, else a deep copy
            of the region.
        """
        bbox, origin = _regionParameters(parameters, type(self).__name__)
        if bbox is None:
            return inMemoryDataset
        return type(inMemoryDataset)(inMemoryDataset, bbox=bbox, origin=origin, deep=True)
