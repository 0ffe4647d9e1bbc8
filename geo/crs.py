"""CRS constants and checks.

Store everything in EPSG:4326 (WGS 84 lon/lat); measure metres in UTM zone 48S
(EPSG:32748), which covers Jakarta with < 0.1 % scale error.
"""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from geo.errors import CRSError

STORAGE_EPSG = 4326
METRIC_EPSG = 32748
STORAGE_CRS = CRS.from_epsg(STORAGE_EPSG)
METRIC_CRS = CRS.from_epsg(METRIC_EPSG)


def to_storage(gdf: gpd.GeoDataFrame, *, source: str = "input") -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326; raise :class:`CRSError` if its CRS is unknown."""
    if gdf.crs is None:
        raise CRSError(f"{source}: no CRS declared; expected a file with a known CRS (e.g. EPSG:4326)")
    if CRS(gdf.crs).equals(STORAGE_CRS, ignore_axis_order=True):
        return gdf if gdf.crs.to_epsg() == STORAGE_EPSG else gdf.set_crs(STORAGE_EPSG, allow_override=True)
    return gdf.to_crs(STORAGE_EPSG)


def to_metric(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Reproject to the metric CRS (EPSG:32748); raise if the CRS is unknown."""
    if gdf.crs is None:
        raise CRSError("cannot measure metres: geometries have no CRS")
    return gdf.to_crs(METRIC_EPSG)


def require_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str = "input") -> None:
    """Raise :class:`CRSError` unless ``gdf`` is in a projected (metre) CRS."""
    if gdf.crs is None or not CRS(gdf.crs).is_projected:
        raise CRSError(f"{what}: expected a projected CRS in metres (e.g. EPSG:{METRIC_EPSG}), got {gdf.crs}")


def require_same_crs(a, b, what: str = "inputs") -> None:
    """Raise :class:`CRSError` when two geo-objects are in different CRSs."""
    if a.crs is None or b.crs is None or not CRS(a.crs).equals(CRS(b.crs)):
        raise CRSError(f"{what}: CRS differ ({a.crs} vs {b.crs}); reproject one with to_crs first")
