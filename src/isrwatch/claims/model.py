"""What a claim means, as data: a comparator, a number and a counting definition.

A claim's meaning is either a quantity ("at least 18 sorties near Mexico in two weeks") or a
predicate ("no aircraft entered Mexico's sovereign airspace"), which is the quantity
"sovereign_entries at_most 0". Both are a ClaimMeaning; `predicate` keeps the original form so the
report can quote it as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from isrwatch.count import Area, CountDefinition
from isrwatch.count.definition import DEFAULT_MIN_MINUTES, KINDS, normalise_roles, utc
from isrwatch.count import countries as _countries

COMPARATORS = ("exactly", "at_least", "at_most", "about")
PREDICATES = ("none_entered",)
KIND_WORDS = {
    "sorties": ("sortie", "sorties"),
    "distinct_aircraft": ("aircraft", "aircraft"),
    "aircraft_days": ("aircraft-day", "aircraft-days"),
    "missions": ("mission", "missions"),
    "sovereign_entries": ("entry", "entries"),
}


@dataclass(frozen=True)
class ClaimMeaning:
    comparator: str  # exactly | at_least | at_most | about
    n: int
    kind: str  # a count.KINDS
    tolerance: float = 0.0  # about: the claim holds within n ± tolerance
    region: Area | None = None
    region_our: bool = False  # "our airspace": the region comes from --region at verify time
    since: datetime | None = None
    until: datetime | None = None
    duration: timedelta | None = None  # a relative window stated in the words ("in two weeks")
    roles: tuple[str, ...] = ()
    military_only: bool = False
    countries: tuple[str, ...] = ()  # registration country, ISO alpha-2
    min_minutes: float = DEFAULT_MIN_MINUTES  # missions
    count_gap_only: bool = False  # sovereign_entries: whether gap-only entries count
    predicate: str | None = None  # "none_entered" when the claim was stated as such

    def __post_init__(self) -> None:
        if self.comparator not in COMPARATORS:
            raise ValueError(f"unknown comparator {self.comparator!r}: use one of {', '.join(COMPARATORS)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown counting definition {self.kind!r}: use one of {', '.join(KINDS)}")
        if self.n < 0:
            raise ValueError("a count cannot be negative")
        if self.tolerance < 0:
            raise ValueError("tolerance must be >= 0")
        if self.predicate is not None and self.predicate not in PREDICATES:
            raise ValueError(f"unknown predicate {self.predicate!r}: use one of {', '.join(PREDICATES)}")
        object.__setattr__(self, "since", utc(self.since))
        object.__setattr__(self, "until", utc(self.until, end=True))
        object.__setattr__(self, "roles", normalise_roles(self.roles))
        object.__setattr__(self, "countries", tuple(sorted({_countries.iso2(c) for c in self.countries})))

    @classmethod
    def none_entered(cls, region: Area | None = None, **kw: Any) -> ClaimMeaning:
        return cls("at_most", 0, "sovereign_entries", region=region, predicate="none_entered", **kw)

    def with_(self, **changes: Any) -> ClaimMeaning:
        return replace(self, **changes)

    # --- the claim against a number -------------------------------------------------------

    def bounds(self) -> tuple[float, float]:
        """The values of the count that make the claim true, as a closed interval."""
        if self.comparator == "exactly":
            return (self.n, self.n)
        if self.comparator == "at_least":
            return (self.n, math.inf)
        if self.comparator == "at_most":
            return (-math.inf, self.n)
        return (self.n - self.tolerance, self.n + self.tolerance)

    def holds(self, value: float) -> bool:
        lo, hi = self.bounds()
        return lo <= value <= hi

    def describe(self) -> str:
        """The claim in plain words: "at least 18 sorties", "no entries"."""
        one, many = KIND_WORDS[self.kind]
        noun = one if self.n == 1 else many
        if self.predicate == "none_entered":
            return "no entries (none entered)"
        if self.comparator == "about":
            return f"about {self.n} {noun} (±{self.tolerance:g})"
        if self.comparator == "at_most" and self.n == 0:
            return f"no {many}"
        return f"{self.comparator.replace('_', ' ')} {self.n} {noun}"

    def definition(self, *, since: datetime | None = None, until: datetime | None = None, region: Area | None = None) -> CountDefinition:
        """The counting definition the claim speaks of, with the window and region resolved."""
        area = self.region if self.region is not None else region
        if self.kind == "sovereign_entries" and area is not None and area.kind != "sovereign":
            area = Area.sovereign(area.country) if area.country else area
        return CountDefinition(
            kind=self.kind,
            since=self.since or since,
            until=self.until or until,
            area=area,
            roles=self.roles,
            military_only=self.military_only,
            countries=self.countries,
            min_minutes=self.min_minutes,
            count_gap_only=self.count_gap_only,
        )

    # --- as data --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "comparator": self.comparator,
            "n": self.n,
            "tolerance": self.tolerance if self.comparator == "about" else None,
            "kind": self.kind,
            "predicate": self.predicate,
            "region": "our" if self.region_our and self.region is None else (self.region.to_dict() if self.region else None),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "duration_days": self.duration / timedelta(days=1) if self.duration is not None else None,
            "roles": list(self.roles),
            "military_only": self.military_only,
            "countries": list(self.countries),
            "min_minutes": self.min_minutes if self.kind == "missions" else None,
            "count_gap_only": self.count_gap_only if self.kind == "sovereign_entries" else None,
        }


@dataclass(frozen=True)
class ParsedClaim:
    """A sentence read into a ClaimMeaning; `read` says which words gave which part, `notes` the
    assumptions made (e.g. "'near' read as within 100 km")."""

    text: str
    lang: str
    meaning: ClaimMeaning
    read: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    ok: bool = field(default=True, init=False)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, "text": self.text, "lang": self.lang, "meaning": self.meaning.to_dict(), "read": dict(self.read), "notes": list(self.notes)}


@dataclass(frozen=True)
class ParseFailure:
    """A sentence the parser could not read, and which part of it: `part` is one of number,
    noun, region, window, claim; `reason` says it in plain words."""

    text: str
    lang: str | None
    part: str
    reason: str
    ok: bool = field(default=False, init=False)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": False, "text": self.text, "lang": self.lang, "part": self.part, "reason": self.reason}


@dataclass(frozen=True)
class Claim:
    """One claim of a claims file: who said what, when, and (optionally) what it means."""

    id: str
    source: str
    words: str
    date: date | None = None
    language: str | None = None
    url: str | None = None
    meaning: ClaimMeaning | None = None  # given in the file; else parsed from `words`
    since: datetime | None = None  # the claim's window, when the file gives one outside `meaning`
    until: datetime | None = None
    region: Area | None = None
    region_our: bool = False
    line: int | None = None  # where the claim starts in its file

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "words": self.words,
            "date": self.date.isoformat() if self.date else None,
            "language": self.language,
            "url": self.url,
            "meaning": self.meaning.to_dict() if self.meaning else None,
        }
