"""isrwatch: count, map and fact-check military surveillance flights from open ADS-B data."""

__version__ = "0.1.0"
