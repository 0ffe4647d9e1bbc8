"""Property-based tests (hypothesis) of the pure parsers and arithmetic that hostile input reaches:
tile z/x/y arithmetic, NIK validation and masking, area code normalisation and the RT/RW address
parser. Each property here is one the module tests in tests/geo/ do not already state."""

from __future__ import annotations

import math
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from geo import tiles
from geo.address import MAX_NUMBER, parse_rt_rw
from geo.codes import (
    PROVINCE_CODES,
    clean_nik,
    kode_problems,
    mask_nik,
    nik_birth_sex,
    nik_problems,
    normalize_kode,
    parse_wilayah,
)
from geo.errors import CodeError

FAST = settings(max_examples=40, deadline=None)

# --- tiles -------------------------------------------------------------------------------------------

zooms = st.integers(0, 22)


@st.composite
def tile_ids(draw, max_zoom: int = 22):
    z = draw(st.integers(0, max_zoom))
    n = 2 ** z
    return z, draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))


lons = st.floats(-180, 180, exclude_max=True, allow_nan=False)
lats = st.floats(-tiles.MAX_LAT + 1e-6, tiles.MAX_LAT - 1e-6, allow_nan=False)


@FAST
@given(tile_ids())
def test_a_tile_contains_its_interior_and_its_bounds_round_trip(tile):
    z, x, y = tile
    west, south, east, north = tiles.tile_bounds(z, x, y)
    assert west < east and south < north
    for fx, fy in ((0.5, 0.5), (0.01, 0.01), (0.99, 0.99)):
        lon, lat = west + fx * (east - west), north - fy * (north - south)
        assert tuple(map(int, tiles.lonlat_to_tile(lon, lat, z))) == (x, y)
    assert tuple(map(int, tiles.lonlat_to_tile(west, north, z))) == (x, y)      # NW corner: this tile


@FAST
@given(tile_ids(max_zoom=21))
def test_the_four_children_tile_their_parent_exactly(tile):
    z, x, y = tile
    west, south, east, north = tiles.tile_bounds(z, x, y)
    children = [tiles.tile_bounds(z + 1, 2 * x + dx, 2 * y + dy) for dx in (0, 1) for dy in (0, 1)]
    assert math.isclose(min(c[0] for c in children), west, abs_tol=1e-9)
    assert math.isclose(max(c[2] for c in children), east, abs_tol=1e-9)
    assert math.isclose(min(c[1] for c in children), south, abs_tol=1e-9)
    assert math.isclose(max(c[3] for c in children), north, abs_tol=1e-9)
    assert children[0][2] == children[2][0] and children[0][1] == children[1][3]   # shared edges, no gap


@FAST
@given(lons, lats, zooms)
def test_a_point_lies_in_the_bounds_of_its_tile(lon, lat, z):
    x, y = map(int, tiles.lonlat_to_tile(lon, lat, z))
    tiles.check_tile(z, x, y)
    west, south, east, north = tiles.tile_bounds(z, x, y)
    eps = 1e-9 * 360
    assert west - eps <= lon <= east + eps and south - eps <= lat <= north + eps


@FAST
@given(lons, st.floats(-80, 80), st.lists(st.tuples(st.floats(0, 0.5), st.floats(0, 0.5)), min_size=1, max_size=30),
       st.integers(0, 14))
def test_tiles_covering_a_box_holds_every_point_in_it(lon0, lat0, offsets, z):
    xs = [min(lon0 + dx, 179.999) for dx, _ in offsets]
    ys = [lat0 + dy for _, dy in offsets]
    box = (min(xs), min(ys), max(xs), max(ys))
    covering = set(tiles.tiles_covering(box, z))
    tx, ty = tiles.lonlat_to_tile(np.array(xs), np.array(ys), z)
    assert {(z, int(a), int(b)) for a, b in zip(tx, ty)} <= covering
    n = 2 ** z
    assert all(0 <= x < n and 0 <= y < n for _, x, y in covering)


@FAST
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50), st.lists(st.floats(0.001, 0.999), min_size=1, max_size=50))
def test_mercator_and_lonlat_are_inverse(mx, my):
    k = min(len(mx), len(my))
    lon, lat = tiles.lonlat(np.array(mx[:k]), np.array(my[:k]))
    back_x, back_y = tiles.mercator(lon, lat)
    assert np.allclose(back_x, mx[:k], atol=1e-12) and np.allclose(back_y, my[:k], atol=1e-9)


@FAST
@given(st.integers(-5, 30), st.integers(-2 ** 40, 2 ** 40), st.integers(-2 ** 40, 2 ** 40))
def test_tile_arithmetic_refuses_what_is_not_a_tile(z, x, y):
    valid = 0 <= z <= 24 and 0 <= x < 2 ** z and 0 <= y < 2 ** z
    if valid:
        tiles.check_tile(z, x, y)
        return
    with pytest.raises(ValueError):
        tiles.tile_bounds(z, x, y)


# --- NIK -----------------------------------------------------------------------------------------------

_DAYS = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


@st.composite
def valid_niks(draw) -> tuple[str, str, str]:
    """(NIK, DDMM of birth, sex) of a valid NIK."""
    prov = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    region = draw(st.text("0123456789", min_size=4, max_size=4))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, _DAYS[month]))
    female = draw(st.booleans())
    yy = draw(st.integers(0, 99))
    serial = draw(st.integers(1, 9999))
    nik = f"{prov}{region}{day + 40 * female:02d}{month:02d}{yy:02d}{serial:04d}"
    return nik, f"{day:02d}{month:02d}", "P" if female else "L"


@FAST
@given(st.lists(valid_niks(), min_size=1, max_size=40))
def test_valid_niks_pass_and_give_their_birth_day_and_sex(cases):
    niks = pd.Series([c[0] for c in cases], dtype="string")
    assert nik_problems(niks).isna().all()
    ddmm, sex = nik_birth_sex(niks)
    assert list(ddmm) == [c[1] for c in cases] and list(sex) == [c[2] for c in cases]


@FAST
@given(st.lists(valid_niks(), min_size=1, max_size=20), st.sampled_from(["'{}", " {} ", "{}".join("  "),
                                                                        "{0:.4}.{1}"]))
def test_excel_marks_and_spaces_are_cleaned_and_cleaning_is_idempotent(cases, form):
    niks = [c[0] for c in cases]
    typed = pd.Series([form.format(n[:4], n[4:]) if "{1}" in form else form.format(n) for n in niks], dtype="string")
    cleaned = clean_nik(typed)
    assert list(cleaned) == niks
    assert list(clean_nik(cleaned)) == niks
    assert nik_problems(typed).isna().all()


@FAST
@given(st.lists(st.text(min_size=0, max_size=24), min_size=1, max_size=40))
def test_anything_that_is_not_16_digits_after_cleaning_is_a_problem(texts):
    s = pd.Series(texts, dtype="string")
    cleaned = clean_nik(s)
    problems = nik_problems(s)
    sixteen = cleaned.str.fullmatch(r"[0-9]{16}").fillna(False)
    assert problems[~sixteen].notna().all()


@FAST
@given(st.lists(st.integers(10 ** 15, 10 ** 16 - 1), min_size=1, max_size=30), st.integers(1, 9))
def test_excel_scientific_notation_is_always_named(numbers, digits):
    mangled = pd.Series([f"{n:.{digits}E}".replace("E+", "E+") for n in numbers], dtype="string")
    assert (nik_problems(mangled) == "NIK mangled into scientific notation (e.g. by Excel)").all()


@FAST
@given(st.lists(st.text(string.digits, min_size=16, max_size=16), min_size=1, max_size=30))
def test_masking_hides_the_birth_date_and_serial(niks):
    masked = mask_nik(pd.Series(niks, dtype="string"))
    for nik, m in zip(niks, masked):
        assert len(m) == 16 and m[:6] == nik[:6] and m[-2:] == nik[-2:] and m[6:14] == "*" * 8


# --- area codes ----------------------------------------------------------------------------------------

@st.composite
def area_codes(draw) -> str:
    prov = draw(st.sampled_from(sorted(PROVINCE_CODES)))
    rest = draw(st.sampled_from([0, 2, 4, 8]))
    return prov + draw(st.text("0123456789", min_size=rest, max_size=rest))


def _dotted(code: str) -> str:
    parts = [code[:2], code[2:4], code[4:6], code[6:]]
    return ".".join(p for p in parts if p)


@FAST
@given(st.lists(area_codes(), min_size=1, max_size=40))
def test_dotted_spaced_and_float_forms_normalise_to_the_plain_code(codes):
    plain = pd.Series(codes, dtype="string")
    for form in (codes, [_dotted(c) for c in codes], [f" {c} " for c in codes], [f"{c}.0" for c in codes]):
        assert list(normalize_kode(pd.Series(form, dtype="string"))) == codes
    assert list(normalize_kode(normalize_kode(plain))) == codes
    for code in codes:
        assert parse_wilayah(_dotted(code)) == code


@FAST
@given(st.lists(st.text(min_size=0, max_size=16), min_size=1, max_size=40))
def test_normalised_codes_are_digits_of_a_level_length_or_missing(texts):
    out = normalize_kode(pd.Series(texts, dtype="string"))
    kept = out.dropna()
    assert kept.str.fullmatch(r"\d{2}|\d{4}|\d{6}|\d{10}").all()
    for text, norm in zip(texts, out):
        if pd.isna(norm):
            with pytest.raises(CodeError):
                parse_wilayah(text)


@FAST
@given(st.lists(area_codes(), min_size=1, max_size=30), st.sampled_from(["provinsi", "kota", "kecamatan", "kelurahan"]))
def test_a_code_has_no_problem_exactly_at_its_own_level(codes, level):
    want = {"provinsi": 2, "kota": 4, "kecamatan": 6, "kelurahan": 10}[level]
    problems = kode_problems(pd.Series(codes, dtype="string"), level)
    for code, problem in zip(codes, problems):
        assert pd.isna(problem) == (len(code) == want)


# --- the RT/RW address parser ------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=40))
def test_any_text_parses_to_numbers_in_range_or_missing(texts):
    out = parse_rt_rw(pd.Series(texts, dtype=object))
    assert list(out.columns) == ["rt", "rw"] and len(out) == len(texts)
    for col in ("rt", "rw"):
        values = out[col].dropna()
        assert ((values >= 1) & (values <= MAX_NUMBER)).all()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet="RTWrtw0123456789OIL ./-:,NO", max_size=30), min_size=2, max_size=25),
       st.randoms(use_true_random=False))
def test_an_address_parses_the_same_in_any_batch(texts, rng):
    batch = parse_rt_rw(pd.Series(texts, dtype="string"))
    half = len(texts) // 2
    parts = pd.concat([parse_rt_rw(pd.Series(texts[:half], dtype="string")),
                       parse_rt_rw(pd.Series(texts[half:], dtype="string"))], ignore_index=True)
    pd.testing.assert_frame_equal(batch.reset_index(drop=True), parts)
    order = list(range(len(texts))) * 2
    rng.shuffle(order)
    shuffled = parse_rt_rw(pd.Series([texts[i] for i in order], dtype="string"))
    pd.testing.assert_frame_equal(shuffled.reset_index(drop=True), batch.iloc[order].reset_index(drop=True))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 999), st.integers(1, 999), st.text(alphabet=string.ascii_letters + " ,.", max_size=20))
def test_an_address_naming_two_rts_gives_no_rt(rt, other, words):
    assume(rt != other)
    out = parse_rt_rw(pd.Series([f"{words} RT {rt:03d} RW 002, RT {other}"], dtype="string"))
    assert pd.isna(out.loc[0, "rt"]) and out.loc[0, "rw"] == 2
