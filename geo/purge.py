"""Delete voter-level data after an election (UU 27/2022 PDP: keep personal data no longer than needed).

After an election the DPT-derived rows have served their purpose. :func:`purge_voters` removes every
voter-level row the store holds — the ``voters`` layer (keyed NIK/KK hashes, masked names, birth
years, addresses) and the ``assignments`` layer (one row per voter) — and, given the reports folder,
the rejected-row files of DPT loads (masked, but still one line per person: birth date, address) and
the row-level lists inside the DPT load reports — the report files and the runs recorded in the store
(``Store.redact_runs``) — which are kept as counts only. Public layers
(boundaries, TPS and their DPT totals) stay. The purge itself is recorded as a run: which election,
when, how many rows.

A store holds the DPT of one election at a time (a new DPT replaces the voters of the kelurahan it
covers), so ``election`` names what is being purged for the record; it does not select rows. Files a
user wrote elsewhere (``petatps assign --out``) are outside petatps and are listed as a reminder only.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from geo.errors import InputError
from geo.report import Report
from geo.store.base import Store, redacted_report

log = logging.getLogger(__name__)

VOTER_LAYERS = ("assignments", "voters")      # assignments first: never a plan without its voters' rows
_ELECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DPT_REJECTED = "*-dpt-*.rejected.csv"
_DPT_REPORT = "*-dpt-*.report.json"
_DPT_RUN = "load dpt"                         # the kind of geo.voters.load_dpt's report


def purge_voters(store: Store, *, election: str | None = None, reports_dir: str | Path | None = None) -> Report:
    """Delete all voter-level data from ``store`` (and the DPT row-level reports under ``reports_dir``).

    Parameters
    ----------
    store : Store
        Either backend; its ``voters`` and ``assignments`` layers are emptied with ``Store.purge``.
    election : str, optional
        Identifier of the election whose data is purged (e.g. ``pemilu2024``), recorded in the report:
        letters, digits, ``.``, ``_``, ``-`` (at most 64 characters).
    reports_dir : path, optional
        The import reports folder (``<home>/reports``): DPT ``*.rejected.csv`` files are deleted and
        the rejection/warning lists of DPT ``*.report.json`` files are removed (their counts stay).

    Returns
    -------
    Report
        ``kind="purge voters"``; ``figures["deleted"]`` holds rows deleted per layer,
        ``figures["files_deleted"]``/``["reports_redacted"]`` the report files handled and
        ``figures["runs_redacted"]`` the DPT load runs of the store whose lists were removed. Idempotent:
        purging again deletes nothing and still succeeds.

    Raises
    ------
    InputError
        ``election`` is not a plain identifier.
    StoreError
        The store refused the delete (nothing is half-purged within a layer: each layer is one
        transaction; running the purge again completes it).
    """
    report = Report("purge voters", source=store.describe())
    if election is not None:
        if not isinstance(election, str) or not _ELECTION.fullmatch(election):
            raise InputError("election must be an identifier such as pemilu2024 (letters, digits, '.', '_', '-'; "
                             "at most 64 characters)", field="election", value=election)
        report.figures["election"] = election
    deleted = {layer: int(store.purge(layer)) for layer in VOTER_LAYERS}
    report.figures["deleted"] = deleted
    report.figures["runs_redacted"] = store.redact_runs(_DPT_RUN)
    if reports_dir is not None:
        files, redacted = _purge_reports(Path(reports_dir))
        report.figures["files_deleted"] = files
        report.figures["reports_redacted"] = redacted
    report.note("voter-level rows deleted: " + ", ".join(f"{layer} {n:,}" for layer, n in deleted.items()))
    report.note("files written with --out (e.g. petatps assign --out) are outside the store: delete them too")
    report.figures["data_version"] = store.data_version()
    report.finish()
    store.record_run(report.to_dict())
    log.info("purged voter-level data%s: %s", f" of {election}" if election else "", deleted)
    return report


def _purge_reports(folder: Path) -> tuple[int, int]:
    """Delete DPT rejected-row files and strip row-level lists from DPT reports; return the counts."""
    if not folder.is_dir():
        return 0, 0
    deleted = 0
    for path in sorted(folder.glob(_DPT_REJECTED)):
        path.unlink(missing_ok=True)
        deleted += 1
    redacted = 0
    for path in sorted(folder.glob(_DPT_REPORT)):
        if _redact(path):
            redacted += 1
    return deleted, redacted


def _redact(path: Path) -> bool:
    """Rewrite one report without its per-row lists (atomically); False when there was nothing to strip."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("purge: cannot read report %s; deleting it", path.name)
        path.unlink(missing_ok=True)
        return True
    doc = redacted_report(doc)
    if doc is None:
        return False
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True
