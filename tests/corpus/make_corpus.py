"""The hostile-input corpus: broken, odd and malicious files for every petatps loader.

Every case is built by code here, deterministically (same bytes on every run). The small files are
committed under ``tests/corpus/files/`` so a person can try them by hand
(``petatps load tps tests/corpus/files/tps_injection.csv``); ``test_corpus.py`` checks they match
this generator. Large cases (``large=True``: a 10 MB line, a big DPT with hostile rows spread through
it) are generated at test time into a temporary folder and never committed.

Regenerate the committed files::

    .venv/bin/python -m tests.corpus.make_corpus            # small cases into tests/corpus/files/
    .venv/bin/python -m tests.corpus.make_corpus --out DIR --large

The base data the cases are loaded against (:func:`base_files`): four kelurahan of kecamatan Menteng
(real Kemendagri codes, synthetic 0.01° squares), a TPS list and a DPT of made-up people (valid
synthetic NIKs, never real ones); the building blocks are in :mod:`tests.corpus.blocks`, the hostile
files' builders in :mod:`tests.corpus.hostile`.

Each :class:`Case` says what must happen when ``petatps load <loader>`` reads it: ``error`` — exit 1,
one line on stderr naming the file, the store unchanged; ``loaded`` — exit 0 with the named rejection
reason or note in the report (rejections are reported, not fatal).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path

from tests.corpus import hostile
from tests.corpus.blocks import (DPT_HEADER, FILES, INJECTION, INJECTIONS, KELURAHAN, TPS_HEADER, XSS,  # noqa: F401
                                 base_files, collection, dpt_file, dpt_rows, kelurahan_features, rng_bytes, tps_file)


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile input and what loading it must give.

    Attributes
    ----------
    name : str
        File name (its suffix matters to the loaders).
    loader : str
        ``boundaries`` (loaded with ``--level kelurahan``), ``tps`` or ``dpt``.
    outcome : str
        ``error`` (exit 1, one stderr line, store unchanged) or ``loaded`` (exit 0, reported).
    expect : str
        ``error``: a substring of the error message (case-insensitive). ``loaded``: a substring of a
        rejection reason, warning or note in the report (``""``: only that the load succeeds), or
        ``field:NAME``: a rejected or warned row names the field ``NAME``.
    build : callable
        Returns the file's bytes.
    why : str
        What the case represents.
    large : bool
        Big: generated at test time only and run by the slow tests.
    committed : bool
        Kept under ``tests/corpus/files/`` (small cases; False for bulky ones generated at test time).
    """

    name: str
    loader: str
    outcome: str
    expect: str
    build: Callable[[], bytes]
    why: str
    large: bool = False
    committed: bool = True



CASES: tuple[Case, ...] = (
    # boundaries (petatps load boundaries FILE --level kelurahan)
    Case("b_empty.geojson", "boundaries", "error", "empty", lambda: b"", "a 0-byte file"),
    Case("b_whitespace.geojson", "boundaries", "error", "empty", lambda: b" \n\t\r\n", "only whitespace"),
    Case("b_truncated.geojson", "boundaries", "error", "b_truncated.geojson",
         lambda: collection(kelurahan_features())[:700], "a download cut short"),
    Case("b_binary.geojson", "boundaries", "error", "not a GeoJSON", lambda: rng_bytes(1, 4096), "random bytes"),
    Case("b_bom.geojson", "boundaries", "loaded", "", lambda: b"\xef\xbb\xbf" + collection(kelurahan_features()),
         "a UTF-8 byte-order mark before the JSON"),
    Case("b_swapped.geojson", "boundaries", "error", "not degrees", hostile.b_swapped, "lat/lon swapped in every position"),
    Case("b_utm_as_degrees.geojson", "boundaries", "error", "not degrees", hostile.b_utm_as_degrees,
         "UTM metres with no CRS (GeoJSON means degrees)"),
    Case("b_degrees_declared_utm.geojson", "boundaries", "error", "outside", hostile.b_degrees_declared_utm,
         "degrees under a crs member declaring UTM 48S"),
    Case("b_self_intersecting.geojson", "boundaries", "loaded", "repaired", hostile.b_self_intersecting,
         "a bow-tie polygon (repaired or rejected, reported)"),
    Case("b_empty_geometries.geojson", "boundaries", "loaded", "geometry", hostile.b_empty_geometries,
         "null and empty geometries beside good ones"),
    Case("b_all_empty_geometries.geojson", "boundaries", "error", "geometr", hostile.b_all_empty, "no geometry at all"),
    Case("b_mixed_types.geojson", "boundaries", "loaded", "expected polygons", hostile.b_mixed_types,
         "a point and a line among polygons"),
    Case("b_injection.geojson", "boundaries", "loaded", "kelurahan code", hostile.b_injection,
         "spreadsheet formulas as a name and as a code"),
    Case("b_nan.geojson", "boundaries", "error", "b_nan.geojson", hostile.b_nan_coordinates, "NaN/Infinity coordinates"),
    Case("b_xss.geojson", "boundaries", "loaded", "", hostile.b_xss, "HTML/script in area names"),
    Case("b_deep_nesting.geojson", "boundaries", "error", "b_deep_nesting.geojson", hostile.b_deep_nesting,
         "20,000 nested arrays (a parser stack bomb)"),
    Case("b_traversal.zip", "boundaries", "error", "unsafe file name", hostile.b_traversal_zip, "members named ../../x"),
    Case("b_absolute.zip", "boundaries", "error", "unsafe file name", hostile.b_absolute_zip, "members named /tmp/x"),
    Case("b_symlink.zip", "boundaries", "error", "b_symlink.zip", hostile.b_symlink_zip,
         "a member that is a symlink to /etc/passwd"),
    Case("b_bomb.zip", "boundaries", "error", "zip bomb", hostile.b_bomb_zip, "a member expanding ~1000:1"),
    Case("b_lying.zip", "boundaries", "error", "b_lying.zip", hostile.b_lying_zip,
         "a member declaring 10 bytes that inflates to 8 MiB"),
    Case("b_many_members.zip", "boundaries", "error", "files (limit", hostile.b_many_members_zip, "1,500 members",
         committed=False),
    Case("b_not_zip.zip", "boundaries", "error", "not a readable zip", hostile.b_not_zip, "a zip signature then noise"),
    # TPS lists (petatps load tps FILE)
    Case("tps_empty.csv", "tps", "error", "empty", lambda: b"", "a 0-byte file"),
    Case("tps_header_only.csv", "tps", "error", "no data", lambda: tps_file(rows=[]), "a header and nothing else"),
    Case("tps_truncated_quote.csv", "tps", "error", "cut short", hostile.t_truncated_quote,
         "cut inside a quoted cell"),
    Case("tps_cut_short.csv", "tps", "error", "cut short", hostile.t_cut_short, "last row cut in the middle"),
    Case("tps_binary.csv", "tps", "error", "tps_binary.csv", lambda: rng_bytes(2, 4096), "random bytes"),
    Case("tps_nul.csv", "tps", "error", "tps_nul.csv", hostile.t_nul, "NUL bytes inside the text"),
    Case("tps_xlsx_named_csv.csv", "tps", "error", "zip", hostile.t_xlsx_named_csv, "a ZIP/XLSX named .csv"),
    Case("tps_html.csv", "tps", "error", "html", hostile.t_html, "a web error page saved as .csv"),
    Case("tps_bom_cp1252_semicolon.csv", "tps", "loaded", "cp1252", hostile.t_bom_cp1252,
         "UTF-8 BOM then cp1252 text, ';' and CRLF (Excel Indonesia)"),
    Case("tps_latin1.csv", "tps", "loaded", "", hostile.t_latin1, "latin-1 text"),
    Case("tps_tab.csv", "tps", "loaded", "", lambda: tps_file(sep="\t"), "tab-delimited, named .csv"),
    Case("tps_semicolon.csv", "tps", "loaded", "", lambda: tps_file(sep=";"), "semicolon-delimited"),
    Case("tps_utf16.csv", "tps", "loaded", "utf-16", hostile.t_utf16, "Excel 'Unicode text' (UTF-16 LE, tabs)"),
    Case("tps_duplicated_header.csv", "tps", "loaded", "appears more than once", hostile.t_duplicated_header,
         "the kode_tps column twice, with different values"),
    Case("tps_injection.csv", "tps", "loaded", "kode_tps", hostile.t_injection,
         "formulas in alamat (kept), kode_tps, no_tps and dpt (rejected)"),
    Case("tps_formulas_only.csv", "tps", "error", "tps_formulas_only.csv", hostile.t_formula_only,
         "a header of formulas"),
    Case("tps_xss.csv", "tps", "loaded", "", hostile.t_xss, "HTML/script in TPS names and addresses"),
    Case("tps_wide.csv", "tps", "loaded", "", hostile.t_wide, "5,000 extra columns", large=True),
    Case("tps_10mb_line.csv", "tps", "loaded", "field:alamat", hostile.t_long_line, "one 10 MB address cell", large=True),
    # DPT lists (petatps load dpt FILE)
    Case("dpt_empty.csv", "dpt", "error", "empty", lambda: b"", "a 0-byte file"),
    Case("dpt_header_only.csv", "dpt", "error", "no data", lambda: dpt_file(rows=[]), "a header and nothing else"),
    Case("dpt_truncated_quote.csv", "dpt", "error", "cut short", hostile.d_truncated_quote, "cut inside a quoted cell"),
    Case("dpt_binary.csv", "dpt", "error", "dpt_binary.csv", lambda: rng_bytes(3, 4096), "random bytes"),
    Case("dpt_excel_mangled.csv", "dpt", "loaded", "scientific notation", hostile.d_excel_mangled,
         "NIKs Excel turned into 3.17106E+15"),
    Case("dpt_bom_cp1252_semicolon.csv", "dpt", "loaded", "cp1252", hostile.d_bom_cp1252,
         "UTF-8 BOM then cp1252 names, ';' and CRLF"),
    Case("dpt_tab.csv", "dpt", "loaded", "", lambda: dpt_file(sep="\t"), "tab-delimited"),
    Case("dpt_duplicated_header.csv", "dpt", "loaded", "appears more than once", hostile.d_duplicated_header,
         "the nik column twice"),
    Case("dpt_injection.csv", "dpt", "loaded", "NIK", hostile.d_injection,
         "formulas in nama/alamat (kept) and in NIK, rt, kode_kel (rejected)"),
    Case("dpt_10mb_line.csv", "dpt", "loaded", "field:alamat", hostile.d_long_line, "one 10 MB address cell", large=True),
    Case("dpt_200k_hostile.csv", "dpt", "loaded", "scientific notation", hostile.d_big_hostile,
         "200,000 voters with a hostile row every 997", large=True),
)


def selected(*, large: bool = False, only_large: bool = False, committed: bool = False) -> list[Case]:
    """The cases: small ones (``large`` adds the large ones; ``only_large``/``committed`` restrict)."""
    return [c for c in CASES if (large or only_large or not c.large) and (c.large or not only_large)
            and (c.committed and not c.large or not committed)]


def write_corpus(folder: str | Path, *, large: bool = False, only_large: bool = False,
                 committed: bool = False) -> dict[str, Path]:
    """Write the selected cases (see :func:`selected`) into ``folder``; return name → path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for case in selected(large=large, only_large=only_large, committed=committed):
        path = folder / case.name
        path.write_bytes(case.build())
        written[case.name] = path
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=FILES, help="folder to write into (default tests/corpus/files)")
    ap.add_argument("--large", action="store_true", help="write every case, the large ones too")
    args = ap.parse_args()
    written = write_corpus(args.out, large=args.large, committed=not args.large)
    base_files(args.out)
    print(f"{len(written)} corpus files and the base data written to {args.out}")


if __name__ == "__main__":
    main()
