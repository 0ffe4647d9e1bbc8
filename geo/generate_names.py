"""Built-in name lists for the demo city: common Indonesian personal names and street names.

Small, invented-combination lists (no real person is listed): a generated voter's name is drawn
from these words, so it may coincide with a real name only as common names do.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MALE_FIRST = (
    "MUHAMMAD AHMAD ABDUL AGUS BUDI DEDI EKO HENDRA IRWAN JOKO RUDI SLAMET BAMBANG DONI FAJAR "
    "HARIS IMAM LUKMAN NUR RIZKY SAIFUL TAUFIK WAHYU YUSUF ZAINAL ANDI ARIF BAYU DANI DIMAS FERRY "
    "HADI HERU ILHAM IWAN RAHMAT RIDWAN SAPTO SUGENG TRI YUDI ADITYA BIMA CAHYO DWI FIRMAN GILANG "
    "HASAN INDRA JAENUDIN KHOIRUL MAMAN NANANG PRIYO TEGUH UJANG WAWAN YOGA ASEP DADANG SUPRIYADI"
).split()
FEMALE_FIRST = (
    "SITI SRI NUR DEWI RINA ANI ENI FITRI INDAH LINA MAYA NINA PUTRI RATNA RINI SUSI TUTI YANTI "
    "AYU DIAN ERNA FARIDA HANI IKA JUNAEDAH KARTIKA LESTARI MARIA NOVI NURUL RATIH RIKA SARI TITIN "
    "UMI WULAN YUNI ANISA CITRA DESI ELA FATIMAH HALIMAH IIN KHADIJAH LILIS MEGA NENG OKTAVIA PUJI "
    "RAHMA SALSABILA TIARA VERA WIDYA YULIA ZAHRA AISYAH NABILA ENDANG"
).split()
MALE_SECOND = (
    "SAPUTRA SETIAWAN HIDAYAT KURNIAWAN PRASETYO NUGROHO WIBOWO SANTOSO HERMAWAN FAUZI RAMADHAN "
    "FIRMANSYAH HAKIM SYAHPUTRA PRATAMA SUSANTO GUNAWAN HARYANTO SUPRIYANTO RAHMAN MAULANA ARIFIN "
    "EFENDI IRAWAN JUNAEDI KUSNADI MUSTOFA NURDIN PURNOMO RIYADI SAFRUDIN SUBAGYO SUPARMAN "
    "SUHENDRA TRIYANTO WAHYUDI YULIANTO ZULKARNAEN HIDAYATULLAH SURYADI"
).split()
FEMALE_SECOND = (
    "LESTARI RAHAYU WULANDARI PUSPITASARI HANDAYANI SUSANTI KURNIASIH NURHAYATI MULYANI SETIAWATI "
    "RAHMAWATI YULIANTI WIDYASTUTI PERMATASARI ANGGRAINI FITRIANI MARLINA NOVITASARI OKTAVIANI "
    "PRATIWI PURNAMASARI RATNASARI SAFITRI SARTIKA SULISTYOWATI SUMARNI SUPRIYATI UTAMI WAHYUNI "
    "YUNINGSIH AMELIA APRILIANI AULIA DAMAYANTI MAHARANI NURJANAH RAMADHANI KUSUMAWATI"
).split()
# Family names shared by a household (Batak, Chinese-Indonesian, Maluku, Minahasa usage).
FAMILY = (
    "SIMANJUNTAK NASUTION SIREGAR LUBIS HARAHAP SITORUS PANJAITAN TAMPUBOLON HUTAGALUNG SIAHAAN "
    "SINAGA PANGARIBUAN MANURUNG SIMATUPANG GINTING TARIGAN SEMBIRING WIJAYA HALIM SALIM SUTANTO "
    "TANUWIJAYA LATUHARHARY PATTIASINA MANOPPO SUMAMPOUW LUMBANTOBING DAULAY HASIBUAN"
).split()
STREET_BASES = (
    "Kenari Mawar Melati Cempaka Kamboja Anggrek Dahlia Flamboyan Beringin Kelapa Durian Rambutan "
    "Manggis Jambu Sawo Nangka Kemuning Rajawali Merpati Kutilang Cendrawasih Elang Nuri Perkutut "
    "Jalak Swadaya Bhakti Pemuda Pelita Harapan Damai Sejahtera Mandiri Karya Masjid Musholla "
    "Haji_Naim Haji_Saaba Kramat Pinang Salak Belimbing Duku Matraman_Dalam Pisang Asem Bambu "
    "Cendana Jati Mahoni Meranti Palem Teratai Seroja Bougenvil Kenanga Sedap_Malam Delima Kedondong "
    "Pancoran Sumur_Batu Kali_Baru Pulo Rawa_Bambu Gotong_Royong Persatuan Kebon_Sayur Lapangan"
).split()
STREET_PREFIX = ("Jl.", "Jl.", "Jl.", "Gg.", "Jl. Raya")
STREET_SUFFIX = ("", "", " I", " II", " III", " IV", " V", " Dalam", " Timur", " Barat")
FAMILY_NAME_SHARE = 0.25      # households sharing a family name
SECOND_NAME_SHARE = 0.75      # persons with a second name


def person_names(female: np.ndarray, household: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """Upper-case names like ``SITI RAHAYU`` or ``ANDI SAPUTRA SIREGAR``, one per person.

    ``female`` is a boolean array; ``household`` gives each person's household index (0-based,
    non-decreasing), so members of a household with a family name share it.
    """
    n = len(female)
    first = _pick(rng, n, female, MALE_FIRST, FEMALE_FIRST)
    second = _pick(rng, n, female, MALE_SECOND, FEMALE_SECOND)
    second = pc.if_else(pa.array(rng.random(n) < SECOND_NAME_SHARE), second, pa.nulls(n, pa.string()))
    n_households = int(household.max()) + 1 if n else 0
    has_family = rng.random(n_households) < FAMILY_NAME_SHARE
    family_idx = rng.integers(0, len(FAMILY), size=n_households)
    family = pa.array(FAMILY).take(pa.array(family_idx[household], mask=~has_family[household]))
    return pc.binary_join_element_wise(first, second, family, " ", null_handling="skip")


def street_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` street names like ``Jl. Kenari II`` or ``Gg. Mawar`` (object array)."""
    base = np.array([b.replace("_", " ") for b in STREET_BASES], dtype=object)
    prefix = np.array(STREET_PREFIX, dtype=object)[rng.integers(0, len(STREET_PREFIX), n)]
    suffix = np.array(STREET_SUFFIX, dtype=object)[rng.integers(0, len(STREET_SUFFIX), n)]
    return prefix + " " + base[rng.integers(0, len(base), n)] + suffix


def _pick(rng: np.random.Generator, n: int, female: np.ndarray, male_words, female_words) -> pa.Array:
    m = rng.integers(0, len(male_words), n)
    f = rng.integers(0, len(female_words), n)
    words = pa.array(list(male_words) + list(female_words))
    return words.take(pa.array(np.where(female, f + len(male_words), m)))
