"""Both languages for every text; the choice is remembered."""

from __future__ import annotations

from web.i18n import MESSAGES


def test_every_message_has_both_languages():
    for key, (indonesian, english) in MESSAGES.items():
        assert indonesian.strip() and english.strip(), key
        assert indonesian.count("{") == english.count("{"), key


def test_switch_and_cookie(client):
    assert "Bahasa Indonesia" in client.get("/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/wilayah").get_data(as_text=True)
    assert '<html lang="id">' in client.get("/wilayah?lang=id").get_data(as_text=True)
    assert '<html lang="id">' in client.get("/wilayah?lang=fr").get_data(as_text=True)


def test_error_pages_are_translated(client):
    assert "Back to home" not in client.get("/tps/3171011001999?lang=en").get_data(as_text=True)
    assert "Home" in client.get("/tps/3171011001999?lang=en").get_data(as_text=True)
