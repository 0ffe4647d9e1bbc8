"""Security review as tests: SQL only with bound parameters, the dependency audit, officer sessions
that expire, passwords hashed with a memory-hard scheme (scrypt)."""

from __future__ import annotations

import ast
import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "reliability"

# --- SQL built by string formatting ----------------------------------------------------------------

_SQL = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|DELETE\s*$|"
                  r"CREATE\s+(TABLE|INDEX|UNIQUE|VIRTUAL|TRIGGER|SCHEMA|VIEW)|DROP\s+(TABLE|INDEX|TRIGGER|SCHEMA|VIEW)|"
                  r"ALTER\s+TABLE|PRAGMA|TRUNCATE|VACUUM|ATTACH|COPY\s+[\w\".]+\s*(\(|FROM|TO)|WHERE|ORDER\s+BY|VALUES\s*\()",
                  re.DOTALL)
_SAFE_CALLS = {"int", "float", "len", "identifier", "check_identifier", "_sql_column", "sql_type"}
# Reviewed holes that the checker cannot prove (file, hole source): each fills an SQL *template* or a name.
REVIEWED = {
    ("geo/store/gpkg_schema.py", "body"):
        "_trigger_ddl: the body of a constant R-tree trigger template (_RTREE_TRIGGERS) formatted with the "
        "table name (identifier()), the geometry column and fid constants",
}


class _Scope:
    """Assignments visible to an expression: the enclosing function's, the class's ``self.x``, the module's."""

    def __init__(self, tree: ast.Module):
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.module = tree
        self.functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}

    def returns(self, name: str) -> list[ast.AST]:
        """What a module-level function ``name`` returns (empty when it is not defined here)."""
        function = self.functions.get(name)
        if function is None:
            return []
        return [r.value for r in ast.walk(function) if isinstance(r, ast.Return) and r.value is not None]

    def assigned(self, node: ast.AST, name: str) -> list[ast.AST]:
        """Values assigned to ``name`` (or ``self.name`` with ``attr``) in the scopes around ``node``."""
        found, scope = [], self.parents.get(node)
        while scope is not None:
            if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
                found += _assignments(scope, name)
                if found:
                    return found
            scope = self.parents.get(scope)
        return found


def _assignments(scope: ast.AST, name: str) -> list[ast.AST]:
    values = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                values += _match(target, node.value, name)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            values += _match(node.target, node.value, name)
    return values


def _match(target: ast.AST, value: ast.AST, name: str) -> list[ast.AST]:
    if isinstance(target, ast.Name) and target.id == name:
        return [value]
    if isinstance(target, ast.Attribute) and ast.unparse(target) == name:
        return [value]
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        return [v for t, v in zip(target.elts, value.elts) for v in _match(t, v, name)]
    return []


def _holes(node: ast.JoinedStr) -> list[tuple[ast.AST, str]]:
    """(expression, quote it sits in: '"', "'" or '') for each hole of an f-string."""
    text, out = "", []
    for part in node.values:
        if isinstance(part, ast.Constant):
            text += str(part.value)
        else:
            quote = '"' if text.count('"') % 2 else "'" if text.count("'") % 2 else ""
            out.append((part.value, quote))
            text += "x"
    return out


def _safe(expr: ast.AST, scope: _Scope, seen: frozenset = frozenset()) -> bool:
    """True when ``expr`` can only be SQL text built from constants, quoted identifiers and numbers."""
    if isinstance(expr, ast.Constant):
        return True
    if isinstance(expr, ast.JoinedStr):
        return all(q == '"' or (q == "" and _safe(e, scope, seen)) for e, q in _holes(expr))
    if isinstance(expr, (ast.Name, ast.Attribute)):
        name = ast.unparse(expr)
        if name.rsplit(".", 1)[-1].isupper() or name in seen:
            return name.rsplit(".", 1)[-1].isupper()
        values = scope.assigned(expr, name if isinstance(expr, ast.Attribute) else expr.id)
        return bool(values) and all(_safe(v, scope, seen | {name}) for v in values)
    if isinstance(expr, ast.Call):
        func = expr.func.attr if isinstance(expr.func, ast.Attribute) else getattr(expr.func, "id", "")
        if func in _SAFE_CALLS:
            return True
        if isinstance(expr.func, ast.Name) and func not in seen:     # a helper of this module: what it returns
            returned = scope.returns(func)
            return bool(returned) and all(_safe(r, scope, seen | {func}) for r in returned)
        if func == "join" and isinstance(expr.func, ast.Attribute) and isinstance(expr.func.value, ast.Constant):
            return all(_safe(a, scope, seen) for a in expr.args)
        return False
    if isinstance(expr, (ast.ListComp, ast.GeneratorExp)):
        return _safe(expr.elt, scope, seen)
    if isinstance(expr, ast.List):
        return all(_safe(e, scope, seen) for e in expr.elts)
    if isinstance(expr, ast.IfExp):
        return _safe(expr.body, scope, seen) and _safe(expr.orelse, scope, seen)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult):
        return isinstance(expr.left, ast.Constant) or isinstance(expr.right, ast.Constant)   # "?" * n
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _safe(expr.left, scope, seen) and _safe(expr.right, scope, seen)
    return False


def formatted_sql(path: Path) -> list[tuple[int, str, str]]:
    """SQL text in ``path`` built by f-string, ``%`` or ``.format`` with a hole not provably an
    identifier, a number or an SQL fragment of those: (line, hole source, why)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scope, found = _Scope(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
            holes = _holes(node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, str):
            text, holes = node.left.value, [(node.right, "")]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                and isinstance(node.func.value, ast.Constant) and isinstance(node.func.value.value, str):
            text, holes = node.func.value.value, [(a, "") for a in (*node.args, *(k.value for k in node.keywords))]
        else:
            continue
        if not _SQL.search(text):
            continue
        for expr, quote in holes:
            if quote == "'":
                found.append((node.lineno, ast.unparse(expr), "a value inside an SQL string literal"))
            elif quote == "" and not _safe(expr, scope):
                found.append((node.lineno, ast.unparse(expr), "not provably an identifier or number"))
    return found


def _python_files() -> list[Path]:
    files = [*ROOT.glob("geo/**/*.py"), *ROOT.glob("web/**/*.py"), *ROOT.glob("scripts/**/*.py")]
    files += [p for p in (ROOT / "scripts").iterdir() if p.is_file() and p.suffix == ""
              and p.read_bytes().startswith(b"#!/usr/bin/env python")]
    return sorted(files)


def test_no_sql_is_formatted_with_values():
    offending, used = [], set()
    for path in _python_files():
        rel = str(path.relative_to(ROOT))
        for line, hole, why in formatted_sql(path):
            if (rel, hole) in REVIEWED:
                used.add((rel, hole))
            else:
                offending.append(f"{rel}:{line}: {{{hole}}}: {why}")
    assert offending == []
    assert used == set(REVIEWED), "a reviewed exception no longer exists: remove it from REVIEWED"


@pytest.mark.parametrize("source, bad", [
    ('conn.execute(f"SELECT * FROM tps WHERE kode = \'{kode}\'")', "kode"),
    ('conn.execute(f"SELECT * FROM tps WHERE kode = {kode}")', "kode"),
    ('conn.execute("DELETE FROM voters WHERE kode_kel = %s" % kode)', "kode"),
    ('conn.execute("UPDATE tps SET dpt = {} WHERE kode_tps = ?".format(n), (k,))', "n"),
    ('where = f"kode = \'{kode}\'"\nconn.execute(f"SELECT * FROM tps WHERE {where}")', "where"),
    ('def v(x):\n    return str(x) + " OR 1=1"\nconn.execute(f"SELECT * FROM tps WHERE kode = {v(k)}")', "v(k)"),
])
def test_the_checker_finds_formatted_values(tmp_path, source, bad):
    path = tmp_path / "bad.py"
    path.write_text(source + "\n")
    assert [hole for _, hole, _ in formatted_sql(path)][-1:] == [bad]


@pytest.mark.parametrize("source", [
    'conn.execute(f\'SELECT count(*) FROM "{name}"\')',
    'cols = ", ".join(f\'"{c}"\' for c in columns)\nconn.execute(f"SELECT {cols} FROM t WHERE k = ?", (v,))',
    'conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")',
    'conn.execute(f\'DELETE FROM "{t}" WHERE "fid" <= {int(last)}\')',
    'def q(cols):\n    return [f\'"{c}"\' for c in cols]\nconn.execute(f"SELECT {\', \'.join(q(cols))} FROM t")',
    'marks = ", ".join("?" * len(cols))\nconn.execute(f\'INSERT INTO "{t}" VALUES ({marks})\', row)',
])
def test_the_checker_accepts_identifiers_and_numbers(tmp_path, source):
    path = tmp_path / "good.py"
    path.write_text(source + "\n")
    assert formatted_sql(path) == []


# --- dependency audit ------------------------------------------------------------------------------

def test_dependency_audit():
    """pip-audit over the installed environment; the result is written to test-artifacts/reliability/.

    Fails on a known vulnerability with a fixed version available; skips (with the reason) when the
    vulnerability service cannot be asked — offline, or an index mirror that does not serve it.
    """
    pip_audit = Path(sys.executable).with_name("pip-audit")
    if not pip_audit.exists():
        pytest.fail("pip-audit is not installed in the environment (it is a petatps requirement)")
    try:
        proc = subprocess.run([str(pip_audit), "--local", "--format", "json", "--progress-spinner", "off",
                               "--timeout", "20"], check=False, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("pip-audit: the vulnerability service did not answer within 300 s")
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        pytest.skip(f"pip-audit could not reach its vulnerability service: {reason}")
    deps = json.loads(proc.stdout)["dependencies"]
    audited = [d for d in deps if "skip_reason" not in d]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    vulnerable = [d for d in audited if d.get("vulns")]
    summary = {"packages": len(deps), "audited": len(audited), "vulnerable": vulnerable,
               "unaudited": sorted(d["name"] for d in deps if "skip_reason" in d)}
    (ARTIFACTS / "pip-audit.json").write_text(json.dumps(summary, indent=1))
    if not audited:
        pytest.skip(f"pip-audit: the vulnerability service knows none of the {len(deps)} packages "
                    "(an index mirror without the PyPI JSON API?); nothing could be audited")
    fixable = [f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions'])})"
               for d in vulnerable for v in d["vulns"] if v.get("fix_versions")]
    assert fixable == []


# --- officer sessions ------------------------------------------------------------------------------

@pytest.fixture
def officer_client(tmp_path):
    from geo.accounts import add_account
    from geo.settings import Settings
    from geo.store.gpkg import GpkgStore
    from tests.web import city
    from tests.web.conftest import csrf_from
    from web.app import create_app
    from web.config import WebConfig

    store = GpkgStore(tmp_path / "petatps.gpkg")
    store.init()
    city.load(store)
    core = Settings(db_url=f"gpkg://{tmp_path / 'petatps.gpkg'}", home=tmp_path, env="test")
    app = create_app(WebConfig(core=core, secret_key="session-test-secret", testing=True, session_minutes=30))
    add_account(app.extensions["petatps.config"].accounts_file, "lurah.menteng", "kata sandi panjang", "3171011001")

    def login():
        client = app.test_client()
        token = csrf_from(client.get("/petugas/masuk").get_data(as_text=True))
        response = client.post("/petugas/masuk", data={"username": "lurah.menteng", "password": "kata sandi panjang",
                                                       "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"] == "/petugas/"
        return client, response

    return app, login


def test_officer_session_cookie_is_signed_httponly_and_lives_30_minutes(officer_client):
    from http.cookies import SimpleCookie

    _app, login = officer_client
    _client, response = login()
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    cookie = SimpleCookie(header)["session"]
    assert cookie["httponly"] and cookie["samesite"].lower() == "lax"
    expires = time.mktime(time.strptime(cookie["expires"], "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone
    assert 29 * 60 <= expires - time.time() <= 31 * 60


def test_an_officer_session_replayed_after_30_minutes_is_refused(officer_client, monkeypatch):
    app, login = officer_client
    client, _ = login()
    assert client.get("/petugas/").status_code == 200
    cookie = client.get_cookie("session").value
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    replay = app.test_client()
    replay.set_cookie("session", cookie)             # the same cookie, kept by a thief or a browser
    response = replay.get("/petugas/unduh/3171011001.csv")
    assert response.status_code == 302 and "/petugas/masuk" in response.headers["Location"]


def test_a_session_cookie_signed_with_another_key_is_refused(officer_client):
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    app, _login = officer_client
    forger = Flask("forger")
    forger.secret_key = "not-the-server-key"
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    forged = serializer.dumps({"officer": "lurah.menteng", "officer_kode": "31", "officer_level": "provinsi",
                               "officer_expires": time.time() + 10 ** 6})
    client = app.test_client()
    client.set_cookie("session", forged)
    response = client.get("/petugas/")
    assert response.status_code == 302 and "/petugas/masuk" in response.headers["Location"]


# --- password hashing --------------------------------------------------------------------------------

def test_passwords_are_hashed_with_scrypt_of_at_least_16_mib(tmp_path):
    from click.testing import CliRunner

    from geo.accounts import accounts_path, authenticate
    from web.cli import main

    secret = "rahasia-petugas-123"
    for user in ("camat.menteng", "lurah.cikini"):
        result = CliRunner().invoke(main, ["--home", str(tmp_path), "officer", "add", user, "--kode", "317106",
                                           "--password", secret, "--json"])
        assert result.exit_code == 0 and secret not in result.output
    path = accounts_path(tmp_path)
    with sqlite3.connect(path) as conn:
        stored = [r[0] for r in conn.execute("SELECT password FROM accounts ORDER BY username")]
    salts = set()
    for text in stored:
        scheme, n, r, p, salt, digest = text.split("$")
        assert scheme == "scrypt" and int(p) >= 1 and len(bytes.fromhex(digest)) >= 32
        assert 128 * int(n) * int(r) >= 16 * 2 ** 20          # memory per hash (bytes): memory-hard
        assert len(bytes.fromhex(salt)) >= 16
        salts.add(salt)
    assert len(salts) == 2                                   # the same password, two different hashes
    assert secret.encode() not in path.read_bytes()
    assert authenticate(path, "camat.menteng", secret) is not None
    assert authenticate(path, "camat.menteng", secret + "x") is None
