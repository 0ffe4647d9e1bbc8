"""The browse tree kota › kecamatan › kelurahan › RW › RT, and the TPS under each node.

Built once from the stored layers (:meth:`AreaTree.from_frames`); every query is then a dictionary
or sorted-array look-up. Levels missing from the store are filled from the codes of the level below:
a kelurahan row names its ``kode_kec`` and ``kode_kab``, so a store holding only kelurahan still has a
full tree (names of the filled nodes are ``None``). RW and RT nodes come from the RW/RT layers and
from the ``rw``/``rt`` numbers the TPS declare.

Keys: kota ``3171``, kecamatan ``317101``, kelurahan ``3171011001``, RW ``3171011001-005``,
RT ``3171011001-005-003`` (see :mod:`geo.codes`).
"""

from __future__ import annotations

import dataclasses
import re

import pandas as pd

from geo.codes import rt_key, rw_key
from geo.errors import CodeError, NotFoundError

LEVELS = ("kota", "kecamatan", "kelurahan", "rw", "rt")
_KEY = re.compile(r"^(\d{4}|\d{6}|\d{10}|\d{10}-\d{3}|\d{10}-\d{3}-\d{3})$")


@dataclasses.dataclass(frozen=True)
class Area:
    """One node of the tree: ``kode``, ``nama`` (``None`` when unknown) and ``level``."""

    kode: str
    nama: str | None
    level: str

    @property
    def label(self) -> str:
        """The name, or for RW/RT the number (``RW 005``), or the code when nothing else is known."""
        if self.level in ("rw", "rt"):
            return f"{self.level.upper()} {self.kode.rsplit('-', 1)[1]}"
        return self.nama or self.kode


def level_of_key(kode: str) -> str:
    """Level of a tree key; :class:`CodeError` for anything else."""
    if not isinstance(kode, str) or not _KEY.match(kode):
        raise CodeError(f"not an area key: {kode!r} (expected 3171, 317101, 3171011001, "
                        "3171011001-005 or 3171011001-005-003)")
    return {4: "kota", 6: "kecamatan", 10: "kelurahan", 14: "rw", 18: "rt"}[len(kode)]


class AreaTree:
    """Areas by key with their children, and the TPS codes under each area."""

    def __init__(self, areas: dict[str, Area], children: dict[str, list[str]], tps: pd.DataFrame):
        self._areas = areas
        self._children = children
        self._tps = tps          # kode_tps, kode_kel, rw_key, rt_key; sorted by kode_tps

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], tps: pd.DataFrame) -> "AreaTree":
        """Build the tree from stored layer frames (any of ``kota`` … ``rt``; missing ones allowed).

        Parameters
        ----------
        frames : dict of str to DataFrame
            Layer name → rows as stored (``kode``, ``nama`` and the parent columns).
        tps : DataFrame
            The ``tps`` layer (``kode_tps``, ``kode_kel``, ``rw``, ``rt``).
        """
        names: dict[str, str | None] = {}
        for level in LEVELS:
            f = frames.get(level)
            if f is not None and len(f):
                names.update(zip(f["kode"].astype(str), f["nama"].astype(object).where(f["nama"].notna(), None)))
        keys = set(names)
        kel = frames.get("kelurahan")
        if kel is not None:
            keys.update(kel["kode"].astype(str))
        keys.update(k for k in tps["kode_kel"].dropna().astype(str))
        tps_keys = _tps_keys(tps)
        keys.update(tps_keys["rw_key"].dropna())
        keys.update(tps_keys["rt_key"].dropna())
        keys = {k for k in keys if _KEY.match(k)}
        keys |= {p for k in keys for p in _ancestors(k)}
        areas = {k: Area(k, names.get(k), level_of_key(k)) for k in keys}
        children: dict[str, list[str]] = {"": []}
        for k in sorted(keys):
            parents = _ancestors(k)
            children.setdefault(parents[-1] if parents else "", []).append(k)
        return cls(areas, children, tps_keys)

    def get(self, kode: str) -> Area:
        """The area ``kode``; :class:`CodeError` if malformed, :class:`NotFoundError` if absent."""
        level_of_key(kode)
        try:
            return self._areas[kode]
        except KeyError:
            raise NotFoundError(f"no area {kode!r} in the store") from None

    def children(self, kode: str | None = None) -> list[Area]:
        """Direct sub-areas of ``kode`` (the kota when ``None``), sorted by key."""
        if kode is not None:
            self.get(kode)
        return [self._areas[k] for k in self._children.get(kode or "", [])]

    def trail(self, kode: str) -> list[Area]:
        """The areas from the kota down to ``kode`` (breadcrumbs)."""
        self.get(kode)
        return [self._areas[k] for k in (*_ancestors(kode), kode) if k in self._areas]

    def tps_codes(self, kode: str) -> list[str]:
        """``kode_tps`` of every TPS in the area, sorted."""
        level = self.get(kode).level
        t = self._tps
        if level == "rw":
            hit = t["rw_key"] == kode
        elif level == "rt":
            hit = t["rt_key"] == kode
        else:
            hit = t["kode_kel"].str.startswith(kode)
        return t.loc[hit.fillna(False).to_numpy(bool), "kode_tps"].tolist()

    def __contains__(self, kode: str) -> bool:
        return kode in self._areas


def _tps_keys(tps: pd.DataFrame) -> pd.DataFrame:
    kel = tps["kode_kel"].astype("string")
    rw = tps["rw"].astype("Int64").where(tps["rw"].astype("Int64") > 0)
    rt = tps["rt"].astype("Int64").where(tps["rt"].astype("Int64") > 0)
    out = pd.DataFrame({"kode_tps": tps["kode_tps"].astype("string"), "kode_kel": kel,
                        "rw_key": rw_key(kel, rw), "rt_key": rt_key(kel, rw, rt)})
    return out.sort_values("kode_tps", kind="mergesort").reset_index(drop=True)


def _ancestors(kode: str) -> list[str]:
    """Keys of the ancestors of ``kode``, kota first."""
    if "-" in kode:
        parts = kode.split("-")
        base = _ancestors(parts[0]) + [parts[0]]
        return base + (["-".join(parts[:2])] if len(parts) == 3 else [])
    return [kode[:n] for n in (4, 6) if n < len(kode)]


def area_summary(tps: pd.DataFrame, kelurahan: pd.DataFrame, kode: str, *, max_per_tps: int) -> pd.DataFrame:
    """Per-kelurahan TPS figures inside area ``kode`` (an officer's report), sorted by code.

    Columns: ``kode``, ``nama``, ``tps_count``, ``dpt_total`` (sum of known DPT, voters),
    ``unplaced`` (TPS without a point), ``flagged`` (TPS with quality flags), ``over_cap``
    (TPS whose DPT exceeds ``max_per_tps`` voters). Kelurahan without TPS have zeros.
    """
    kel = kelurahan[kelurahan["kode"].astype("string").str.startswith(kode)]
    t = tps[tps["kode_kel"].astype("string").str.startswith(kode)]
    geom = t.geometry if hasattr(t, "geometry") else None
    unplaced = geom.isna() | geom.is_empty if geom is not None else pd.Series(True, index=t.index)
    flags = t["flags"].astype("string").fillna("").str.len() > 0
    dpt = t["dpt"].astype("Int64")
    per = pd.DataFrame({"kode": t["kode_kel"].astype("string"), "dpt": dpt, "unplaced": unplaced.astype(int),
                        "flagged": flags.astype(int), "over_cap": (dpt > max_per_tps).fillna(False).astype(int)})
    g = per.groupby("kode", sort=True)
    stats = pd.DataFrame({"tps_count": g.size(), "dpt_total": g["dpt"].sum(), "unplaced": g["unplaced"].sum(),
                          "flagged": g["flagged"].sum(), "over_cap": g["over_cap"].sum()})
    codes = sorted(set(kel["kode"].astype(str)) | set(stats.index.astype(str)))
    names = dict(zip(kel["kode"].astype(str), kel["nama"].astype(object)))
    out = stats.reindex(codes).fillna(0).astype("int64")
    out.insert(0, "nama", [names.get(c) for c in codes])
    return out.rename_axis("kode").reset_index()


def area_bounds(kelurahan: pd.DataFrame, kode: str) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) in degrees of the kelurahan inside area ``kode``; ``None`` if none."""
    kel = kelurahan[kelurahan["kode"].astype("string").str.startswith(kode)]
    if not len(kel) or kel.geometry.isna().all():
        return None
    return tuple(round(float(v), 6) for v in kel.geometry.total_bounds)
