"""The ``petatps`` command line: thin over ``geo/``.

Every command takes ``--json`` (its report as JSON on stdout). Exit status: 0 success (rejected rows
are reported, not fatal), 1 fatal data/connection error, 2 usage error.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Callable

import click

from geo.errors import PetatpsError
from geo.settings import Settings

log = logging.getLogger("petatps")


class Env:
    """What every command gets: settings and a lazily opened store."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from geo.store import open_store

            self._store = open_store(self.settings.db_url, self.settings.home)
            self._store.init()
        return self._store

    @property
    def reports_dir(self) -> Path:
        return self.settings.home / "reports"

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def emit(result: Any, as_json: bool) -> None:
    """Print a report (object with to_dict/render_text, or a dict) as text or JSON."""
    if as_json:
        data = result.to_dict() if hasattr(result, "to_dict") else result
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    elif hasattr(result, "render_text"):
        click.echo(result.render_text())
    else:
        click.echo(_render_dict(result))


def _render_dict(data: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(data, dict):
        lines = []
        for k, v in data.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.append(_render_dict(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {v}")
        return "\n".join(lines)
    if isinstance(data, list):
        return "\n".join(_render_dict(v, indent) if isinstance(v, dict) else f"{pad}- {v}" for v in data)
    return f"{pad}{data}"


def command(group: click.Group, name: str | None = None, **kwargs) -> Callable:
    """Register a command with ``--json`` and the domain-error → exit-status mapping."""

    def wrap(fn: Callable) -> Callable:
        @group.command(name, **kwargs)
        @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
        @click.pass_obj
        @functools.wraps(fn)
        def run(env: Env, as_json: bool, **params):
            try:
                result = fn(env, **params)
                if result is not None:
                    emit(result, as_json)
            except PetatpsError as exc:
                _fail(str(exc), type(exc).__name__, as_json)
            except (OSError, MemoryError) as exc:
                _fail(f"{type(exc).__name__}: {exc}", type(exc).__name__, as_json)
            finally:
                env.close()

        return run

    return wrap


def _terminated(signum, frame) -> None:
    click.echo("petatps: terminated (SIGTERM); nothing of the interrupted step was kept", err=True)
    raise SystemExit(128 + signum)


def _fail(message: str, kind: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": kind, "message": message}, ensure_ascii=False))
    click.echo(f"petatps: error: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", default=None, metavar="URL",
              help="PostGIS URL (postgresql://user@host/db); default $PETATPS_DB, else the embedded GeoPackage.")
@click.option("--home", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the embedded store and reports; default $PETATPS_HOME or ./petatps-data.")
@click.option("-v", "--verbose", count=True, help="More log output on stderr.")
@click.version_option(package_name="petatps")
@click.pass_context
def main(ctx: click.Context, db: str | None, home: Path | None, verbose: int) -> None:
    """petatps: where every TPS is, which TPS serves each voter, and where coverage falls short."""
    logging.basicConfig(level=logging.WARNING - 10 * verbose, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM unwinds like an error: open transactions roll back and half-written report files are removed.
    signal.signal(signal.SIGTERM, _terminated)
    try:
        settings = Settings.from_env(db_url=db, home=home)
    except PetatpsError as exc:
        click.echo(f"petatps: error: {exc}", err=True)
        sys.exit(2)
    ctx.obj = Env(settings)


from web import cli_commands  # noqa: E402,F401  (registers the commands on ``main``)
