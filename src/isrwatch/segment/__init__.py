"""segment stage: sorties (take-off to landing), robust to coverage gaps.

    assign_sorties(obs, *, airfields=None, rules=None) -> observations + flight_id, split_reason
    flights(obs_with_ids, *, airfields=None, rules=None) -> schema.FLIGHTS
"""

from isrwatch.segment.airfields import AIRFIELDS, load_airfields, nearest_airfield
from isrwatch.segment.rules import SortieRules
from isrwatch.segment.sorties import AT_SEA, REASONS, SPLIT_REASON, assign_sorties, flights

__all__ = [
    "AIRFIELDS",
    "AT_SEA",
    "REASONS",
    "SPLIT_REASON",
    "SortieRules",
    "assign_sorties",
    "flights",
    "load_airfields",
    "nearest_airfield",
]
