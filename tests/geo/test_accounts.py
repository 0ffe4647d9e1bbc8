"""Officer accounts: scrypt hashes, scopes, no username enumeration by error type."""

from __future__ import annotations

import sqlite3

import pytest

from geo import accounts
from geo.errors import CodeError, InputError, NotFoundError, StoreError


@pytest.fixture
def path(tmp_path):
    return accounts.accounts_path(tmp_path)


def test_add_and_authenticate(path):
    acc = accounts.add_account(path, "Camat.Tebet", "correct horse battery", "31.71.01")
    assert acc == accounts.Account("camat.tebet", "317101", "kecamatan")
    assert accounts.authenticate(path, "camat.tebet", "correct horse battery") == acc
    assert accounts.authenticate(path, "CAMAT.TEBET ", "correct horse battery") == acc
    assert accounts.authenticate(path, "camat.tebet", "wrong password!") is None
    assert accounts.authenticate(path, "nobody", "correct horse battery") is None
    assert accounts.list_accounts(path) == [acc]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_password_is_stored_as_scrypt_hash_only(path):
    accounts.add_account(path, "lurah", "a long secret pass", "3171011001")
    stored = sqlite3.connect(path).execute("SELECT password FROM accounts").fetchone()[0]
    assert stored.startswith("scrypt$16384$8$1$") and "a long secret pass" not in stored
    assert accounts.check_password("a long secret pass", stored)
    assert not accounts.check_password("a long secret pasS", stored)
    assert not accounts.check_password("x", "garbage")


def test_salts_differ(path):
    assert accounts.hash_password("same password") != accounts.hash_password("same password")


@pytest.mark.parametrize("username, password, kode, error", [
    ("ok_user", "short", "3171", InputError),
    ("a", "long enough password", "3171", InputError),
    ("bad user", "long enough password", "3171", InputError),
    ("ok_user", "long enough password", "31", InputError),          # a province is too wide
    ("ok_user", "long enough password", "3171-001", CodeError),
])
def test_add_rejects(path, username, password, kode, error):
    with pytest.raises(error):
        accounts.add_account(path, username, password, kode)


def test_duplicate_needs_replace(path):
    accounts.add_account(path, "walikota", "first password!", "3171")
    with pytest.raises(InputError, match="exists"):
        accounts.add_account(path, "walikota", "second password!", "3171")
    accounts.add_account(path, "walikota", "second password!", "3172", replace=True)
    assert accounts.authenticate(path, "walikota", "second password!").kode == "3172"
    accounts.remove_account(path, "walikota")
    assert accounts.get_account(path, "walikota") is None
    with pytest.raises(NotFoundError):
        accounts.remove_account(path, "walikota")


def test_scope():
    acc = accounts.Account("x", "317101", "kecamatan")
    assert acc.covers("3171011001") and acc.covers("3171011001001") and acc.covers("317101")
    assert not acc.covers("317102") and not acc.covers("3171") and not acc.covers(None)


def test_missing_file_and_corrupt_file(tmp_path):
    missing = tmp_path / "none.sqlite"
    assert accounts.authenticate(missing, "x", "y") is None and accounts.list_accounts(missing) == []
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError):
        accounts.add_account(bad, "someone", "long enough password", "3171")
