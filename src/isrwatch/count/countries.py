"""A small table of countries: ISO 3166-1 alpha-3 and alpha-2 codes, English and Spanish names
and adjectives.

It serves two needs: counts print a country's name next to its code, and the claims parser reads
"Mexican airspace", "espacio aéreo mexicano" or "US spy flights" as ISO codes. The aircraft table
carries the registration country as alpha-2 (from the ICAO 24-bit address block), regions carry
alpha-3, so both codes are kept. The table covers the countries that appear in ISR reporting
around the Americas, Europe and Asia; a country missing here can still be named by its code.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    iso3: str
    iso2: str
    name_en: str
    name_es: str
    # every lower-case, accent-free way a sentence may name the country (names and adjectives)
    words: tuple[str, ...]


def _c(iso3: str, iso2: str, name_en: str, name_es: str, *words: str) -> Country:
    return Country(iso3, iso2, name_en, name_es, tuple(words))


COUNTRIES: tuple[Country, ...] = (
    _c("MEX", "MX", "Mexico", "México", "mexico", "mexican", "mexicano", "mexicana", "mexicanos",
       "mexicanas", "republica mexicana", "estados unidos mexicanos"),
    _c("USA", "US", "United States", "Estados Unidos", "united states", "united states of america",
       "the us", "u.s.", "u.s.a.", "us", "usa", "american", "americans", "estados unidos", "eeuu",
       "ee.uu.", "ee. uu.", "ee uu", "estadounidense", "estadounidenses", "norteamericano",
       "norteamericana", "norteamericanos", "norteamericanas"),
    _c("CAN", "CA", "Canada", "Canadá", "canada", "canadian", "canadiense", "canadienses"),
    _c("GTM", "GT", "Guatemala", "Guatemala", "guatemala", "guatemalan", "guatemalteco",
       "guatemalteca", "guatemaltecos"),
    _c("BLZ", "BZ", "Belize", "Belice", "belize", "belice", "belizean", "beliceno", "belicena"),
    _c("HND", "HN", "Honduras", "Honduras", "honduras", "honduran", "hondureno", "hondurena"),
    _c("SLV", "SV", "El Salvador", "El Salvador", "el salvador", "salvadoran", "salvadoreno",
       "salvadorena"),
    _c("NIC", "NI", "Nicaragua", "Nicaragua", "nicaragua", "nicaraguan", "nicaraguense"),
    _c("CRI", "CR", "Costa Rica", "Costa Rica", "costa rica", "costa rican", "costarricense"),
    _c("PAN", "PA", "Panama", "Panamá", "panama", "panamanian", "panameno", "panamena"),
    _c("CUB", "CU", "Cuba", "Cuba", "cuba", "cuban", "cubano", "cubana", "cubanos"),
    _c("VEN", "VE", "Venezuela", "Venezuela", "venezuela", "venezuelan", "venezolano",
       "venezolana", "venezolanos"),
    _c("COL", "CO", "Colombia", "Colombia", "colombia", "colombian", "colombiano", "colombiana",
       "colombianos"),
    _c("ECU", "EC", "Ecuador", "Ecuador", "ecuador", "ecuadorian", "ecuatoriano", "ecuatoriana"),
    _c("PER", "PE", "Peru", "Perú", "peru", "peruvian", "peruano", "peruana", "peruanos"),
    _c("BRA", "BR", "Brazil", "Brasil", "brazil", "brasil", "brazilian", "brasileno", "brasilena"),
    _c("ARG", "AR", "Argentina", "Argentina", "argentina", "argentine", "argentinian",
       "argentino", "argentinos"),
    _c("CHL", "CL", "Chile", "Chile", "chile", "chilean", "chileno", "chilena", "chilenos"),
    _c("DOM", "DO", "Dominican Republic", "República Dominicana", "dominican republic",
       "republica dominicana", "dominicano", "dominicana"),
    _c("HTI", "HT", "Haiti", "Haití", "haiti", "haitian", "haitiano", "haitiana"),
    _c("JAM", "JM", "Jamaica", "Jamaica", "jamaica", "jamaican", "jamaiquino", "jamaiquina"),
    _c("BHS", "BS", "Bahamas", "Bahamas", "bahamas", "bahamian"),
    _c("GBR", "GB", "United Kingdom", "Reino Unido", "united kingdom", "uk", "u.k.", "britain",
       "great britain", "british", "reino unido", "britanico", "britanica", "britanicos"),
    _c("FRA", "FR", "France", "Francia", "france", "french", "francia", "frances", "francesa"),
    _c("DEU", "DE", "Germany", "Alemania", "germany", "german", "alemania", "aleman", "alemana"),
    _c("ESP", "ES", "Spain", "España", "spain", "spanish", "espana", "espanol", "espanola"),
    _c("ITA", "IT", "Italy", "Italia", "italy", "italian", "italia", "italiano", "italiana"),
    _c("NLD", "NL", "Netherlands", "Países Bajos", "netherlands", "dutch", "paises bajos",
       "holanda", "neerlandes", "holandes"),
    _c("NOR", "NO", "Norway", "Noruega", "norway", "norwegian", "noruega", "noruego"),
    _c("POL", "PL", "Poland", "Polonia", "poland", "polish", "polonia", "polaco", "polaca"),
    _c("UKR", "UA", "Ukraine", "Ucrania", "ukraine", "ukrainian", "ucrania", "ucraniano",
       "ucraniana"),
    _c("RUS", "RU", "Russia", "Rusia", "russia", "russian", "rusia", "ruso", "rusa", "rusos"),
    _c("BLR", "BY", "Belarus", "Bielorrusia", "belarus", "belarusian", "bielorrusia",
       "bielorruso"),
    _c("TUR", "TR", "Turkey", "Turquía", "turkey", "turkiye", "turkish", "turquia", "turco",
       "turca"),
    _c("GRC", "GR", "Greece", "Grecia", "greece", "greek", "grecia", "griego", "griega"),
    _c("ROU", "RO", "Romania", "Rumania", "romania", "romanian", "rumania", "rumano", "rumana"),
    _c("SWE", "SE", "Sweden", "Suecia", "sweden", "swedish", "suecia", "sueco", "sueca"),
    _c("FIN", "FI", "Finland", "Finlandia", "finland", "finnish", "finlandia", "finlandes"),
    _c("EST", "EE", "Estonia", "Estonia", "estonia", "estonian", "estonio", "estonia"),
    _c("LVA", "LV", "Latvia", "Letonia", "latvia", "latvian", "letonia", "leton"),
    _c("LTU", "LT", "Lithuania", "Lituania", "lithuania", "lithuanian", "lituania", "lituano"),
    _c("CHN", "CN", "China", "China", "china", "chinese", "chino", "china", "chinos"),
    _c("TWN", "TW", "Taiwan", "Taiwán", "taiwan", "taiwanese", "taiwanes"),
    _c("JPN", "JP", "Japan", "Japón", "japan", "japanese", "japon", "japones", "japonesa"),
    _c("KOR", "KR", "South Korea", "Corea del Sur", "south korea", "south korean",
       "corea del sur", "surcoreano", "surcoreana"),
    _c("PRK", "KP", "North Korea", "Corea del Norte", "north korea", "north korean",
       "corea del norte", "norcoreano", "norcoreana"),
    _c("PHL", "PH", "Philippines", "Filipinas", "philippines", "philippine", "filipino",
       "filipinas", "filipina"),
    _c("AUS", "AU", "Australia", "Australia", "australia", "australian", "australiano",
       "australiana"),
    _c("IRN", "IR", "Iran", "Irán", "iran", "iranian", "irani", "iranies"),
    _c("ISR", "IL", "Israel", "Israel", "israel", "israeli", "israeli"),
    _c("SYR", "SY", "Syria", "Siria", "syria", "syrian", "siria", "sirio", "siria"),
    _c("LBN", "LB", "Lebanon", "Líbano", "lebanon", "lebanese", "libano", "libanes"),
)

BY_ISO3: dict[str, Country] = {c.iso3: c for c in COUNTRIES}
BY_ISO2: dict[str, Country] = {c.iso2: c for c in COUNTRIES}


def fold(text: str) -> str:
    """Lower-case and strip accents, so "México" and "mexico" read alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


# every word form -> country, longest first so "estados unidos mexicanos" wins over "estados unidos"
WORDS: dict[str, Country] = {}
for _country in COUNTRIES:
    for _w in _country.words:
        WORDS.setdefault(_w, _country)
WORD_FORMS: list[str] = sorted(WORDS, key=len, reverse=True)


def lookup(code_or_name: str) -> Country | None:
    """A country from its alpha-3 or alpha-2 code or any of its names (case and accents ignored)."""
    key = code_or_name.strip()
    if key.upper() in BY_ISO3:
        return BY_ISO3[key.upper()]
    if len(key) == 2 and key.upper() in BY_ISO2:
        return BY_ISO2[key.upper()]
    return WORDS.get(fold(key))


def iso3(code_or_name: str) -> str:
    """The alpha-3 code for a code or name; an unknown 3-letter code passes through upper-cased
    (any country can be named by code even if this table lacks its names)."""
    country = lookup(code_or_name)
    if country is not None:
        return country.iso3
    key = code_or_name.strip().upper()
    if len(key) == 3 and key.isalpha():
        return key
    raise ValueError(f"unknown country {code_or_name!r}: give an ISO 3166-1 alpha-3 code such as MEX")


def iso2(code_or_name: str) -> str:
    """The alpha-2 code (as the aircraft table's country_iso2 carries it) for a code or name."""
    country = lookup(code_or_name)
    if country is not None:
        return country.iso2
    key = code_or_name.strip().upper()
    if len(key) == 2 and key.isalpha():
        return key
    raise ValueError(
        f"unknown country {code_or_name!r}: give an ISO 3166-1 alpha-2 code (US) or a known alpha-3 (USA)"
    )


def name(code: str, lang: str = "en") -> str:
    """The country's name in English or Spanish; the code itself when the table lacks it."""
    country = lookup(code)
    if country is None:
        return code
    return country.name_es if lang == "es" else country.name_en
