import json

from geo.report import MAX_LISTED, Problem, Report, safe_cell, write_rejections


def test_report_balances_and_renders():
    r = Report("load tps", "tps.csv", rows_read=3, rows_loaded=2)
    r.reject([Problem("tps.csv", 4, "kode_kel", "x", "bad code")])
    r.warn([Problem("tps.csv", 2, "dpt", "0", "dpt 0 read as blank")])
    r.note("read as cp1252")
    assert r.balanced
    d = json.loads(r.to_json())
    assert d["rejected_by_reason"] == {"bad code": 1}
    assert d["warnings_by_reason"] == {"dpt 0 read as blank": 1}
    assert d["rejections"][0]["line"] == 4
    text = r.render_text()
    assert "rejected 1 × bad code" in text and "cp1252" in text


def test_report_keeps_bounded_list_but_counts_all():
    r = Report("load dpt")
    r.reject(Problem("f", i, "nik", None, "bad") for i in range(MAX_LISTED + 50))
    assert r.rows_rejected == MAX_LISTED + 50
    assert len(r.rejections) == MAX_LISTED
    assert r.reasons["bad"] == MAX_LISTED + 50


def test_csv_injection_is_neutralised(tmp_path):
    assert safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert safe_cell("-12.5") == "-12.5"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    path = tmp_path / "x.rejected.csv"
    write_rejections(path, [{"line": 2, "nama": "=cmd|' /C calc'!A0"}], ["line", "nama"])
    write_rejections(path, [{"line": 3, "nama": "ok"}], ["line", "nama"])
    text = path.read_text()
    assert text.count("line,nama") == 1
    assert "'=cmd" in text
