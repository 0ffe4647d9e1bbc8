"""Domain errors of petatps, in one place.

Every error subclasses a built-in so callers can catch it generically, and carries
the details (file, line, field, value, expected) a user needs to fix the input.
``web/errors.py`` maps these classes to HTTP status codes; the CLI maps them to exit 1.
"""

from __future__ import annotations


class PetatpsError(Exception):
    """Base class of every petatps domain error."""


class InputError(PetatpsError, ValueError):
    """An input file or value cannot be used at all (fatal for that load).

    Parameters
    ----------
    problem : str
        One line saying what is wrong and what was expected.
    file : str, optional
        The file concerned.
    line, field, value : optional
        Where in the file, when known.
    """

    def __init__(self, problem: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, value: object = None):
        self.problem = problem
        self.file = file
        self.line = line
        self.field = field
        self.value = value
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        text = f"{prefix}: {self.problem}" if prefix else self.problem
        if self.value is not None:
            text += f" (got {str(self.value)[:80]!r})"
        return text


class EncodingProblem(InputError):
    """The bytes of a file cannot be decoded as text in any supported encoding."""


class MissingColumnError(InputError):
    """A required column is absent (after mapping known spellings)."""


class EmptyInputError(InputError):
    """The file holds no data rows."""


class GeometryError(InputError):
    """Geometries are of the wrong type or cannot be repaired."""


class CRSError(PetatpsError, ValueError):
    """A CRS is missing, unknown, or unsuitable (e.g. degrees where metres are needed)."""


class CodeError(PetatpsError, ValueError):
    """A Kemendagri region code or TPS code is malformed."""


class NotFoundError(PetatpsError, LookupError):
    """A requested area, TPS or layer does not exist in the store."""


class StoreError(PetatpsError, RuntimeError):
    """The store cannot be reached or refused an operation (connection, schema, disk)."""


class ConfigError(PetatpsError, ValueError):
    """A setting is missing or invalid (e.g. the default NIK key in production)."""
