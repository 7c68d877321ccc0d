"""Counting definitions: what is counted, and the filters that are part of the definition.

A count is meaningless without its definition, so every number isrwatch prints carries a
CountDefinition, serialisable to a dict (for JSON and claims files) and to a plain-English sentence
(for reports). Two honest numbers that differ usually differ in their definitions; printing the
definition next to the number is how they are told apart.

Kinds
  sorties            flights (take-off to landing, as the segment stage split them)
  distinct_aircraft  distinct ICAO 24-bit addresses among those flights
  aircraft_days      distinct (aircraft, UTC day) pairs on which an aircraft flew (in the area)
  missions           sorties with at least `min_minutes` inside the area (loiter, not transit)
  sovereign_entries  entries into a country's sovereign airspace (land, territorial sea and
                     internal waters); entries that rest only on a straight line drawn across a
                     coverage gap ("gap_only") count only when `count_gap_only` is set

Filters
  window    since (inclusive) .. until (exclusive), UTC. A sortie is in the window when it overlaps
            it (with an area: when its time inside the area overlaps it); an entry when its entry
            time falls inside it.
  area      a named AOI, a country's sovereign airspace, "within N km of" a country, or a GeoJSON
            file. A sortie counts for an area when it has at least one observed position inside
            (missions: at least `min_minutes` inside).
  roles     ISR roles of the aircraft (schema.ISR_ROLES; "isr" means any role but "none")
  military_only, countries (registration country from the ICAO address block, ISO alpha-2)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from isrwatch import schema
from isrwatch.count import countries

KINDS = ("sorties", "distinct_aircraft", "aircraft_days", "missions", "sovereign_entries")
# the CLI's spellings
KIND_ALIASES = {
    "sorties": "sorties",
    "sortie": "sorties",
    "flights": "sorties",
    "aircraft": "distinct_aircraft",
    "distinct_aircraft": "distinct_aircraft",
    "distinct-aircraft": "distinct_aircraft",
    "aircraft-days": "aircraft_days",
    "aircraft_days": "aircraft_days",
    "missions": "missions",
    "mission": "missions",
    "entries": "sovereign_entries",
    "sovereign_entries": "sovereign_entries",
    "sovereign-entries": "sovereign_entries",
}
AREA_KINDS = ("aoi", "sovereign", "within_km", "geojson")
ISR_ANY = tuple(r for r in schema.ISR_ROLES if r != "none")
DEFAULT_MIN_MINUTES = 30.0


def kind_of(name: str) -> str:
    """The canonical kind for a CLI or claims-file spelling; ValueError names the valid ones."""
    key = name.strip().lower()
    if key not in KIND_ALIASES:
        raise ValueError(
            f"unknown counting definition {name!r}: use one of sorties, aircraft, aircraft-days, missions, entries"
        )
    return KIND_ALIASES[key]


def normalise_roles(roles: Any) -> tuple[str, ...]:
    """Roles as a sorted tuple of schema.ISR_ROLES; "isr"/"any" expands to every ISR role."""
    if roles is None:
        return ()
    if isinstance(roles, str):
        roles = [r for r in roles.replace(",", " ").split() if r]
    out: set[str] = set()
    for role in roles:
        key = str(role).strip().lower().replace("-", "_")
        if key in ("isr", "any", "any_isr", "spy"):
            out.update(ISR_ANY)
        elif key in schema.ISR_ROLES:
            out.add(key)
        else:
            raise ValueError(f"unknown ISR role {role!r}: use isr (any) or one of {', '.join(schema.ISR_ROLES)}")
    return tuple(r for r in schema.ISR_ROLES if r in out)


@dataclass(frozen=True)
class Area:
    """Where a count looks. `key` is the airspace stage's region id, the value of the `area` column
    in the area-presence table and, for sovereign airspace, the `region` of the airspace events."""

    kind: str  # aoi | sovereign | within_km | geojson
    id: str  # AOI id, ISO alpha-3, or the GeoJSON path
    km: float | None = None  # within_km only

    def __post_init__(self) -> None:
        if self.kind not in AREA_KINDS:
            raise ValueError(f"unknown area kind {self.kind!r}: use one of {', '.join(AREA_KINDS)}")
        if self.kind == "within_km" and (self.km is None or not self.km > 0):
            raise ValueError("an area 'within N km of' needs N > 0")

    @classmethod
    def sovereign(cls, country: str) -> Area:
        return cls("sovereign", countries.iso3(country))

    @classmethod
    def within(cls, km: float, country: str) -> Area:
        return cls("within_km", countries.iso3(country), float(km))

    @classmethod
    def aoi(cls, aoi_id: str) -> Area:
        return cls("aoi", aoi_id)

    @classmethod
    def geojson(cls, path: str | Path) -> Area:
        return cls("geojson", str(path))

    @property
    def country(self) -> str | None:
        """The ISO alpha-3 code when the area is defined by a country."""
        return self.id if self.kind in ("sovereign", "within_km") else None

    @property
    def key(self) -> str:
        """The airspace stage's region id: "MEX", "near:MEX:100", an AOI id, "user:<file stem>"."""
        if self.kind == "sovereign":
            return self.id
        if self.kind == "within_km":
            return f"near:{self.id}:{self.km:g}"
        if self.kind == "geojson":
            return f"user:{Path(self.id).stem}"
        return self.id

    def describe(self) -> str:
        if self.kind == "sovereign":
            return (
                f"{countries.name(self.id)}'s sovereign airspace ({self.id}: land, territorial sea "
                "and internal waters)"
            )
        if self.kind == "within_km":
            return f"the area within {self.km:g} km of {countries.name(self.id)}'s sovereign airspace ({self.id})"
        if self.kind == "geojson":
            return f"the area drawn in {Path(self.id).name}"
        return f"the area of interest {self.id!r}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "id": self.id, "key": self.key}
        if self.kind == "within_km":
            out["km"] = self.km
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Area:
        return cls(data["kind"], data["id"], data.get("km"))


def utc(value: datetime | date | str | None, *, end: bool = False) -> datetime | None:
    """A UTC datetime from a datetime, a date or an ISO string. A bare date as an `end` bound
    means the end of that day (the next midnight), so --until 2025-02-14 includes the 14th."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) == 10:
            value = date.fromisoformat(text)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    day = datetime.combine(value, time(0), tzinfo=timezone.utc)
    return day + timedelta(days=1) if end else day


def _fmt_time(t: datetime) -> str:
    if t.hour == 0 and t.minute == 0 and t.second == 0 and t.microsecond == 0:
        return t.strftime("%Y-%m-%d 00:00 UTC")
    return t.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class CountDefinition:
    kind: str
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC
    area: Area | None = None
    roles: tuple[str, ...] = ()
    military_only: bool = False
    countries: tuple[str, ...] = ()  # registration country, ISO alpha-2 (ICAO address block)
    min_minutes: float = DEFAULT_MIN_MINUTES  # missions only
    count_gap_only: bool = False  # sovereign_entries only
    label: str = field(default="", compare=False)  # a short name for tables ("entries incl. gap-only")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown counting definition {self.kind!r}: use one of {', '.join(KINDS)}")
        object.__setattr__(self, "since", utc(self.since))
        object.__setattr__(self, "until", utc(self.until, end=True))
        object.__setattr__(self, "roles", normalise_roles(self.roles))
        object.__setattr__(self, "countries", tuple(sorted({countries.iso2(c) for c in self.countries})))
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError(f"empty window: until ({self.until:%Y-%m-%d %H:%M}) is not after since ({self.since:%Y-%m-%d %H:%M})")
        if self.kind == "sovereign_entries" and (self.area is None or self.area.kind != "sovereign"):
            raise ValueError("entries are counted into a country's sovereign airspace: give the country (--country ISO3)")
        if self.min_minutes < 0:
            raise ValueError("min_minutes must be >= 0")

    def with_(self, **changes: Any) -> CountDefinition:
        return replace(self, **changes)

    @property
    def name(self) -> str:
        """A short name for tables: the label, else the kind with its key parameter."""
        if self.label:
            return self.label
        if self.kind == "missions":
            return f"missions (>= {self.min_minutes:g} min)"
        if self.kind == "sovereign_entries":
            return "entries (incl. gap-only)" if self.count_gap_only else "entries (observed)"
        return self.kind.replace("_", " ")

    def summary(self) -> str:
        """One line for tables: "sorties · near:MEX:100 · any ISR role · military · reg. US"."""
        parts = [self.name]
        parts.append(self.area.key if self.area else "anywhere")
        if self.roles:
            parts.append("any ISR role" if self.roles == ISR_ANY else "/".join(self.roles))
        if self.military_only:
            parts.append("military")
        if self.countries:
            parts.append("reg. " + "/".join(self.countries))
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "area": self.area.to_dict() if self.area else None,
            "roles": list(self.roles),
            "military_only": self.military_only,
            "countries": list(self.countries),
            "min_minutes": self.min_minutes if self.kind == "missions" else None,
            "count_gap_only": self.count_gap_only if self.kind == "sovereign_entries" else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CountDefinition:
        area = data.get("area")
        return cls(
            kind=data["kind"],
            since=data.get("since"),
            until=data.get("until"),
            area=Area.from_dict(area) if area else None,
            roles=tuple(data.get("roles") or ()),
            military_only=bool(data.get("military_only", False)),
            countries=tuple(data.get("countries") or ()),
            min_minutes=float(data["min_minutes"]) if data.get("min_minutes") is not None else DEFAULT_MIN_MINUTES,
            count_gap_only=bool(data.get("count_gap_only") or False),
        )

    def sentence(self) -> str:
        """The definition in plain English, every filter spelled out."""
        parts: list[str] = []
        if self.kind == "sorties":
            parts.append("Sorties (one take-off to landing each)")
        elif self.kind == "distinct_aircraft":
            parts.append("Distinct aircraft (by ICAO 24-bit address)")
        elif self.kind == "aircraft_days":
            parts.append("Aircraft-days (one per aircraft per UTC day on which it flew")
            parts[-1] += " in the area)" if self.area else ")"
        elif self.kind == "missions":
            if self.area:
                parts.append(f"Missions (sorties with at least {self.min_minutes:g} minutes inside the area)")
            else:
                parts.append(f"Missions (sorties lasting at least {self.min_minutes:g} minutes; no area given)")
        else:
            basis = (
                "counting also entries inferred only from a straight line across a coverage gap"
                if self.count_gap_only
                else "counting only entries seen in observed positions (entries inferred across a coverage gap are not counted)"
            )
            parts.append(f"Entries into {self.area.describe()}, {basis}")  # type: ignore[union-attr]

        who: list[str] = []
        if self.roles:
            if self.roles == ISR_ANY:
                who.append("with any ISR role")
            else:
                who.append("with ISR role " + " or ".join(self.roles))
        if self.military_only:
            who.append("military")
        if self.countries:
            names = [f"{countries.name(c)} ({c})" for c in self.countries]
            who.append("registered to " + " or ".join(names) + " by ICAO address block")
        if who:
            parts.append("by aircraft " + ", ".join(who))
        else:
            parts.append("by any aircraft")

        if self.area and self.kind != "sovereign_entries":
            if self.kind == "missions":
                parts.append(f"inside {self.area.describe()}")
            else:
                parts.append(f"with at least one observed position inside {self.area.describe()}")

        if self.since and self.until:
            parts.append(f"from {_fmt_time(self.since)} to {_fmt_time(self.until)} (end excluded)")
        elif self.since:
            parts.append(f"from {_fmt_time(self.since)} on")
        elif self.until:
            parts.append(f"before {_fmt_time(self.until)}")
        else:
            parts.append("over all the data held")
        return ", ".join(parts) + "."
