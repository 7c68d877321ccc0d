"""Read a plain sentence (English or Spanish) into a ClaimMeaning, or say which part could not be read.

    parse_claim("at least 18 US spy flights near Mexico in two weeks", window=(since, until))
    parse_claim("ningún avión entró al espacio aéreo mexicano")
    parse_claim("none entered our airspace", region="MEX")

What it reads, and how
  number      digits ("18", "1,000") and words 0..99 in English and Spanish ("twenty-one",
              "veintiún", "treinta y dos"), "a dozen"/"una docena" (12); "dozens"/"docenas" (at least
              24) and "decenas" (at least 20). Vague words (several, many, varios, muchos...) are
              refused: they are not numbers.
  comparator  at least / no fewer than / al menos / por lo menos / como mínimo -> at_least;
              more than / over / más de -> at_least n+1; at most / no more than / up to / como máximo /
              no más de / hasta -> at_most; fewer than / menos de -> at_most n-1; about / around /
              some / approximately / cerca de / alrededor de / unos -> about (± 10%, at least 1);
              only / just / solo / únicamente, or no comparator at all -> exactly.
  what        flights, sorties, missions, vuelos, misiones, salidas -> sorties; aircraft, planes,
              jets, drones, aviones, aeronaves, aparatos -> distinct_aircraft; entries, incursions,
              violations, incursiones -> sovereign_entries; a verb of entering (entered, violated,
              entró, ingresó, violó...) makes the count one of sovereign_entries. A number that ends
              its clause with no noun ("solo hemos localizado dos") is read as sorties, and the
              parse says so in its notes.
  none        "none / no aircraft / ningún avión / nadie ... entered" -> the predicate none_entered
              (sovereign_entries at_most 0).
  region      "X airspace", "espacio aéreo X", "over/into/in/sobre/en X" -> X's sovereign airspace;
              "near/off/close to/cerca de/frente a X" -> within NEAR_KM km of X; "within N km /
              nautical miles of X", "a menos de N km de X" -> within N km; "our airspace / nuestro
              espacio aéreo / espacio aéreo nacional" -> the `region` argument (refused without one).
              A country named as an adjective of the aircraft ("US spy flights", "aviones
              estadounidenses", "de Estados Unidos") is the registration country, not the region.
  who         spy / surveillance / reconnaissance / ISR / espía / espionaje / vigilancia /
              reconocimiento -> any ISR role; SIGINT, maritime patrol, AEW/AWACS, drones -> that
              role; military / militar / navy / air force / armada / fuerza aérea -> military only.
  window      ISO dates and day-month-year dates in the sentence win; otherwise the `window`
              argument. A relative span ("in two weeks", "en las últimas dos semanas") is kept as
              `duration` so verify can check it against the window actually used.

A sentence that makes two claims ("we located two, and none entered Mexican airspace") is refused
with the two parts named: write each as its own claim.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Any

from isrwatch.claims import numbers
from isrwatch.claims.model import ClaimMeaning, ParsedClaim, ParseFailure
from isrwatch.count import Area
from isrwatch.count import countries as C
from isrwatch.count.definition import ISR_ANY, utc

NEAR_KM = 100.0  # "near Mexico" / "cerca de México" is read as within this many km


def fold_aligned(text: str) -> str:
    """Lower case without accents, one character out per character in, so positions in the folded
    text point at the same words in the original."""
    out = []
    for ch in text:
        folded = C.fold(ch)
        out.append(folded[:1] if folded else ch)
    return "".join(out)


_SPACE = re.compile(r"\s+")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u2013", "-").replace("\u2014", " - ").replace("\u00a0", " ")
    return _SPACE.sub(" ", text).strip()


# --- lexicon (folded words) ------------------------------------------------------------------

ES_MARKERS = {
    "de", "el", "la", "los", "las", "que", "en", "al", "del", "y", "por", "con", "se", "vuelos", "vuelo",
    "aviones", "avion", "aeronaves", "ningun", "ninguna", "ninguno", "espacio", "aereo", "menos", "mas",
    "solo", "hemos", "entro", "ingreso", "espia", "espias", "cerca", "mexicano", "semanas", "dias",
    "unos", "unas", "han", "fueron", "nuestro", "nuestra",
}
EN_MARKERS = {
    "the", "of", "and", "in", "flights", "flight", "aircraft", "planes", "at", "least", "no", "none",
    "entered", "our", "more", "than", "near", "over", "spy", "were", "was", "have", "has", "weeks",
    "days", "into", "airspace", "only", "we", "they", "about", "off",
}

NOUNS: dict[str, str] = {}
for _w in (
    "flights flight sorties sortie missions mission overflights overflight patrols patrol "
    "vuelos vuelo sobrevuelos sobrevuelo misiones mision salidas salida patrullajes patrullaje"
).split():
    NOUNS[_w] = "sorties"
for _w in (
    "aircraft aircrafts planes plane airplanes airplane aeroplanes aeroplane jets jet drones drone "
    "aviones avion aeronaves aeronave aparatos aparato naves nave avionetas avioneta drones dron"
).split():
    NOUNS[_w] = "distinct_aircraft"
for _w in (
    "entries entry incursions incursion violations violation intrusions intrusion incursiones "
    "violaciones intrusiones ingresos"
).split():
    NOUNS[_w] = "sovereign_entries"
_NOUN_RE = re.compile(r"\b(" + "|".join(sorted(NOUNS, key=len, reverse=True)) + r")\b")

ENTRY_VERB = re.compile(
    r"\b(?:entered|enter|enters|entering|violated|violate|violates|violating|penetrated|intruded|"
    r"invaded|breached|entro|entraron|entrado|entrar|ingreso|ingresaron|ingresado|ingresar|violo|"
    r"violaron|violado|violar|penetro|penetraron|invadio|invadieron|incursiono|incursionaron)\b"
)
NEGATION = re.compile(
    r"\b(?:no|none|never|not|nobody|neither|didn't|hasn't|haven't|ningun|ninguna|ninguno|ningunos|"
    r"ningunas|nadie|nunca|jamas|ni un|ni una|ni siquiera un)\b|\bzero\b|\bcero\b"
)
VAGUE = re.compile(
    r"\b(several|many|numerous|multiple|a few|a number of|countless|various|a handful of|lots of|"
    r"varios|varias|muchos|muchas|numerosos|numerosas|diversos|diversas|multiples|unos cuantos|"
    r"unas cuantas|algunos|algunas|some)\b"
)
ROLE_WORDS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\b(?:sigint|elint|comint|signals intelligence|electronic intelligence|inteligencia de senales|rivet joint)\b"), ("sigint",)),
    (re.compile(r"\b(?:maritime patrol|anti-submarine|antisubmarine|patrulla maritima|patrullaje maritimo|p-8|poseidon)\b"), ("maritime_patrol",)),
    (re.compile(r"\b(?:awacs|aew|early warning|alerta temprana)\b"), ("aew",)),
    (re.compile(r"\b(?:drones?|uavs?|unmanned|dron|drones|no tripulad[oa]s?|global hawk|triton|reaper)\b"), ("uav_isr",)),
    (re.compile(
        r"\b(?:spy|spying|espionage|surveillance|reconnaissance|recon|isr|intelligence|espia|espias|"
        r"espionaje|vigilancia|reconocimiento|inteligencia)\b"), ISR_ANY),
]
MILITARY = re.compile(
    r"\b(?:military|militar|militares|air force|navy|naval|army|marines|fuerza aerea|armada|ejercito|"
    r"marina|castrense|castrenses)\b"
)

# comparators, anchored at the end of the text before the number
_BEFORE = [
    (r"(?:at least|a minimum of|no fewer than|no less than|not less than|not fewer than|al menos|"
     r"por lo menos|como minimo|minimo|no menos de|cuando menos)", "at_least", 0),
    (r"(?:more than|over|upwards of|in excess of|mas de|superior a|por encima de)", "at_least", 1),
    (r"(?:at most|no more than|not more than|up to|a maximum of|como maximo|a lo sumo|no mas de|"
     r"hasta|maximo|cuando mucho)", "at_most", 0),
    (r"(?:fewer than|less than|under|menos de|inferior a)", "at_most", -1),
    (r"(?:about|around|approximately|roughly|some|circa|an estimated|nearly|almost|close to|"
     r"cerca de|alrededor de|aproximadamente|unos|unas|casi|mas o menos|en torno a|aprox\.?)", "about", 0),
    (r"(?:exactly|precisely|exactamente|justo)", "exactly", 0),
]
_BEFORE_RE = [(re.compile(rf"\b{pat}\s*$"), comp, shift) for pat, comp, shift in _BEFORE]
_AFTER_RE = [
    (re.compile(r"^(?:\s+\w+){0,3}?\s+(?:or more|or over|o mas)\b"), "at_least"),
    (re.compile(r"^(?:\s+\w+){0,3}?\s+(?:or fewer|or less|o menos)\b"), "at_most"),
    (re.compile(r"^(?:\s+\w+){0,3}?\s+(?:or so|aproximadamente|mas o menos)\b"), "about"),
]
ONLY = re.compile(r"\b(?:only|just|merely|solo|solamente|unicamente|apenas|tan solo)\b")

# regions
OUR = re.compile(
    r"\b(?:our|its|their|nuestro|nuestra|nuestros|nuestras|su|sus)\s+(?:own\s+|national\s+|sovereign\s+|propio\s+)?"
    r"(?:air\s*space|airspace|territory|territorial|country|skies|sky|espacio aereo|territorio|pais|cielos?|mares?|soberania)"
    r"|\b(?:espacio aereo|territorio|cielo)\s+(?:nacional|patrio)\b|\bnational airspace\b"
)
_SOVEREIGN_AFTER = re.compile(r"^(?:'s)?\s+(?:sovereign\s+|national\s+)?(?:air\s*space|airspace|territory|territorial|skies)\b")
_SOVEREIGN_BEFORE = re.compile(
    r"(?:\b(?:espacio aereo|espacio|territorio|cielo|cielos|soberania|aguas territoriales|mar territorial)"
    r"(?:\s+(?:de|del))?(?:\s+(?:la|el|los))?"
    r"|\b(?:over|into|in|inside|entered|enter|violated|sobre|en|dentro de|hacia|al|a|violo|entro|ingreso)"
    r"(?:\s+(?:the|la|el))?)\s*$"
)
_NEAR_BEFORE = re.compile(
    r"\b(?:near|off|close to|around|along|next to|nearby|"
    r"(?:off|near|along|close to) the (?:coasts?|shores?) of|(?:off|near) the|"
    r"cerca de|frente a|alrededor de|junto a|en las inmediaciones de|en las proximidades de|"
    r"(?:cerca de|frente a) (?:las|la) costas? de|cerca|proximo a|proxima a)"
    r"(?:\s+(?:the|la|el|las|los))?\s*$"
)
_DIST_UNITS = r"(?P<unit>km|kms|kilometers|kilometres|kilometros|kilometro|nautical miles|nm|millas nauticas|miles|millas)"
_WITHIN_BEFORE = re.compile(
    rf"\b(?:within|less than|under|a menos de|dentro de|a|at)\s+(?P<n>{numbers._DIGITS}|[a-z]+(?:[- ][a-z]+)?)\s*{_DIST_UNITS}\s+"
    r"(?:of|from|off|de|del|frente a)(?:\s+(?:the|la|el|las costas de|la costa de|the coast of))?\s*$"
)
_PLACE_AFTER_PREP = re.compile(
    r"\b(?:near|off|over|into|inside|close to|along|coasts? of|shores? of|cerca de|frente a|sobre|dentro de|"
    r"costas? de|litoral de|a lo largo de)\s+(?:the\s+|la\s+|el\s+|las\s+|los\s+)?$"
)
# named places that are areas of interest (the airspace stage's AOI ids), not countries
_GULF = re.compile(r"\b(?:gulf of california|golfo de california|sea of cortez|sea of cortes|mar de cortes)\b")
_BAJA = re.compile(r"\b(?:the\s+)?(?:baja california(?: sur)?(?: peninsula)?|peninsula de baja california)\b")
_BORDER = re.compile(
    r"\b(?:u\.?s\.?[- ]mexic(?:o|an)|mexico[- ]u\.?s\.?|mexico[- ]united states|united states[- ]mexico|"
    r"us[- ]mexico) border\b|\bfrontera (?:norte|con (?:los )?estados unidos|(?:entre )?mexico[- y]+estados unidos)\b"
)
MONTHS_EN = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
             "october", "november", "december"]
MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
             "octubre", "noviembre", "diciembre"]
MONTH = {m: i + 1 for i, m in enumerate(MONTHS_EN)} | {m: i + 1 for i, m in enumerate(MONTHS_ES)}
MONTH["setiembre"] = 9
_MONTH_ALT = "|".join(sorted(MONTH, key=len, reverse=True))
_NOT_PLACES = set(MONTHS_EN) | set(MONTHS_ES) | {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "international",
    "lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo", "internacional", "a", "an",
}

# time spans
_DUR_UNITS = {
    "day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "month": 30, "months": 30,
    "dia": 1, "dias": 1, "semana": 7, "semanas": 7, "quincena": 15, "mes": 30, "meses": 30,
}
_DURATION = re.compile(
    r"\b(?:in|over|during|within|across|for|throughout|en|durante|a lo largo de)\s+"
    r"(?:(?:the|a|las|los|el|la)\s+)?(?:(?:last|past|previous|ultimas|ultimos|ultima|ultimo|pasadas|pasados|recent)\s+)?"
    r"(?P<n>[a-z0-9]+(?:[- ][a-z]+)?\s+)?(?P<unit>days|day|weeks|week|fortnight|months|month|dias|dia|semanas|semana|quincena|meses|mes)\b"
    r"(?:\s+(?:pasadas|pasados))?"
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DAY_MONTH = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+)?(?P<m>{_MONTH_ALT})(?:,?\s+(?:de\s+|del\s+)?(?P<y>\d{{4}}))?\b"
)
_MONTH_DAY = re.compile(rf"\b(?P<m>{_MONTH_ALT})\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?\b")
_RANGE_SAME_MONTH = re.compile(
    rf"\b(?:between|from|del|entre el|entre|de)?\s*(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s*(?:-|to|and|al|y|a)\s*"
    rf"(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de\s+)?(?P<m>{_MONTH_ALT})(?:,?\s+(?:de\s+|del\s+)?(?P<y>\d{{4}}))?\b"
)


def _overlaps(a: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def detect_language(folded: str) -> str:
    words = re.findall(r"[a-z']+", folded)
    es = sum(w in ES_MARKERS for w in words)
    en = sum(w in EN_MARKERS for w in words)
    return "es" if es > en else "en"


def _number_value(phrase: str, lang: str) -> int | None:
    try:
        return numbers.value(phrase)[0]
    except ValueError:
        return None


class _Refuse(Exception):
    def __init__(self, part: str, reason: str) -> None:
        super().__init__(reason)
        self.part = part
        self.reason = reason


def _window_arg(window: Any) -> tuple[datetime | None, datetime | None]:
    if window is None:
        return None, None
    since, until = window
    return utc(since), utc(until, end=True)


def _region_arg(region: Any) -> Area | None:
    if region is None or isinstance(region, Area):
        return region
    return Area.sovereign(str(region))


def parse_claim(
    text: str,
    *,
    window: tuple[Any, Any] | None = None,
    region: Area | str | None = None,
    lang: str | None = None,
    said_on: date | None = None,
) -> ParsedClaim | ParseFailure:
    """Read `text` into a ParsedClaim, or return a ParseFailure naming the part it could not read.

    window: (since, until) to use when the sentence names no dates (bare dates: until is inclusive).
    region: an Area or ISO alpha-3 for "our airspace", for entries with no country named, and for
    counts that name no place. lang: "en" or "es" (detected when absent). said_on: the date of the
    claim, for dates that name no year.
    """
    original = _clean(text or "")
    if not original:
        return ParseFailure(text or "", lang, "claim", "the claim is empty")
    folded = fold_aligned(original)
    language = (lang or "").lower()[:2] or detect_language(folded)
    if language not in ("en", "es"):
        return ParseFailure(original, language, "claim", f"language {lang!r} is not read: only English (en) and Spanish (es)")
    try:
        return _parse(original, folded, language, window, _region_arg(region), said_on)
    except _Refuse as refuse:
        return ParseFailure(original, language, refuse.part, refuse.reason)


def _parse(original: str, f: str, lang: str, window: Any, region_arg: Area | None, said_on: date | None) -> ParsedClaim:
    read: dict[str, str] = {}
    notes: list[str] = []

    def words(a: int, b: int) -> str:
        return original[a:b]

    # --- spans that hold numbers which are not the count: dates, durations, distances ----------
    taken: list[tuple[int, int]] = []
    since, until = None, None
    dates = _find_dates(f, said_on, window)
    if dates:
        (a, b), since, until = dates
        taken.append((a, b))
        read["window"] = words(a, b)
    duration = None
    for m in _DURATION.finditer(f):
        n_phrase = (m.group("n") or "").strip()
        if n_phrase in ("", "a", "an", "one", "un", "una", "the"):
            k = 1
        else:
            k = _number_value(n_phrase, lang)
            if k is None:
                continue
        duration = timedelta(days=k * _DUR_UNITS[m.group("unit")])
        taken.append(m.span())
        read["duration"] = words(*m.span())
        break
    within: list[tuple[int, int, float]] = []  # (start, end, km) of "within N km of"
    for m in re.finditer(rf"(?<![\w.,])(?P<n>{numbers.PATTERN[lang]})\s*{_DIST_UNITS}\b", f):
        k = _number_value(m.group("n"), lang)
        if k is None:
            continue
        taken.append(m.span())
        unit = m.group("unit")
        km = k * (1.852 if unit in ("nautical miles", "nm", "millas nauticas") else 1.609344 if unit in ("miles", "millas") else 1.0)
        within.append((m.start(), m.end(), km))
    for m in re.finditer(r"\b(19[5-9]\d|20\d\d)\b", f):
        taken.append(m.span())  # years are dates, never counts

    # --- two claims in one sentence -----------------------------------------------------------
    entry_verb = ENTRY_VERB.search(f)

    # --- region -------------------------------------------------------------------------------
    area, registration, region_read, place_notes = _find_region(original, f, within)
    notes.extend(place_notes)
    our = OUR.search(f)
    if our and area is None:
        if region_arg is None:
            raise _Refuse(
                "region",
                f"the sentence says {words(*our.span())!r} but not which country that is: give the region (--region ISO3)",
            )
        area = region_arg if region_arg.kind == "sovereign" else region_arg
        read["region"] = words(*our.span())
        notes.append(f"{words(*our.span())!r} read as {area.describe()} (from the region given)")
    elif area is not None:
        read["region"] = region_read
    if registration:
        read["registration"] = ", ".join(r[1] for r in registration)

    # --- who: roles, military -----------------------------------------------------------------
    roles: set[str] = set()
    role_read = []
    for pattern, rs in ROLE_WORDS:
        m = pattern.search(f)
        if m:
            roles.update(rs)
            role_read.append(words(*m.span()))
    if set(ISR_ANY) <= roles:
        roles = set(ISR_ANY)
    if role_read:
        read["role"] = ", ".join(role_read)
    mil = MILITARY.search(f)
    if mil:
        read["military"] = words(*mil.span())

    # --- the number and its comparator --------------------------------------------------------
    candidates = []
    for a, b, phrase in numbers.find_numbers(f, lang):
        if _overlaps((a, b), taken):
            continue
        if phrase in ("un", "una", "uno") and not _followed_by_noun(f, b) and phrase != "uno":
            continue  # Spanish article, not a count ("un total de", "en un mes")
        candidates.append((a, b, phrase))

    comparator_spans: list[tuple[int, int]] = []
    quantity = None
    if candidates:
        a, b, phrase = candidates[0]
        n, vague = numbers.value(phrase)
        comparator, shift, comp_span = "exactly", 0, None
        before = f[max(0, a - 45) : a]
        # the longest comparator wins: "no more than" over "more than"
        hits = [(m.start(), comp, sh) for pattern, comp, sh in _BEFORE_RE if (m := pattern.search(before))]
        if hits:
            start, comparator, shift = min(hits)
            comp_span = (a - len(before) + start, a)
        if comp_span is None:
            after = f[b : b + 40]
            for pattern, comp in _AFTER_RE:
                m = pattern.search(after)
                if m:
                    comparator, comp_span = comp, (a, b + m.end())
                    break
        clause_start = max(f.rfind(ch, 0, a) for ch in ",;:.!?")
        only = ONLY.search(f, clause_start + 1, a)
        if comp_span is None and only:
            comp_span = (only.start(), b)
            notes.append(f"{words(*only.span())!r} read as exactly {n}")
        if comp_span is not None:
            comparator_spans.append(comp_span)
        if vague:
            comparator = "at_least"
            notes.append(f"{phrase!r} read as at least {n}")
        elif shift:
            bound = n + shift
            if bound < 0:
                raise _Refuse("number", f"{words(comp_span[0], b)!r} asks for fewer than zero")
            notes.append(f"{words(comp_span[0], b)!r} read as {comparator.replace('_', ' ')} {bound}")
            n = bound
        elif comp_span is None:
            notes.append(f"no comparator: {phrase!r} read as exactly {n}")
        quantity = (a, b, n, comparator, comp_span)
        read["number"] = words(comp_span[0] if comp_span else a, max(b, comp_span[1] if comp_span else b))

    # negation, outside comparators such as "no more than"
    def negated(start: int, end: int) -> re.Match[str] | None:
        for m in NEGATION.finditer(f, start, end):
            if not _overlaps(m.span(), comparator_spans):
                return m
        return None

    if entry_verb is not None:
        neg = negated(0, entry_verb.start()) or re.compile(r"\b(?:ningun|ninguna|ninguno|nadie|none)\b").search(f, entry_verb.end())
        if neg is not None and (quantity is None or quantity[2] == 0):
            return _none_entered(
                original, lang, area, region_arg, roles, mil, [c for c, _ in registration], since, until, duration,
                window, read, notes, neg, entry_verb, words,
            )
        if neg is not None and quantity is not None:
            if _clause(f, quantity[0]) == _clause(f, neg.start()):
                raise _Refuse(
                    "claim",
                    f"could not tell whether {words(*_clause(f, neg.start()))!r} counts {quantity[2]} or says none entered",
                )
            raise _Refuse(
                "claim",
                f"the sentence makes two claims ({words(*_clause(f, quantity[0]))!r} and "
                f"{words(*_clause(f, neg.start()))!r}): write each as its own claim",
            )

    if quantity is None:
        # "no spy flights near Mexico": zero of something, without a verb of entering
        m = re.search(r"\b(?:no|none of the|ningun|ninguna|ninguno|cero|zero)\s+(?:\w+\s+){0,2}?(" + _NOUN_RE.pattern[3:-3] + r")\b", f)
        if m and negated(m.start(), m.start() + 10):
            quantity = (m.start(), m.start(), 0, "at_most", None)
            read["number"] = words(m.start(), m.start() + len(m.group(0).split()[0]))
            notes.append(f"{words(m.start(), m.end())!r} read as at most 0")
        else:
            vague_m = VAGUE.search(f)
            if vague_m:
                raise _Refuse(
                    "number",
                    f"{words(*vague_m.span())!r} is not a number: the claim needs one (e.g. 'at least 3') to be checked",
                )
            raise _Refuse(
                "number",
                "found no number of flights, aircraft or entries and no statement that none entered",
            )

    a, b, n, comparator, _comp_span = quantity

    # --- what is counted ----------------------------------------------------------------------
    kind = None
    noun = _NOUN_RE.search(f, b)
    clause_end = _clause(f, a, b)[1]
    if noun is not None and noun.start() <= clause_end + 1:
        kind = NOUNS[noun.group(1)]
        read["what"] = words(*noun.span())
    else:
        noun_before = _NOUN_RE.search(f[:a])
        if noun_before is not None:
            kind = NOUNS[noun_before.group(1)]
            read["what"] = words(*noun_before.span())
    if entry_verb is not None and kind != "sovereign_entries":
        if kind == "distinct_aircraft":
            notes.append("aircraft that entered counted as entries into sovereign airspace (one aircraft may enter more than once)")
        kind = "sovereign_entries"
        read["what"] = (read.get("what", "") + " " + words(*entry_verb.span())).strip()
    if kind is None:
        rest = f[b:clause_end].strip(" .,;:!?")
        if not rest:
            kind = "sorties"
            notes.append("no noun after the number: read as flights (sorties)")
        else:
            raise _Refuse(
                "noun",
                f"could not tell what {words(b, clause_end).strip()!r} counts: expected flights, sorties, "
                "aircraft, planes or entries (vuelos, aviones, aeronaves, incursiones)",
            )

    # --- region for the kind ------------------------------------------------------------------
    if area is None and region_arg is not None:
        area = region_arg
        notes.append(f"the sentence names no place: counted in {area.describe()} (the region given)")
    if kind == "sovereign_entries":
        if area is None:
            raise _Refuse("region", "could not tell which country's airspace was entered: name it or give the region (--region ISO3)")
        area = _entries_area(area, notes, "entries counted into {country}'s sovereign airspace, not {area}")

    since, until, duration = _resolve_window(since, until, duration, window, said_on, read, notes)
    if comparator == "about":
        tolerance = float(max(1, round(0.1 * n)))
        notes.append(f"'about {n}' read as {n} ± {tolerance:g}")
    else:
        tolerance = 0.0
    meaning = ClaimMeaning(
        comparator=comparator,
        n=n,
        kind=kind,
        tolerance=tolerance,
        region=area,
        since=since,
        until=until,
        duration=duration,
        roles=tuple(roles),
        military_only=bool(mil),
        countries=tuple(c for c, _ in registration),
    )
    return ParsedClaim(original, lang, meaning, read, tuple(notes))


def _entries_area(area: Area, notes: list[str], note: str) -> Area:
    """The sovereign airspace entries are counted into: a ring or AOI of a country reads as that
    country's airspace (noted with `note`, formatted with country and area); no country, a refusal."""
    if area.kind == "sovereign":
        return area
    if area.country is None:
        raise _Refuse("region", f"entries are counted into a country's sovereign airspace, not into {area.describe()}")
    notes.append(note.format(country=area.country, area=area.describe()))
    return Area.sovereign(area.country)


def _none_entered(original, lang, area, region_arg, roles, mil, countries, since, until, duration, window, read, notes, neg, verb, words):
    read["none"] = words(*neg.span())
    read["what"] = words(*verb.span())
    if area is None:
        if region_arg is None:
            raise _Refuse("region", "could not tell which country's airspace was not entered: name it or give the region (--region ISO3)")
        area = region_arg
        notes.append(f"the sentence names no country: read as {area.describe()} (the region given)")
    area = _entries_area(area, notes, "read as entries into {country}'s sovereign airspace")
    since, until, duration = _resolve_window(since, until, duration, window, None, read, notes)
    meaning = ClaimMeaning.none_entered(
        area, roles=tuple(roles), military_only=bool(mil), countries=tuple(countries), since=since, until=until,
        duration=duration,
    )
    return ParsedClaim(original, lang, meaning, read, tuple(notes))


def _resolve_window(since, until, duration, window, said_on, read, notes):
    if since is None and until is None and window is not None:
        since, until = _window_arg(window)
        notes.append("window from the command line (the sentence names no dates)")
    if duration is not None and since is not None and until is not None:
        span = until - since
        if abs(span - duration) > timedelta(days=1):
            notes.append(
                f"the sentence speaks of {duration.days} days; the window given is {span / timedelta(days=1):g} days"
            )
    return since, until, duration


def _clause(f: str, pos: int, end_pos: int | None = None) -> tuple[int, int]:
    """The clause around a position (or span): between punctuation or a coordinating conjunction."""
    seps = re.compile(r"[,;:.!?]|\b(?:and|but|while|y|pero|mientras|aunque)\b")
    start = 0
    for m in seps.finditer(f, 0, pos):
        start = m.end()
    m = seps.search(f, pos if end_pos is None else end_pos)
    end = m.start() if m else len(f)
    return start + (len(f[start:]) - len(f[start:].lstrip())), end


def _followed_by_noun(f: str, end: int) -> bool:
    return bool(re.match(r"(?:\s+\w+){0,2}?\s+(" + "|".join(NOUNS) + r")\b", f[end:]))


_MODIFIER = (
    r"(?:spy|surveillance|reconnaissance|recon|isr|military|intelligence|navy|air force|army|marine|"
    r"government|state|espia|espias|militar|militares|de espionaje|de vigilancia|de reconocimiento|"
    r"de inteligencia|de la fuerza aerea|de la armada|del ejercito|de la marina|del gobierno|de|del|from|de los)"
)
_ADJ_BEFORE_NOUN = re.compile(rf"^\s*(?:{_MODIFIER}\s+){{0,3}}(?:" + "|".join(NOUNS) + r")\b")
_ADJ_AFTER_NOUN = re.compile(rf"\b(?:" + "|".join(NOUNS) + rf")(?:\s+{_MODIFIER}){{0,3}}\s+$")


def _modifies_noun(f: str, a: int, b: int) -> bool:
    """The country word sits next to the counted noun: "US spy flights", "vuelos espía de Estados Unidos"."""
    return bool(_ADJ_BEFORE_NOUN.match(f[b:]) or _ADJ_AFTER_NOUN.search(f[max(0, a - 60) : a]))


def _find_region(original: str, f: str, within: list[tuple[int, int, float]]):
    """(area, registration countries [(iso2, words)], words read for the area)."""
    mentions: list[tuple[int, int, C.Country]] = []
    used: list[tuple[int, int]] = []
    places: list[tuple[int, Area, str, str]] = []  # (start, area, words, note)
    for m in _GULF.finditer(f):
        places.append((m.start(), Area.aoi("gulf-of-california"), original[m.start() : m.end()], ""))
        used.append(m.span())
    for m in _BORDER.finditer(f):
        places.append((m.start(), Area.aoi("us-mex-border"), original[m.start() : m.end()],
                       "read as the AOI us-mex-border (the land border corridor, 50 km either side)"))
        used.append(m.span())
    for m in _BAJA.finditer(f):
        if _overlaps(m.span(), used):
            continue
        before = f[max(0, m.start() - 60) : m.start()]
        if _NEAR_BEFORE.search(before) or _PLACE_AFTER_PREP.search(before) and not _SOVEREIGN_BEFORE.search(before):
            places.append((m.start(), Area.aoi("baja-pacific"), original[m.start() : m.end()],
                           "'off Baja California' read as the AOI baja-pacific (the Pacific approaches within 100 km); "
                           "the Gulf of California is another AOI"))
        else:
            places.append((m.start(), Area.sovereign("MEX"), original[m.start() : m.end()],
                           "Baja California is Mexican territory: read as Mexico's sovereign airspace"))
        used.append(m.span())
    for form in C.WORD_FORMS:
        for m in re.finditer(rf"(?<![\w.]){re.escape(form)}(?![\w])", f):
            span = m.span()
            if _overlaps(span, used):
                continue
            if form in ("us", "the us") and "US" not in original[span[0] : span[1]]:
                continue  # the pronoun "us" is not the United States
            mentions.append((span[0], span[1], C.WORDS[form]))
            used.append(span)
    mentions.sort(key=lambda x: x[0])
    area: Area | None = None
    area_words = ""
    registration: list[tuple[str, str]] = []
    place_notes: list[str] = []
    if places:
        places.sort(key=lambda x: x[0])
        area, area_words = places[0][1], places[0][2]
        place_notes = [places[0][3]] if places[0][3] else []
        for _start, other, words_read, _note in places[1:]:
            if other != area:
                raise _Refuse(
                    "region",
                    f"the sentence names two places ({area_words!r} and {words_read!r}): write each as its own claim",
                )
    for a, b, country in mentions:
        before = f[max(0, a - 60) : a]
        after = f[b : b + 30]
        w, w_start = None, a
        for s, e, km in within:
            wm = _WITHIN_BEFORE.search(f[max(0, s - 20) : a]) if e <= a else None
            if wm:
                w, w_start = km, max(0, s - 20) + wm.start()
        near = _NEAR_BEFORE.search(before)
        sov_after = _SOVEREIGN_AFTER.match(after)
        if w is not None:
            found, words_read = Area.within(round(w, 3), country.iso3), original[w_start:b]
        elif near:
            found = Area.within(NEAR_KM, country.iso3)
            words_read = original[a - len(near.group(0)) : b + (sov_after.end() if sov_after else 0)]
        elif sov_after or _SOVEREIGN_BEFORE.search(before):
            found = Area.sovereign(country.iso3)
            if sov_after:
                words_read = original[a : b + sov_after.end()]
            else:
                words_read = original[a - len(_SOVEREIGN_BEFORE.search(before).group(0)) : b]
        elif _modifies_noun(f, a, b):
            registration.append((country.iso2, original[a:b]))
            continue
        else:
            continue  # a country named as speaker or topic ("Mexico said ..."): neither place nor registration
        if area is None:
            area, area_words = found, words_read
        elif found != area:
            raise _Refuse(
                "region",
                f"the sentence names two places ({area_words!r} and {words_read!r}): write each as its own claim",
            )
    if area is None:
        # a place after "near"/"over"... that is not a known country: say so rather than drop it
        for m in re.finditer(r"\b[A-Z][\w\-]+(?:\s+[A-Z][\w\-]+)*", original):
            if _PLACE_AFTER_PREP.search(f[: m.start()]) and C.fold(m.group(0)) not in _NOT_PLACES:
                if not _overlaps(m.span(), used):
                    raise _Refuse(
                        "region",
                        f"could not read the place {m.group(0)!r}: name a country (e.g. Mexico, México) or give "
                        "the region (--region ISO3, --area, --geojson)",
                    )
    return area, registration, area_words, place_notes


def _find_dates(f: str, said_on: date | None, window: Any):
    """((start, end), since, until) for dates named in the sentence, or None."""
    default_year = said_on.year if said_on else None
    if default_year is None and window is not None and window[0] is not None:
        default_year = utc(window[0]).year

    def year(y: str | None, what: str) -> int:
        if y:
            return int(y)
        if default_year is None:
            raise _Refuse("window", f"the date {what!r} names no year and the claim has no date to take it from")
        return default_year

    def day(y: int, m: int, d: int) -> datetime:
        try:
            return datetime(y, m, d, tzinfo=timezone.utc)
        except ValueError as exc:
            raise _Refuse("window", f"not a date: {y}-{m:02d}-{d:02d} ({exc})") from None

    m = _RANGE_SAME_MONTH.search(f)
    if m:
        y = year(m.group("y"), m.group(0))
        mo = MONTH[m.group("m")]
        lo, hi = day(y, mo, int(m.group("d1"))), day(y, mo, int(m.group("d2")))
        return m.span(), lo, hi + timedelta(days=1)
    found: list[tuple[tuple[int, int], datetime]] = []
    for m in _ISO_DATE.finditer(f):
        found.append((m.span(), day(int(m.group(1)), int(m.group(2)), int(m.group(3)))))
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        for m in pattern.finditer(f):
            if _overlaps(m.span(), [s for s, _ in found]):
                continue
            found.append((m.span(), day(year(m.group("y"), m.group(0)), MONTH[m.group("m")], int(m.group("d")))))
    if not found:
        return None
    found.sort(key=lambda x: x[0][0])
    (s0, _e0), first = found[0]
    (_s1, e1), last = found[-1]
    if len(found) == 1:
        before = f[max(0, s0 - 20) : s0]
        if re.search(r"\b(?:since|from|after|desde|a partir de)\s+(?:el\s+)?$", before):
            return (s0, e1), first, None
        if re.search(r"\b(?:until|till|through|before|to|hasta|antes de)\s+(?:el\s+)?$", before):
            return (s0, e1), None, first + timedelta(days=1)
        return (s0, e1), first, first + timedelta(days=1)  # "on 3 February": that day
    return (s0, e1), first, last + timedelta(days=1)
