"""Fixtures and checks shared by the reliability tests: the CLI on each backend, store snapshots,
and the scanners for spreadsheet formulas and personal data in outputs."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from web.cli import main

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclasses.dataclass
class Cli:
    """The ``petatps`` command line on one backend (global options fixed), and its store."""

    backend: str
    home: Path
    db_url: str | None

    @property
    def args(self) -> list[str]:
        return ["--home", str(self.home)] + (["--db", self.db_url] if self.db_url else [])

    def __call__(self, *args: str, env: dict | None = None) -> Result:
        return CliRunner().invoke(main, [*self.args, *map(str, args)], env=env, catch_exceptions=True)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, (result.exit_code, result.stdout[-2000:], result.stderr[-2000:],
                                       result.exception)
        return result

    def store(self):
        from geo.store import open_store

        return open_store(self.db_url, self.home)

    def state(self) -> tuple[dict, str]:
        """(row counts per layer, data version) of the store."""
        store = self.store()
        try:
            return store.counts(), store.data_version()
        finally:
            store.close()


def _schema_url(pg_url: str, schema: str) -> str:
    return f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}"


def drop_schema(pg_url: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["gpkg", "postgis"])
def cli(request, tmp_path) -> Cli:
    """The CLI over a fresh store of each backend (a GeoPackage under ``tmp_path``, or a PostGIS schema)."""
    if request.param == "gpkg":
        return Cli("gpkg", tmp_path / "home", None)
    pg_url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    return Cli("postgis", tmp_path / "home", _schema_url(pg_url, schema))


@pytest.fixture(scope="module", params=["gpkg", "postgis"])
def module_cli(request, tmp_path_factory):
    """Like :func:`cli`, shared by the tests of one module (schema dropped at the end)."""
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    if request.param == "gpkg":
        yield Cli("gpkg", home, None)
        return
    pg_url = request.getfixturevalue("pg_url")
    schema = "t_rel_" + uuid.uuid4().hex[:10]
    yield Cli("postgis", home, _schema_url(pg_url, schema))
    drop_schema(pg_url, schema)


def assert_one_line_error(result: Result, *needles: str) -> str:
    """Exit 1, exactly one stderr line ``petatps: error: ...`` holding every needle, no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.stdout[-1000:], result.stderr[-1000:], result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines[:10]
    line = lines[0]
    assert line.startswith("petatps: error: "), line
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle.lower() in line.lower(), (needle, line)
    return line


def coverage_files(cli: Cli, out: Path) -> None:
    """The coverage files of the store (``petatps coverage`` once the CLI has it, else geo.coverage)."""
    if "coverage" in main.commands:
        cli.ok("coverage", "--out", out)
        return
    from geo.coverage import coverage
    from geo.coverage_report import write_coverage

    store = cli.store()
    try:
        result = coverage(store.iter_read("voters"), store.read("tps"), store.read("rt"), store.read("rw"),
                          store.read("kelurahan"))
        write_coverage(result, out, data_version=store.data_version())
    finally:
        store.close()


# --- output scanners -------------------------------------------------------------------------------

def formula_cells(path: Path) -> list[tuple[int, str, str]]:
    """Cells of a CSV file a spreadsheet would run as a formula: (row, column, cell)."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    found = []
    for row_no, row in enumerate(reader, start=2):
        for col, cell in zip(header + [""] * len(row), row):
            if cell[:1] in FORMULA_START and not _number(cell):
                found.append((row_no, col, cell[:60]))
    for col in header:
        if col[:1] in FORMULA_START and not _number(col):
            found.append((1, col, col[:60]))
    return found


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


SIXTEEN_DIGITS = re.compile(rb"(?<![0-9A-Za-z.])[0-9]{16}(?![0-9A-Za-z])")
