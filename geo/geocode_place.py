"""Place matching: a TPS address naming a known site (school, hall, kantor lurah) → that site's point.

Candidates are points with a name (``nama``). A TPS address matches a candidate of its own
kelurahan when rapidfuzz ``token_set_ratio`` of the normalised texts reaches the cutoff, the best
score is not tied, the candidate name has at least two words (a bare "MASJID" names nothing), and
every number in the candidate name also appears in the address (``SDN 01`` is not ``SDN 02``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

PLACE_CUTOFF = 90.0
_PLACE_WORDS = {
    r"\bSEKOLAH DASAR NEGERI\b": "SDN", r"\bSD NEGERI\b": "SDN", r"\bSMP NEGERI\b": "SMPN",
    r"\bSMA NEGERI\b": "SMAN", r"\bKANTOR KELURAHAN\b": "KANTOR LURAH", r"\bKEL\b": "KELURAHAN",
    r"\bJL\b": "JALAN", r"\bJLN\b": "JALAN", r"\bGG\b": "GANG",
}


def normalize_place(s: pd.Series) -> pd.Series:
    """Upper case, punctuation to spaces, common words unified (``SD NEGERI`` → ``SDN``), numbers unpadded."""
    out = pd.Series(s.to_numpy(dtype=object), index=s.index, dtype="string").str.upper()
    out = out.str.replace(r"[^\w\s]|_", " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    for pattern, word in _PLACE_WORDS.items():
        out = out.str.replace(pattern, word, regex=True)
    out = out.str.replace(r"\b0+(\d)", r"\1", regex=True)
    return out.where(out.str.len() > 0)


def match_places(alamat: pd.Series, kode_kel: pd.Series, places: gpd.GeoDataFrame,
                 *, cutoff: float = PLACE_CUTOFF) -> pd.DataFrame:
    """Best candidate site per address, within the address's kelurahan.

    Parameters
    ----------
    alamat, kode_kel : pandas.Series
        TPS address and kelurahan code (aligned).
    places : geopandas.GeoDataFrame
        Candidates with ``nama`` and ``kode_kel`` (the kelurahan holding each point).
    cutoff : float
        Minimum ``token_set_ratio`` (0–100).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``alamat``: ``place`` (positional row of the candidate in ``places``, -1 when
        none) and ``score``.
    """
    out = pd.DataFrame({"place": -1, "score": 0.0}, index=alamat.index)
    text = normalize_place(alamat)
    names = normalize_place(places["nama"])
    usable = (names.str.count(" ") >= 1).fillna(False).to_numpy()
    cand_kel = places["kode_kel"].astype("string").to_numpy(dtype=object)
    kel = kode_kel.astype("string")
    todo = text.notna() & kel.notna() & kel.isin(cand_kel[usable])
    for code, rows in kel[todo].groupby(kel[todo], sort=True).groups.items():
        cols = np.flatnonzero(usable & (cand_kel == code))
        scores = process.cdist(list(text[rows]), list(names.iloc[cols]), scorer=fuzz.token_set_ratio,
                               dtype=np.float32, workers=1)
        top = scores.max(axis=1)
        unique = (scores == top[:, None]).sum(axis=1) == 1
        best = np.where((top >= cutoff) & unique, cols[scores.argmax(axis=1)], -1)
        out.loc[rows, "place"] = best
        out.loc[rows, "score"] = np.round(top.astype(float), 1)
    ok = _numbers_agree(text, names, out["place"])
    out["place"] = out["place"].where(ok, -1)
    return out


def _numbers_agree(text: pd.Series, names: pd.Series, place: pd.Series) -> pd.Series:
    """True where every number of the matched candidate's name occurs in the address."""
    matched = place >= 0
    cand = names.to_numpy(dtype=object)[place[matched].to_numpy()]
    need = pd.Series(cand, index=place.index[matched], dtype="string").str.findall(r"\d+").explode().dropna()
    have = text[matched].str.findall(r"\d+").explode().dropna()
    need_pairs = pd.MultiIndex.from_arrays([need.index, need.to_numpy()])
    have_pairs = pd.MultiIndex.from_arrays([have.index, have.to_numpy()])
    missing = need_pairs[~need_pairs.isin(have_pairs)].get_level_values(0).unique()
    return ~place.index.isin(missing)
