"""The geocoding chain (geo/geocode.py) on small hand-drawn fixtures, a property test and the real data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import CRSError, MissingColumnError
from geo.geocode import FLAGS, LOCATION_SOURCES, geocode_tps, kelurahan_level_list
from geo.schema import LAYERS

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "geocode"

# kode_tps -> (location_source, flags); see the "case" column of tests/fixtures/geocode/tps.csv.
EXPECTED = {
    "3171061001001": ("coordinates", ""),
    "3171061001002": ("coordinates", "coords_swapped_lat_lon"),
    "3171061001003": ("coordinates", "coords_lat_sign_fixed"),
    "3171061001004": ("coordinates", ""),
    "3171061001005": ("coordinates", ""),
    "3171061001006": ("coordinates", ""),
    "3171061001007": ("address_rt", "coords_outside_kelurahan"),
    "3171061001008": ("kelurahan", "coords_truncated"),
    "3171061001009": ("address_rt", "coords_unparseable"),
    "3171061001010": ("address_rw", "coords_only_one_coordinate;rt_not_found"),
    "3171061001011": ("address_rw", "rt_not_found"),
    "3171061001012": ("address_rt", ""),
    "3171061001013": ("address_rw", "rt_not_found"),
    "3171061001014": ("address_rt", ""),
    "3171061001015": ("address_rt", ""),
    "3171061001016": ("address_rt", ""),
    "3171061001017": ("address_rt", "address_rtrw_conflict"),
    "3171061001018": ("place", ""),
    "3171061001019": ("kelurahan", ""),
    "3171061001020": ("kelurahan", "over_capacity"),
    "3171061001021": ("kelurahan", ""),
    **{f"31710610010{n}": ("coordinates", "stacked") for n in range(22, 27)},
    "3171061001027": ("kelurahan", "rt_not_found;rw_not_found"),
    "3171061001028": ("kelurahan", "coords_placeholder"),
    "3171061001029": ("coordinates", "rw_mismatch;rt_mismatch"),
    "3171061001030": ("coordinates", "coords_near_edge;outside_dki"),
    "3171061001031": ("coordinates", "same_spot_other_kelurahan"),
    "3171061002001": ("coordinates", "same_spot_other_kelurahan"),
    "3171061002002": ("kelurahan", ""),
    "3171061002003": ("address_rw", "rt_not_found"),
    "3171061002004": ("kelurahan", ""),
    "3171061002005": ("place", "rw_not_found"),
    "3171061003001": ("place", ""),
    "3171061003002": ("kelurahan", ""),
    "3171061003003": ("address_rt", ""),
    "3101011001001": ("kelurahan", ""),
    "3101011001002": ("kelurahan", ""),
    "3101011001003": ("kelurahan", ""),
    "3101011001004": ("coordinates", ""),
    "3171061004001": (None, "kelurahan_unknown"),
    "3171061001099": ("kelurahan", "kelurahan_by_name"),
    "3171061099001": ("kelurahan", "kelurahan_by_name"),
    "3171061098001": ("coordinates", "kelurahan_unknown"),
}


def read_fixture_tps() -> pd.DataFrame:
    raw = pd.read_csv(FIX / "tps.csv", dtype=str, keep_default_na=False).replace("", None)
    tps = raw.drop(columns="case").rename(columns={"lat": "lat_src", "lon": "lon_src"})
    for col in ("rt", "rw", "no_tps"):
        tps[col] = pd.to_numeric(tps[col]).astype("Int16")
    tps["dpt"] = pd.to_numeric(tps["dpt"]).astype("Int32")
    return tps


@pytest.fixture(scope="module")
def layers():
    return {name: gpd.read_file(FIX / f"{name}.geojson") for name in ("kelurahan", "rw", "rt", "places")}


@pytest.fixture(scope="module")
def tps():
    return read_fixture_tps()


@pytest.fixture(scope="module")
def result(tps, layers):
    return geocode_tps(tps, layers["kelurahan"], layers["rw"], layers["rt"], layers["places"], source="tps.csv")


def test_every_case(result):
    out, _ = result
    assert set(out["kode_tps"]) == set(EXPECTED)
    got = {k: (s if isinstance(s, str) else None, f if isinstance(f, str) else "")
           for k, s, f in out[["kode_tps", "location_source", "flags"]].astype(object).itertuples(index=False)}
    assert got == EXPECTED


def test_output_conforms_to_the_tps_layer(result, tps):
    out, _ = result
    assert list(out.columns) == LAYERS["tps"].all_columns
    assert out.crs.to_epsg() == 4326
    assert out["kode_tps"].tolist() == tps["kode_tps"].tolist()            # input order kept
    assert set(shapely.get_type_id(out.geometry.dropna().to_numpy())) == {0}
    assert set(out["location_source"].dropna()) <= set(LOCATION_SOURCES)
    flags = out["flags"].dropna().str.split(";").explode()
    assert set(flags) <= set(FLAGS)


def test_rt_rw_completed_from_the_address(result):
    out = result[0].set_index("kode_tps")
    assert out.loc["3171061001012", ["rw", "rt"]].tolist() == [1, 2]        # "rt2 rw1"
    assert out.loc["3171061001015", ["rw", "rt"]].tolist() == [1, 2]        # "RT 02 RW 0O1"
    assert out.loc["3171061001017", ["rw", "rt"]].tolist() == [1, 2]        # columns win over the address
    assert out.loc["3171061001021", ["rw", "rt"]].isna().all()


def test_kelurahan_resolved_by_name(result):
    out, report = result
    out = out.set_index("kode_tps")
    assert out.loc["3171061001099", "kode_kel"] == "3171061001"
    assert out.loc["3171061099001", "kode_kel"] == "3171061003"             # "CIKINNI", within kecamatan 317106
    matches = {m["nama_kel"]: (m["kode"], m["score"]) for m in report.figures["kelurahan_name_matches"]}
    assert matches["CIKINNI"][0] == "3171061003" and 85 <= matches["CIKINNI"][1] < 100


def test_points_lie_inside_their_polygons(result, layers):
    out = result[0].set_index("kode_tps")
    kel = layers["kelurahan"].set_index("kode").geometry
    rw = layers["rw"].dissolve(by=["kode_kel", "rw"]).geometry
    rt = layers["rt"].set_index(["kode_kel", "rw", "rt"]).geometry
    for kode, row in out[out["location_source"].notna()].iterrows():
        pt, own = row.geometry, kel.get(row["kode_kel"])
        if row["location_source"] in ("address_rt", "address_rw", "kelurahan", "place"):
            assert own.contains(pt), kode
        if row["location_source"] == "address_rt":
            assert rt[(row["kode_kel"], row["rw"], row["rt"])].contains(pt), kode
        if row["location_source"] == "address_rw":
            assert rw[(row["kode_kel"], row["rw"])].contains(pt), kode
    # the RW that straddles into Pegangsaan: its Menteng TPS stays in Menteng
    assert out.loc["3171061001011"].geometry.x < 106.840


def test_place_is_the_candidate_point(result):
    out = result[0].set_index("kode_tps")
    assert out.loc["3171061001018"].geometry.equals(shapely.Point(106.822, -6.190))
    assert out.loc["3171061003001"].geometry.equals(shapely.Point(106.830, -6.180))
    assert out.loc["3171061001018", "precision_m"] == 50.0


def test_repaired_coordinates(result):
    out = result[0].set_index("kode_tps")
    for kode in ("3171061001002", "3171061001003"):
        assert (out.loc[kode].geometry.x, out.loc[kode].geometry.y) == pytest.approx((106.8262, -6.1931))
    assert out.loc["3171061001005"].geometry.y == pytest.approx(-(6 + 11 / 60 + 30 / 3600))


def test_precision_is_the_farthest_point_of_the_polygon(result, layers):
    out = result[0]
    kel = layers["kelurahan"].set_index("kode").geometry.to_crs(32748)
    rows = out[out["location_source"] == "kelurahan"]
    pts = rows.geometry.to_crs(32748).to_numpy()
    expected = shapely.hausdorff_distance(pts, kel.loc[rows["kode_kel"]].to_numpy())
    assert rows["precision_m"].to_numpy() == pytest.approx(expected, abs=0.06)
    by_source = out.groupby("location_source")["precision_m"]
    assert by_source.min()["coordinates"] >= 30 and by_source.max()["coordinates"] < 100
    assert by_source.median()["address_rt"] < by_source.median()["kelurahan"]


def test_polygon_level_points_do_not_stack(result):
    out = result[0]
    spread = out[out["location_source"].isin(["address_rt", "address_rw", "kelurahan"])]
    pts = spread.geometry.to_crs(32748).to_numpy()
    i, j = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=20)
    assert (i == j).all()


def test_report(result):
    out, report = result
    assert report.rows_read == 47 and report.rows_loaded == 46 and report.rows_rejected == 1
    assert report.balanced
    assert report.rejections[0].value == "3171061004001"
    f = report.figures
    assert f["location_source"] == {"coordinates": 17, "address_rt": 8, "address_rw": 4, "place": 3,
                                    "kelurahan": 14, "unplaced": 1}
    assert f["flags"]["stacked"] == 5 and f["flags"]["rt_not_found"] == 5
    assert report.warning_counts["coords_swapped_lat_lon"] == 1
    assert f["per_kecamatan"]["310101"] == {"coordinates": 1, "kelurahan": 3}
    assert f["inside_own_kelurahan"] == 44 and f["outside_own_kelurahan"] == 2
    assert report.to_json()


def test_idempotent(result, layers):
    out, _ = result
    again, _ = geocode_tps(out, layers["kelurahan"], layers["rw"], layers["rt"], layers["places"])
    assert_geodataframe_equal(again, out)


def test_input_order_does_not_matter(result, tps, layers):
    shuffled = tps.sample(frac=1, random_state=7)
    out, _ = geocode_tps(shuffled, layers["kelurahan"], layers["rw"], layers["rt"], layers["places"])
    a = result[0].set_index("kode_tps").sort_index()
    b = out.set_index("kode_tps").sort_index()
    assert_geodataframe_equal(a, b)


def test_layers_in_another_crs(result, tps, layers):
    metric = {k: v.to_crs(32748) for k, v in layers.items()}
    out, _ = geocode_tps(tps, metric["kelurahan"], metric["rw"], metric["rt"], metric["places"])
    assert out["location_source"].equals(result[0]["location_source"])
    assert out.crs.to_epsg() == 4326


def test_layer_without_crs_is_an_error(tps, layers):
    with pytest.raises(CRSError, match="kelurahan"):
        geocode_tps(tps, layers["kelurahan"].set_crs(None, allow_override=True))


def test_missing_columns(tps, layers):
    with pytest.raises(MissingColumnError, match="kode_kel"):
        geocode_tps(tps.drop(columns="kode_kel"), layers["kelurahan"])
    with pytest.raises(MissingColumnError, match="rw layer lacks rw"):
        geocode_tps(tps, layers["kelurahan"], layers["rw"].drop(columns="rw"))


def test_kelurahan_layer_only(tps, layers):
    out, report = geocode_tps(tps, layers["kelurahan"])
    assert set(out["location_source"].dropna()) == {"coordinates", "kelurahan"}
    assert "rt_not_found" not in report.figures["flags"]


def test_empty_tps(layers):
    out, report = geocode_tps(read_fixture_tps().iloc[:0], layers["kelurahan"], layers["rw"], layers["rt"])
    assert out.empty and list(out.columns) == LAYERS["tps"].all_columns
    assert report.rows_read == 0 and report.balanced


def test_kelurahan_level_list(result):
    out, _ = result
    sub = kelurahan_level_list(out)
    assert len(sub) == 14 and (sub["kode_tps"].is_monotonic_increasing)
    assert list(sub.columns) == ["kode_tps", "kode_kel", "no_tps", "nama", "alamat", "rw", "rt", "dpt",
                                 "precision_m", "flags", "lon", "lat", "geometry"]
    assert sub["lon"].tolist() == pytest.approx(sub.geometry.x.tolist(), abs=1e-6)


# --- property: a TPS placed from its declaration never leaves its own kelurahan -------------------
def _star(cx, cy, radii):
    angles = np.linspace(0, 2 * np.pi, len(radii), endpoint=False)
    return shapely.Polygon(np.c_[cx + np.cos(angles) * radii, cy + np.sin(angles) * radii])


_radii = st.lists(st.floats(0.0005, 0.006), min_size=5, max_size=12)
_box = st.tuples(st.floats(106.78, 106.86), st.floats(-6.24, -6.16), st.floats(0.001, 0.02), st.floats(0.001, 0.02))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kel_radii=st.lists(_radii, min_size=1, max_size=3),
       rw_boxes=st.lists(st.tuples(_box, st.integers(0, 2), st.integers(1, 3)), max_size=6),
       rt_boxes=st.lists(st.tuples(_box, st.integers(0, 2), st.integers(1, 3), st.integers(1, 3)), max_size=8),
       tps=st.lists(st.tuples(st.integers(0, 2), st.none() | st.integers(1, 3), st.none() | st.integers(1, 3)),
                    min_size=1, max_size=40))
def test_never_outside_its_own_kelurahan(kel_radii, rw_boxes, rt_boxes, tps):
    codes = [f"317101100{i}" for i in range(len(kel_radii))]
    kel = gpd.GeoDataFrame({"kode": codes, "nama": [f"K{i}" for i in range(len(codes))]},
                           geometry=[_star(106.80 + 0.01 * i, -6.20, np.array(r)) for i, r in enumerate(kel_radii)],
                           crs=4326)   # neighbours may overlap, RW/RT boxes may straddle or miss them
    rw = gpd.GeoDataFrame({"kode_kel": [codes[k % len(codes)] for _, k, _ in rw_boxes],
                           "rw": [n for _, _, n in rw_boxes]},
                          geometry=[shapely.box(x, y, x + w, y + h) for (x, y, w, h), _, _ in rw_boxes], crs=4326)
    rt = gpd.GeoDataFrame({"kode_kel": [codes[k % len(codes)] for _, k, _, _ in rt_boxes],
                           "rw": [a for _, _, a, _ in rt_boxes], "rt": [b for *_, b in rt_boxes]},
                          geometry=[shapely.box(x, y, x + w, y + h) for (x, y, w, h), *_ in rt_boxes], crs=4326)
    frame = pd.DataFrame({
        "kode_tps": [f"{codes[k % len(codes)]}{i:03d}" for i, (k, _, _) in enumerate(tps)],
        "kode_kel": [codes[k % len(codes)] for k, _, _ in tps],
        "rw": pd.array([w for _, w, _ in tps], dtype="Int16"),
        "rt": pd.array([t for _, _, t in tps], dtype="Int16"),
    })
    out, report = geocode_tps(frame, kel, rw if len(rw) else None, rt if len(rt) else None)
    assert report.rows_loaded == len(frame)
    own = kel.set_index("kode").geometry.loc[out["kode_kel"]].to_numpy()
    assert shapely.contains(own, out.geometry.to_numpy()).all()
    rt_level = out[out["location_source"] == "address_rt"]
    if len(rt_level):
        boxes = rt.dissolve(by=["kode_kel", "rw", "rt"]).geometry
        keys = list(zip(rt_level["kode_kel"], rt_level["rw"], rt_level["rt"]))
        assert shapely.contains(boxes.loc[keys].to_numpy(), rt_level.geometry.to_numpy()).all()


# --- the real data -------------------------------------------------------------------------------
@pytest.mark.real_data
def test_real_tps_all_inside_their_kelurahan(real_data):
    kel = gpd.read_file(real_data / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson")
    kel = kel.rename(columns={"kode_kemendagri": "kode"})
    rw = gpd.read_file(real_data / "inasafe-inasafe_data" / "dki_rw_2012.geojson")
    rw = rw.rename(columns={"kode_kel_2025": "kode_kel", "rw_no": "rw"})
    raw = pd.read_csv(real_data / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv",
                      dtype=str, keep_default_na=False)
    tps = raw[["kode_tps", "kode_kel"]].assign(dpt=pd.to_numeric(raw["dpt"].replace("", None)).astype("Int32"))
    out, report = geocode_tps(tps, kel, rw[["kode_kel", "rw", "geometry"]].astype({"rw": "Int16"}))
    assert report.rows_loaded == len(out) == 30_766
    assert report.figures["location_source"]["kelurahan"] == 30_766
    assert report.figures["inside_own_kelurahan"] == 30_766
    own = kel.set_index("kode").geometry.loc[out["kode_kel"]].to_numpy()
    assert shapely.contains(own, out.geometry.to_numpy()).all()
    assert set(report.figures["flags"]) <= {"over_capacity"}
