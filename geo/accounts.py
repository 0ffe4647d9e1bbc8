"""Officer accounts: a small SQLite file beside the store (``PETATPS_HOME/accounts.sqlite``).

Accounts are kept apart from the data store on purpose: loading or purging data never touches them,
and both store backends share one mechanism. The file is created by :func:`add_account` (the
``petatps officer add`` command). Each account is scoped to one Kemendagri area code (kota
``3171``, kecamatan ``317101`` or kelurahan ``3171011001``); an officer sees that area only.

Passwords are hashed with scrypt (memory-hard; ``n=2**14, r=8, p=1`` uses 16 MiB), a random
16-byte salt per account, and stored as ``scrypt$n$r$p$salt_hex$hash_hex``. Checking an unknown
user costs the same as a known one, so timing does not reveal which usernames exist.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
from pathlib import Path
from typing import Iterator

from geo.codes import level_of, parse_wilayah
from geo.errors import InputError, NotFoundError, StoreError

FILENAME = "accounts.sqlite"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_SCHEMA = """CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY, kode TEXT NOT NULL, password TEXT NOT NULL,
    created TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1)"""
# Verified against when the username is unknown (equal cost; never matches a real password).
_DUMMY = "scrypt${}${}${}${}${}".format(SCRYPT_N, SCRYPT_R, SCRYPT_P, "00" * 16, "00" * 64)


@dataclasses.dataclass(frozen=True)
class Account:
    """An officer account (never carries the password hash).

    Attributes
    ----------
    username : str
    kode : str
        Area code the officer may see (4, 6 or 10 digits).
    level : str
        ``kota``, ``kecamatan`` or ``kelurahan``.
    """

    username: str
    kode: str
    level: str

    def covers(self, kode: str) -> bool:
        """True when ``kode`` (an area, RW key or TPS code) lies inside the officer's area."""
        return isinstance(kode, str) and kode.startswith(self.kode)


def accounts_path(home: str | Path) -> Path:
    """The accounts file under the petatps home folder."""
    return Path(home) / FILENAME


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """scrypt hash of ``password`` in the stored text form (see the module docstring)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=64)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        want = bytes.fromhex(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), maxmem=64 * 1024 * 1024, dklen=len(want))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(got, want)


def add_account(path: str | Path, username: str, password: str, kode: str, *, replace: bool = False) -> Account:
    """Create (or with ``replace`` overwrite) an officer account.

    Raises
    ------
    InputError
        Malformed username, a password shorter than ``MIN_PASSWORD``, an area code that is not a
        kota/kecamatan/kelurahan code, or an existing username without ``replace``.
    """
    account = _account(username, kode)
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password must have at least {MIN_PASSWORD} characters", field="password")
    row = (account.username, account.kode, hash_password(password), _now())
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    with _connect(path, create=True) as db:
        try:
            db.execute(f"{verb} INTO accounts (username, kode, password, created) VALUES (?, ?, ?, ?)", row)
        except sqlite3.IntegrityError:
            raise InputError("an account with this username exists (use replace to reset it)",
                             file=str(path), field="username", value=account.username) from None
    return account


def authenticate(path: str | Path, username: str, password: str) -> Account | None:
    """The account when ``username``/``password`` match an active account, else ``None``."""
    row = None
    if Path(path).exists():
        with _connect(path) as db:
            row = db.execute("SELECT username, kode, password FROM accounts WHERE username = ? AND active = 1",
                             (str(username).strip().lower(),)).fetchone()
    ok = check_password(password, row[2] if row else _DUMMY)
    return Account(row[0], row[1], level_of(row[1])) if (row and ok) else None


def get_account(path: str | Path, username: str) -> Account | None:
    """The active account named ``username`` (``None`` if absent or disabled)."""
    if not Path(path).exists():
        return None
    with _connect(path) as db:
        row = db.execute("SELECT username, kode FROM accounts WHERE username = ? AND active = 1",
                         (username,)).fetchone()
    return Account(row[0], row[1], level_of(row[1])) if row else None


def list_accounts(path: str | Path) -> list[Account]:
    """Every active account, sorted by username."""
    if not Path(path).exists():
        return []
    with _connect(path) as db:
        rows = db.execute("SELECT username, kode FROM accounts WHERE active = 1 ORDER BY username").fetchall()
    return [Account(u, k, level_of(k)) for u, k in rows]


def remove_account(path: str | Path, username: str) -> None:
    """Delete an account; :class:`NotFoundError` when there is none."""
    with _connect(path, create=True) as db:
        if db.execute("DELETE FROM accounts WHERE username = ?", (username,)).rowcount == 0:
            raise NotFoundError(f"{path}: no officer account {username!r}")


def _account(username: str, kode: str) -> Account:
    name = str(username).strip().lower()
    if not _USERNAME.match(name):
        raise InputError("username must be 3-64 characters: a-z, 0-9, '.', '_' or '-'", field="username",
                         value=username)
    code = parse_wilayah(kode)
    level = level_of(code)
    if level not in ("kota", "kecamatan", "kelurahan"):
        raise InputError("an officer is scoped to a kota, kecamatan or kelurahan code (4, 6 or 10 digits)",
                         field="kode", value=kode)
    return Account(name, code, level)


@contextlib.contextmanager
def _connect(path: str | Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    path = Path(path)
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=10)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open the accounts file {path}: {exc}") from None
    try:
        with db:
            db.execute(_SCHEMA)
            yield db
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"accounts file {path}: {exc}") from None
    finally:
        db.close()
    if create:
        path.chmod(0o600)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
