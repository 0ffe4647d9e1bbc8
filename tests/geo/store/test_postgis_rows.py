"""geo.store.postgis_rows: COPY text, fetched rows and tile plans (no database needed)."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo import geojson, tiles
from geo.errors import InputError, NotFoundError
from geo.schema import LAYERS, conform
from geo.store import postgis_rows as rows


def _kelurahan() -> gpd.GeoDataFrame:
    return conform(gpd.GeoDataFrame({"kode": ["3171011001", "3171011002"], "nama": ["A", ""],
                                     "kode_kec": ["317101", None]},
                                    geometry=[shapely.box(106.80, -6.18, 106.82, -6.16), None], crs=4326), "kelurahan")


def test_csv_keeps_null_and_empty_apart_and_promotes_polygons():
    text = rows.csv_bytes(_kelurahan(), "kelurahan").to_pybytes().decode()
    first, second = csv.reader(io.StringIO(text))
    assert first[:4] == ["3171011001", "A", "317101", ""] and second[:3] == ["3171011002", "", ""]
    assert '"",' in text.splitlines()[1] and ',,' in text.splitlines()[1]  # '' quoted, NULL bare
    assert shapely.from_wkb(bytes.fromhex(first[-1])).geom_type == "MultiPolygon"


def test_fetched_rows_come_back_conforming():
    box = shapely.box(106.80, -6.18, 106.82, -6.16)
    fetched = [("3171011001", "A", "317101", "3171", shapely.to_wkb(box)), ("3171011002", "", None, None, None)]
    back = rows.to_frame(fetched, "kelurahan")
    assert list(back.columns) == LAYERS["kelurahan"].all_columns and back.crs.to_epsg() == 4326
    assert back.geometry.iloc[0].equals(box) and back.geometry.iloc[1] is None
    assert back["nama"].iloc[1] == "" and pd.isna(back["kode_kec"].iloc[1])
    assert rows.to_frame([], "voters").empty


def test_tile_plan_checks_and_parameters():
    plan = rows.tile_plan("tps", 14, 13053, 8473, "mvt", None, "3171")
    params = plan.params("features")
    b = tiles.BUFFER / tiles.EXTENT
    assert (params["x0"], params["x1"], params["y0"], params["y1"]) == (13053 - b, 13054 + b, 8473 - b, 8474 + b)
    assert params["n"] == 2.0 ** 14 and params["keep"] is False and params["kode"] == "3171"
    assert plan.params("grid")["em"] == pytest.approx(b + 1e-6 + 1 / tiles.GRID_CELLS)
    assert plan.source == "features" and rows.tile_plan("tps", 12, 0, 0, "mvt", None, None).source == "kelurahan"
    assert rows.tile_plan("rw", 12, 0, 0, "geojson", None, None).params("features")["keep"] is True


@pytest.mark.parametrize("args, error", [
    (("voters", 1, 0, 0, "mvt", None, None), NotFoundError), (("tps", 1, 2, 0, "mvt", None, None), InputError),
    (("tps", 1, 0, 0, "pbf", None, None), InputError), (("tps", 1, 0, 0, "mvt", None, "31%"), InputError)])
def test_tile_plan_refusals(args, error):
    with pytest.raises(error):
        rows.tile_plan(*args)


def test_property_names_are_the_sorted_allow_lists():
    assert rows.property_names("tps", "features") == tuple(sorted(tiles.TILE_PROPERTIES["tps"]))
    assert rows.property_names("kelurahan", "features") == tuple(
        sorted(geojson.PROPERTIES["kelurahan"] + geojson.STAT_COLUMNS))
    assert rows.property_names("tps", "grid") == ("dpt_known", "dpt_total", "kind", "tps_count")
    assert "voters" not in rows.TILE_LAYERS and rows.float_columns("tps") == {"precision_m"}


def test_selection_marks_capped_tiles():
    plan = rows.tile_plan("tps", 14, 0, 0, "mvt", tiles.TileOptions(feature_cap=100), None)
    assert rows.selection(plan, "grid", [3, 5], 101) == tiles.TileSelection("tps", 14, 0, 0, (3, 5), "grid", True, 101)
    assert not rows.selection(plan, "features", [1], 100).capped


def test_report_json_and_timestamps():
    assert rows.json_text({"n": pd.NA, 1: "x"}).startswith("{")
    assert rows.timestamp("2024-02-14T07:00:00+07:00").hour == 7 and rows.timestamp("besok") is None
