"""Reading afw table archives (``lsst.afw.table.io``) and the cameraGeom objects in them.

An archive is an ``ARCHIVE_INDEX`` binary table followed by ``ARCHIVE_DATA``
binary tables.  Each index row says that the object with archive id ``id``
owns rows ``[row0, row0 + nrows)`` of the data catalog ``cat.archive``
(counted from the index HDU); an object with several catalogs has one row per
catalog, numbered by ``cat.persistable``.  Exposures point at their archive
with ``AR_HDU`` (1-based) in the primary header; archive-only files (such as a
persisted Camera) start it right after the empty primary.

Only plain table columns are decoded.  Objects stored as AST text
(``TransformPoint2ToPoint2``, ``SkyWcs``) are not evaluated: Detector and
Camera geometry come from their own table columns.
"""

from __future__ import annotations

__all__ = [
    "ArchiveCatalog",
    "TableArchive",
    "cameraFromArchive",
    "detectorFromArchive",
    "detectorFromExposureHdus",
    "readDetectorFromExposureFits",
]

import os
import re
from typing import Any

import numpy as np
from astropy.io import fits

from ..cameraGeom import Camera, Detector, DetectorType, Orientation
from ..geom import Box2I, Extent2D, Point2D, Point2I
from ._errors import FitsError

# TFORM of a variable-length character column (afw writes strings as 1QA(n)).
_VARIABLE_STRING_FORM = re.compile(r"^\d*[PQ]A")
_FIXED_STRING_FORM = re.compile(r"^\d*A$")
_INDEX_COLUMNS = ("id", "cat.archive", "cat.persistable", "row0", "nrows", "name")
# The newest Detector serialization afw writes (lsst/afw Detector.cc).
_DETECTOR_VERSION_MAX = 2
_DETECTOR_COLUMNS = (
    "name",
    "id",
    "type",
    "serial",
    "bbox_min_x",
    "bbox_min_y",
    "bbox_max_x",
    "bbox_max_y",
    "pixelSize_x",
    "pixelSize_y",
    "fpPosition_x",
    "fpPosition_y",
    "refPoint_x",
    "refPoint_y",
    "yaw",
    "pitch",
    "roll",
)


def _describe(hdulist: fits.HDUList) -> str:
    name = hdulist.filename()
    return os.fspath(name) if name else "<in-memory HDUList>"


class TableArchive:
    """The afw table archive of an open FITS file.

    Parameters
    ----------
    hdulist : `astropy.io.fits.HDUList`
        The open file; it must stay open while the archive is used.
    indexHdu : `int`
        0-based position of the ``ARCHIVE_INDEX`` HDU.

    Raises
    ------
    FitsError
        If that HDU is not an archive index.
    """

    def __init__(self, hdulist: fits.HDUList, indexHdu: int) -> None:
        self._hdulist = hdulist
        self._file = _describe(hdulist)
        self._indexHdu = int(indexHdu)
        where = self.where(self._indexHdu)
        if not 0 < self._indexHdu < len(hdulist):
            raise FitsError(f"{where}: no such HDU (the file has {len(hdulist)})")
        hdu = hdulist[self._indexHdu]
        if not isinstance(hdu, fits.BinTableHDU):
            raise FitsError(f"{where}: the archive index must be a binary table, not {type(hdu).__name__}")
        extType = str(hdu.header.get("EXTTYPE", "ARCHIVE_INDEX")).strip()
        if extType != "ARCHIVE_INDEX":
            raise FitsError(f"{where}: expected EXTTYPE = 'ARCHIVE_INDEX', found {extType!r}")
        missing = [c for c in _INDEX_COLUMNS if c not in hdu.columns.names]
        if missing:
            raise FitsError(f"{where}: the archive index lacks column(s) {', '.join(missing)}")
        data = hdu.data
        if data is None:
            data = np.zeros(0, dtype=[(c, np.int32) for c in _INDEX_COLUMNS[:-1]] + [("name", "U1")])
        self._ids = np.asarray(data["id"], dtype=np.int64)
        self._catArchive = np.asarray(data["cat.archive"], dtype=np.int64)
        self._catPersistable = np.asarray(data["cat.persistable"], dtype=np.int64)
        self._row0 = np.asarray(data["row0"], dtype=np.int64)
        self._nrows = np.asarray(data["nrows"], dtype=np.int64)
        self._names = np.array([str(n).strip() for n in data["name"]], dtype=str)
        self._columnCache: dict[tuple[int, str], Any] = {}

    @classmethod
    def fromHduList(cls, hdulist: fits.HDUList) -> TableArchive:
        """Find the archive of an Exposure (``AR_HDU``) or of an archive-only file.

        Raises
        ------
        FitsError
            If the file holds no archive.
        """
        file = _describe(hdulist)
        if len(hdulist) == 0:
            raise FitsError(f"{file}: empty FITS file, no afw table archive")
        arHdu = hdulist[0].header.get("AR_HDU")
        if arHdu is not None:
            try:
                index = int(arHdu) - 1
            except (TypeError, ValueError):
                raise FitsError(f"{file}: primary header AR_HDU = {arHdu!r} is not an HDU number") from None
            return cls(hdulist, index)
        for index, hdu in enumerate(hdulist):
            if str(hdu.header.get("EXTTYPE", "")).strip() == "ARCHIVE_INDEX":
                return cls(hdulist, index)
        raise FitsError(f"{file}: no afw table archive (no AR_HDU key and no ARCHIVE_INDEX HDU)")

    def where(self, hduIndex: int) -> str:
        """``file[HDU n]`` for messages."""
        return f"{self._file}[HDU {hduIndex}]"

    @property
    def hdulist(self) -> fits.HDUList:
        return self._hdulist

    @property
    def indexHdu(self) -> int:
        """0-based position of the ``ARCHIVE_INDEX`` HDU."""
        return self._indexHdu

    def getIds(self) -> list[int]:
        """The archive ids present, in increasing order."""
        return [int(i) for i in np.unique(self._ids)]

    def __contains__(self, archiveId: object) -> bool:
        return isinstance(archiveId, int | np.integer) and bool(np.any(self._ids == archiveId))

    def findIds(self, className: str) -> list[int]:
        """The archive ids of every object of class ``className`` (e.g. ``"Detector"``)."""
        return [int(i) for i in np.unique(self._ids[self._names == className])]

    def getClassName(self, archiveId: int) -> str:
        """The class name the index records for ``archiveId``."""
        rows = self._rowsFor(archiveId)
        return str(self._names[rows[0]])

    def getCatalogs(self, archiveId: int) -> list[ArchiveCatalog]:
        """The catalogs an object owns, ordered by ``cat.persistable``.

        Raises
        ------
        FitsError
            If the id is absent or an index row points outside the file.
        """
        rows = self._rowsFor(archiveId)
        rows = rows[np.argsort(self._catPersistable[rows], kind="stable")]
        order = self._catPersistable[rows]
        where = self.where(self._indexHdu)
        if not np.array_equal(order, np.arange(len(rows))):
            raise FitsError(
                f"{where}: archive id {archiveId} has catalogs numbered {order.tolist()}, "
                f"expected 0..{len(rows) - 1}"
            )
        catalogs = []
        for row in rows:
            catalogs.append(self._catalog(int(archiveId), int(row)))
        return catalogs

    def _rowsFor(self, archiveId: int) -> np.ndarray:
        rows = np.flatnonzero(self._ids == archiveId)
        if rows.size == 0:
            present = self.getIds()
            span = f"ids {present[0]}..{present[-1]}" if present else "no objects"
            raise FitsError(
                f"{self.where(self._indexHdu)}: no object with archive id {archiveId} in the archive ({span})"
            )
        return rows

    def _catalog(self, archiveId: int, indexRow: int) -> ArchiveCatalog:
        catArchive = int(self._catArchive[indexRow])
        hduIndex = self._indexHdu + catArchive
        indexWhere = self.where(self._indexHdu)
        if catArchive < 1 or hduIndex >= len(self._hdulist):
            raise FitsError(
                f"{indexWhere}: archive id {archiveId} points to catalog {catArchive}, "
                f"HDU {hduIndex}, but the file has {len(self._hdulist)} HDUs"
            )
        hdu = self._hdulist[hduIndex]
        where = self.where(hduIndex)
        if not isinstance(hdu, fits.BinTableHDU):
            raise FitsError(f"{where}: archive catalog {catArchive} is a {type(hdu).__name__}, not a table")
        catN = hdu.header.get("AR_CATN")
        if catN is not None and int(catN) != catArchive:
            raise FitsError(f"{where}: AR_CATN = {catN}, but the index expects catalog {catArchive} here")
        row0, nrows = int(self._row0[indexRow]), int(self._nrows[indexRow])
        available = 0 if hdu.data is None else len(hdu.data)
        if row0 < 0 or nrows < 0 or row0 + nrows > available:
            raise FitsError(
                f"{where}: archive id {archiveId} owns rows [{row0}, {row0 + nrows}) "
                f"but the table has {available} rows"
            )
        return ArchiveCatalog(self, hduIndex, row0, nrows)

    def _column(self, hduIndex: int, name: str) -> Any:
        """A whole decoded column (strings as `str`), decoded once per HDU."""
        key = (hduIndex, name)
        if key not in self._columnCache:
            hdu = self._hdulist[hduIndex]
            form = str(hdu.columns[name].format)
            raw = hdu.data[name]
            if _VARIABLE_STRING_FORM.match(form):
                # astropy gives one-character arrays whose items lose blanks
                # ('detector 1' -> 'detector', '', '1'); join the raw array.
                value: Any = ["".join(np.asarray(v).tolist()).rstrip("\0") for v in raw]
            elif _FIXED_STRING_FORM.match(form):
                value = [str(v).rstrip("\0 ") for v in raw]
            else:
                value = raw
            self._columnCache[key] = value
        return self._columnCache[key]


class ArchiveCatalog:
    """The rows one archived object owns in one catalog (a view, no copy).

    Obtain these from `TableArchive.getCatalogs`.
    """

    def __init__(self, archive: TableArchive, hduIndex: int, row0: int, nrows: int) -> None:
        self._archive = archive
        self._hduIndex = hduIndex
        self._rows = slice(row0, row0 + nrows)
        self._nrows = nrows
        hdu = archive.hdulist[hduIndex]
        self._columnNames = tuple(hdu.columns.names)
        self._className = str(hdu.header.get("AR_NAME", "")).strip()

    @property
    def where(self) -> str:
        """``file[HDU n]`` for messages."""
        return self._archive.where(self._hduIndex)

    @property
    def hduIndex(self) -> int:
        return self._hduIndex

    @property
    def className(self) -> str:
        """``AR_NAME`` of the catalog's HDU (empty when absent)."""
        return self._className

    @property
    def columnNames(self) -> tuple[str, ...]:
        return self._columnNames

    def __len__(self) -> int:
        return self._nrows

    def hasColumn(self, name: str) -> bool:
        return name in self._columnNames

    def get(self, name: str) -> Any:
        """The column ``name`` for this object's rows (strings decoded to `str`).

        Raises
        ------
        FitsError
            If the column is absent.
        """
        if name not in self._columnNames:
            raise FitsError(
                f"{self.where}: {self._className or 'archive'} catalog has no column {name!r} "
                f"(columns: {', '.join(self._columnNames)})"
            )
        return self._archive._column(self._hduIndex, name)[self._rows]

    def getScalar(self, name: str, row: int = 0) -> Any:
        """One value of column ``name`` (numbers as Python scalars)."""
        if not 0 <= row < self._nrows:
            raise FitsError(f"{self.where}: row {row} requested from an object with {self._nrows} rows")
        value = self.get(name)[row]
        return value.item() if isinstance(value, np.generic) else value


# cameraGeom objects ------------------------------------------------------------------


def _archiveOf(source: fits.HDUList | TableArchive) -> TableArchive:
    return source if isinstance(source, TableArchive) else TableArchive.fromHduList(source)


def detectorFromArchive(source: fits.HDUList | TableArchive, archiveId: int) -> Detector:
    """Rebuild the `Detector` stored under ``archiveId``, without AST.

    Reads Detector serialization versions 0 (2-d ``fpPosition``, no
    ``physicalType``), 1 (+ ``physicalType``) and 2 (3-d ``fpPosition`` and an
    explicit ``version`` column).  Angles are stored in radians.  Amplifiers,
    crosstalk and the TransformMap are not read: PIXELS <-> FOCAL_PLANE is
    regenerated from the orientation, as afw's Camera builder does.

    Parameters
    ----------
    source : `astropy.io.fits.HDUList` or `TableArchive`
        An open file holding an archive, or its archive.
    archiveId : `int`
        The detector's archive id (e.g. primary ``ARCHIVE_ID_DETECTOR``).

    Raises
    ------
    FitsError
        If the id is missing, is not a Detector, or its table is malformed.
    """
    archive = _archiveOf(source)
    className = archive.getClassName(archiveId)
    if className != "Detector":
        raise FitsError(
            f"{archive.where(archive.indexHdu)}: archive id {archiveId} is a {className}, not a Detector"
        )
    record = archive.getCatalogs(archiveId)[0]
    where = f"{record.where} (Detector, archive id {archiveId})"
    if len(record) != 1:
        raise FitsError(f"{where}: expected one detector row, found {len(record)}")
    missing = [c for c in _DETECTOR_COLUMNS if not record.hasColumn(c)]
    if missing:
        raise FitsError(f"{where}: Detector table lacks column(s) {', '.join(missing)}")
    if record.hasColumn("version"):
        version = int(record.getScalar("version"))
    else:
        version = 1 if record.hasColumn("physicalType") else 0
    if not 0 <= version <= _DETECTOR_VERSION_MAX:
        raise FitsError(
            f"{where}: unsupported Detector serialization version {version} "
            f"(this reader knows 0..{_DETECTOR_VERSION_MAX})"
        )
    if version >= 2 and not record.hasColumn("fpPosition_z"):
        raise FitsError(f"{where}: version {version} Detector table lacks column fpPosition_z")

    def value(name: str) -> Any:
        return record.getScalar(name)

    fpZ = float(value("fpPosition_z")) if version >= 2 else 0.0
    typeValue = int(value("type"))
    try:
        detectorType = DetectorType(typeValue)
    except ValueError:
        raise FitsError(f"{where}: unknown detector type {typeValue}") from None
    try:
        orientation = Orientation(
            (float(value("fpPosition_x")), float(value("fpPosition_y")), fpZ),
            Point2D(float(value("refPoint_x")), float(value("refPoint_y"))),
            float(value("yaw")),
            float(value("pitch")),
            float(value("roll")),
        )
        return Detector(
            str(value("name")),
            int(value("id")),
            bbox=Box2I(
                Point2I(int(value("bbox_min_x")), int(value("bbox_min_y"))),
                Point2I(int(value("bbox_max_x")), int(value("bbox_max_y"))),
            ),
            orientation=orientation,
            pixelSize=Extent2D(float(value("pixelSize_x")), float(value("pixelSize_y"))),
            type=detectorType,
            serial=str(value("serial")),
            physicalType=str(value("physicalType")) if version >= 1 else "",
        )
    except (TypeError, ValueError) as error:
        raise FitsError(f"{where}: invalid detector geometry: {error}") from None


def detectorFromExposureHdus(hdulist: fits.HDUList) -> Detector | None:
    """The Detector of an open Exposure file, or `None` when it has none.

    The archive id comes from the primary's ``ARCHIVE_ID_DETECTOR`` (current
    files) or ``DETECTOR_ID`` (older ones); id 0 means "no detector", as in afw.
    """
    if len(hdulist) == 0:
        raise FitsError(f"{_describe(hdulist)}: empty FITS file")
    header = hdulist[0].header
    archiveId = header.get("ARCHIVE_ID_DETECTOR", header.get("DETECTOR_ID"))
    if archiveId is None or int(archiveId) == 0:
        return None
    return detectorFromArchive(hdulist, int(archiveId))


def readDetectorFromExposureFits(path: str | os.PathLike[str]) -> Detector | None:
    """Read the Detector of an afw Exposure FITS file, or `None` if it has none.

    Parameters
    ----------
    path : `str` or path-like
        An Exposure (or MaskedImage) file written by afw or afwlite.

    Raises
    ------
    FitsError
        If the file cannot be read as FITS or its archive is malformed.
    """
    try:
        with fits.open(path) as hdulist:
            return detectorFromExposureHdus(hdulist)
    except (FitsError, FileNotFoundError):
        raise
    except OSError as error:
        raise FitsError(f"{os.fspath(path)}: cannot read as FITS: {error}") from None


def cameraFromArchive(source: fits.HDUList | TableArchive, archiveId: int | None = None) -> Camera:
    """Rebuild the `Camera` persisted in an archive (``Camera.writeFits``), without AST.

    Parameters
    ----------
    source : `astropy.io.fits.HDUList` or `TableArchive`
        An open file holding an archive, or its archive.
    archiveId : `int`, optional
        The camera's archive id; by default the archive's only Camera.

    Raises
    ------
    FitsError
        If there is no (or more than one) Camera, or a record is malformed.
    """
    archive = _archiveOf(source)
    indexWhere = archive.where(archive.indexHdu)
    if archiveId is None:
        cameraIds = archive.findIds("Camera")
        if len(cameraIds) != 1:
            raise FitsError(f"{indexWhere}: expected one Camera in the archive, found {len(cameraIds)}")
        archiveId = cameraIds[0]
    className = archive.getClassName(archiveId)
    if className != "Camera":
        raise FitsError(f"{indexWhere}: archive id {archiveId} is a {className}, not a Camera")
    catalogs = archive.getCatalogs(archiveId)
    # One catalog lists the detectors' archive ids, another holds the camera record.
    members = [c for c in catalogs if c.hasColumn("detector")]
    records = [c for c in catalogs if c.hasColumn("name")]
    if len(members) != 1 or len(records) != 1:
        raise FitsError(
            f"{indexWhere}: Camera (archive id {archiveId}) needs one catalog with a 'detector' column "
            f"and one with a 'name' column; found {[c.columnNames for c in catalogs]}"
        )
    name = str(records[0].getScalar("name"))
    pupilFactoryName = (
        str(records[0].getScalar("pupilFactoryName")) if records[0].hasColumn("pupilFactoryName") else ""
    )
    detectorIds = [int(i) for i in np.asarray(members[0].get("detector"))]
    detectors = [detectorFromArchive(archive, detectorId) for detectorId in detectorIds]
    try:
        return Camera(name, detectors, pupilFactoryName=pupilFactoryName)
    except ValueError as error:
        raise FitsError(f"{indexWhere}: {error}") from None
