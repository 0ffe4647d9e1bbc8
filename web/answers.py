"""Adapters from the snapshot's ``geo`` objects to the plain dicts pages and the API render.

No spatial logic here: the answers come from :mod:`geo.lookup`, :mod:`geo.nearby` and
:mod:`geo.areas`; this module only picks the public fields and builds the direction links.
"""

from __future__ import annotations

from urllib.parse import quote

import orjson

from geo.errors import CodeError, NotFoundError
from geo.lookup import LookupResult
from geo.nearby import Nearest
from web.data import Snapshot

OSM_DIRECTIONS = "https://www.openstreetmap.org/directions?route=%3B{lat}%2C{lon}#map=17/{lat}/{lon}"
GOOGLE_DIRECTIONS = "https://www.google.com/maps/dir/?api=1&destination={lat}%2C{lon}"


def tps_feature(snap: Snapshot, kode_tps: str) -> dict:
    """The public GeoJSON Feature of a TPS; :class:`CodeError`/:class:`NotFoundError` otherwise."""
    if not (isinstance(kode_tps, str) and len(kode_tps) == 13 and kode_tps.isdigit()):
        raise CodeError(f"not a TPS code: {kode_tps[:20]!r} (expected 13 digits: kelurahan code + TPS number)")
    blob = snap.features("tps").get(kode_tps)
    if blob is None:
        raise NotFoundError(f"no TPS {kode_tps} in the store")
    return orjson.loads(blob)


def tps_view(snap: Snapshot, kode_tps: str) -> dict:
    """A TPS for pages: its public properties, ``lat``/``lon`` and direction links (when placed)."""
    feature = tps_feature(snap, kode_tps)
    view = dict(feature["properties"])
    geom = feature["geometry"]
    view["lat"] = view["lon"] = None
    if geom:
        view["lon"], view["lat"] = geom["coordinates"]
        view["osm"] = OSM_DIRECTIONS.format(lat=view["lat"], lon=view["lon"])
        view["google"] = GOOGLE_DIRECTIONS.format(lat=view["lat"], lon=view["lon"])
    view["kelurahan"] = _area_name(snap, view["kode_kel"])
    return view


def nearest_answer(snap: Snapshot, near: Nearest | None, *, basis: str) -> dict | None:
    """``{"tps": feature, "distance_m", "kode_kel", "basis"}`` for a nearest-TPS result."""
    if near is None:
        return None
    return {"label": "nearest", "tps": tps_feature(snap, near.kode_tps), "distance_m": near.distance_m,
            "kode_kel": near.kode_kel, "basis": basis}


def find_nearest(snap: Snapshot, lon: float, lat: float, kode_kel: str | None) -> dict:
    """Nearest TPS to a point, within ``kode_kel`` or else the kelurahan containing the point."""
    points = snap.points()
    if kode_kel is not None:
        check_kelurahan(snap, kode_kel)
    kel = kode_kel or points.kelurahan_at(lon, lat)
    near = points.nearest(lon, lat, kode_kel=kel) if kel else points.nearest(lon, lat)
    if near is None:
        raise NotFoundError(f"no mapped TPS in kelurahan {kel}" if kel else "no mapped TPS in the store")
    return nearest_answer(snap, near, basis="location")


def lookup_answer(snap: Snapshot, nik: str, kode_kel: str | None = None) -> dict:
    """The NIK lookup as a dict: found → ``your_tps``; otherwise the neutral answer.

    A found answer names the voter's TPS as the DPT gives it (``kode_tps``); ``tps`` is its public
    Feature, or ``None`` while that TPS is not in the published TPS list (a DPT may come before
    the list is complete). Then no other TPS stands in for it: the nearest one is not the voter's.
    The neutral answer has the same keys whatever the reason, and lists the kelurahan of the
    kecamatan named by the NIK's region digits (if that kecamatan is in the store).
    """
    if kode_kel is not None:
        check_kelurahan(snap, kode_kel)
    result: LookupResult = snap.lookup()(nik, kode_kel)
    if result.found:
        return {"found": True, "label": "your_tps", "nama_masked": result.nama_masked,
                "kode_tps": result.kode_tps, "tps": _published_tps(snap, result.kode_tps),
                "distance_m": result.distance_m, "located_by": result.located_by}
    areas = snap.areas()
    choices = areas.children(result.kode_kec) if result.kode_kec in areas else []
    return {"found": False, "label": "not_found",
            "kelurahan": [{"kode": a.kode, "nama": a.label} for a in choices],
            "nearest": nearest_answer(snap, result.nearest, basis="kelurahan")}


def _published_tps(snap: Snapshot, kode_tps: str | None) -> dict | None:
    """The Feature of the DPT's TPS, or None when the DPT names none or the TPS list lacks it."""
    blob = snap.features("tps").get(kode_tps) if kode_tps else None
    return orjson.loads(blob) if blob is not None else None


def check_kelurahan(snap: Snapshot, kode: str) -> None:
    """:class:`CodeError` unless ``kode`` is 10 digits; :class:`NotFoundError` unless it is stored."""
    if not (isinstance(kode, str) and len(kode) == 10 and kode.isdigit()):
        raise CodeError(f"not a kelurahan code: {str(kode)[:20]!r} (expected 10 digits, e.g. 3171011001)")
    snap.areas().get(kode)


def area_link(kode: str) -> str:
    """Path of the browse page of an area key."""
    return "/wilayah/" + quote(kode)


def _area_name(snap: Snapshot, kode: str | None) -> str | None:
    areas = snap.areas()
    return areas.get(kode).label if kode and kode in areas else kode
