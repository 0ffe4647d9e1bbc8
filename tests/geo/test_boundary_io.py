"""read_layer: formats, layer choice, CRS handling and zip safety, on small real files."""

from __future__ import annotations

import struct
import zipfile

import geopandas as gpd
import pytest
import shapely

from geo import boundary_io
from geo.boundary_io import read_layer
from geo.errors import CRSError, EmptyInputError, InputError

from tests.conftest import FIXTURES

FX = FIXTURES / "boundaries"


@pytest.fixture
def two_layer_gpkg(tmp_path):
    """A GeoPackage in EPSG:32748 with a kecamatan layer first and a kelurahan layer second."""
    kel = gpd.read_file(FX / "kelurahan_utm.geojson")
    kec = kel.dissolve(by="kode_kec", as_index=False)[["kode_kec", "geometry"]]
    path = tmp_path / "two.gpkg"
    kec.to_file(path, layer="kecamatan")
    kel.to_file(path, layer="kelurahan")
    return path


def test_geojson_in_degrees_needs_no_note():
    frame, notes = read_layer(FX / "kelurahan_dotted.geojson")
    assert frame.crs.to_epsg() == 4326 and len(frame) == 4 and notes == []
    assert list(frame.index) == [0, 1, 2, 3]


def test_gpkg_first_layer_by_default_and_named_layer(two_layer_gpkg):
    frame, notes = read_layer(two_layer_gpkg)
    assert len(frame) == 2 and "kode_kec" in frame
    assert any("read layer 'kecamatan'" in n and "file.gpkg::layer" in n for n in notes)
    assert "reprojected from EPSG:32748 to EPSG:4326" in notes
    frame, _ = read_layer(f"{two_layer_gpkg}::kelurahan")
    assert len(frame) == 4 and frame.crs.to_epsg() == 4326
    assert frame.total_bounds == pytest.approx([106.80, -6.20, 106.82, -6.18], abs=1e-7)


def test_gpkg_unknown_layer_lists_the_layers(two_layer_gpkg):
    with pytest.raises(InputError, match="no layer 'rw' in the GeoPackage; layers: kecamatan, kelurahan"):
        read_layer(f"{two_layer_gpkg}::rw")


def test_other_geographic_crs_is_reprojected(tmp_path):
    path = tmp_path / "dgn95.geojson"
    gpd.read_file(FX / "kelurahan_dotted.geojson").to_crs(4755).to_file(path)
    frame, notes = read_layer(path)
    assert frame.crs.to_epsg() == 4326 and "reprojected from EPSG:4755 to EPSG:4326" in notes


@pytest.mark.parametrize("name, content, error, message", [
    ("a.kml", b"<kml/>", InputError, "unsupported file type '.kml'"),
    ("a.gpkg", b"{}", InputError, "not a GeoPackage"),
    ("a.shp", b"\x00" * 200, InputError, "not a Shapefile"),
    ("a.json", b"  \n\t ", EmptyInputError, "only whitespace"),
    ("a.json", b'{"not": "geojson"}', InputError, "not a readable geodata file"),
    ("a.geojson", b'<OGRVRTDataSource><OGRVRTLayer name="x"/></OGRVRTDataSource>', InputError,
     "does not start with"),
    ("a.zip", b"PK not really", InputError, "not a readable zip archive"),
])
def test_not_geodata(tmp_path, name, content, error, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        read_layer(path)


def test_utf8_bom_geojson(tmp_path):
    path = tmp_path / "bom.geojson"
    path.write_bytes(b"\xef\xbb\xbf" + (FX / "kelurahan_dotted.geojson").read_bytes())
    frame, _ = read_layer(path)
    assert len(frame) == 4


# --- CRS ---------------------------------------------------------------------------------------

def test_shapefile_without_prj_in_degrees_is_assumed_4326():
    frame, notes = read_layer(FX / "kelurahan_noprj.zip")
    assert frame.crs.to_epsg() == 4326
    assert "no CRS declared; every coordinate is within lon/lat range, so EPSG:4326 was assumed" in notes


@pytest.mark.parametrize("name, message", [
    ("utm_noprj.zip", "no CRS declared and the coordinates"),
    ("utm_as_degrees.geojson", "declares WGS 84 \\(degrees\\) but the coordinates"),
])
def test_metres_without_a_metric_crs_are_refused(name, message):
    with pytest.raises(CRSError, match=message) as info:
        read_layer(FX / name)
    assert name in str(info.value)


# --- zip safety --------------------------------------------------------------------------------

def test_zipped_shapefile_in_a_folder():
    frame, notes = read_layer(FX / "kelurahan_shp_utm.zip")
    assert len(frame) == 4 and notes[0] == "read kel.shp from the zip archive"


@pytest.mark.parametrize("name, message", [
    ("traversal.zip", "unsafe file name in zip"),
    ("bomb.zip", "expands 1028:1 \\(limit 100:1\\)"),
    ("two_shapefiles.zip", "expected exactly one shapefile \\(.shp\\) in the zip, found 2"),
])
def test_unsafe_or_ambiguous_zips(name, message):
    with pytest.raises(InputError, match=message):
        read_layer(FX / name)


@pytest.mark.parametrize("member", ["/etc/kel.shp", "C:/kel.shp", "a\\..\\..\\kel.shp"])
def test_absolute_and_backslash_members_refused(tmp_path, member):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, b"x")
    with pytest.raises(InputError, match="unsafe file name"):
        read_layer(path)


def test_total_size_limit(monkeypatch):
    monkeypatch.setattr(boundary_io, "MAX_UNZIPPED_BYTES", 1000)
    with pytest.raises(InputError, match=r"zip would expand to 2,227 bytes \(limit 1,000\)"):
        read_layer(FX / "kelurahan_noprj.zip")


def test_member_understating_its_size_is_not_inflated_past_it(tmp_path):
    """A header that lies about the size: zipfile stops at the declared size and the CRC fails."""
    src = zipfile.ZipFile(FX / "kelurahan_noprj.zip")
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info) if not info.filename.endswith(".dbf") else bytes(900_000)
            zf.writestr(info.filename, data)
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := raw.find(signature, start)) >= 0:
            name_len = struct.unpack_from("<H", raw, start + (26 if signature == b"PK\x03\x04" else 28))[0]
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if raw[name_at:name_at + name_len].endswith(b".dbf"):
                struct.pack_into("<I", raw, start + offset, 1000)
            start += 4
    path.write_bytes(bytes(raw))
    assert zipfile.ZipFile(path).getinfo("kel.dbf").file_size == 1000
    with pytest.raises(InputError, match="cannot unpack zip member"):
        read_layer(path)


def test_extracted_files_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(boundary_io.tempfile, "tempdir", str(tmp_path))
    frame, _ = read_layer(FX / "kelurahan_noprj.zip")
    assert len(frame) == 4 and list(tmp_path.iterdir()) == []
    assert shapely.is_valid(frame.geometry.array).all()
