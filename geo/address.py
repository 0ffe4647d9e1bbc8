"""RT/RW numbers from free-text Indonesian addresses.

KPU and kelurahan lists write the RT (rukun tetangga) and RW (rukun warga) of an address in many
ways: ``RT 003/RW 05``, ``RT.3 RW.5``, ``Rt 03 Rw 005``, ``RT/RW 003/005``, ``RT 3 / RW 5``,
``rt3 rw5``, ``R.T. 03 R.W. 005``. :func:`parse_rt_rw` reads all of them in a few vectorized regex
passes, and tolerates typos only where the reading stays unambiguous: a letter ``O`` typed for the
digit ``0`` and ``I``/``l`` for ``1`` inside a number that holds at least one real digit
(``RW 0O5`` → 5), and spaced or dotted tokens (``R T 3``). An address naming two different RTs
(or RWs) gives ``<NA>`` for that number rather than a guess.
"""

from __future__ import annotations

import pandas as pd

# A number as typed: digits, with O/I/L typos; the lookahead stops it at anything but "R" (for "rt3rw5").
_DIGITS = r"[0-9OIL]{1,4}"
_NUM = _DIGITS + r"(?![0-9A-QS-Z])"
_RT = r"(?<![A-Z])R[\s.]{0,2}T\.?"
_RW = r"(?<![A-Z])R[\s.]{0,2}W\.?"
_LEAD = r"[\s.:#\-=]*(?:NO\.?\s*)?"                 # "RT: 3", "RT-03", "RT NO. 3"
_PAIR_SEP = r"(?:\s*[/.\-\\]\s*|\s+)"               # "003/005", "003-005", "003 005"
_JOINT = r"\s*[/.\-\\]?\s*"                         # "RT/RW", "RT.RW", "RT RW"

_RT_ONE = rf"{_RT}(?![A-Z]){_LEAD}(?P<n>{_NUM})"
_RW_ONE = rf"{_RW}(?![A-Z]){_LEAD}(?P<n>{_NUM})"
_RT_RW_PAIR = rf"{_RT}{_JOINT}{_RW}{_LEAD}(?P<a>{_DIGITS}){_PAIR_SEP}(?P<b>{_NUM})"
_RW_RT_PAIR = rf"{_RW}{_JOINT}{_RT}{_LEAD}(?P<a>{_DIGITS}){_PAIR_SEP}(?P<b>{_NUM})"

MAX_NUMBER = 999


def parse_rt_rw(text: pd.Series) -> pd.DataFrame:
    """Parse RT and RW numbers out of address strings.

    Parameters
    ----------
    text : pandas.Series
        Address strings (any dtype; missing values allowed).

    Returns
    -------
    pandas.DataFrame
        Columns ``rt`` and ``rw`` (``Int16``), indexed like ``text``; ``<NA>`` where the number is
        absent, zero, above 999, or ambiguous (two different values for the same level).

    Examples
    --------
    >>> parse_rt_rw(pd.Series(["Jl. Kenari II No. 12, RT 003/RW 05", "rt3 rw5", "RT/RW 03/005"]))
       rt  rw
    0   3   5
    1   3   5
    2   3   5
    """
    raw = pd.Series(text.to_numpy(dtype=object), dtype="string").str.upper()
    uniques = pd.Series(raw.dropna().unique(), dtype="string")
    if uniques.empty:
        return pd.DataFrame({"rt": pd.array([pd.NA] * len(raw), "Int16"), "rw": pd.array([pd.NA] * len(raw), "Int16")},
                            index=text.index)
    parsed = _parse_unique(uniques).set_axis(uniques.to_numpy())
    out = parsed.reindex(raw.to_numpy()).astype("Int16")
    out.index = text.index
    return out


def _parse_unique(s: pd.Series) -> pd.DataFrame:
    rt = _single(s, _RT_ONE)
    rw = _single(s, _RW_ONE)
    for pattern, rt_group, rw_group in ((_RT_RW_PAIR, "a", "b"), (_RW_RT_PAIR, "b", "a")):
        pair = s.str.extract(pattern)
        pair_rt, pair_rw = _number(pair[rt_group]), _number(pair[rw_group])
        both = (pair_rt.notna() & pair_rw.notna()).to_numpy()
        rt = rt.mask(both, pair_rt)
        rw = rw.mask(both, pair_rw)
    return pd.DataFrame({"rt": rt.astype("Int16"), "rw": rw.astype("Int16")})


def _single(s: pd.Series, pattern: str) -> pd.Series:
    """The one number after a level token, ``<NA>`` when absent or when two values disagree."""
    found = s.str.extractall(pattern)["n"]
    values = _number(found.reset_index(drop=True)).set_axis(found.index.get_level_values(0))
    values = values.dropna()
    per_row = values.groupby(level=0).agg(["min", "max"])
    agreed = per_row["min"].where(per_row["min"] == per_row["max"])
    return agreed.reindex(s.index).astype("Int64")


def _number(raw: pd.Series) -> pd.Series:
    """Typed number to integer: O→0, I/L→1 when at least one real digit is present; 1..999."""
    raw = raw.astype("string")
    has_digit = raw.str.contains(r"\d", regex=True).fillna(False)
    digits = raw.str.translate(str.maketrans("OIL", "011")).where(has_digit)
    value = pd.to_numeric(digits, errors="coerce").astype("Int64")
    return value.where((value >= 1) & (value <= MAX_NUMBER))
