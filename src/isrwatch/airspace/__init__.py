"""airspace stage: where each position is (which country's sovereign airspace, land or sea, which
areas of interest) and, per flight, every entry into a region with its evidence.

    classify_points(obs, *, countries=None, aois=None, aoi_list=False) -> obs + sovereign, over_land, in_<aoi>
    airspace_events(obs_with_flight_id, region, *, region_id=None, max_gap_s=None) -> schema.AIRSPACE_EVENTS
    get_region(id) -> Region; list_regions(kind=None) -> table; attribution(ids) -> lines to print
    sovereign(iso3) / land() -> shapely geometry; load_airspace(path); load_user_geojson(path)

Boundary layers ship in isrwatch/data/boundaries (built by scripts/build_boundaries.py); see
isrwatch.boundaries for the shipped layers, their sources and licences, catalog.py for the derived areas of interest, events.py for
the definitions of an entry.
"""

from isrwatch.airspace.catalog import Region, get_region, list_regions, load_user_geojson
from isrwatch.airspace.classify import aoi_column, classify_points
from isrwatch.airspace.context import download_faa, load_airspace
from isrwatch.airspace.events import airspace_events, summarize
from isrwatch.boundaries import UnknownRegion, attribution, land, metadata, sovereign, sovereign_table

__all__ = [
    "Region",
    "UnknownRegion",
    "airspace_events",
    "aoi_column",
    "attribution",
    "classify_points",
    "download_faa",
    "get_region",
    "land",
    "list_regions",
    "load_airspace",
    "load_user_geojson",
    "metadata",
    "sovereign",
    "sovereign_table",
    "summarize",
]
