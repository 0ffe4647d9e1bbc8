"""The demo: generate a city, load it and run every pipeline step that exists into a store."""

from __future__ import annotations

import logging
from typing import Any

from geo.imports import import_boundaries, import_dpt, import_tps
from geo.settings import Settings
from geo.store.base import Store

log = logging.getLogger(__name__)


def run_demo(store: Store, settings: Settings, *, voters: int = 20_000, seed: int = 0,
             kode: str | None = "3171") -> dict[str, Any]:
    """Generate a demo city under ``settings.home / 'demo-city'`` and load it into ``store``.

    Returns a summary: one entry per step with its row accounting, plus the store's counts.
    """
    from geo.codes import parse_wilayah
    from geo.generate import generate_city

    out = settings.home / "demo-city"
    reports_dir = settings.home / "reports"
    gen = generate_city(out, voters=voters, seed=seed, kode=parse_wilayah(kode) if kode else None)
    steps = [_summary(gen)]
    for level in ("kota", "kecamatan", "kelurahan", "rw", "rt"):
        steps.append(_summary(import_boundaries(store, out / f"{level}.geojson", level, reports_dir=reports_dir)))
    steps.append(_summary(import_tps(store, out / "tps.csv", reports_dir=reports_dir)))
    steps.append(_summary(import_dpt(store, out / "dpt.csv", key=settings.nik_key_bytes, reports_dir=reports_dir)))
    from geo.steps import geocode_step

    steps.append(_summary(geocode_step(store, max_per_tps=settings.max_per_tps, reports_dir=reports_dir)[1]))
    from geo.steps import assign_step, coverage_step, export_step

    steps.append(_summary(assign_step(store, max_per_tps=settings.max_per_tps,
                                      out=settings.home / "assignments.csv")))
    steps.append(_summary(coverage_step(store, settings.home / "coverage", max_per_tps=settings.max_per_tps,
                                        basemap_url=settings.basemap_url,
                                        basemap_attribution=settings.basemap_attribution)))
    steps.append(_summary(export_step(store, "bundle", settings.home / "bundle", zooms=(10, 15),
                                      basemap_url=settings.basemap_url,
                                      basemap_attribution=settings.basemap_attribution)))
    return {"demo_city": str(out), "store": store.describe(), "steps": steps, "counts": store.counts(),
            "data_version": store.data_version()}


def _summary(report) -> dict[str, Any]:
    return {"step": report.kind, "source": report.source, "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded, "rows_rejected": report.rows_rejected}
