"""Verdicts: is a claim supported, contradicted, or not determinable from this data — and under which
counting definitions would it hold?

verify(claims, flights, aircraft, area_presence, events, coverage, ...) counts each claim under its own
definition, then under a family of neighbouring definitions (other kinds, sovereign airspace vs
within 50/100/200 km vs named AOIs, role and military variants), so two conflicting claims can be
reconciled (each true under its own definition) or one shown false (true under none).

Rules (the data gives a lower bound `lo` and an upper bound `hi` on the true count)
  lo  the count under the claim's definition: only what was observed, only aircraft whose facts are
      known to match, only entries resting on observed positions (unless the claim counts gap-only
      entries).
  hi  lo plus everything the data leaves open: flights whose aircraft facts (role, military,
      registration country) are unknown, gap-only entries, and — when the window has coverage
      holes (days with no data, or gaps longer than `max_gap_s`), when the claim's region lies
      outside the data's extent, or when the window checked is shorter than the span the claim
      speaks of — no upper bound at all (flights may have gone unseen).
  A window longer than the claim's stated span ("in two weeks" checked over a month) makes lo 0: the
  count may include flights outside the claim's span.

  at least N    supported if lo >= N (even with coverage holes: the data already reaches N);
                contradicted if hi < N; else not determinable.
  at most N     supported if hi <= N; contradicted if lo > N (the data contradicts it outright,
  (none = at    e.g. an observed entry contradicts "none entered"); else not determinable — so
   most 0)      coverage holes make it not determinable unless contradicted.
  exactly N     supported if lo = hi = N; contradicted if lo > N or hi < N; else not determinable.
  about N ± t   supported if N-t <= lo and hi <= N+t; contradicted if lo > N+t or hi < N-t.

  A gap-only entry (an aircraft seen outside before and after a coverage gap, the straight line
  between crossing the border) makes "none entered" not determinable — never contradicted — and the
  reason says so. No aircraft database makes role-filtered claims of the "at most" kind not
  determinable ("no aircraft database: roles unknown"); a claim that cannot be parsed is not
  determinable ("claim could not be parsed: ...").

  definitions_that_hold lists the definitions of the family under which the claim's comparator holds
  on the observed count, each with its own verdict under the same coverage rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

import polars as pl

from isrwatch import schema
from isrwatch.claims.model import Claim, ClaimMeaning, ParsedClaim, ParseFailure
from isrwatch.claims.parse import parse_claim
from isrwatch.count import Area, AreaNotComputed, CountDefinition, CountResult, counter
from isrwatch.count.core import COUNTED_FLIGHTS
from isrwatch.count.definition import ISR_ANY, utc

VERDICTS = ("supported", "contradicted", "not_determinable")
MAX_GAP_S = 1800.0  # a gap in the whole feed longer than this is a coverage hole
FAMILY_KM = (50.0, 100.0, 200.0)
FAMILY_MIN_MINUTES = (30.0, 60.0)
# the country whose sovereign airspace and within-km rings are the natural alternatives to a named
# AOI when reconciling a claim made about that AOI (the airspace stage's AOI ids)
AOI_COUNTRY = {"gulf-of-california": "MEX", "baja-pacific": "MEX", "us-mex-border": "MEX"}

COVERAGE = schema.COVERAGE


# --- coverage --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageHole:
    kind: str  # no_data | gap
    start: datetime
    end: datetime
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(), "message": self.message}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _day_range(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


def coverage_holes(
    coverage: pl.DataFrame | None,
    since: datetime | None,
    until: datetime | None,
    *,
    max_gap_s: float = MAX_GAP_S,
) -> list[CoverageHole]:
    """Days with no data and gaps longer than max_gap_s inside [since, until), from the store's
    coverage_by_day table (day, n_obs, n_aircraft, first, last, max_gap_s). Without a window the
    data's own first and last day bound it. Without a coverage table the whole window is a hole."""
    if coverage is None:
        lo = since or datetime(1970, 1, 1, tzinfo=timezone.utc)
        hi = until or datetime.now(timezone.utc)
        return [CoverageHole("no_data", lo, hi, "no coverage information for the window (no coverage table)")]
    cov = schema.conform(coverage, COVERAGE).filter(pl.col("n_obs") > 0).sort("day")
    if since is not None:
        cov = cov.filter(pl.col("last") >= pl.lit(since).cast(schema.UTC_US))
    if until is not None:
        cov = cov.filter(pl.col("first") < pl.lit(until).cast(schema.UTC_US))
    if cov.height == 0:
        if since is None or until is None:
            return [CoverageHole("no_data", since or until or datetime(1970, 1, 1, tzinfo=timezone.utc),
                                 until or since or datetime(1970, 1, 1, tzinfo=timezone.utc), "no data at all")]
        return [CoverageHole("no_data", since, until, f"no data at all inside the window ({since:%Y-%m-%d} to {until - timedelta(microseconds=1):%Y-%m-%d})")]
    rows = cov.to_dicts()
    lo = since or rows[0]["first"]
    hi = until or rows[-1]["last"]
    holes: list[CoverageHole] = []

    # whole days without data, as runs
    have = {r["day"] for r in rows}
    last_day = (hi - timedelta(microseconds=1)).date() if until is not None else hi.date()
    missing = [d for d in _day_range(lo.date(), last_day) if d not in have]
    run: list[date] = []
    for d in missing + [None]:  # type: ignore[list-item]
        if run and (d is None or d != run[-1] + timedelta(days=1)):
            a, b = run[0], run[-1]
            start = datetime.combine(a, datetime.min.time(), tzinfo=timezone.utc)
            end = datetime.combine(b + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
            text = f"no coverage on {a.isoformat()}" if a == b else f"no coverage from {a.isoformat()} to {b.isoformat()} ({len(run)} days)"
            holes.append(CoverageHole("no_data", start, end, text + " inside the window"))
            run = []
        if d is not None:
            run.append(d)

    # gaps inside a day, and between consecutive covered days or the window's edges
    for r in rows:
        if r["max_gap_s"] is not None and r["max_gap_s"] > max_gap_s:
            day_start = datetime.combine(r["day"], datetime.min.time(), tzinfo=timezone.utc)
            holes.append(
                CoverageHole("gap", day_start, day_start + timedelta(days=1),
                             f"a {_hours(r['max_gap_s'])} gap in the data on {r['day'].isoformat()}")
            )
    edges = [(lo, rows[0]["first"])] + [
        (a["last"], b["first"]) for a, b in zip(rows, rows[1:]) if b["day"] == a["day"] + timedelta(days=1)
    ] + [(rows[-1]["last"], hi)]
    no_data = [h for h in holes if h.kind == "no_data"]
    for a, b in edges:
        seconds = (b - a).total_seconds()
        # the part of the silence that runs of missing days do not already explain
        explained = sum(max(0.0, (min(b, h.end) - max(a, h.start)).total_seconds()) for h in no_data)
        if seconds - explained > max_gap_s:
            holes.append(CoverageHole("gap", a, b, f"no data for {_hours(seconds)} from {a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC"))
    holes.sort(key=lambda h: h.start)
    return holes


# --- the verdict logic --------------------------------------------------------------------------------


def judge(meaning: ClaimMeaning, lo: float, hi: float) -> str:
    """supported / contradicted / not_determinable for a true count known to lie in [lo, hi]."""
    want_lo, want_hi = meaning.bounds()
    if want_lo <= lo and hi <= want_hi:
        return "supported"
    if lo > want_hi or hi < want_lo:
        return "contradicted"
    return "not_determinable"


# --- resolving a claim into a definition ------------------------------------------------------------


@dataclass
class Resolved:
    claim: Claim
    meaning: ClaimMeaning | None = None
    definition: CountDefinition | None = None
    parse: ParsedClaim | ParseFailure | None = None
    failure: str | None = None  # why the claim cannot be checked at all
    notes: list[str] = field(default_factory=list)


def _as_claim(item: Claim | str, i: int) -> Claim:
    if isinstance(item, Claim):
        return item
    return Claim(id=f"claim-{i + 1}", source="(command line)", words=str(item))


def resolve(
    claim: Claim | str,
    *,
    since: Any = None,
    until: Any = None,
    region: Area | str | None = None,
    defaults: dict[str, Any] | None = None,
) -> Resolved:
    """The claim's meaning and counting definition, with the window and region resolved:
    the claim's own > the command line's (since/until/region) > the claims file's defaults.
    A relative span ("in two weeks") with no window is taken to end on the claim's date."""
    claim = _as_claim(claim, 0)
    defaults = defaults or {}
    region_area = Area.sovereign(region) if isinstance(region, str) else region
    cli_since, cli_until = utc(since), utc(until, end=True)
    w_since = claim.since or cli_since or defaults.get("since")
    w_until = claim.until or cli_until or defaults.get("until")
    fallback_region = claim.region or region_area or defaults.get("region")
    out = Resolved(claim)
    if claim.meaning is not None:
        meaning = claim.meaning
    else:
        parsed = parse_claim(
            claim.words,
            window=(w_since, w_until) if (w_since or w_until) else None,
            region=fallback_region,
            lang=claim.language,
            said_on=claim.date,
        )
        out.parse = parsed
        if isinstance(parsed, ParseFailure):
            out.failure = f"claim could not be parsed: {parsed.reason}"
            return out
        meaning = parsed.meaning
        out.notes.extend(parsed.notes)
    if meaning.region is None:
        if meaning.region_our or claim.region_our:
            if region_area is None and not (defaults.get("region") and not defaults.get("region_our")):
                out.meaning = meaning
                out.failure = "the claim says 'our' airspace but no region was given (--region ISO3)"
                return out
        area = fallback_region
        if area is not None and meaning.kind == "sovereign_entries" and area.kind != "sovereign" and area.country:
            area = Area.sovereign(area.country)
        if area is None and meaning.kind == "sovereign_entries":
            out.meaning = meaning
            out.failure = "the claim counts entries but names no country and no region was given (--region ISO3)"
            return out
        meaning = meaning.with_(region=area)
    if meaning.since is None and meaning.until is None:
        if w_since or w_until:
            meaning = meaning.with_(since=w_since, until=w_until)
        elif meaning.duration is not None and claim.date is not None:
            end = datetime.combine(claim.date, datetime.min.time(), tzinfo=timezone.utc) + timedelta(days=1)
            meaning = meaning.with_(since=end - meaning.duration, until=end)
            out.notes.append(
                f"window taken as the {meaning.duration.days} days up to the claim's date ({claim.date.isoformat()})"
            )
        else:
            out.notes.append("no window in the claim or on the command line: counted over all the data held")
    out.meaning = meaning
    try:
        out.definition = meaning.definition()
    except ValueError as exc:
        out.failure = f"claim could not be checked: {exc}"
    return out


def definition_family(
    base: CountDefinition,
    *,
    predicate: str | None = None,
    aois: Iterable[str] = (),
    km: Iterable[float] = FAMILY_KM,
    min_minutes: Iterable[float] = FAMILY_MIN_MINUTES,
) -> list[CountDefinition]:
    """Neighbouring definitions for reconciling claims: every kind, over the claim's area and its
    country's sovereign airspace and within-km rings and the named AOIs, with the claim's filters,
    any ISR role, military only, and no filter. The window stays the claim's. For "none entered" the
    family is entries (observed / with gap-only) and sorties with a position inside each area: the
    readings of "entered" a speaker may have meant."""
    kinds = ("sorties",) if predicate == "none_entered" else ("sorties", "distinct_aircraft", "aircraft_days", "missions")
    areas: list[Area | None] = [base.area]
    country = area_country(base.area)
    if country:
        areas += [Area.sovereign(country)] + [Area.within(k, country) for k in km]
    areas += [Area.aoi(a) for a in aois]
    areas = list(dict.fromkeys(areas))
    filters = list(
        dict.fromkeys(
            [
                (base.roles, base.military_only, base.countries),
                (ISR_ANY, base.military_only, base.countries),
                ((), True, base.countries),
                ((), False, base.countries),
                ((), False, ()),
            ]
        )
    )
    defs: list[CountDefinition] = []
    for roles, military, countries in filters:
        common = dict(since=base.since, until=base.until, roles=roles, military_only=military, countries=countries)
        for area in areas:
            defs += [CountDefinition(k, area=area, **common) for k in kinds if k != "missions"]
            if "missions" in kinds:
                defs += [CountDefinition("missions", area=area, min_minutes=m, **common) for m in min_minutes]
        if country:
            sov = Area.sovereign(country)
            defs += [
                CountDefinition("sovereign_entries", area=sov, count_gap_only=False, **common),
                CountDefinition("sovereign_entries", area=sov, count_gap_only=True, **common),
            ]
    # the claim's own definition first, no duplicates
    return list(dict.fromkeys([base] + defs))


def area_country(area: Area | None) -> str | None:
    """The country an area belongs to: its own, or for a named AOI the country it lies in."""
    if area is None:
        return None
    if area.country is None and area.kind == "aoi":
        return AOI_COUNTRY.get(area.id.split(":")[0])
    return area.country


def countries_needed(resolved: Iterable[Resolved]) -> list[str]:
    """The countries whose sovereign airspace the claims count entries in, sorted."""
    return sorted({area_country(r.definition.area) for r in resolved if r.definition and r.definition.area} - {None})


def window_span(resolved: Iterable[Resolved]) -> tuple[Any, Any]:
    """(since, until) covering every resolved claim's window; None on a side any claim leaves open
    (or when no claim resolved)."""
    windows = [(r.definition.since, r.definition.until) for r in resolved if r.definition]
    lo = None if not windows or any(w[0] is None for w in windows) else min(w[0] for w in windows)
    hi = None if not windows or any(w[1] is None for w in windows) else max(w[1] for w in windows)
    return lo, hi


def areas_needed(resolved: Iterable[Resolved], *, aois: Iterable[str] = ()) -> list[Area]:
    """Every area the claims and their definition families count in (for the pipeline to classify)."""
    out: list[Area] = []
    aois = list(aois)
    for r in resolved:
        if r.definition is None:
            continue
        for d in definition_family(r.definition, aois=aois, predicate=r.meaning.predicate if r.meaning else None):
            if d.area is not None and d.area not in out:
                out.append(d.area)
    return out


# --- verify -------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    claim: Claim
    verdict: str
    reason: str
    observed: int | None = None
    observed_upper: float | None = None  # math.inf when the data sets no upper bound
    definition: CountDefinition | None = None
    meaning: ClaimMeaning | None = None
    parse: ParsedClaim | ParseFailure | None = None
    definitions_that_hold: list[dict[str, Any]] = field(default_factory=list)
    definitions_checked: int = 0
    flights: pl.DataFrame = field(default_factory=lambda: schema.empty(COUNTED_FLIGHTS))
    holes: list[CoverageHole] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: CountResult | None = None  # the count under the claim's own definition

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.claim.id,
            "source": self.claim.source,
            "words": self.claim.words,
            "date": self.claim.date.isoformat() if self.claim.date else None,
            "verdict": self.verdict,
            "reason": self.reason,
            "observed": self.observed,
            "observed_upper": None if self.observed_upper is None or math.isinf(self.observed_upper) else int(self.observed_upper),
            "upper_bounded": self.observed_upper is not None and not math.isinf(self.observed_upper),
            "claim": self.meaning.describe() if self.meaning else None,
            "meaning": self.meaning.to_dict() if self.meaning else None,
            "definition": self.definition.to_dict() if self.definition else None,
            "sentence": self.definition.sentence() if self.definition else None,
            "parse": self.parse.to_dict() if self.parse is not None else None,
            "definitions_that_hold": self.definitions_that_hold,
            "definitions_checked": self.definitions_checked,
            "coverage_holes": [h.to_dict() for h in self.holes],
            "notes": self.notes,
            "flights": self.flights.to_dicts(),
        }


@dataclass
class _Open:
    """What the data leaves open for one count: the reasons hi is above lo (or lo below n)."""

    hi_inf: list[str] = field(default_factory=list)
    lo_zero: list[str] = field(default_factory=list)


def _region_outside(area: Area | None, extent: Any, region_bounds: Any) -> bool:
    if area is None or extent is None or region_bounds is None:
        return False
    bounds = region_bounds(area) if callable(region_bounds) else region_bounds.get(area.key)
    if bounds is None:
        return False
    minx, miny, maxx, maxy = bounds
    eminx, eminy, emaxx, emaxy = extent
    return maxx < eminx or minx > emaxx or maxy < eminy or miny > emaxy


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _count_words(kind: str, n: int) -> str:
    return {
        "sorties": _plural(n, "sortie"),
        "distinct_aircraft": _plural(n, "distinct aircraft", "distinct aircraft"),
        "aircraft_days": _plural(n, "aircraft-day"),
        "missions": _plural(n, "mission"),
        "sovereign_entries": _plural(n, "entry", "entries"),
    }[kind]


def _entry_evidence(events: pl.DataFrame | None, result: CountResult, limit: int = 3) -> str:
    if events is None or result.flights.height == 0:
        return ""
    ev = schema.conform(events, schema.AIRSPACE_EVENTS).filter(
        pl.col("flight_id").is_in(result.flights["flight_id"].to_list())
        & (pl.col("region") == result.definition.area.id)  # type: ignore[union-attr]
        & pl.col("entered").fill_null(False)
        & (pl.col("basis") != "gap_only")
    ).sort("entry_time")
    facts = result.flights.select("flight_id", "registration", "type_code")
    ev = ev.join(facts, on="flight_id", how="left")
    parts = []
    for r in ev.head(limit).iter_rows(named=True):
        who = " ".join(x for x in (r["registration"], r["type_code"]) if x) or "unknown aircraft"
        when = f"{r['entry_time']:%Y-%m-%d %H:%M} UTC" if r["entry_time"] else "at an unknown time"
        depth = f", {r['max_depth_km']:.1f} km deep" if r["max_depth_km"] is not None else ""
        parts.append(f"{r['icao24']} ({who}) entered {when}{depth}, {r['n_obs_inside'] or 0} positions inside")
    more = f"; and {ev.height - limit} more" if ev.height > limit else ""
    return ": " + "; ".join(parts) + more if parts else ""


def verify(
    claims: Sequence[Claim | str | Resolved],
    flights: pl.DataFrame,
    aircraft: pl.DataFrame | None,
    area_presence: pl.DataFrame | None,
    events: pl.DataFrame | None,
    coverage: pl.DataFrame | None,
    *,
    since: Any = None,
    until: Any = None,
    region: Area | str | None = None,
    defaults: dict[str, Any] | None = None,
    aois: Iterable[str] = (),
    extent: tuple[float, float, float, float] | None = None,
    region_bounds: Any = None,
    areas_computed: Iterable[str] | None = None,
    max_gap_s: float = MAX_GAP_S,
    family: bool = True,
) -> list[Verdict]:
    """A Verdict per claim (see the module docstring for the rules).

    extent: (min_lon, min_lat, max_lon, max_lat) of the observations in the window; region_bounds:
    a mapping area key -> (min_lon, min_lat, max_lon, max_lat), or a callable Area -> bounds, for the
    "region outside the data's extent" rule. areas_computed: area keys the presence table holds.
    """
    aois = list(aois)
    cache: dict[CountDefinition, CountResult | None] = {}
    # the tables are conformed and joined once for every claim and alternative definition
    count_one = counter(flights, aircraft, area_presence, events, areas_computed=areas_computed)

    def counted(d: CountDefinition) -> CountResult | None:
        if d not in cache:
            try:
                cache[d] = count_one(d)
            except AreaNotComputed:
                cache[d] = None
        return cache[d]

    holes_cache: dict[tuple[Any, Any], list[CoverageHole]] = {}
    verdicts: list[Verdict] = []
    for i, item in enumerate(claims):
        r = item if isinstance(item, Resolved) else resolve(_as_claim(item, i), since=since, until=until, region=region, defaults=defaults)
        if r.failure is not None or r.definition is None or r.meaning is None:
            verdicts.append(
                Verdict(r.claim, "not_determinable", r.failure or "claim could not be checked", meaning=r.meaning,
                        parse=r.parse, notes=list(r.notes))
            )
            continue
        d, meaning = r.definition, r.meaning
        key = (d.since, d.until)
        if key not in holes_cache:
            holes_cache[key] = coverage_holes(coverage, d.since, d.until, max_gap_s=max_gap_s)
        holes = holes_cache[key]
        result = counted(d)
        if result is None:
            verdicts.append(
                Verdict(r.claim, "not_determinable",
                        f"no positions were classified for {d.area.describe() if d.area else 'the area'}; cannot count there",
                        definition=d, meaning=meaning, parse=r.parse, holes=holes, notes=list(r.notes))
            )
            continue
        open_ = _open_reasons(d, meaning, result, holes, extent, region_bounds, aircraft)
        lo = 0 if open_.lo_zero else result.n
        hi = math.inf if open_.hi_inf else result.n_upper
        verdict = judge(meaning, lo, hi)
        reason = _reason(verdict, meaning, d, result, lo, hi, open_, events)
        v = Verdict(
            r.claim, verdict, reason, observed=result.n, observed_upper=hi, definition=d, meaning=meaning,
            parse=r.parse, flights=result.flights, holes=holes, notes=list(r.notes) + list(result.notes),
            result=result,
        )
        if family:
            fam = definition_family(d, aois=aois, predicate=meaning.predicate)
            checked = 0
            for fd in fam:
                fr = counted(fd)
                if fr is None:
                    continue
                checked += 1
                if not meaning.holds(fr.n):
                    continue
                fo = _open_reasons(fd, meaning, fr, holes, extent, region_bounds, aircraft)
                flo = 0 if fo.lo_zero else fr.n
                fhi = math.inf if fo.hi_inf else fr.n_upper
                v.definitions_that_hold.append(
                    {
                        "name": fd.summary(),
                        "kind": fd.kind,
                        "area": fd.area.key if fd.area else None,
                        "roles": "isr" if fd.roles == ISR_ANY else list(fd.roles),
                        "military_only": fd.military_only,
                        "countries": list(fd.countries),
                        "n": fr.n,
                        "verdict": judge(meaning, flo, fhi),
                        "is_claims_own": fd == d,
                        "sentence": fd.sentence(),
                        "definition": fd.to_dict(),
                    }
                )
            v.definitions_checked = checked
        verdicts.append(v)
    return verdicts


def _open_reasons(d, meaning, result, holes, extent, region_bounds, aircraft) -> _Open:
    o = _Open()
    if holes:
        shown = [h.message for h in holes[:3]]
        more = f" and {len(holes) - 3} more holes" if len(holes) > 3 else ""
        o.hi_inf.append("; ".join(shown) + more)
    if _region_outside(d.area, extent, region_bounds):
        o.hi_inf.append("region outside the data's extent (no positions anywhere near it)")
    if meaning.duration is not None and d.since is not None and d.until is not None:
        span = d.until - d.since
        if span + timedelta(days=1) < meaning.duration:
            o.hi_inf.append(
                f"the window checked ({span / timedelta(days=1):g} days) is shorter than the {meaning.duration.days} days the claim speaks of"
            )
        elif span > meaning.duration + timedelta(days=1):
            o.lo_zero.append(
                f"the window checked ({span / timedelta(days=1):g} days) is longer than the {meaning.duration.days} days the claim speaks of"
            )
    return o


def _reason(verdict, meaning: ClaimMeaning, d: CountDefinition, result: CountResult, lo, hi, open_: _Open, events) -> str:
    observed = _count_words(d.kind, result.n)
    claim = meaning.describe()
    if verdict == "supported":
        text = f"{observed} observed under the claim's definition; the claim says {claim}"
        if meaning.comparator == "at_least" and open_.hi_inf:
            text += " (coverage holes cannot lower what was already observed)"
        return text + "."
    if verdict == "contradicted":
        if d.kind == "sovereign_entries" and lo > meaning.bounds()[1]:
            return f"the data shows {_plural(result.n, 'observed entry', 'observed entries')} into {d.area.describe()}{_entry_evidence(events, result)}; the claim says {claim}."  # type: ignore[union-attr]
        if lo > meaning.bounds()[1]:
            return f"{observed} observed, more than the claim allows ({claim})."
        return (
            f"only {observed} observed and no more can be hidden (the window has full coverage and every "
            f"aircraft's facts are known), the claim says {claim}."
        )
    reasons: list[str] = []
    if result.n_unknown_facts:
        reasons.extend(n for n in result.notes if "no aircraft database" in n or "unknown" in n)
        if any("no aircraft database" in n for n in result.notes) and d.roles:
            reasons.insert(0, "no aircraft database: roles unknown")
            reasons = list(dict.fromkeys(reasons))
    if result.n_gap_only and d.kind == "sovereign_entries":
        if meaning.predicate == "none_entered" or meaning.bounds()[1] < result.n_upper:
            reasons.append(
                f"{_plural(result.n_gap_only, 'entry rests', 'entries rest')} only on a straight line drawn across a "
                "coverage gap: an entry may have happened but none is observed, so this neither confirms nor contradicts the claim"
            )
    reasons.extend(open_.hi_inf)
    reasons.extend(open_.lo_zero)
    if not reasons:
        reasons.append("the data neither reaches nor excludes the claimed number")
    bound = "" if math.isinf(hi) or hi == lo else f" (up to {int(hi)} counting what the data leaves open)"
    return f"{observed} observed under the claim's definition{bound}, the claim says {claim}; not determinable: " + "; ".join(reasons) + "."


def verdict_table(verdicts: Iterable[Verdict]) -> pl.DataFrame:
    """One row per claim: id, source, verdict, observed, claim, reason, n definitions that hold."""
    rows = [
        {
            "id": v.claim.id,
            "source": v.claim.source,
            "words": v.claim.words,
            "verdict": v.verdict,
            "observed": v.observed,
            "claim": v.meaning.describe() if v.meaning else None,
            "reason": v.reason,
            "n_definitions_that_hold": len(v.definitions_that_hold),
        }
        for v in verdicts
    ]
    schema_ = {
        "id": pl.String, "source": pl.String, "words": pl.String, "verdict": pl.String, "observed": pl.Int64,
        "claim": pl.String, "reason": pl.String, "n_definitions_that_hold": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema_) if rows else pl.DataFrame(schema=schema_)
