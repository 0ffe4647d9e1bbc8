"""Summaries of distances in metres: count, mean, 95th percentile and maximum, chunk by chunk.

Millions of voter distances arrive in chunks; a :class:`DistanceSummary` keeps them as float32
(4 bytes per value, 1 mm resolution up to 16 km) so the percentile is exact, and the sum in float64.
"""

from __future__ import annotations

import numpy as np


class DistanceSummary:
    """Accumulate distances (metres; NaN ignored) and summarise them.

    Examples
    --------
    >>> s = DistanceSummary()
    >>> s.add(np.array([10.0, 20.0, np.nan]))
    >>> s.as_dict()["mean_m"]
    15.0
    """

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self._parts: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        """Add a chunk of distances in metres (NaN = no distance, not counted)."""
        v = np.asarray(values, dtype=np.float64)
        v = v[~np.isnan(v)]
        if len(v):
            self.count += len(v)
            self.total += float(v.sum())
            self._parts.append(v.astype(np.float32))

    def values(self) -> np.ndarray:
        """All distances added so far (float32, metres), concatenated once."""
        if len(self._parts) > 1:
            self._parts = [np.concatenate(self._parts)]
        return self._parts[0] if self._parts else np.zeros(0, dtype=np.float32)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile in metres (linear interpolation); NaN when empty."""
        return float(np.quantile(self.values(), q)) if self.count else float("nan")

    def as_dict(self) -> dict[str, float | int | None]:
        """``{"n", "mean_m", "p95_m", "max_m"}``, metres rounded to 0.1 m (None when empty)."""
        if self.count == 0:
            return {"n": 0, "mean_m": None, "p95_m": None, "max_m": None}
        return {"n": self.count, "mean_m": round(self.total / self.count, 1),
                "p95_m": round(self.quantile(0.95), 1), "max_m": round(float(self.values().max()), 1)}
