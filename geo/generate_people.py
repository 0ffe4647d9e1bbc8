"""Demo city voters: households (KK), persons, NIK and KK numbers, all vectorized per kelurahan.

A household (KK) of 1–6 voters lives in one RT and shares its KK number and address. Ages are
17–90 on Pemilu 2024 voting day. NIK = region (6) + DDMMYY (women's day + 40) + serial (4): the
region is the kecamatan of the kelurahan for most voters and another province's kecamatan for
the ``MOVER_SHARE`` of households who moved in. Serials are ranks within (region, DDMMYY) taken
from disjoint blocks per kelurahan, so NIKs are unique across the whole city without any state
shared between kelurahan.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from geo.errors import InputError

REFERENCE_DATE = np.datetime64("2024-02-14")  # Pemilu 2024 voting day
MIN_AGE, MAX_AGE = 17, 90
BORN_FROM, BORN_TO = np.datetime64("1933-02-15"), np.datetime64("2007-02-14")  # ages 17–90 that day
HOUSEHOLD_SIZES = np.arange(1, 7)
HOUSEHOLD_P = np.array([0.22, 0.30, 0.22, 0.14, 0.08, 0.04])  # voters per KK, mean ≈ 2.7
MAX_HOUSEHOLD = int(HOUSEHOLD_SIZES[-1])
MOVER_SHARE = 0.10
# Kecamatan-level NIK regions outside DKI (Jabodetabek, Java, Sumatra, ...), for movers.
MOVER_REGIONS = np.array([
    327101, 327102, 327501, 327502, 327601, 327602, 367101, 367102, 367401, 320101, 320102, 321601,
    321602, 360301, 327301, 327302, 337401, 337402, 357801, 357802, 340401, 340101, 347101, 330201,
    331301, 320401, 321501, 367201, 120101, 127101, 137101, 167101, 187101, 517101, 737101, 647101,
    617101, 717101, 147101, 157101,
], dtype=np.int64)
LOCAL_BLOCK = 909   # serials per kelurahan within its kecamatan (≤ 11 kelurahan per kecamatan)
MOVER_BLOCK = 37    # serials per kelurahan for movers (267 kelurahan × 37 ≤ 9,999)
KK_ISSUED = (np.datetime64("2004-01-01"), np.datetime64("2023-12-31"))


@dataclasses.dataclass
class Households:
    """Households of one kelurahan, in RT order: ``size``, ``rt`` (local RT row), ``start`` (offset
    of the first member among the kelurahan's voters), ``mover`` (bool), ``region`` (NIK region)."""

    size: np.ndarray
    rt: np.ndarray
    start: np.ndarray
    mover: np.ndarray
    region: np.ndarray

    @property
    def member_of(self) -> np.ndarray:
        """Household index of each voter."""
        return np.repeat(np.arange(len(self.size)), self.size)


def households(n_voters: int, rt_weight: np.ndarray, kode_kec: int, rng: np.random.Generator) -> Households:
    """Split ``n_voters`` into households and place each in an RT with probability ∝ ``rt_weight``.

    Households are laid end to end over the voters, and the RT of a household is the RT whose
    share of the cumulative weight covers its first member; so RT sizes follow the weights,
    households stay whole, and RTs of zero weight get nobody.
    """
    draws = int(n_voters / 2.7 * 1.15) + 8
    size = rng.choice(HOUSEHOLD_SIZES, size=draws, p=HOUSEHOLD_P)
    while size.sum() < n_voters:
        size = np.concatenate([size, rng.choice(HOUSEHOLD_SIZES, size=draws, p=HOUSEHOLD_P)])
    end = np.cumsum(size)
    n_households = int(np.searchsorted(end, n_voters)) + 1 if n_voters else 0
    size = size[:n_households].copy()
    if n_households:
        size[-1] -= end[n_households - 1] - n_voters
    start = np.cumsum(size) - size
    bounds = np.cumsum(rt_weight) / max(rt_weight.sum(), 1e-12) * n_voters
    rt = np.minimum(np.searchsorted(bounds, start, side="right"), len(rt_weight) - 1)
    mover = rng.random(n_households) < MOVER_SHARE
    region = np.where(mover, MOVER_REGIONS[rng.integers(0, len(MOVER_REGIONS), n_households)], kode_kec)
    return Households(size, rt, start, mover, region)


def persons(hh: Households, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(female, birth date) of every voter: a head, a spouse of the other sex, then adult children."""
    member = hh.member_of
    pos = np.arange(len(member)) - hh.start[member]
    size = hh.size
    head_female = rng.random(len(size)) < np.where(size == 1, 0.5, 0.15)
    low = np.where(size >= 3, 40, np.where(size == 2, 22, MIN_AGE))
    head_age = _ages(low, rng)
    spouse_age = np.clip(head_age + np.round(rng.normal(-2, 4, len(size))).astype(int), MIN_AGE, MAX_AGE)
    child_age = np.clip(head_age[member] - rng.integers(20, 36, len(member)), MIN_AGE, MAX_AGE)
    age = np.where(pos == 0, head_age[member], np.where(pos == 1, spouse_age[member], child_age))
    female = np.where(pos == 0, head_female[member],
                      np.where(pos == 1, ~head_female[member], rng.random(len(member)) < 0.5))
    days = np.round((age + rng.random(len(member))) * 365.2425).astype(np.int64)
    birth = REFERENCE_DATE - days.astype("timedelta64[D]")
    return female, np.clip(birth, BORN_FROM, BORN_TO)


def nik_numbers(region: np.ndarray, birth: np.ndarray, female: np.ndarray, mover: np.ndarray,
                kel_in_kec: int, kel_index: int) -> np.ndarray:
    """16-digit NIKs (int64): region, DDMMYY with women's day + 40, and a unique serial.

    Local serials come from block ``kel_in_kec`` of the kecamatan (``LOCAL_BLOCK`` wide); movers'
    serials from block ``kel_index`` of the city (``MOVER_BLOCK`` wide).
    """
    day, month, yy = _dmy(birth)
    ddmmyy = (day + 40 * female) * 10_000 + month * 100 + yy
    rank = _rank(region * 1_000_000 + ddmmyy)
    block, base = np.where(mover, MOVER_BLOCK, LOCAL_BLOCK), np.where(mover, kel_index, kel_in_kec)
    if len(rank) and (rank >= block).any():
        raise InputError("too many generated voters share a NIK region and birth date for unique serials; "
                         "generate fewer voters per kelurahan", field="voters", value=int(len(rank)))
    serial = 1 + base * block + rank
    return region * 10**10 + ddmmyy * 10**4 + serial


def kk_numbers(n_households: int, kode_kec: int, kel_in_kec: int, rng: np.random.Generator) -> np.ndarray:
    """16-digit KK numbers (int64): kecamatan, issue date DDMMYY, serial unique within the kecamatan."""
    span = int((KK_ISSUED[1] - KK_ISSUED[0]).astype(int))
    issued = KK_ISSUED[0] + rng.integers(0, span + 1, n_households).astype("timedelta64[D]")
    day, month, yy = _dmy(issued)
    ddmmyy = day * 10_000 + month * 100 + yy
    rank = _rank(ddmmyy)
    if len(rank) and rank.max() >= LOCAL_BLOCK:
        raise InputError("too many generated households for unique KK serials; generate fewer voters",
                         field="voters", value=int(n_households))
    return kode_kec * 10**10 + ddmmyy * 10**4 + 1 + kel_in_kec * LOCAL_BLOCK + rank


def _ages(low: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ages ≥ ``low`` from a Jakarta-like profile: flat to 45, then falling to ~8 % at 90."""
    ages = np.arange(MIN_AGE, MAX_AGE + 1)
    weight = np.where(ages <= 45, 1.0, 1.0 - 0.92 * (ages - 45) / (MAX_AGE - 45))
    cdf = np.cumsum(weight) / weight.sum()
    below = np.where(low > MIN_AGE, cdf[np.clip(low - MIN_AGE - 1, 0, None)], 0.0)
    u = below + rng.random(len(low)) * (1.0 - below)
    return ages[np.minimum(np.searchsorted(cdf, u), len(ages) - 1)]


def _dmy(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day, month and two-digit year of datetime64[D] values."""
    months = dates.astype("datetime64[M]")
    years = dates.astype("datetime64[Y]")
    day = (dates - months).astype(np.int64) + 1
    month = (months - years).astype(np.int64) + 1
    yy = (years.astype(np.int64) + 1970) % 100
    return day, month, yy


def _rank(keys: np.ndarray) -> np.ndarray:
    """0-based rank of each entry among the entries with the same key (in input order)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    first = np.searchsorted(sorted_keys, sorted_keys)
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - first
    return rank
