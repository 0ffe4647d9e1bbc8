"""Per-source column declarations: which input column feeds which loader field.

A column name matches a field when its *normalised* form (lower case, letters and digits only:
``"Kode TPS"``, ``"KODE_TPS"`` and ``"kode-tps"`` all become ``"kodetps"``) equals the field name
or one of its aliases. Known sources are recognised by a signature of columns and add their
quirks to the load report; any other file is read with the same spellings as a generic source.
Every alias and quirk below carries a comment on why it exists.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from geo.errors import MissingColumnError


@dataclasses.dataclass(frozen=True)
class Field:
    """A loader field and the normalised spellings of source columns that feed it."""

    name: str
    aliases: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Source:
    """A known input format.

    Attributes
    ----------
    name : str
        Shown in the report (``"gigit-pemilu TPS list"``).
    kind : str
        ``"tps"`` or ``"dpt"``.
    signature : frozenset of str
        Normalised columns that must all be present to recognise the source.
    required : tuple of tuple of str
        Alternatives of required fields: the header must supply every field of at least one.
    quirks : tuple of str
        Known data-quality facts, noted in the report when the source is recognised.
    """

    name: str
    kind: str
    signature: frozenset[str]
    required: tuple[tuple[str, ...], ...]
    quirks: tuple[str, ...] = ()


def norm(name: str) -> str:
    """Normalised column name: lower case, only ``a-z`` and ``0-9`` (``"No. TPS"`` → ``"notps"``)."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# Kelurahan code columns. "kelurahan"/"desa" alone are accepted because KPU exports name the code
# column so; if such a column holds names, every row is rejected with "not a Kemendagri code".
_KODE_KEL = ("kodekel", "kodekelurahan", "kodedesa", "kodekeldesa", "kdkel", "kelurahan", "desa",
             "keldesa", "kelurahandesa")
_RT, _RW = ("rt", "nort", "nomorrt"), ("rw", "norw", "nomorrw")

TPS_FIELDS: tuple[Field, ...] = (
    Field("kode_tps", ("kodetps", "kdtps", "idtps")),
    Field("kode_kel", _KODE_KEL),
    # Not "no": Indonesian tables often start with a "No" running-number column.
    Field("no_tps", ("notps", "nomortps", "tps", "tpsno", "nomor")),
    Field("nama", ("namatps", "nama")),
    Field("alamat", ("alamat", "alamattps", "lokasi", "lokasitps")),
    Field("rt", _RT),
    Field("rw", _RW),
    # Coordinates: x/y are what GIS exports write; lintang/bujur are the Indonesian words.
    Field("lat", ("lat", "latitude", "y", "lintang")),
    Field("lon", ("lon", "lng", "long", "longitude", "x", "bujur")),
    Field("dpt", ("dpt", "jumlahdpt", "jmldpt", "totaldpt", "dpttotal")),
    # "L"/"P" columns in KPU TPS recaps are the DPT by sex (laki-laki / perempuan).
    Field("dpt_l", ("dptl", "dptlk", "dptlaki", "dptlakilaki", "l", "lk", "lakilaki")),
    Field("dpt_p", ("dptp", "dptpr", "dptperempuan", "p", "pr", "perempuan")),
    Field("akses_disabilitas", ("aksesdisabilitas", "ramahdisabilitas", "disabilitas", "aksesibel")),
    Field("jam_buka", ("jambuka", "buka")),
    Field("jam_tutup", ("jamtutup", "tutup")),
    Field("kpps", ("kpps", "jumlahkpps", "jmlkpps")),
    # Only used to label the per-kota figures; the kota code comes from kode_kel.
    Field("nama_kota", ("namakab", "namakota", "namakabkota", "kabkota", "kota")),
)

DPT_FIELDS: tuple[Field, ...] = (
    Field("nik", ("nik", "noktp", "nomorindukkependudukan", "noinduk")),
    Field("nkk", ("nkk", "nokk", "nomorkk", "kk", "nomorkartukeluarga")),
    Field("nama", ("nama", "namapemilih", "namalengkap")),
    # "L/P" is the usual KPU header for sex; "jk" the usual abbreviation.
    Field("jenis_kelamin", ("jeniskelamin", "jk", "lp", "kelamin", "sex", "gender")),
    Field("tanggal_lahir", ("tanggallahir", "tgllahir", "tgllhr", "tanggallhr", "lahir")),
    Field("alamat", ("alamat", "alamatlengkap", "jalan")),
    Field("rt", _RT),
    Field("rw", _RW),
    Field("kode_kel", _KODE_KEL),
    Field("tps", ("tps", "notps", "nomortps", "tpsno")),
)

FIELDS = {"tps": TPS_FIELDS, "dpt": DPT_FIELDS}

GIGIT_TPS = Source(
    "gigit-pemilu Pemilu 2024 TPS list (KPU SIREKAP, via github.com/gigit-pemilu)",
    "tps",
    frozenset({"kodetps", "kodekel", "notps", "dpt", "dptl", "dptp", "sirekaptimestamp"}),
    (("kode_kel", "no_tps"), ("kode_tps",)),
    (
        # SIREKAP published the DPT of only 45% of TPS: blank dpt is normal here, not an error.
        "dpt is blank for about 55% of TPS (not published in SIREKAP): stored as unknown",
        # 338 TPS carry dpt = dpt_l = dpt_p = 0: an unfilled form, not a TPS without voters.
        "dpt 0 means blank in this source: stored as unknown",
        # About 440 rows: SIREKAP figures are OCR/operator entries, not the official recap.
        "dpt differs from dpt_l + dpt_p in ~440 rows (OCR/operator entries): kept, warned",
        # 80 special TPS (prisons, hospitals...) are numbered from 900 within their kelurahan.
        "no_tps >= 900 are special TPS (prisons, hospitals): kept, warned",
        # Vote counts (paslon_*, suara_*, phl_*) are not part of the TPS model and are ignored.
        "no address, RT/RW or coordinates: the geocoder places these TPS in their kelurahan",
    ),
)

PETATPS_TPS = Source(
    "petatps generated TPS list (geo.generate)",
    "tps",
    frozenset({"kodetps", "kodekel", "notps", "dpt", "alamat", "rt", "rw", "lat", "lon"}),
    (("kode_kel", "no_tps"), ("kode_tps",)),
    (
        # The generator fills lat/lon for ~30% of TPS and plants faults (swapped, sign, decimal
        # comma, wrong kelurahan): they are kept as text in lat_src/lon_src for the geocoder.
        "lat/lon kept as given (text) for the geocoder, which checks them",
        # Addresses write RT/RW in many forms ("RT 003/RW 05", "rt3 rw5"); the geocoder parses them.
        "RT/RW forms in alamat vary; blank rt/rw columns are parsed from alamat by the geocoder",
    ),
)

PETATPS_DPT = Source(
    "petatps generated DPT (geo.generate)",
    "dpt",
    frozenset({"nik", "nkk", "nama", "jeniskelamin", "tanggallahir", "alamat", "rt", "rw", "kodekel", "tps"}),
    (("nik", "nkk", "nama", "tanggal_lahir", "rt", "rw", "kode_kel", "tps"),),
    # ~10% of generated voters moved in: their NIK keeps the region where it was issued.
    ("NIKs of voters who moved keep their issuing region: a warning, not a rejection",),
)

GENERIC = {
    "tps": Source("TPS list (columns recognised by common spellings)", "tps", frozenset(),
                  PETATPS_TPS.required),
    "dpt": Source("DPT voter list (columns recognised by common spellings)", "dpt", frozenset(),
                  PETATPS_DPT.required),
}
KNOWN: tuple[Source, ...] = (GIGIT_TPS, PETATPS_TPS, PETATPS_DPT)


def identify(header: Iterable[str], kind: str) -> Source:
    """The known source of ``kind`` whose signature the header carries, else the generic one."""
    names = {norm(h) for h in header}
    for source in KNOWN:
        if source.kind == kind and source.signature <= names:
            return source
    return GENERIC[kind]


def match_columns(header: Iterable[str], kind: str, *, file: str = "") -> dict[str, str]:
    """Map source column names to field names for ``kind`` (``"tps"`` or ``"dpt"``).

    An exact field name wins over an alias; each column feeds at most one field; the first of
    two columns with the same spelling wins. Unmatched columns are ignored.

    Raises
    ------
    MissingColumnError
        No alternative of the required fields is complete; names the missing fields, their
        accepted spellings and the columns found.
    """
    header = list(header)
    normed = [norm(h) for h in header]
    mapping: dict[str, str] = {}
    for field in FIELDS[kind]:
        for alias in (norm(field.name), *field.aliases):
            col = next((h for h, n in zip(header, normed) if n == alias and h not in mapping), None)
            if col is not None:
                mapping[col] = field.name
                break
    _require(mapping, header, identify(header, kind), file)
    return mapping


def _require(mapping: dict[str, str], header: list[str], source: Source, file: str) -> None:
    found = set(mapping.values())
    if any(set(alt) <= found for alt in source.required):
        return
    missing = [f for f in source.required[0] if f not in found]
    spellings = {f.name: f.aliases for f in FIELDS[source.kind]}
    detail = "; ".join(f"{m} (also {'/'.join(spellings[m][:4])})" for m in missing)
    alt = [" + ".join(a) for a in source.required[1:]]
    raise MissingColumnError(
        f"missing column(s) {detail}{' — or ' + ' or '.join(alt) if alt else ''} "
        f"(case, spaces and punctuation ignored); columns found: {', '.join(header)}", file=file)
