"""RT/RW parsing from free-text addresses (geo/address.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.address import parse_rt_rw


def _parse(texts):
    out = parse_rt_rw(pd.Series(list(texts), dtype=object))
    return [(None if pd.isna(rt) else int(rt), None if pd.isna(rw) else int(rw)) for rt, rw in out.to_numpy()]


FORMS = [
    "RT 003/RW 05", "RT.3 RW.5", "Rt 03 Rw 005", "RT/RW 003/005", "RT 3 / RW 5", "rt3 rw5", "RT.03/RW.005",
    "Jl. Kenari II No. 12, RT 003/RW 05", "R T 3 R W 5", "R.T. 03 R.W. 005", "RT: 3 RW: 5", "RT-03 RW-05",
    "RW 05 RT 003", "RW/RT 005/003", "RT/RW: 3/5", "RT/RW 003 005", "rt3rw5", "RT NO. 3 RW NO. 5",
    "Gg. Mawar, RT.003, RW.005, Kel. Menteng",
]
TYPOS = [
    ("RT 03 RW 0O5", (3, 5)),          # letter O typed for zero
    ("RT O3 RW 5", (3, 5)),
    ("RT 1l RW 2", (11, 2)),           # l typed for one, next to a digit
    ("RT IO RW 5", (None, 5)),         # no real digit: not a number
    ("RT 3 RW 5 RT 4", (None, 5)),     # two different RTs: ambiguous
    ("RT 03 RW 05 RT 003", (3, 5)),    # the same RT twice: fine
    ("RT 000 RW 5", (None, 5)),        # zero is not an RT
    ("RT 3", (3, None)),
    ("RW 12", (None, 12)),
    ("PERTAMINA ART 5", (None, None)),  # "RT" inside a word
    ("Jl. Raya Bogor KM 12 No. 3", (None, None)),
    ("RT 3 RW LIMA", (3, None)),
    ("", (None, None)),
    (None, (None, None)),
]


@pytest.fixture(scope="module")
def parsed():
    texts = FORMS + [text for text, _ in TYPOS]
    return dict(zip(map(str, texts), _parse(texts)))


@pytest.mark.parametrize("text", FORMS)
def test_each_written_form(parsed, text):
    assert parsed[text] == (3, 5)


@pytest.mark.parametrize("text, expected", TYPOS)
def test_typos_and_ambiguity(parsed, text, expected):
    assert parsed[str(text)] == expected


def test_keeps_index_and_dtypes():
    s = pd.Series(["rt 1 rw 2", None, "RT 7/RW 8"], index=["x", "y", "z"])
    out = parse_rt_rw(s)
    assert list(out.index) == ["x", "y", "z"]
    assert str(out["rt"].dtype) == "Int16" and str(out["rw"].dtype) == "Int16"
    assert out.loc["z"].tolist() == [7, 8]


def test_empty_and_all_missing():
    assert parse_rt_rw(pd.Series([], dtype="string")).shape == (0, 2)
    out = parse_rt_rw(pd.Series([None, pd.NA], dtype="string"))
    assert out.isna().all().all()


_FORMS = [
    "RT {rt} RW {rw}", "RT {rt:03d}/RW {rw:02d}", "RT.{rt} RW.{rw}", "Rt {rt:02d} Rw {rw:03d}",
    "RT/RW {rt:03d}/{rw:03d}", "rt{rt} rw{rw}", "RT {rt} / RW {rw}", "RT.{rt:02d}/RW.{rw:03d}",
    "RW {rw:02d} RT {rt:03d}", "R.T. {rt} R.W. {rw}",
]
_WORDS = st.sampled_from(["Jl. Kenari II", "No. 12", "Gg. H. Mawar", "Kel. Menteng", "Blok C/4", "Kav. 21",
                          "Jakarta Pusat", "dekat masjid", "Komplek DKI"])


_CASES = st.builds(
    lambda rt, rw, form, before, after, case: (", ".join([*before, case(form.format(rt=rt, rw=rw)), *after]), (rt, rw)),
    st.integers(1, 999), st.integers(1, 999), st.sampled_from(_FORMS), st.lists(_WORDS, max_size=3),
    st.lists(_WORDS, max_size=3), st.sampled_from([str.upper, str.lower, str.title, str]))


@settings(max_examples=25, deadline=None)
@given(st.lists(_CASES, min_size=1, max_size=40))
def test_any_form_anywhere_in_the_address(cases):
    texts, expected = zip(*cases)
    assert _parse(texts) == list(expected)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQSUVXYZ0123456789 .,/-", max_size=40), min_size=1, max_size=40))
def test_no_rt_rw_token_no_number(texts):
    # Without the letters R+T or R+W no number can be read as an RT/RW.
    assert _parse(texts) == [(None, None)] * len(texts)
