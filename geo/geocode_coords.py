"""Coordinates as typed by KPPS members: parse, repair what is unambiguous, reject the rest.

Accepted forms, in either field: decimal degrees with a point or a comma (``-6.1754``,
``-6,1754``), degrees-minutes-seconds (``6°10'30"S``, ``106° 49' 38" BT``, ``6 10 30 LS``), and both
numbers in one field (``-6.1754, 106.8272``; ``-6,1754;106,8272``; ``6°10'30"S 106°49'38"E``).
Hemisphere letters may be English (N/S/E/W) or Indonesian (LU/LS/BT/BB, U/T/B).

A Jakarta point has lat ≈ −6 and lon ≈ 106.7, so a pair is tried as given, swapped, and with
flipped signs, and the first reading inside the DKI window is kept with a note of what was fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# DKI Jakarta incl. Kepulauan Seribu (lat -6.37..-5.20, lon 106.39..106.97) with a margin, degrees.
DKI_WINDOW = (106.30, -6.50, 107.10, -5.10)
GPS_PRECISION_M = 30.0          # a phone GPS fix in a built-up area
MAX_PRECISION_M = 250.0         # coarser than this (e.g. 2 decimals ≈ 560 m) is a truncated value
_DEG_M = 111_320.0              # metres per degree of latitude

# Problems: the first three are repairs (point kept), the rest reject the coordinates.
FIXES = ("swapped_lat_lon", "lat_sign_fixed", "lon_sign_fixed")
REJECTIONS = ("placeholder", "unparseable", "only_one_coordinate", "truncated", "outside_dki")

_HEMI = r"LS|LU|BT|BB|[NSEWUTB]"
_NEGATIVE_HEMI = {"S", "LS", "W", "B", "BB"}
_PLACEHOLDER = r"0+(?:[.,]0*)?|-+|N/?A|NULL|NONE|NAN|TIDAK ADA|TDK ADA|KOSONG|\?+"
_DECIMAL = rf"(?P<h1>{_HEMI})?\s*(?P<num>[+-]?\d{{1,3}}(?:[.,](?P<frac>\d+))?)\s*°?\s*(?P<h2>{_HEMI})?"
_DMS = (rf"(?P<h1>{_HEMI})?\s*(?P<sg>[+-])?(?P<d>\d{{1,3}})\s*(?P<mark>°|:|\s)\s*"
        r"(?P<m>\d{1,2}(?:[.,](?P<mfrac>\d+))?)\s*(?:'|:)?\s*"
        r"(?:(?P<s>\d{1,2}(?:[.,](?P<sfrac>\d+))?)\s*\"?)?"
        rf"\s*(?P<h2>{_HEMI})?")
_PAIRS = (
    r"(?P<a>[+-]?\d+,\d+)\s*[,;/\s]\s*(?P<b>[+-]?\d+,\d+)",         # decimal commas, any separator
    r"(?P<a>[^,;/]+?)\s*[,;/]\s*(?P<b>[^,;/]+?)",                     # "lat, lon" / "lat;lon" / "lat/lon"
    r"(?P<a>[+-]?\d+\.\d+)\s+(?P<b>[+-]?\d+\.\d+)",                   # "lat lon"
    rf"(?P<a>.+?[\"'°]\s*(?:{_HEMI})?)\s+(?P<b>(?:{_HEMI})?\s*\d.*)",  # DMS DMS
)
_QUOTES = str.maketrans({"º": "°", "˚": "°", "′": "'", "’": "'", "‘": "'", "`": "'", "´": "'",
                         "″": '"', "“": '"', "”": '"'})


def parse_coordinates(lat_src: pd.Series, lon_src: pd.Series) -> pd.DataFrame:
    """Parse and check coordinates given as text.

    Parameters
    ----------
    lat_src, lon_src : pandas.Series
        The latitude and longitude fields as given (text; either may hold both numbers).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``lat_src``: ``lon``, ``lat`` (float64 degrees, EPSG:4326; NaN when rejected or
        absent), ``coord_problem`` (``string``: ``;``-joined repairs from :data:`FIXES` for a kept point,
        or one reason from :data:`REJECTIONS`; ``<NA>`` when clean or absent) and ``precision_m``
        (float64 metres: the larger of the GPS precision and the rounding of the typed value).

    Examples
    --------
    >>> parse_coordinates(pd.Series(["106,8272", "-6.1754, 106.8272"]), pd.Series(["-6,1754", ""]))
           lon     lat    coord_problem  precision_m
    0  106.8272 -6.1754  swapped_lat_lon         30.0
    1  106.8272 -6.1754             <NA>         30.0
    """
    lat_text = _clean(lat_src).reset_index(drop=True)
    lon_text = _clean(lon_src).reset_index(drop=True)
    pairs = pd.DataFrame({"lat": lat_text, "lon": lon_text})
    given = pairs[lat_text.notna() | lon_text.notna()].drop_duplicates().reset_index(drop=True)
    if given.empty:
        return pd.DataFrame({"lon": np.nan, "lat": np.nan, "coord_problem": pd.array([pd.NA] * len(pairs), "string"),
                             "precision_m": np.nan}, index=lat_src.index)
    parsed = _parse_pairs(given["lat"], given["lon"])
    where = pd.MultiIndex.from_frame(given.fillna("\0")).get_indexer(pd.MultiIndex.from_frame(pairs.fillna("\0")))
    out = parsed.reindex(where).set_axis(lat_src.index)
    out["coord_problem"] = out["coord_problem"].astype("string")
    return out


def _parse_pairs(lat_text: pd.Series, lon_text: pd.Series) -> pd.DataFrame:
    """:func:`parse_coordinates` on distinct, non-empty (lat, lon) texts (positional index)."""
    a, b = _split_fields(lat_text, lon_text)
    pa, pb = _parse_value(a), _parse_value(b)
    problem = _field_problem(a, b, pa, pb)
    lon, lat, fixes = _orient(pa["value"].to_numpy(), pb["value"].to_numpy())
    both = (pa["value"].notna() & pb["value"].notna()).to_numpy()
    precision = np.fmax(np.fmax(pa["prec"].to_numpy(), pb["prec"].to_numpy()), GPS_PRECISION_M)
    problem = problem.mask(problem.isna() & both & (precision > MAX_PRECISION_M), "truncated")
    problem = problem.mask(problem.isna() & both & np.isnan(lon), "outside_dki")
    kept = (problem.isna() & both).to_numpy()
    problem = problem.fillna(pd.Series(fixes, dtype="string")).replace("", pd.NA)
    return pd.DataFrame({
        "lon": np.where(kept, lon, np.nan),
        "lat": np.where(kept, lat, np.nan),
        "coord_problem": problem.astype("string").to_numpy(),
        "precision_m": np.where(kept, precision, np.nan),
    })


def _clean(values: pd.Series) -> pd.Series:
    s = pd.Series(values.to_numpy(dtype=object), dtype="string").str.strip().str.upper()
    s = s.str.translate(_QUOTES).str.replace("''", '"', regex=False)
    return s.where(s.str.len() > 0)


def _split_fields(lat: pd.Series, lon: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(first, second) value texts: the two fields, or the two halves of a pair typed in one field."""
    a, b = lat.copy(), lon.copy()
    single_a = _parse_value(lat)["value"].notna() | lat.isna()
    single_b = _parse_value(lon)["value"].notna() | lon.isna()
    for pattern in _PAIRS:
        pa, pb = lat.str.extract(rf"^{pattern}$"), lon.str.extract(rf"^{pattern}$")
        use_a = (pa["a"].notna() & ~single_a & (lon.isna() | (lon == lat))).to_numpy()
        use_b = (pb["a"].notna() & ~single_b & lat.isna()).to_numpy()
        a = a.mask(use_a, pa["a"]).mask(use_b, pb["a"])
        b = b.mask(use_a, pa["b"]).mask(use_b, pb["b"])
        single_a = single_a | use_a
        single_b = single_b | use_a | use_b
    return a, b


def _parse_value(s: pd.Series) -> pd.DataFrame:
    """One coordinate per text: ``value`` (signed degrees or NaN), ``prec`` (m), ``placeholder``."""
    dec = s.str.extract(rf"^{_DECIMAL}$")
    dec_value = pd.to_numeric(dec["num"].str.replace(",", ".", regex=False), errors="coerce")
    dec_prec = _DEG_M * 10.0 ** -dec["frac"].str.len().fillna(0).astype(float) / 2
    dms = s.str.extract(rf"^{_DMS}$")
    dms_value, dms_prec = _dms_value(dms)
    use_dms = dec_value.isna() & dms_value.notna()
    value = dec_value.where(~use_dms, dms_value).astype("float64")
    prec = dec_prec.where(~use_dms, dms_prec).astype("float64")
    h1 = dec["h1"].where(~use_dms, dms["h1"])
    h2 = dec["h2"].where(~use_dms, dms["h2"])
    conflict = h1.notna() & h2.notna() & (h1 != h2)
    hemi = h1.fillna(h2)
    sign = np.select([hemi.isin(_NEGATIVE_HEMI).fillna(False).to_numpy(), hemi.notna().to_numpy()], [-1.0, 1.0],
                     default=np.nan)
    value = pd.Series(np.where(np.isnan(sign), value, sign * value.abs()), index=s.index).mask(conflict)
    placeholder = s.str.fullmatch(_PLACEHOLDER).fillna(False)
    value = value.mask(placeholder)
    return pd.DataFrame({"value": value.to_numpy(), "prec": prec.where(value.notna()).to_numpy(),
                         "placeholder": placeholder.to_numpy()}, index=s.index)


def _dms_value(dms: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Degrees from degree/minute/second groups; a bare-space form needs a hemisphere letter."""
    d = pd.to_numeric(dms["d"], errors="coerce")
    m = pd.to_numeric(dms["m"].str.replace(",", ".", regex=False), errors="coerce")
    sec = pd.to_numeric(dms["s"].str.replace(",", ".", regex=False), errors="coerce")
    value = d + m / 60 + sec.fillna(0) / 3600
    marked = dms["mark"].isin(["°", ":"]).fillna(False) | dms["h1"].notna() | dms["h2"].notna()
    ok = marked & (m < 60) & (sec.isna() | (sec < 60))
    value = value.where(ok.fillna(False)).where(dms["sg"] != "-", -value).astype("float64")
    sec_prec = 30.87 * 10.0 ** -dms["sfrac"].str.len().fillna(0).astype(float) / 2
    min_prec = 1852.0 * 10.0 ** -dms["mfrac"].str.len().fillna(0).astype(float) / 2
    return value, sec_prec.where(sec.notna(), min_prec).astype("float64")


def _field_problem(a: pd.Series, b: pd.Series, pa: pd.DataFrame, pb: pd.DataFrame) -> pd.Series:
    """The rejection reason from the fields alone (``<NA>`` when both parsed or both absent)."""
    problem = pd.Series(pd.NA, index=a.index, dtype="string")
    got_a, got_b = pa["value"].notna(), pb["value"].notna()
    bad_a = a.notna() & ~got_a & ~pa["placeholder"]
    bad_b = b.notna() & ~got_b & ~pb["placeholder"]
    problem = problem.mask(got_a ^ got_b, "only_one_coordinate")
    problem = problem.mask(pa["placeholder"] | pb["placeholder"], "placeholder")
    return problem.mask(bad_a | bad_b, "unparseable")


def _orient(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, fixes) from the first reading of (a, b) that lies in the DKI window."""
    x0, y0, x1, y1 = DKI_WINDOW
    lon = np.full(len(a), np.nan)
    lat = np.full(len(a), np.nan)
    fixes = np.full(len(a), "", dtype=object)
    for swap, flip_lat, flip_lon in _READINGS:
        cand_lat, cand_lon = (b, a) if swap else (a, b)
        cand_lat = -cand_lat if flip_lat else cand_lat
        cand_lon = -cand_lon if flip_lon else cand_lon
        take = np.isnan(lon) & (cand_lon >= x0) & (cand_lon <= x1) & (cand_lat >= y0) & (cand_lat <= y1)
        lon = np.where(take, cand_lon, lon)
        lat = np.where(take, cand_lat, lat)
        note = ";".join(f for f, on in zip(FIXES, (swap, flip_lat, flip_lon)) if on)
        fixes = np.where(take, note, fixes)
    return lon, lat, fixes


# (swap, flip lat sign, flip lon sign), most plausible typing slip first.
_READINGS = ((False, False, False), (True, False, False), (False, True, False), (True, True, False),
             (False, False, True), (True, False, True), (False, True, True), (True, True, True))
