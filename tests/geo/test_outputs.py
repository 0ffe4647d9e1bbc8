import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from geo.errors import InputError
from geo.outputs import write_frame


@pytest.fixture
def points():
    return gpd.GeoDataFrame({"kode_tps": ["3171011001001", "3171011001002"], "alamat": ["=HYPERLINK(1)", "Jl. A"]},
                            geometry=[Point(106.1234567, -6.1), None], crs=4326)


@pytest.mark.parametrize("ext", [".geojson", ".gpkg", ".csv", ".parquet"])
def test_each_format_round_trips(points, tmp_path, ext):
    path = write_frame(points, tmp_path / f"tps{ext}")
    if ext == ".csv":
        table = pd.read_csv(path, dtype=str)
        assert table.lon.tolist()[0] == "106.123457" and pd.isna(table.lat[1])
        assert table.alamat[0].startswith("'=")  # formula neutralised
    elif ext == ".parquet":
        assert gpd.read_parquet(path).kode_tps.tolist() == points.kode_tps.tolist()
    else:
        back = pyogrio.read_dataframe(path)
        assert back.crs.to_epsg() == 4326 and len(back) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_unknown_extension(points, tmp_path):
    with pytest.raises(InputError, match="unsupported output format"):
        write_frame(points, tmp_path / "tps.xlsx")


def test_failed_write_keeps_previous_file(points, tmp_path):
    path = write_frame(points, tmp_path / "tps.geojson")
    before = path.read_bytes()
    with pytest.raises(InputError):
        write_frame(pd.DataFrame({"a": [1]}), path)  # no geometry for GeoJSON
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tps.geojson"]
