"""Numbers as claims write them: digits and words, English and Spanish (0..99, dozens).

All matching is on folded text (lower case, accents stripped: "veintidós" -> "veintidos").
"""

from __future__ import annotations

import re

EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}

ES_UNITS = {
    "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20,
    "veintiuno": 21, "veintiuna": 21, "veintiun": 21, "veintidos": 22, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintisiete": 27, "veintiocho": 28,
    "veintinueve": 29,
}
ES_TENS = {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90}
ES_SMALL = {k: v for k, v in ES_UNITS.items() if 1 <= v <= 9}

# "a dozen" / "una docena" is twelve; "dozens" / "decenas" is a vague "many", read as at least 24 / 20
DOZEN_WORDS = {"a dozen": 12, "one dozen": 12, "una docena": 12, "two dozen": 24, "dos docenas": 24}
DOZENS_WORDS = {"dozens": 24, "dozens of": 24, "docenas": 24, "decenas": 20}


def _alt(words) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_EN = (
    rf"(?:(?:{_alt(EN_TENS)})(?:[- ](?:{_alt([w for w in EN_UNITS if 1 <= EN_UNITS[w] <= 9])}))?"
    rf"|{_alt(EN_UNITS)})"
)
_ES = (
    rf"(?:(?:{_alt(ES_TENS)})(?: y (?:{_alt(ES_SMALL)}))?"
    rf"|{_alt(ES_UNITS)})"
)
_DIGITS = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_EN_DOZ = [w for w in {**DOZEN_WORDS, **DOZENS_WORDS} if w.split()[0] in ("a", "one", "two", "dozens")]
_ES_DOZ = [w for w in {**DOZEN_WORDS, **DOZENS_WORDS} if w not in _EN_DOZ]
# one number phrase per language (digits in both); words of the other language are not numbers
# there ("once" is eleven in Spanish, not in English)
PATTERN = {
    "en": rf"(?:{_alt(_EN_DOZ)}|{_DIGITS}|{_EN})",
    "es": rf"(?:{_alt(_ES_DOZ)}|{_DIGITS}|{_ES})",
}
NUMBER_RE = {lang: re.compile(rf"(?<![\w.,])(?P<num>{pat})(?![\w])") for lang, pat in PATTERN.items()}


def value(phrase: str) -> tuple[int, bool]:
    """(n, vague) for a folded number phrase; vague for "dozens"/"decenas" (at least n)."""
    p = phrase.strip()
    if p in DOZEN_WORDS:
        return DOZEN_WORDS[p], False
    if p in DOZENS_WORDS:
        return DOZENS_WORDS[p], True
    if re.fullmatch(_DIGITS, p):
        return int(p.replace(",", "")), False
    if p in EN_UNITS:
        return EN_UNITS[p], False
    if p in ES_UNITS:
        return ES_UNITS[p], False
    m = re.fullmatch(r"([a-z]+)[- ]([a-z]+)", p)
    if m and m.group(1) in EN_TENS and m.group(2) in EN_UNITS:
        return EN_TENS[m.group(1)] + EN_UNITS[m.group(2)], False
    if p in EN_TENS:
        return EN_TENS[p], False
    if p in ES_TENS:
        return ES_TENS[p], False
    m = re.fullmatch(r"([a-z]+) y ([a-z]+)", p)
    if m and m.group(1) in ES_TENS and m.group(2) in ES_SMALL:
        return ES_TENS[m.group(1)] + ES_SMALL[m.group(2)], False
    raise ValueError(f"not a number: {phrase!r}")


def find_numbers(folded: str, lang: str) -> list[tuple[int, int, str]]:
    """(start, end, phrase) of every number phrase in folded text of language "en" or "es"."""
    return [(m.start("num"), m.end("num"), m.group("num")) for m in NUMBER_RE[lang].finditer(folded)]
