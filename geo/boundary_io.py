"""Open boundary files safely and bring them to EPSG:4326.

Only GeoJSON, GeoPackage and Shapefile (bare or zipped) are accepted. The first bytes of a
file are checked before GDAL sees it, so a renamed VRT, XML or binary file never reaches a
GDAL driver that could follow references to other files. A zip is unpacked by Python into a
temporary folder after its member names (path traversal) and sizes (zip bombs) are checked.

CRS: a declared CRS is reprojected to EPSG:4326; a file without one is taken as EPSG:4326 only
when every coordinate lies in lon/lat range (and a note says so); metres declared as degrees,
or undeclared, raise :class:`geo.errors.CRSError`.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.errors
import pyproj
import shapely.errors
from pyproj import CRS

from geo.crs import STORAGE_CRS, STORAGE_EPSG, to_storage
from geo.errors import CRSError, EmptyInputError, GeometryError, InputError

log = logging.getLogger(__name__)

SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")
MAX_UNZIPPED_BYTES = 1 << 30   # 1 GiB: the whole DKI RW layer is ~20 MB as a shapefile
MAX_ZIP_RATIO = 100            # deflated vector data rarely exceeds 10:1; zip bombs reach 1000:1
MAX_ZIP_MEMBERS = 1000
_RATIO_MIN_BYTES = 1 << 20     # small members may compress extremely well (e.g. a .cpg)
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_MAGIC = {".gpkg": b"SQLite format 3\x00", ".shp": b"\x00\x00\x27\x0a"}
_GDAL_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FeatureError,
                pyogrio.errors.FieldError, pyogrio.errors.GeometryError, pyogrio.errors.CRSError)


def read_layer(path: str | Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Read one vector layer from ``path`` into EPSG:4326.

    Parameters
    ----------
    path : str or Path
        ``.geojson``/``.json``, ``.gpkg`` (``file.gpkg::layer`` picks a layer; default the first
        layer with geometry), ``.shp``, or a ``.zip`` holding exactly one shapefile.

    Returns
    -------
    (GeoDataFrame, list of str)
        The features in EPSG:4326 (index 0..n-1 in file order) and notes on how they were read.

    Raises
    ------
    InputError
        File not found, unsupported type, not a geodata file, unsafe zip.
    EmptyInputError
        Empty file or no features.
    CRSError
        Coordinates that cannot be degrees in a file declared (or assumed) as degrees.
    """
    file, layer = _split_layer(path)
    source = str(file)
    if not file.is_file():
        raise InputError("file not found", file=source)
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"unsupported file type {suffix or '(none)'!r}; expected one of {', '.join(SUFFIXES)}",
                         file=source)
    if file.stat().st_size == 0:
        raise EmptyInputError("empty file (0 bytes)", file=source)
    if suffix != ".zip":
        _sniff(file, suffix, source)
        return _read(file, layer, source, [])
    with tempfile.TemporaryDirectory(prefix="petatps-zip-") as tmp:
        shp = extract_shapefile(file, Path(tmp))
        return _read(shp, None, source, [f"read {shp.name} from the zip archive"])


def extract_shapefile(archive: Path, dest: Path) -> Path:
    """Unpack the one shapefile of ``archive`` (with its sidecar files) into ``dest``.

    Every member name is checked (no absolute paths, drive letters or ``..``) and the declared
    sizes are bounded (total ``MAX_UNZIPPED_BYTES``, ratio ``MAX_ZIP_RATIO``) before anything is
    written; Python's zipfile never inflates a member past its declared size and checks its CRC.
    Returns the path of the extracted ``.shp``.
    """
    source = str(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a readable zip archive ({exc})", file=source) from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        _check_members(infos, source)
        shps = [i for i in infos if i.filename.lower().endswith(".shp")]
        if len(shps) != 1:
            raise InputError(f"expected exactly one shapefile (.shp) in the zip, found {len(shps)}", file=source)
        stem = shps[0].filename[:-4].lower()
        for info in infos:
            name = info.filename.lower()
            if name[:-4] == stem and name[-4:] in _SHAPEFILE_PARTS:
                _copy_member(zf, info, dest / PurePosixPath(info.filename).name, source)
        return dest / PurePosixPath(shps[0].filename).name


def _check_members(infos: list[zipfile.ZipInfo], source: str) -> None:
    if len(infos) > MAX_ZIP_MEMBERS:
        raise InputError(f"zip holds {len(infos)} files (limit {MAX_ZIP_MEMBERS})", file=source)
    for info in infos:
        name = info.filename
        parts = re.split(r"[/\\]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\x00" in name:
            raise InputError("unsafe file name in zip (absolute path or '..'); refusing to unpack",
                             file=source, value=name)
        if info.file_size > _RATIO_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise InputError(f"zip member expands {info.file_size // max(info.compress_size, 1)}:1 "
                             f"(limit {MAX_ZIP_RATIO}:1); refusing a possible zip bomb", file=source, value=name)
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise InputError(f"zip would expand to {total:,} bytes (limit {MAX_UNZIPPED_BYTES:,}); "
                         "refusing a possible zip bomb", file=source)


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, source: str) -> None:
    try:
        with zf.open(info) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise InputError(f"cannot unpack zip member ({exc})", file=source, value=info.filename) from None


def _split_layer(path: str | Path) -> tuple[Path, str | None]:
    text = str(path)
    if "::" in text:
        file, layer = text.rsplit("::", 1)
        return Path(file), layer or None
    return Path(text), None


def _sniff(file: Path, suffix: str, source: str) -> None:
    with file.open("rb") as fh:
        head = fh.read(4096)
    if suffix in _MAGIC:
        if not head.startswith(_MAGIC[suffix]):
            raise InputError(f"not a {'GeoPackage' if suffix == '.gpkg' else 'Shapefile'} "
                             "(the file signature does not match)", file=source)
        return
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise EmptyInputError("empty file (only whitespace)", file=source)
    if not text.startswith(b"{"):
        raise InputError("not a GeoJSON file (it does not start with '{')", file=source)


def _read(file: Path, layer: str | None, source: str, notes: list[str]) -> tuple[gpd.GeoDataFrame, list[str]]:
    if file.suffix.lower() == ".gpkg":
        layer = _pick_layer(file, layer, source, notes)
    try:
        with warnings.catch_warnings():  # GDAL's warnings become our one-line errors, not stderr noise
            warnings.simplefilter("ignore", RuntimeWarning)
            frame = pyogrio.read_dataframe(file, layer=layer)
    except _GDAL_ERRORS as exc:
        raise InputError(f"not a readable geodata file: {str(exc).splitlines()[0][:200]}", file=source) from None
    except shapely.errors.GEOSException as exc:  # NaN/Infinity coordinates, unclosed rings
        raise GeometryError(f"unreadable geometry (NaN/Infinity coordinates or broken rings): "
                            f"{str(exc).splitlines()[0][:160]}", file=source) from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError("no geometry in the file (not a geodata file)", file=source)
    if len(frame) == 0:
        raise EmptyInputError("no features in the file", file=source)
    frame = frame.reset_index(drop=True)
    return _to_4326(frame, source, notes), notes


def _pick_layer(file: Path, layer: str | None, source: str, notes: list[str]) -> str:
    try:
        layers = pyogrio.list_layers(file)
    except _GDAL_ERRORS as exc:
        raise InputError(f"not a readable GeoPackage: {str(exc).splitlines()[0][:200]}", file=source) from None
    names = [str(n) for n in layers[:, 0]]
    if layer is not None:
        if layer not in names:
            raise InputError(f"no layer {layer!r} in the GeoPackage; layers: {', '.join(names) or '(none)'}",
                             file=source)
        return layer
    spatial = [str(n) for n, g in layers if g is not None]
    if not spatial:
        raise InputError("the GeoPackage has no layer with geometry", file=source)
    if len(names) > 1:
        notes.append(f"read layer {spatial[0]!r}, the first with geometry of {len(names)} "
                     f"({', '.join(names)}); use 'file.gpkg::layer' to choose")
    return spatial[0]


# lon/lat bounds of Indonesia with a margin: a reprojected layer outside them has a wrong CRS.
INDONESIA = (94.0, -12.0, 142.0, 7.0)


def _to_4326(frame: gpd.GeoDataFrame, source: str, notes: list[str]) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = frame.total_bounds
    degrees = bool(np.isnan(minx) or (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90))
    extent = f"x {minx:,.1f}..{maxx:,.1f}, y {miny:,.1f}..{maxy:,.1f}"
    if frame.crs is None:
        if not degrees:
            raise CRSError(f"{source}: no CRS declared and the coordinates ({extent}) are not degrees; "
                           f"declare the CRS (e.g. a .prj for EPSG:32748)")
        notes.append("no CRS declared; every coordinate is within lon/lat range, so EPSG:4326 was assumed")
        return frame.set_crs(STORAGE_EPSG)
    crs = CRS(frame.crs)
    if crs.is_geographic and not degrees:
        raise CRSError(f"{source}: the file declares {crs.name} (degrees) but the coordinates ({extent}) "
                       f"are not degrees; metres (e.g. UTM EPSG:32748) declared as degrees?")
    try:
        out = to_storage(frame, source=source)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"{source}: cannot reproject from {crs.to_string()} to EPSG:4326 ({exc})") from None
    if not crs.equals(STORAGE_CRS, ignore_axis_order=True):
        if np.isfinite(frame.total_bounds).all() and not np.isfinite(out.total_bounds).all():
            raise CRSError(f"{source}: coordinates ({extent}) fall outside {crs.to_string()}; wrong CRS declared?")
        lon0, lat0, lon1, lat1 = out.total_bounds
        if np.isfinite(out.total_bounds).all() and not (INDONESIA[0] <= lon0 and lon1 <= INDONESIA[2]
                                                        and INDONESIA[1] <= lat0 and lat1 <= INDONESIA[3]):
            raise CRSError(f"{source}: in the declared {crs.to_string()} the coordinates ({extent}) land at "
                           f"lon {lon0:.2f}..{lon1:.2f}, lat {lat0:.2f}..{lat1:.2f}, outside Indonesia; "
                           f"wrong CRS declared (degrees declared as metres?)")
        notes.append(f"reprojected from {crs.to_string()} to EPSG:4326")
        log.debug("%s: reprojected from %s", source, crs.to_string())
    return out
