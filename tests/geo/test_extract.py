"""Officer downloads: TPS CSV (safe cells, lat/lon) and a GeoPackage of the area's layers."""

from __future__ import annotations

import io

import pandas as pd
import pyogrio

from geo.extract import TPS_CSV_COLUMNS, area_gpkg, tps_csv
from tests.web import city


def test_tps_csv():
    tps = city.frames()["tps"]
    tps.loc[0, "alamat"] = "=HYPERLINK(\"http://x\")"
    frame = pd.read_csv(io.BytesIO(tps_csv(tps.iloc[::-1])), dtype=str, keep_default_na=False)
    assert frame.columns.tolist() == TPS_CSV_COLUMNS
    assert frame["kode_tps"].tolist() == sorted(tps["kode_tps"])
    assert frame.loc[0, "alamat"].startswith("'=")
    assert frame.loc[0, ["lat", "lon"]].tolist() == ["-6.247", "106.8025"]
    assert frame.loc[2, ["lat", "lon"]].tolist() == ["", ""] and frame.loc[2, "flags"] == "no_location"
    assert "voter" not in ",".join(frame.columns) and "nik" not in ",".join(frame.columns)


def test_area_gpkg(tmp_path):
    f = city.frames()
    data = area_gpkg({"kelurahan": f["kelurahan"], "tps": f["tps"], "rw": f["rw"].iloc[0:0]})
    path = tmp_path / "a.gpkg"
    path.write_bytes(data)
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"kelurahan": "MultiPolygon", "tps": "Point"}
    tps = pyogrio.read_dataframe(path, layer="tps")
    assert tps.crs.to_epsg() == 4326 and len(tps) == 9 and "flags" in tps and "lat_src" not in tps
    assert area_gpkg({}) == b""
