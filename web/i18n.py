"""Bahasa Indonesia first, English on request (``?lang=en``, remembered in a cookie).

``t(key)`` in templates and views returns the text in the request's language. Every key has both
languages (a test checks it); keep texts short: they are read on small phones.
"""

from __future__ import annotations

import re

from flask import Flask, g, request

LANGS = ("id", "en")
_DIGITS16 = re.compile(r"(?<!\d)\d{16}(?!\d)")
COOKIE = "lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "site": ("Peta TPS", "Polling station map"),
    "tagline": ("Temukan TPS Anda untuk hari pemungutan suara.", "Find your polling station (TPS) for election day."),
    "switch": ("English", "Bahasa Indonesia"),
    "home": ("Beranda", "Home"),
    "find_title": ("Cari TPS Anda dengan NIK", "Find your TPS by NIK"),
    "nik_label": ("NIK (16 angka, sesuai KTP)", "NIK (16 digits, as on your ID card)"),
    "nik_hint": ("NIK tidak disimpan dan tidak dicatat.", "Your NIK is neither stored nor logged."),
    "search": ("Cari", "Search"),
    "browse": ("Cari menurut wilayah", "Browse by area"),
    "use_location": ("Gunakan lokasi saya", "Use my location"),
    "locating": ("Mencari lokasi Anda…", "Finding your location…"),
    "location_failed": ("Lokasi tidak tersedia. Silakan cari menurut wilayah.",
                        "Location unavailable. Please browse by area."),
    "location_note": ("TPS terdekat dari lokasi Anda di kelurahan Anda. TPS Anda ditentukan oleh DPT: "
                      "cari dengan NIK untuk memastikan.",
                      "The nearest TPS to your location within your kelurahan. Your TPS is set by the voter "
                      "list (DPT): search by NIK to be sure."),
    "your_tps": ("TPS Anda", "Your TPS"),
    "your_tps_note": ("Menurut Daftar Pemilih Tetap (DPT).", "According to the final voter list (DPT)."),
    "nearest_tps": ("TPS terdekat", "Nearest TPS"),
    "nearest_note": ("Ini TPS terdekat dari titik tengah kelurahan, bukan TPS yang ditetapkan untuk Anda.",
                     "This is the TPS nearest to the kelurahan's centre, not the TPS assigned to you."),
    "name": ("Nama", "Name"),
    "address": ("Alamat", "Address"),
    "rt_rw": ("RT/RW", "RT/RW"),
    "hours": ("Jam pemungutan suara", "Voting hours"),
    "distance": ("Jarak", "Distance"),
    "distance_from": ("dari RT Anda (garis lurus)", "from your RT (straight line)"),
    "directions": ("Petunjuk arah", "Directions"),
    "voters": ("Pemilih (DPT)", "Registered voters (DPT)"),
    "kpps": ("Petugas KPPS", "KPPS officers"),
    "accessible": ("Akses disabilitas", "Wheelchair access"),
    "yes": ("ya", "yes"),
    "no": ("tidak", "no"),
    "unknown": ("belum diketahui", "not known yet"),
    "location": ("Lokasi", "Location"),
    "precision": ("ketelitian ± {m} m", "accuracy ± {m} m"),
    "no_location": ("Lokasi TPS ini belum dipetakan.", "This TPS has not been mapped yet."),
    "tps_unpublished": ("Keterangan TPS Anda (alamat dan lokasi) belum diterbitkan. Tanyakan kepada PPS "
                        "setempat atau cek di cekdptonline.kpu.go.id.",
                        "The details of your TPS (address and location) are not published yet. Ask your "
                        "local PPS office or check cekdptonline.kpu.go.id."),
    "not_found_title": ("Data tidak dapat ditampilkan", "No result to show"),
    "not_found_text": ("Kami tidak dapat menampilkan TPS untuk NIK ini. Periksa kembali NIK Anda, "
                       "atau tanyakan kepada PPS/KPU setempat, atau cek di cekdptonline.kpu.go.id.",
                       "We cannot show a TPS for this NIK. Check the NIK again, ask your local PPS/KPU "
                       "office, or check cekdptonline.kpu.go.id."),
    "choose_kelurahan": ("Pilih kelurahan tempat tinggal Anda untuk melihat TPS terdekat:",
                         "Choose the kelurahan you live in to see the nearest TPS:"),
    "invalid_nik": ("NIK tidak valid: harus 16 angka dengan kode wilayah dan tanggal lahir yang benar.",
                    "Invalid NIK: it must be 16 digits with a valid region code and birth date."),
    "form_expired": ("Formulir kedaluwarsa. Silakan coba lagi.", "The form has expired. Please try again."),
    "too_many": ("Terlalu banyak percobaan. Silakan coba lagi dalam {s} detik.",
                 "Too many attempts. Please try again in {s} seconds."),
    "areas": ("Wilayah", "Areas"),
    "tps_list": ("Daftar TPS", "Polling stations"),
    "no_tps": ("Belum ada TPS di wilayah ini.", "No TPS in this area yet."),
    "map": ("Peta", "Map"),
    "map_needs_js": ("Peta memerlukan JavaScript; semua keterangan ada di halaman ini.",
                     "The map needs JavaScript; every detail is on this page."),
    "kelurahan": ("Kelurahan", "Kelurahan"),
    "officer": ("Petugas", "Officers"),
    "login": ("Masuk", "Log in"),
    "logout": ("Keluar", "Log out"),
    "username": ("Nama pengguna", "Username"),
    "password": ("Kata sandi", "Password"),
    "login_failed": ("Nama pengguna atau kata sandi salah.", "Wrong username or password."),
    "session_expired": ("Sesi berakhir. Silakan masuk lagi.", "Your session has expired. Please log in again."),
    "outside_area": ("Wilayah ini di luar wilayah akun Anda.", "This area is outside your account's area."),
    "gaps": ("Kesenjangan cakupan", "Coverage gaps"),
    "no_gaps": ("Tidak ada kesenjangan cakupan.", "No coverage gaps."),
    "gap_reason": ("Masalah", "Issue"),
    "severity": ("Tingkat", "Severity"),
    "detail": ("Keterangan", "Detail"),
    "sev_high": ("tinggi", "high"),
    "sev_medium": ("sedang", "medium"),
    "sev_low": ("rendah", "low"),
    "report": ("Laporan wilayah", "Area report"),
    "download": ("Unduh", "Download"),
    "flags": ("Catatan kualitas", "Quality flags"),
    "tps_count": ("Jumlah TPS", "TPS"),
    "dpt_total": ("Jumlah DPT", "Voters"),
    "unplaced": ("TPS tanpa lokasi", "TPS without location"),
    "flagged": ("TPS dengan catatan", "TPS with flags"),
    "embed": ("Sematkan peta", "Embed the map"),
    "embed_text": ("Salin kode ini ke halaman Anda:", "Copy this code into your page:"),
    "data_version": ("Versi data", "Data version"),
    "loc_coordinates": ("titik koordinat", "surveyed coordinates"),
    "loc_address_rt": ("perkiraan dari alamat RT", "estimated from the RT address"),
    "loc_address_rw": ("perkiraan dari alamat RW", "estimated from the RW address"),
    "loc_place": ("perkiraan dari nama tempat", "estimated from a place name"),
    "loc_kelurahan": ("pusat kelurahan, lokasi belum pasti", "kelurahan centre, location not yet known"),
}


def lang() -> str:
    """The request's language: ``?lang=`` first, then the cookie, else Bahasa Indonesia."""
    chosen = g.get("lang")
    if chosen is None:
        chosen = g.lang = _choose()
    return chosen


def t(key: str, **values) -> str:
    """The text of ``key`` in the request's language, formatted with ``values``."""
    text = MESSAGES[key][LANGS.index(lang())]
    return text.format(**values) if values else text


def _choose() -> str:
    asked = request.args.get("lang")
    if asked in LANGS:
        return asked
    saved = request.cookies.get(COOKIE)
    return saved if saved in LANGS else "id"


def register(app: Flask) -> None:
    """Pick the language per request, remember an explicit choice, expose ``t``/``lang`` to templates."""

    @app.after_request
    def _remember(response):
        if response.mimetype != "text/html":
            return response
        asked = request.args.get("lang")
        if asked in LANGS and request.cookies.get(COOKIE) != asked:
            response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response

    app.jinja_env.globals.update(t=t, lang=lang, other_lang=other_lang, switch_url=switch_url)


def other_lang() -> str:
    return "en" if lang() == "id" else "id"


def switch_url() -> str:
    """This page in the other language (a 16-digit run in the path, maybe a NIK, is not repeated)."""
    path = _DIGITS16.sub("", request.path)
    return f"{path}?lang={other_lang()}"
