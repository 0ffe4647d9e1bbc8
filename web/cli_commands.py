"""The ``petatps`` commands of the foundation: init, status, generate, load, demo."""

from __future__ import annotations

from pathlib import Path

import click

from web.cli import Env, command, emit, main

LEVELS = click.Choice(["kota", "kecamatan", "kelurahan", "rw", "rt"])
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@command(main, "init")
def init_cmd(env: Env):
    """Create the store's schema (idempotent)."""
    store = env.store
    return {"store": store.describe(), "initialised": True, "data_version": store.data_version()}


@command(main, "status")
@click.option("--runs", "n_runs", default=5, show_default=True, help="How many recent import reports to show.")
def status_cmd(env: Env, n_runs: int):
    """What the store holds: rows per layer, data version, last import reports."""
    store = env.store
    runs = [{k: r.get(k) for k in ("kind", "source", "finished", "rows_read", "rows_loaded", "rows_rejected")}
            for r in store.runs(limit=n_runs)]
    return {"store": store.describe(), "data_version": store.data_version(), "counts": store.counts(),
            "last_runs": runs}


@command(main, "generate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the demo city's input files (and truth/) into.")
@click.option("--voters", default=50_000, show_default=True, type=click.IntRange(0, 300_000_000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--kode", default=None, help="Limit to a kota/kecamatan/kelurahan code, e.g. 3171.")
@click.option("--clean", is_flag=True, help="No deliberately dirty rows.")
@click.option("--national", is_flag=True, help="A synthetic multi-province country instead of Jakarta.")
@click.option("--provinces", default=3, show_default=True, type=click.IntRange(1, 38))
@click.option("--kab-per-province", default=4, show_default=True, type=click.IntRange(1, 99))
@click.option("--kel-per-kab", default=10, show_default=True, type=click.IntRange(1, 999))
def generate_cmd(env: Env, out: Path, voters: int, seed: int, kode: str | None, clean: bool, national: bool,
                 provinces: int, kab_per_province: int, kel_per_kab: int):
    """Generate a deterministic demo city over Jakarta's real kelurahan (never real people)."""
    from geo.codes import parse_wilayah
    from geo.generate import generate_city

    if national:
        from geo.generate_national import generate_national

        return generate_national(out, provinces=provinces, kab_per_province=kab_per_province,
                                 kel_per_kab=kel_per_kab, voters=voters, seed=seed, dirty=not clean)

    return generate_city(out, voters=voters, seed=seed, kode=parse_wilayah(kode) if kode else None,
                         dirty=not clean)


@main.group("load")
def load_group():
    """Load boundaries, TPS lists and DPT voter lists into the store."""


@command(load_group, "boundaries")
@click.argument("file", type=EXISTING_FILE)
@click.option("--level", type=LEVELS, required=True, help="Admin level the file holds.")
@click.option("--merge-pieces", is_flag=True, help="Dissolve areas split into pieces under one key.")
def load_boundaries_cmd(env: Env, file: Path, level: str, merge_pieces: bool):
    """Load admin areas from GeoJSON, GeoPackage or Shapefile (any known CRS)."""
    from geo.imports import import_boundaries

    return import_boundaries(env.store, file, level, reports_dir=env.reports_dir, merge_pieces=merge_pieces)


@command(load_group, "tps")
@click.argument("file", type=EXISTING_FILE)
def load_tps_cmd(env: Env, file: Path):
    """Load a TPS list (CSV or XLSX, KPU columns; optional alamat, rt, rw, lat, lon)."""
    from geo.imports import import_tps

    return import_tps(env.store, file, reports_dir=env.reports_dir)


@command(load_group, "dpt")
@click.argument("file", type=EXISTING_FILE)
@click.option("--chunksize", default=200_000, show_default=True, type=click.IntRange(1000, 5_000_000))
def load_dpt_cmd(env: Env, file: Path, chunksize: int):
    """Stream a DPT voter list (CSV); NIKs are stored only as keyed hashes."""
    from geo.imports import import_dpt

    return import_dpt(env.store, file, key=env.settings.nik_key_bytes, reports_dir=env.reports_dir,
                      chunksize=chunksize)


@command(main, "demo")
@click.option("--voters", default=20_000, show_default=True, type=click.IntRange(0, 300_000_000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--kode", default="3171", show_default=True, help="Area of the demo city (all DKI: 31).")
@click.option("--no-serve", is_flag=True, help="Do not start the web server at the end.")
def demo_cmd(env: Env, voters: int, seed: int, kode: str, no_serve: bool):
    """Generate a demo city, load it and run every pipeline step into the chosen store."""
    from geo.demo import run_demo

    summary = run_demo(env.store, env.settings, voters=voters, seed=seed, kode=kode)
    if no_serve:
        return summary
    emit(summary, False)
    serve(env, "127.0.0.1", 5000)
    return None


@command(main, "geocode")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write every TPS to FILE (.geojson, .gpkg, .csv with lon/lat, .parquet).")
@click.option("--candidates", type=EXISTING_FILE, default=None,
              help="Points file of candidate sites (schools, halls, kantor lurah) with a name column.")
@click.option("--tolerance-m", default=100.0, show_default=True, type=click.FloatRange(0, 5000),
              help="How far given coordinates may lie outside their kelurahan and still be used (metres).")
@click.option("--max-per-tps", default=None, type=click.IntRange(1, 10_000),
              help="Voters-per-TPS cap for the over-capacity flag (default $PETATPS_MAX_PER_TPS or 300).")
def geocode_cmd(env: Env, out: Path | None, candidates: Path | None, tolerance_m: float, max_per_tps: int | None):
    """Place every TPS (coordinates › RT › RW › named place › kelurahan) with its precision and flags."""
    from geo.steps import geocode_step

    _placed, report = geocode_step(env.store, candidates=candidates, tolerance_m=tolerance_m,
                                   max_per_tps=max_per_tps or env.settings.max_per_tps, out=out,
                                   reports_dir=env.reports_dir)
    return report


@command(main, "export")
@click.argument("kind", type=click.Choice(["maps", "geojson", "tiles", "bundle"]))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("--kode", default=None, help="Limit to a kota/kecamatan/kelurahan code, e.g. 3171.")
@click.option("--zoom", "zoom", default=None, metavar="MIN-MAX", help="TPS tile zooms, e.g. 10-16 (default 10-17).")
@click.option("--format", "formats", default="geojson,mvt", show_default=True,
              type=click.Choice(["geojson", "mvt", "geojson,mvt", "mvt,geojson"]), help="Tile formats.")
def export_cmd(env: Env, kind: str, out: Path, kode: str | None, zoom: str | None, formats: str):
    """Export Leaflet maps, GeoJSON, tiles (GeoJSON/MVT + TileJSON) or a static bundle to host as is."""
    from geo.codes import parse_wilayah
    from geo.steps import export_step

    return export_step(env.store, kind, out, kode=parse_wilayah(kode) if kode else None, zooms=_zooms(zoom),
                       formats=tuple(formats.split(",")), basemap_url=env.settings.basemap_url,
                       basemap_attribution=env.settings.basemap_attribution)


def _zooms(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        lo, hi = (int(v) for v in text.split("-"))
    except ValueError:
        raise click.BadParameter(f"expected MIN-MAX such as 10-16, got {text!r}", param_hint="--zoom") from None
    if not 0 <= lo <= hi <= 22:
        raise click.BadParameter(f"zooms must satisfy 0 <= MIN <= MAX <= 22, got {text!r}", param_hint="--zoom")
    return lo, hi


@command(main, "serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-warm", is_flag=True, help="Do not build the data cache before serving.")
def serve_cmd(env: Env, host: str, port: int, no_warm: bool):
    """Serve the resident, officer, API, tile and embed pages (development server).

    For production run gunicorn: gunicorn -c web/gunicorn.conf.py "web.app:create_app()".
    """
    serve(env, host, port, warm=not no_warm)


def serve(env: Env, host: str, port: int, *, warm: bool = True) -> None:
    """Run the development server on ``host:port`` until interrupted."""
    from web.app import create_app
    from web.config import WebConfig

    app = create_app(WebConfig.from_env(core=env.settings))
    if warm:
        from web import data

        data.warm(app)
    click.echo(f"petatps: serving {env.store.describe()} on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    click.echo('petatps: for production use gunicorn -c web/gunicorn.conf.py "web.app:create_app()"', err=True)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.group("officer")
def officer_group():
    """Officer (PPK/PPS) accounts, each scoped to a kota, kecamatan or kelurahan code."""


@command(officer_group, "add")
@click.argument("username")
@click.option("--kode", required=True, help="Area the officer may see: kota, kecamatan or kelurahan code.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given (never put it on a shared shell history).")
@click.option("--replace", is_flag=True, help="Replace an existing account of that name.")
def officer_add_cmd(env: Env, username: str, kode: str, password: str, replace: bool):
    """Create an officer account (password hashed with scrypt)."""
    from geo.accounts import accounts_path, add_account
    from geo.codes import parse_wilayah

    account = add_account(accounts_path(env.settings.home), username, password, parse_wilayah(kode),
                          replace=replace)
    return {"username": account.username, "kode": account.kode, "created": True}


@command(officer_group, "list")
def officer_list_cmd(env: Env):
    """List officer accounts and their areas."""
    from geo.accounts import accounts_path, list_accounts

    return {"accounts": [{"username": a.username, "kode": a.kode}
                         for a in list_accounts(accounts_path(env.settings.home))]}


@command(officer_group, "remove")
@click.argument("username")
def officer_remove_cmd(env: Env, username: str):
    """Delete an officer account."""
    from geo.accounts import accounts_path, remove_account

    remove_account(accounts_path(env.settings.home), username)
    return {"username": username, "removed": True}


@command(main, "assign")
@click.option("--mode", type=click.Choice(["nearest", "capacity"]), default="nearest", show_default=True,
              help="capacity: also plan whole-KK assignments under the cap, within each kelurahan.")
@click.option("--max-per-tps", default=None, type=click.IntRange(1, 10_000),
              help="Voters-per-TPS cap (default $PETATPS_MAX_PER_TPS or 300; Pilkada 2024: 600).")
@click.option("--margin-m", default=500.0, show_default=True, type=click.FloatRange(0, 100_000),
              help="Flag voters whose DPT TPS is this much farther than their nearest TPS (metres).")
@click.option("--network", type=EXISTING_FILE, default=None, help="Road lines file for walking distances.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the per-voter result to FILE (.csv or .parquet; no personal fields).")
@click.option("--kode", default=None, help="Limit to voters of a kota/kecamatan/kelurahan code.")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Run partitioned by region code on a local Dask cluster of N worker processes.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run partitioned on a dask.distributed scheduler (tcp://host:8786); see docs/scaling.md.")
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --workers/--scheduler: folder for the exported input partitions (shared storage).")
def assign_cmd(env: Env, mode: str, max_per_tps: int | None, margin_m: float, network: Path | None,
               out: Path | None, kode: str | None, workers: int | None, scheduler: str | None,
               dataset: Path | None):
    """Each voter's TPS: the DPT's ("your TPS") and the nearest ones (an analysis), with distances.

    With --workers or --scheduler, --out is a folder of partitioned Parquet (kode_kab=.../part-*.parquet).
    """
    from geo.codes import parse_wilayah
    from geo.steps import assign_batch_step, assign_step

    if workers or scheduler:
        if mode != "nearest" or network or kode:
            raise click.UsageError("--workers/--scheduler run the nearest mode on the whole store "
                                   "(no --mode capacity, --network or --kode)")
        if not out:
            raise click.UsageError("--workers/--scheduler need --out DIR for the partitioned results")
        return assign_batch_step(env.store, out, dataset=dataset, scheduler=scheduler, workers=workers,
                                 margin_m=margin_m)
    return assign_step(env.store, mode=mode, max_per_tps=max_per_tps or env.settings.max_per_tps,
                       margin_m=margin_m, network=network, out=out, kode=parse_wilayah(kode) if kode else None)


@command(main, "coverage")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for tps.csv, gaps.csv, coverage.gpkg, coverage_*.geojson and index.html.")
@click.option("--kode", default=None, help="Limit to a kota/kecamatan/kelurahan code, e.g. 3172.")
@click.option("--threshold-m", default=500.0, show_default=True, type=click.FloatRange(1, 100_000),
              help="Voters farther than this from any TPS are a gap (metres).")
@click.option("--max-per-tps", default=None, type=click.IntRange(1, 10_000),
              help="Voters-per-TPS cap (default $PETATPS_MAX_PER_TPS or 300; Pilkada 2024: 600).")
@click.option("--candidates", type=EXISTING_FILE, default=None,
              help="Points file of candidate TPS sites with a name column (else RT points are used).")
@click.option("--stages", type=EXISTING_FILE, default=None,
              help="CSV of population/DPS/DPT counts per kelurahan (kode_kel) or RW (kode_kel, rw).")
@click.option("--network", type=EXISTING_FILE, default=None, help="Road lines file for walking distances.")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Run partitioned by region code on a local Dask cluster of N worker processes (same files).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run partitioned on a dask.distributed scheduler (tcp://host:8786); see docs/scaling.md.")
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --workers/--scheduler: folder for the exported input partitions (shared storage).")
@click.option("--max-voters", type=click.IntRange(1), default=None,
              help="With --workers/--scheduler: most voters per partition (bounds a worker's memory; 1,000,000).")
def coverage_cmd(env: Env, out: Path, kode: str | None, threshold_m: float, max_per_tps: int | None,
                 candidates: Path | None, stages: Path | None, network: Path | None, workers: int | None,
                 scheduler: str | None, dataset: Path | None, max_voters: int | None):
    """Coverage gaps for officers: TPS load, RT/RW distances, gaps, siting suggestions, a report page.

    With --workers or --scheduler the analysis runs partitioned (OUT-partitions/, input in OUT-dataset/)
    and writes the same files to OUT.
    """
    from geo.codes import parse_wilayah
    from geo.steps import coverage_step

    if (workers or scheduler) and (kode or network):
        raise click.UsageError("--workers/--scheduler run coverage on the whole store (no --kode or --network)")
    return coverage_step(env.store, out, kode=parse_wilayah(kode) if kode else None, threshold_m=threshold_m,
                         max_per_tps=max_per_tps or env.settings.max_per_tps, candidates=candidates,
                         stages=stages, network=network, basemap_url=env.settings.basemap_url,
                         basemap_attribution=env.settings.basemap_attribution, workers=workers,
                         scheduler=scheduler, dataset=dataset, max_voters=max_voters)


@command(main, "purge")
@click.option("--election", required=True, help="Identifier of the election whose voter data is deleted, "
              "e.g. pemilu2024 (recorded in the report).")
def purge_cmd(env: Env, election: str):
    """Delete voter-level data (voters, assignments, DPT rejected-rows files) after an election."""
    from geo.purge import purge_voters

    return purge_voters(env.store, election=election, reports_dir=env.reports_dir)
