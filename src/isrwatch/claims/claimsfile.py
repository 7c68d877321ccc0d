"""Claims files (YAML): who said what, when, and optionally what it means, validated with line numbers.

    # defaults for every claim (each optional; a claim's own fields win)
    window: {since: 2025-02-01, until: 2025-02-14}   # until inclusive when a bare date
    region: MEX
    claims:
      - id: milenio-18
        source: Milenio, citing flight-tracking data
        words: "al menos 18 vuelos espía de Estados Unidos cerca de México en dos semanas"
        date: 2025-02-14
        language: es                 # en | es; detected from the words when absent
        url: https://example.org/...  # optional
        # meaning: optional; without it the words are parsed (see claims.parse)
        meaning:
          comparator: at_least       # exactly | at_least | at_most | about
          n: 18
          tolerance: 2               # about only (default: 10% of n, at least 1)
          kind: sorties              # sorties | aircraft | aircraft-days | missions | entries
          region: {within_km: 100, of: MEX}   # or MEX, {country: MEX}, {aoi: ID}, {geojson: FILE}, our
          since: 2025-02-01          # window; else the claim's / file's / command line's
          until: 2025-02-14
          duration_days: 14          # a relative window stated in the words ("in two weeks")
          roles: isr                 # isr (any ISR role) or a list: [sigint, maritime_patrol]
          military: true
          country: USA               # registration country (ICAO address block), one or a list
          min_minutes: 30            # missions
          count_gap_only: false      # entries: count entries resting only on a line across a gap
      - id: sheinbaum-none
        source: Presidency of Mexico
        words: "ningún avión entró al espacio aéreo mexicano"
        date: 2025-02-14
        meaning: {predicate: none_entered, region: MEX}

A bare list of claims is accepted too. Every problem is reported with its line and field
(`ClaimsFileError.problems`), all at once, so a file can be fixed in one pass.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from isrwatch.claims.model import COMPARATORS, PREDICATES, Claim, ClaimMeaning
from isrwatch.count import Area
from isrwatch.count.definition import kind_of, normalise_roles, utc
from isrwatch.count import countries as C

CLAIM_FIELDS = ("id", "source", "words", "date", "language", "url", "window", "region", "since", "until", "meaning", "notes")
MEANING_FIELDS = (
    "comparator", "n", "tolerance", "kind", "predicate", "region", "since", "until", "duration_days", "roles",
    "role", "military", "country", "countries", "min_minutes", "count_gap_only",
)
TOP_FIELDS = ("claims", "window", "region")
REGION_FIELDS = ("country", "within_km", "of", "aoi", "geojson")


@dataclass(frozen=True)
class Problem:
    line: int | None  # 1-based
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field}: {self.message}"


class ClaimsFileError(ValueError):
    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}:{p.line or '?'}: {p.field}: {p.message}" for p in problems]
        super().__init__(f"{len(problems)} problem(s) in {path}:\n" + "\n".join(lines))


class _Map(dict):
    """A mapping that remembers its line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class _Seq(list):
    line: int = 0
    item_lines: list[int]


def _build(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = _Map()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key = str(key)
            out[key] = _build(value_node, loader)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = _Seq(_build(item, loader) for item in node.value)
        seq.line = node.start_mark.line + 1
        seq.item_lines = [item.start_mark.line + 1 for item in node.value]
        return seq
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.constructor.ConstructorError):
        # e.g. 2025-02-30 resolves as a timestamp but is no date: keep the text, the field check says why
        return node.value


def _compose(text: str) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _build(node, loader)
    finally:
        loader.dispose()


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, line: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(line, field, message))

    def keys(self, mapping: _Map, allowed: tuple[str, ...], where: str) -> None:
        for key in mapping:
            if key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else f" (allowed: {', '.join(allowed)})"
                self.add(mapping.key_lines.get(key, mapping.line), f"{where}.{key}" if where else key, f"unknown field{hint}")


def _line(mapping: Any, key: str) -> int | None:
    if isinstance(mapping, _Map):
        return mapping.key_lines.get(key, mapping.line)
    return None


def _as_time(value: Any, *, end: bool) -> datetime:
    if isinstance(value, (date, datetime)):
        return utc(value, end=end)  # type: ignore[return-value]
    if isinstance(value, str):
        return utc(value, end=end)  # type: ignore[return-value]
    raise ValueError(f"not a date: {value!r} (write YYYY-MM-DD or an ISO time)")


def parse_region(value: Any) -> tuple[Area | None, bool]:
    """(area, region_our) from a region field: "MEX", "our", {country: MEX}, {within_km: N, of: MEX},
    {aoi: ID}, {geojson: FILE}."""
    if value is None:
        return None, False
    if isinstance(value, str):
        if value.strip().lower() in ("our", "ours", "nuestro"):
            return None, True
        return Area.sovereign(value), False
    if isinstance(value, dict):
        unknown = [k for k in value if k not in REGION_FIELDS]
        if unknown:
            raise ValueError(f"unknown region field {unknown[0]!r} (use country, within_km + of, aoi or geojson)")
        if "within_km" in value:
            if "of" not in value:
                raise ValueError("within_km needs 'of: ISO3' (the country)")
            km = value["within_km"]
            if not isinstance(km, (int, float)) or isinstance(km, bool) or km <= 0:
                raise ValueError(f"within_km must be a positive number of km, not {km!r}")
            return Area.within(float(km), str(value["of"])), False
        if "country" in value:
            return Area.sovereign(str(value["country"])), False
        if "aoi" in value:
            return Area.aoi(str(value["aoi"])), False
        if "geojson" in value:
            return Area.geojson(str(value["geojson"])), False
    raise ValueError(f"not a region: {value!r} (write MEX, our, {{within_km: 100, of: MEX}}, {{aoi: ID}} or {{geojson: FILE}})")


def _window(value: Any, check: _Checker, where: str, line: int | None) -> tuple[datetime | None, datetime | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        check.add(line, where, "window must be a mapping {since: YYYY-MM-DD, until: YYYY-MM-DD}")
        return None, None
    check.keys(value, ("since", "until"), where)
    since = until = None
    for key in ("since", "until"):
        if key in value and value[key] is not None:
            try:
                t = _as_time(value[key], end=key == "until")
            except ValueError as exc:
                check.add(_line(value, key), f"{where}.{key}", str(exc))
                continue
            since, until = (t, until) if key == "since" else (since, t)
    if since and until and until <= since:
        check.add(line, where, "until is not after since")
    return since, until


def _meaning(m: Any, check: _Checker, where: str) -> ClaimMeaning | None:
    line = getattr(m, "line", None)
    if not isinstance(m, dict):
        check.add(line, where, "meaning must be a mapping (comparator, n, kind, ... or predicate: none_entered)")
        return None
    check.keys(m, MEANING_FIELDS, where)
    n_before = len(check.problems)

    def bad(key: str, message: str) -> None:
        check.add(_line(m, key), f"{where}.{key}", message)

    kw: dict[str, Any] = {}
    predicate = m.get("predicate")
    if predicate is not None:
        if predicate not in PREDICATES:
            bad("predicate", f"{predicate!r} is not one of {', '.join(PREDICATES)}")
        for key in ("comparator", "n", "kind"):
            if key in m:
                bad(key, f"a predicate claim takes no {key} (none_entered means entries at most 0)")
    else:
        for key in ("comparator", "n", "kind"):
            if key not in m:
                check.add(line, f"{where}.{key}", "missing (or give predicate: none_entered)")
        comparator = m.get("comparator")
        if comparator is not None:
            comparator = str(comparator).replace(" ", "_").replace("-", "_")
            if comparator not in COMPARATORS:
                bad("comparator", f"{m['comparator']!r} is not one of {', '.join(COMPARATORS)}")
            kw["comparator"] = comparator
        n = m.get("n")
        if "n" in m:
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                bad("n", f"n must be a whole number >= 0, not {n!r}")
            kw["n"] = n
        if "kind" in m:
            try:
                kw["kind"] = kind_of(str(m["kind"]))
            except ValueError as exc:
                bad("kind", str(exc))
        if "tolerance" in m:
            tol = m["tolerance"]
            if comparator != "about":
                bad("tolerance", "tolerance applies only to comparator: about")
            elif not isinstance(tol, (int, float)) or isinstance(tol, bool) or tol < 0:
                bad("tolerance", f"tolerance must be a number >= 0, not {tol!r}")
            else:
                kw["tolerance"] = float(tol)
        elif comparator == "about" and isinstance(n, int):
            kw["tolerance"] = float(max(1, round(0.1 * n)))
    if "region" in m:
        try:
            kw["region"], kw["region_our"] = parse_region(m["region"])
        except ValueError as exc:
            bad("region", str(exc))
    for key in ("since", "until"):
        if m.get(key) is not None:
            try:
                kw[key] = _as_time(m[key], end=key == "until")
            except ValueError as exc:
                bad(key, str(exc))
    if m.get("duration_days") is not None:
        d = m["duration_days"]
        if not isinstance(d, (int, float)) or isinstance(d, bool) or d <= 0:
            bad("duration_days", f"duration_days must be a positive number, not {d!r}")
        else:
            kw["duration"] = timedelta(days=d)
    roles = m.get("roles", m.get("role"))
    if roles is not None:
        try:
            kw["roles"] = normalise_roles(roles)
        except ValueError as exc:
            bad("roles" if "roles" in m else "role", str(exc))
    if "military" in m:
        if not isinstance(m["military"], bool):
            bad("military", f"military must be true or false, not {m['military']!r}")
        else:
            kw["military_only"] = m["military"]
    ctry = m.get("countries", m.get("country"))
    if ctry is not None:
        key = "countries" if "countries" in m else "country"
        values = [ctry] if isinstance(ctry, str) else ctry
        try:
            kw["countries"] = tuple(C.iso2(str(c)) for c in values)
        except (ValueError, TypeError) as exc:
            bad(key, str(exc))
    if "min_minutes" in m:
        mm = m["min_minutes"]
        if not isinstance(mm, (int, float)) or isinstance(mm, bool) or mm < 0:
            bad("min_minutes", f"min_minutes must be a number >= 0, not {mm!r}")
        else:
            kw["min_minutes"] = float(mm)
    if "count_gap_only" in m:
        if not isinstance(m["count_gap_only"], bool):
            bad("count_gap_only", "count_gap_only must be true or false")
        else:
            kw["count_gap_only"] = m["count_gap_only"]
    if len(check.problems) > n_before:
        return None
    try:
        if predicate is not None:
            region = kw.pop("region", None)
            for key in ("comparator", "n", "kind", "tolerance"):
                kw.pop(key, None)
            meaning = ClaimMeaning.none_entered(region, **kw)
        else:
            meaning = ClaimMeaning(**kw)
        if meaning.kind == "sovereign_entries" and meaning.region is not None and meaning.region.kind != "sovereign":
            raise ValueError("entries are counted into a country's sovereign airspace: region must be a country")
        return meaning
    except ValueError as exc:
        check.add(line, where, str(exc))
        return None


def load_claims(path: str | Path, *, text: str | None = None) -> tuple[list[Claim], dict[str, Any]]:
    """Read and validate a claims file. Returns (claims, defaults) where defaults holds the file-level
    window (since, until) and region. Raises ClaimsFileError listing every problem with its line."""
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ClaimsFileError(name, [Problem(None, "file", "no such file")]) from None
        except UnicodeDecodeError as exc:
            raise ClaimsFileError(name, [Problem(None, "file", f"not UTF-8 text ({exc.reason})")]) from None
    try:
        doc = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ClaimsFileError(
            name, [Problem(mark.line + 1 if mark else None, "yaml", f"{exc.problem or exc.context}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ClaimsFileError(name, [Problem(None, "yaml", str(exc))]) from None

    check = _Checker()
    defaults: dict[str, Any] = {"since": None, "until": None, "region": None, "region_our": False}
    if isinstance(doc, list):
        items = doc
    elif isinstance(doc, dict):
        check.keys(doc, TOP_FIELDS, "")
        if "claims" not in doc:
            check.add(doc.line, "claims", "missing: the file needs a list of claims under 'claims:'")
            items = []
        else:
            items = doc["claims"]
        defaults["since"], defaults["until"] = _window(doc.get("window"), check, "window", _line(doc, "window"))
        if doc.get("region") is not None:
            try:
                defaults["region"], defaults["region_our"] = parse_region(doc["region"])
            except ValueError as exc:
                check.add(_line(doc, "region"), "region", str(exc))
    elif doc is None:
        raise ClaimsFileError(name, [Problem(None, "file", "the file is empty")])
    else:
        raise ClaimsFileError(name, [Problem(1, "file", "expected a mapping with 'claims:' or a list of claims")])
    if not isinstance(items, list):
        check.add(_line(doc, "claims"), "claims", "must be a list of claims (each item starting with '- id: ...')")
        items = []

    claims: list[Claim] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"claims[{i}]"
        line = getattr(item, "line", None) or (items.item_lines[i] if isinstance(items, _Seq) else None)
        if not isinstance(item, dict):
            check.add(line, where, "each claim must be a mapping (id, source, words, date, ...)")
            continue
        if isinstance(item.get("id"), (str, int)) and not isinstance(item.get("id"), bool):
            where = f"claims[{i}] ({item['id']})"
        n_before = len(check.problems)
        check.keys(item, CLAIM_FIELDS, where)
        for key in ("id", "source", "words"):
            value = item.get(key)
            if value is None:
                check.add(line, f"{where}.{key}", "missing")
            elif not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
                check.add(_line(item, key), f"{where}.{key}", "must be non-empty text")
        cid = str(item.get("id", "")).strip()
        if cid:
            if cid in seen:
                check.add(_line(item, "id"), f"{where}.id", f"duplicate id {cid!r} (first on line {seen[cid]})")
            else:
                seen[cid] = _line(item, "id") or 0
        said_on = None
        if item.get("date") is not None:
            d = item["date"]
            if isinstance(d, datetime):
                said_on = d.date()
            elif isinstance(d, date):
                said_on = d
            else:
                try:
                    said_on = date.fromisoformat(str(d))
                except ValueError:
                    check.add(_line(item, "date"), f"{where}.date", f"not a date: {d!r} (write YYYY-MM-DD)")
        language = item.get("language")
        if language is not None and str(language).lower()[:2] not in ("en", "es"):
            check.add(_line(item, "language"), f"{where}.language", f"{language!r}: only en and es are read")
        since, until = _window(item.get("window"), check, f"{where}.window", _line(item, "window"))
        for key in ("since", "until"):
            if item.get(key) is not None:
                try:
                    t = _as_time(item[key], end=key == "until")
                    since, until = (t, until) if key == "since" else (since, t)
                except ValueError as exc:
                    check.add(_line(item, key), f"{where}.{key}", str(exc))
        region, region_our = None, False
        if item.get("region") is not None:
            try:
                region, region_our = parse_region(item["region"])
            except ValueError as exc:
                check.add(_line(item, "region"), f"{where}.region", str(exc))
        meaning = None
        if item.get("meaning") is not None:
            meaning = _meaning(item["meaning"], check, f"{where}.meaning")
        if len(check.problems) > n_before:
            continue
        claims.append(
            Claim(
                id=cid,
                source=str(item["source"]).strip(),
                words=str(item["words"]).strip(),
                date=said_on,
                language=str(language).lower()[:2] if language else None,
                url=str(item["url"]) if item.get("url") else None,
                meaning=meaning,
                since=since,
                until=until,
                region=region,
                region_our=region_our,
                line=line,
            )
        )
    if not items and not check.problems:
        check.add(_line(doc, "claims") if isinstance(doc, dict) else 1, "claims", "no claims in the file")
    if check.problems:
        raise ClaimsFileError(name, check.problems)
    return claims, defaults
