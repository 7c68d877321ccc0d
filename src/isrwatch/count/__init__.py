"""count stage: numbers under spelled-out counting definitions.

    from isrwatch.count import CountDefinition, Area, count, count_table
    d = CountDefinition("sorties", since="2025-02-01", until="2025-02-14", area=Area.within(100, "MEX"), roles=["isr"])
    result = count(d, flights, aircraft, area_presence)
    result.n, result.sentence, result.flights

Pure functions over tables (definition, core, presence); `pipeline` composes them with the store,
segment, identify and airspace stages.
"""

from isrwatch.count.core import (
    COUNT_TABLE,
    COUNTED_FLIGHTS,
    AreaNotComputed,
    CountResult,
    count,
    count_many,
    count_table,
    counter,
    results_table,
    standard_definitions,
)
from isrwatch.count.definition import (
    DEFAULT_MIN_MINUTES,
    ISR_ANY,
    KINDS,
    Area,
    CountDefinition,
    kind_of,
    normalise_roles,
    utc,
)
from isrwatch.count.presence import AREA_PRESENCE, CLASSIFIED_POINTS, classified_points, inside_mask, presence

__all__ = [
    "AREA_PRESENCE",
    "CLASSIFIED_POINTS",
    "COUNT_TABLE",
    "COUNTED_FLIGHTS",
    "DEFAULT_MIN_MINUTES",
    "ISR_ANY",
    "KINDS",
    "Area",
    "AreaNotComputed",
    "CountDefinition",
    "CountResult",
    "classified_points",
    "count",
    "count_many",
    "count_table",
    "counter",
    "inside_mask",
    "kind_of",
    "normalise_roles",
    "presence",
    "results_table",
    "standard_definitions",
    "utc",
]
