"""Kelurahan names: normalising and fuzzy matching against the kelurahan layer.

Lists name a kelurahan in many ways: ``KELURAHAN TANJUNG PRIUK``, ``Kel. Tanjung Priok``,
``tanjung priok``, ``TG. PRIOK``. :func:`normalize_name` reduces a name to upper-case words without
prefixes or punctuation; :func:`match_kelurahan` scores names against the layer with rapidfuzz,
comparing the names both with and without spaces (``PAL MERIEM`` ≈ ``PALMERIAM``, ``SUKA PURA`` =
``SUKAPURA``) and penalising a different compass word (``... UTARA`` vs ``... SELATAN``), because
neighbouring kelurahan often differ by that word alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

# Prefixes naming the level rather than the place ("Kel.", "Kelurahan", "Desa", "Ds.").
_PREFIX = r"^(?:KELURAHAN|KEL|DESA|DS|KEC|KECAMATAN)\b\.?\s*"
# Common abbreviations in KPU and kelurahan lists, expanded to the full word.
_ABBREVIATIONS = {
    r"\bTG\b": "TANJUNG", r"\bTJ\b": "TANJUNG", r"\bKB\b": "KEBON", r"\bPD\b": "PONDOK",
    r"\bPS\b": "PASAR", r"\bPSR\b": "PASAR", r"\bKP\b": "KAMPUNG", r"\bKAMP\b": "KAMPUNG",
    r"\bP\b": "PULAU", r"\bUTR\b": "UTARA", r"\bUT\b": "UTARA", r"\bSEL\b": "SELATAN",
    r"\bSLT\b": "SELATAN", r"\bBRT\b": "BARAT", r"\bTIM\b": "TIMUR", r"\bTMR\b": "TIMUR",
    r"\bII\b": "DUA",
}
# Renamed kelurahan whose old name is not a spelling variant (reviewed one by one).
ALIASES = {
    "KAMPUNG TENGAH": "TENGAH",  # Kramat Jati: "Kampung Tengah" in OSM 2012, "Tengah" in Kepmendagri 2025
}
_COMPASS = ("UTARA", "SELATAN", "BARAT", "TIMUR")
COMPASS_PENALTY = 30.0
DEFAULT_CUTOFF = 85.0


def normalize_name(s: pd.Series) -> pd.Series:
    """Normalise place names for comparison.

    Upper case; ``Kel.``/``Kelurahan``/``Desa`` prefixes removed; punctuation to spaces; common
    abbreviations expanded (``TG.`` → ``TANJUNG``, ``KB.`` → ``KEBON``, ``UT`` → ``UTARA``);
    spaces collapsed; known renames mapped (:data:`ALIASES`).

    Parameters
    ----------
    s : pandas.Series
        Names (any dtype; missing values stay ``<NA>``).

    Returns
    -------
    pandas.Series
        ``string`` dtype, same index; empty results become ``<NA>``.

    Examples
    --------
    >>> normalize_name(pd.Series(["Kel. Tanjung  Priuk", "KELURAHAN PAPANGO", "tg. priok"])).tolist()
    ['TANJUNG PRIUK', 'PAPANGO', 'TANJUNG PRIOK']
    """
    out = pd.Series(s.to_numpy(dtype=object), index=s.index, dtype="string").str.upper()
    out = out.str.replace(r"[^\w\s.]|_", " ", regex=True).str.strip()
    out = out.str.replace(_PREFIX, "", regex=True)
    out = out.str.replace(r"[.\s]+", " ", regex=True).str.strip()
    for pattern, word in _ABBREVIATIONS.items():
        out = out.str.replace(pattern, word, regex=True)
    out = out.replace(ALIASES)
    return out.where(out.str.len() > 0)


def match_kelurahan(names: pd.Series, kelurahan: pd.DataFrame, within_kode: str | pd.Series | None = None,
                    *, cutoff: float = DEFAULT_CUTOFF) -> pd.DataFrame:
    """Match kelurahan names to the kelurahan layer by normalised fuzzy name.

    Parameters
    ----------
    names : pandas.Series
        Names as written in the source (old spellings and prefixes allowed).
    kelurahan : pandas.DataFrame
        The kelurahan layer (``kode``, ``nama``), e.g. a conforming ``kelurahan`` GeoDataFrame.
    within_kode : str or pandas.Series, optional
        Restrict candidates to codes starting with this prefix (a kota ``3172`` or kecamatan
        ``317201`` code), one for all names or one per name (aligned on ``names``' index).
    cutoff : float
        Minimum score (0–100) to accept a match.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``names``: ``kode`` and ``nama`` of the best match (``<NA>`` below ``cutoff``
        or when two kelurahan tie for the best score) and ``score`` (0–100, the best score found).
        Score: the larger of rapidfuzz ``ratio`` on the names without spaces and
        ``token_sort_ratio`` on the names with spaces, minus 30 when the compass words differ.
    """
    query = normalize_name(names)
    prefix = _prefixes(within_kode, names.index)
    keys = pd.DataFrame({"q": query, "p": prefix}).drop_duplicates().dropna(subset=["q"])
    choice_kode = kelurahan["kode"].astype("string").to_numpy()
    choice_norm = normalize_name(kelurahan["nama"]).fillna("").to_numpy()
    scores = _score_matrix(keys["q"].to_numpy(dtype=object), choice_norm)
    allowed = _allowed(keys["p"].to_numpy(dtype=object), choice_kode)
    scores = np.where(allowed, scores, -1.0)
    best = _best(scores, cutoff)
    found = keys.assign(
        kode=pd.array(np.where(best >= 0, choice_kode[np.maximum(best, 0)], None), dtype="string"),
        nama=pd.array(np.where(best >= 0, kelurahan["nama"].to_numpy(dtype=object)[np.maximum(best, 0)], None),
                      dtype="string"),
        score=np.round(scores.max(axis=1, initial=0.0).clip(min=0.0), 1) if len(keys) else np.zeros(0),
    )
    frame = pd.DataFrame({"q": query, "p": prefix})
    out = frame.merge(found, on=["q", "p"], how="left").set_axis(names.index)
    out["score"] = out["score"].fillna(0.0).astype("float64")
    return out[["kode", "nama", "score"]]


def _prefixes(within_kode: str | pd.Series | None, index: pd.Index) -> pd.Series:
    if within_kode is None:
        return pd.Series("", index=index, dtype="string")
    if isinstance(within_kode, pd.Series):
        return within_kode.astype("string").reindex(index).fillna("")
    return pd.Series(str(within_kode), index=index, dtype="string")


def _score_matrix(queries: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Scores (n_queries × n_choices): best of spaceless ratio and token-sort ratio, compass-penalised."""
    if len(queries) == 0 or len(choices) == 0:
        return np.zeros((len(queries), len(choices)))
    tight_q = [q.replace(" ", "") for q in queries]
    tight_c = [c.replace(" ", "") for c in choices]
    tight = process.cdist(tight_q, tight_c, scorer=fuzz.ratio, dtype=np.float32, workers=1)
    spaced = process.cdist(list(queries), list(choices), scorer=fuzz.token_sort_ratio, dtype=np.float32, workers=1)
    score = np.maximum(tight, spaced).astype("float64")
    differs = _compass(queries)[:, None] != _compass(choices)[None, :]
    return score - COMPASS_PENALTY * differs


def _compass(names: np.ndarray) -> np.ndarray:
    """Bit mask of the compass words in each name, typos included (``TIMOR`` counts as ``TIMUR``)."""
    words = pd.Series(list(names), dtype="string").str.split().explode().dropna()
    words = words[words.str.len() >= 4]
    mask = np.zeros(len(names), dtype=np.int8)
    if len(words) == 0:
        return mask
    close = process.cdist(list(words), list(_COMPASS), scorer=fuzz.ratio, dtype=np.float32, workers=1) >= 80
    bits = (close * (1 << np.arange(len(_COMPASS)))).max(axis=1).astype(np.int8)
    np.bitwise_or.at(mask, words.index.to_numpy(), bits)
    return mask


def _allowed(prefixes: np.ndarray, kode: np.ndarray) -> np.ndarray:
    """(n_queries × n_choices) True where the choice code starts with the query's prefix."""
    out = np.ones((len(prefixes), len(kode)), dtype=bool)
    kode_s = pd.Series(kode, dtype="string")
    for p in pd.unique(prefixes):
        if p:
            rows = prefixes == p
            out[rows] = kode_s.str.startswith(p).fillna(False).to_numpy()[None, :]
    return out


def _best(scores: np.ndarray, cutoff: float) -> np.ndarray:
    """Column of the best score per row; -1 below the cutoff or on a tie between two choices."""
    if scores.shape[1] == 0:
        return np.full(scores.shape[0], -1)
    top = scores.max(axis=1)
    ties = (scores == top[:, None]).sum(axis=1) > 1
    best = scores.argmax(axis=1)
    return np.where((top >= cutoff) & ~ties, best, -1)
