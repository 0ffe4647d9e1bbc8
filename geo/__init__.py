"""petatps core: pure geospatial functions over GeoDataFrames. Never imports Flask."""

__version__ = "0.1.0"
