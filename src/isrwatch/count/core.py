"""count(): one number under one CountDefinition, with the flights behind it.

Pure over tables: flights (schema.FLIGHTS), aircraft (schema.AIRCRAFT), area presence
(presence.AREA_PRESENCE) and airspace events (schema.AIRSPACE_EVENTS). Nothing here reads the store
or draws geometry.

Unknown facts are not guessed. When a filter needs a fact the aircraft table lacks (an aircraft not
in the table, a null isr_role, military or country), the flight is left out of `n` but counted in
`n_upper` (what the number could be if those facts matched), and listed in `unknown`. Gap-only
entries that a definition does not count are likewise counted in `n_upper`. The claims stage uses
n and n_upper as the bounds the data allows.
"""

from __future__ import annotations

import functools
import json
import operator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

import polars as pl

from isrwatch import schema
from isrwatch.count.definition import Area, CountDefinition
from isrwatch.count.presence import AREA_PRESENCE

# the flights behind a number: one row per counted sortie.
COUNTED_FLIGHTS: dict[str, pl.DataType] = {
    "flight_id": pl.String,
    "icao24": pl.String,
    "callsign": pl.String,
    "registration": pl.String,
    "type_code": pl.String,
    "isr_role": pl.String,
    "military": pl.Boolean,
    "country_iso2": pl.String,  # registration country from the ICAO address block
    "start": schema.UTC_US,
    "end": schema.UTC_US,
    "minutes_in_area": pl.Float64,  # minutes inside the area (entries: inside the sovereign airspace); null without area
    "n_obs_in_area": pl.Int64,  # observed positions inside the area; null without area
    "n_entries": pl.Int64,  # entries counted for this sortie (sovereign_entries only, else null)
}

_FACTS: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "registration": pl.String,
    "type_code": pl.String,
    "isr_role": pl.String,
    "military": pl.Boolean,
    "country_iso2": pl.String,
}


class AreaNotComputed(ValueError):
    """The definition's area is not in the presence/events tables given (absent is not zero)."""


@dataclass(frozen=True)
class CountResult:
    n: int
    definition: CountDefinition
    flights: pl.DataFrame  # COUNTED_FLIGHTS, sorted by start
    n_upper: int  # n if every unknown aircraft fact matched and gap-only entries counted
    n_unknown_facts: int  # flights (entries) left out because a fact the filters need is unknown
    n_gap_only: int  # gap-only entries in the window that the definition does not count
    unknown: pl.DataFrame = field(repr=False)  # COUNTED_FLIGHTS of the flights left out for unknown facts
    notes: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        return self.definition.sentence()

    def to_dict(self, *, with_flights: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": self.n,
            "definition": self.definition.to_dict(),
            "name": self.definition.name,
            "sentence": self.sentence,
            "n_upper": self.n_upper,
            "n_unknown_facts": self.n_unknown_facts,
            "n_gap_only": self.n_gap_only,
            "notes": list(self.notes),
        }
        if with_flights:
            out["flights"] = self.flights.to_dicts()
        return out


def _facts(aircraft: pl.DataFrame | None) -> pl.DataFrame:
    if aircraft is None or aircraft.height == 0:
        return schema.empty(_FACTS)
    return schema.conform(aircraft, _FACTS).unique("icao24", keep="first", maintain_order=True)


def _match(d: CountDefinition) -> pl.Expr:
    """True / False / null (a needed fact unknown), by Kleene logic over the filters."""
    conds: list[pl.Expr] = []
    if d.roles:
        conds.append(pl.col("isr_role").is_in(list(d.roles)))
    if d.military_only:
        conds.append(pl.col("military"))
    if d.countries:
        conds.append(pl.col("country_iso2").is_in(list(d.countries)))
    if not conds:
        return pl.lit(True)
    return functools.reduce(operator.and_, conds)


def _lit_time(t: datetime) -> pl.Expr:
    return pl.lit(t).cast(schema.UTC_US)


def _in_window(d: CountDefinition, lo: str, hi: str) -> pl.Expr:
    """An interval [lo, hi] overlaps the window [since, until)."""
    cond = pl.lit(True)
    if d.since is not None:
        cond = cond & (pl.col(hi) >= _lit_time(d.since))
    if d.until is not None:
        cond = cond & (pl.col(lo) < _lit_time(d.until))
    return cond


def _n(kind: str, rows: pl.DataFrame, d: CountDefinition) -> int:
    if rows.height == 0:
        return 0
    if kind in ("sorties", "missions"):
        return rows["flight_id"].n_unique()
    if kind == "distinct_aircraft":
        return rows["icao24"].n_unique()
    if kind == "aircraft_days":
        lo = pl.col("_lo")
        hi = pl.col("_hi")
        if d.since is not None:
            lo = pl.max_horizontal(lo, _lit_time(d.since))
        if d.until is not None:
            # the window's end is exclusive: a flight ending exactly at midnight adds no day
            hi = pl.min_horizontal(hi, _lit_time(d.until) - pl.duration(microseconds=1))
        days = (
            rows.select("icao24", lo.alias("a"), hi.alias("b"))
            .filter(pl.col("a") <= pl.col("b"))
            .select("icao24", day=pl.date_ranges(pl.col("a").dt.date(), pl.col("b").dt.date()))
            .explode("day")
            .unique()
        )
        return days.height
    return rows.height  # sovereign_entries: one row per entry


def count(
    definition: CountDefinition,
    flights: pl.DataFrame,
    aircraft: pl.DataFrame | None = None,
    area_presence: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    *,
    areas_computed: Iterable[str] | None = None,
) -> CountResult:
    """The number under `definition`, the flights behind it, and what unknown facts leave open.

    areas_computed: area keys the presence/events tables were computed for. When given, a definition
    whose area is not among them raises AreaNotComputed instead of returning a false zero.
    """
    return counter(flights, aircraft, area_presence, events, areas_computed=areas_computed)(definition)


def counter(
    flights: pl.DataFrame,
    aircraft: pl.DataFrame | None = None,
    area_presence: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    *,
    areas_computed: Iterable[str] | None = None,
) -> Callable[[CountDefinition], CountResult]:
    """count() over the same tables for many definitions: the tables are conformed, flights joined
    to their aircraft facts and each area's presence summed once, not once per definition. Each
    piece is made on first use, so a definition raises what count() would raise, in the same order."""
    computed = set(areas_computed) if areas_computed is not None else None

    @functools.cache
    def facts() -> pl.DataFrame:
        return _facts(aircraft)

    @functools.cache
    def conformed_flights() -> pl.DataFrame:
        return schema.conform(flights, schema.FLIGHTS)

    @functools.cache
    def flights_with_facts() -> pl.DataFrame:
        f = conformed_flights().select(
            "flight_id",
            "icao24",
            "callsign",
            "start",
            "end",
            pl.coalesce(
                "duration_min", (pl.col("end") - pl.col("start")).dt.total_microseconds() / 6e7
            ).alias("duration_min"),
        )
        return f.join(facts(), on="icao24", how="left")

    @functools.cache
    def conformed_presence() -> pl.DataFrame:
        presence = area_presence if area_presence is not None else schema.empty(AREA_PRESENCE)
        return schema.conform(presence, AREA_PRESENCE)

    @functools.cache
    def presence_in(area_key: str) -> pl.DataFrame:
        return (
            conformed_presence()
            .filter(pl.col("area") == area_key)
            .group_by("flight_id")
            .agg(
                minutes_in_area=pl.col("minutes_inside").sum(),
                n_obs_in_area=pl.col("n_obs_inside").sum(),
                _lo=pl.col("first_inside").min(),
                _hi=pl.col("last_inside").max(),
            )
        )

    @functools.cache
    def conformed_events() -> pl.DataFrame:
        return schema.conform(
            events if events is not None else schema.empty(schema.AIRSPACE_EVENTS), schema.AIRSPACE_EVENTS
        )

    def count_one(d: CountDefinition) -> CountResult:
        if d.area is not None and computed is not None and d.area.key not in computed:
            raise AreaNotComputed(f"no presence computed for area {d.area.key!r}; cannot count {d.name} there")
        if d.kind == "sovereign_entries":
            return _count_entries(d, conformed_flights, facts(), conformed_events)
        return _count_flights(d, flights_with_facts(), presence_in, facts())

    return count_one


def _count_flights(
    d: CountDefinition,
    f: pl.DataFrame,
    presence_in: Callable[[str], pl.DataFrame],
    facts: pl.DataFrame,
) -> CountResult:
    """Sorties, missions, distinct aircraft or aircraft-days; f: flights joined to their facts."""
    if d.area is not None:
        f = f.join(presence_in(d.area.key), on="flight_id", how="inner")
        keep = pl.col("n_obs_in_area") >= 1
        if d.kind == "missions":
            keep = keep & (pl.col("minutes_in_area") >= d.min_minutes)
    else:
        f = f.with_columns(
            minutes_in_area=pl.lit(None, pl.Float64),
            n_obs_in_area=pl.lit(None, pl.Int64),
            _lo=pl.col("start"),
            _hi=pl.col("end"),
        )
        keep = pl.lit(True)
        if d.kind == "missions":
            keep = pl.col("duration_min") >= d.min_minutes
    f = f.filter(keep & _in_window(d, "_lo", "_hi")).with_columns(_match=_match(d))
    counted = f.filter(pl.col("_match").fill_null(False))
    possible = f.filter(pl.col("_match").is_null() | pl.col("_match"))
    unknown = f.filter(pl.col("_match").is_null())
    n = _n(d.kind, counted, d)
    n_upper = _n(d.kind, possible, d)
    return CountResult(
        n=n,
        definition=d,
        flights=_behind(counted),
        n_upper=n_upper,
        n_unknown_facts=unknown.height,
        n_gap_only=0,
        unknown=_behind(unknown),
        notes=_notes(d, facts, unknown.height, 0),
    )


def _count_entries(
    d: CountDefinition,
    conformed_flights: Callable[[], pl.DataFrame],
    facts: pl.DataFrame,
    conformed_events: Callable[[], pl.DataFrame],
) -> CountResult:
    ev = conformed_events().filter(
        (pl.col("region") == d.area.id)  # type: ignore[union-attr]
        & (pl.col("region_kind") == "sovereign")
        & pl.col("entered").fill_null(False)
    ).with_columns(_lo=pl.col("entry_time"), _hi=pl.col("entry_time"))
    ev = ev.filter(_in_window(d, "_lo", "_hi"))
    f = conformed_flights().select("flight_id", "callsign", "start", "end")
    ev = (
        ev.select("flight_id", "icao24", "basis", "duration_s", "n_obs_inside", "_lo", "_hi")
        .join(f, on="flight_id", how="left")
        .join(facts, on="icao24", how="left")
        .with_columns(
            _match=_match(d),
            _gap=pl.col("basis") == "gap_only",
        )
    )
    basis_ok = pl.lit(True) if d.count_gap_only else ~pl.col("_gap").fill_null(False)
    counted = ev.filter(pl.col("_match").fill_null(False) & basis_ok)
    possible = ev.filter(pl.col("_match").is_null() | pl.col("_match"))
    unknown = ev.filter(pl.col("_match").is_null())
    gap_left_out = ev.filter(pl.col("_match").fill_null(False) & ~basis_ok).height

    def per_flight(rows: pl.DataFrame) -> pl.DataFrame:
        if rows.height == 0:
            return schema.empty(COUNTED_FLIGHTS)
        g = rows.group_by("flight_id").agg(
            pl.col("icao24", "callsign", "registration", "type_code", "isr_role", "military", "country_iso2")
            .first(),
            pl.col("start").first(),
            pl.col("end").first(),
            minutes_in_area=pl.col("duration_s").sum() / 60.0,
            n_obs_in_area=pl.col("n_obs_inside").sum(),
            n_entries=pl.len(),
            _first_entry=pl.col("_lo").min(),
        )
        # flights missing from the flights table still show when they entered
        g = g.with_columns(start=pl.coalesce("start", "_first_entry"))
        return schema.conform(g, COUNTED_FLIGHTS).sort("start", "flight_id")

    notes = list(_notes(d, facts, unknown.height, gap_left_out))
    return CountResult(
        n=counted.height,
        definition=d,
        flights=per_flight(counted),
        n_upper=possible.height,
        n_unknown_facts=unknown.height,
        n_gap_only=gap_left_out,
        unknown=per_flight(unknown),
        notes=tuple(notes),
    )


def _behind(rows: pl.DataFrame) -> pl.DataFrame:
    if rows.height == 0:
        return schema.empty(COUNTED_FLIGHTS)
    return schema.conform(rows, COUNTED_FLIGHTS).sort("start", "flight_id")


def _notes(d: CountDefinition, facts: pl.DataFrame, n_unknown: int, n_gap: int) -> tuple[str, ...]:
    notes: list[str] = []
    needed = [
        name
        for name, used in (
            ("ISR role", bool(d.roles)),
            ("military status", d.military_only),
            ("registration country", bool(d.countries)),
        )
        if used
    ]
    what = "entries" if d.kind == "sovereign_entries" else "sorties"
    if needed and facts.height == 0:
        notes.append(f"no aircraft database: {' and '.join(needed)} unknown for every aircraft")
    elif n_unknown:
        what = what if n_unknown > 1 else what[:-3] + "y" if what == "entries" else what[:-1]
        notes.append(f"{n_unknown} {what} left out because the aircraft's {' or '.join(needed)} is unknown")
    if n_gap:
        notes.append(f"{n_gap} entries rest only on a line drawn across a coverage gap and are not counted")
    return tuple(notes)


def standard_definitions(
    since: datetime | None = None,
    until: datetime | None = None,
    area: Area | None = None,
    *,
    roles: Iterable[str] = (),
    military_only: bool = False,
    countries: Iterable[str] = (),
    min_minutes: float | Iterable[float] = 30.0,
) -> list[CountDefinition]:
    """Every kind of count for one window, area and set of filters: the family printed side by side.
    Entries are counted into the sovereign airspace of the area's country (both with and without
    gap-only entries); without a country there are no entries to count."""
    common = dict(
        since=since, until=until, roles=tuple(roles), military_only=military_only, countries=tuple(countries)
    )
    mins = [min_minutes] if isinstance(min_minutes, (int, float)) else list(min_minutes)
    defs = [
        CountDefinition("sorties", area=area, **common),
        CountDefinition("distinct_aircraft", area=area, **common),
        CountDefinition("aircraft_days", area=area, **common),
    ]
    defs += [CountDefinition("missions", area=area, min_minutes=float(m), **common) for m in mins]
    if area is not None and area.country:
        sovereign = Area.sovereign(area.country)
        defs += [
            CountDefinition("sovereign_entries", area=sovereign, count_gap_only=False, **common),
            CountDefinition("sovereign_entries", area=sovereign, count_gap_only=True, **common),
        ]
    return defs


COUNT_TABLE: dict[str, pl.DataType] = {
    "name": pl.String,  # short name of the definition
    "kind": pl.String,
    "n": pl.Int64,
    "n_upper": pl.Int64,  # n if unknown aircraft facts matched and gap-only entries counted
    "area": pl.String,  # area key
    "sentence": pl.String,
    "notes": pl.List(pl.String),
    "definition": pl.String,  # the definition as JSON
}


def count_table(
    window: tuple[datetime | None, datetime | None] | None,
    area: Area | None,
    flights: pl.DataFrame,
    aircraft: pl.DataFrame | None = None,
    area_presence: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    *,
    roles: Iterable[str] = (),
    military_only: bool = False,
    countries: Iterable[str] = (),
    min_minutes: float | Iterable[float] = 30.0,
    areas_computed: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Every definition side by side for the same window and area (COUNT_TABLE): the table that
    reconciles two numbers. One row per definition of standard_definitions()."""
    since, until = window if window is not None else (None, None)
    results = count_many(
        standard_definitions(
            since, until, area, roles=roles, military_only=military_only, countries=countries, min_minutes=min_minutes
        ),
        flights,
        aircraft,
        area_presence,
        events,
        areas_computed=areas_computed,
    )
    return results_table(results)


def count_many(
    definitions: Iterable[CountDefinition],
    flights: pl.DataFrame,
    aircraft: pl.DataFrame | None = None,
    area_presence: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    *,
    areas_computed: Iterable[str] | None = None,
) -> list[CountResult]:
    count_one = counter(flights, aircraft, area_presence, events, areas_computed=areas_computed)
    return [count_one(d) for d in definitions]


def results_table(results: Iterable[CountResult]) -> pl.DataFrame:
    rows = [
        {
            "name": r.definition.name,
            "kind": r.definition.kind,
            "n": r.n,
            "n_upper": r.n_upper,
            "area": r.definition.area.key if r.definition.area else None,
            "sentence": r.sentence,
            "notes": list(r.notes),
            "definition": json.dumps(r.definition.to_dict(), sort_keys=True),
        }
        for r in results
    ]
    if not rows:
        return schema.empty(COUNT_TABLE)
    return pl.DataFrame(rows, schema=COUNT_TABLE)
