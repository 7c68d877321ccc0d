"""identify stage: who is flying — country, military status, type and ISR role per ICAO address.

Public API:
    identify(icao24s, feed_aircraft, *, aircraft_db, plane_alert, callsigns=None) -> schema.AIRCRAFT
    identify_all(...) -> Identification(aircraft, conflicts, status)
    conflicts(...) -> CONFLICTS (where the sources disagree)
    lookup_blocks(icao24s) -> country / military block per address, from the address alone
    load_aircraft_db(path=None), load_plane_alert(path=None) -> LoadedDb | None
    load_cached(kind, path) -> LoadedDb (through the Parquet cache)
    read_aircraft_db(path), read_plane_alert(path) -> LoadedDb (no cache)
    update(...), status(...) -> download the databases into the cache / list what is cached

The precedence between sources is documented in isrwatch.identify.core.
"""

from isrwatch.identify.blocks import BLOCK_LOOKUP, load_blocks, lookup_blocks
from isrwatch.identify.core import CONFLICTS, NO_DATABASE, Identification, conflicts, identify, identify_all
from isrwatch.identify.databases import (
    AIRCRAFT_DB,
    PLANE_ALERT,
    DatabaseError,
    LoadedDb,
    load_aircraft_db,
    load_cached,
    load_plane_alert,
    read_aircraft_db,
    read_plane_alert,
)
from isrwatch.identify.download import SOURCES, DownloadError, status, update

__all__ = [
    "AIRCRAFT_DB",
    "BLOCK_LOOKUP",
    "CONFLICTS",
    "NO_DATABASE",
    "PLANE_ALERT",
    "SOURCES",
    "DatabaseError",
    "DownloadError",
    "Identification",
    "LoadedDb",
    "conflicts",
    "identify",
    "identify_all",
    "load_aircraft_db",
    "load_blocks",
    "load_cached",
    "load_plane_alert",
    "lookup_blocks",
    "read_aircraft_db",
    "read_plane_alert",
    "status",
    "update",
]
