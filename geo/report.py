"""Reports: what every loader and analysis returns (counts + problems), and their rendering.

A load report always balances: ``rows_read == rows_loaded + rows_rejected``. Each rejection
names the file, line (1-based, counting the header as line 1 for CSV), field, value and reason.
Only the first ``MAX_LISTED`` problems are kept in memory; all of them are counted per reason
and written to the ``*.rejected.csv`` file by :func:`write_rejections`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

MAX_LISTED = 200


@dataclasses.dataclass(frozen=True)
class Problem:
    """One rejected row or one warning about a row."""

    file: str
    line: int | None
    field: str | None
    value: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Report:
    """Outcome of a load or an analysis.

    Attributes
    ----------
    kind : str
        What ran, e.g. ``"load tps"``.
    source : str
        The input file (or store) it ran on.
    rows_read, rows_loaded, rows_rejected : int
        Row accounting; a load balances ``read == loaded + rejected``.
    rejections : list of Problem
        The first ``MAX_LISTED`` rejected rows (all are counted in ``reasons``).
    warnings : list of Problem
        Kept rows with a data-quality remark (first ``MAX_LISTED``; all counted in ``warning_counts``).
    notes : list of str
        How the input was read (encoding, delimiter, repairs, column mapping).
    figures : dict
        Further named figures (counts per level, timings, ...).
    """

    kind: str
    source: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejections: list[Problem] = dataclasses.field(default_factory=list)
    warnings: list[Problem] = dataclasses.field(default_factory=list)
    reasons: Counter = dataclasses.field(default_factory=Counter)
    warning_counts: Counter = dataclasses.field(default_factory=Counter)
    notes: list[str] = dataclasses.field(default_factory=list)
    figures: dict[str, Any] = dataclasses.field(default_factory=dict)
    rejected_file: str | None = None
    started: str = dataclasses.field(default_factory=lambda: _now())
    finished: str | None = None

    # -- recording -------------------------------------------------------------------------
    def reject(self, problems: Iterable[Problem]) -> None:
        """Record rejected rows (one Problem per row)."""
        for p in problems:
            self.rows_rejected += 1
            self.reasons[p.reason] += 1
            if len(self.rejections) < MAX_LISTED:
                self.rejections.append(p)

    def warn(self, problems: Iterable[Problem]) -> None:
        """Record warnings on kept rows."""
        for p in problems:
            self.warning_counts[p.reason] += 1
            if len(self.warnings) < MAX_LISTED:
                self.warnings.append(p)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def finish(self) -> "Report":
        self.finished = _now()
        return self

    # -- checks and rendering --------------------------------------------------------------
    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "balanced": self.balanced,
            "rejected_by_reason": dict(sorted(self.reasons.items())),
            "warnings_by_reason": dict(sorted(self.warning_counts.items())),
            "rejections": [p.as_dict() for p in self.rejections],
            "warnings": [p.as_dict() for p in self.warnings],
            "notes": list(self.notes),
            "figures": _jsonable(self.figures),
            "rejected_file": self.rejected_file,
            "started": self.started,
            "finished": self.finished,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)

    def render_text(self, max_lines: int = 10) -> str:
        lines = [f"{self.kind}: {self.source}".rstrip(": ")]
        lines.append(f"  rows read {self.rows_read:,}, loaded {self.rows_loaded:,}, rejected {self.rows_rejected:,}")
        for n in self.notes:
            lines.append(f"  note: {n}")
        for k, v in self.figures.items():
            lines.append(f"  {k}: {v}")
        for reason, n in sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  rejected {n:,} × {reason}")
        for reason, n in sorted(self.warning_counts.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  warning {n:,} × {reason}")
        for p in self.rejections[:max_lines]:
            lines.append(f"    {p.file}:{p.line} {p.field}={p.value!r}: {p.reason}")
        if self.rejected_file:
            lines.append(f"  rejected rows written to {self.rejected_file}")
        return "\n".join(lines)


def write_rejections(path: str | Path, rows: Iterable[dict[str, Any]], fieldnames: list[str]) -> None:
    """Append rejected rows to a CSV (header written once). Cells that a spreadsheet would run
    as a formula are prefixed with ``'`` (CSV injection)."""
    path = Path(path)
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fieldnames, extrasaction="ignore")
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: safe_cell(v) for k, v in r.items()})


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in a text cell (=, +, -, @, tab, CR at the start)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        if not _is_number(value):
            return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return obj.item()
    return obj
