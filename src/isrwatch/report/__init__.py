"""The evidence report: one self-contained HTML page, PNG figures for articles, and exports of the
counted flights (GeoJSON, KML, CSV, Parquet).

    write_report(out_path, flights=..., aircraft=..., observations=..., events=..., regions=...,
                 verdicts=[], count_table=None, coverage=None, title=..., simulated=False, notes=[])
    map_png(out_path, ...), timeline_png(out_path, ...)
    export_flights(out_dir, flights, observations, aircraft, formats=...)
    build_report(out_dir, db=..., since=..., until=..., country=...)   (store + stages -> all of it)
"""

from __future__ import annotations

from isrwatch.report.build import BuiltReport, ReportBuildError, build_report
from isrwatch.report.exports import FORMATS, export_flights
from isrwatch.report.figures import map_png, timeline_png, write_figures
from isrwatch.report.html import SIMULATED_LABEL, write_report
from isrwatch.report.model import ReportInputError

__all__ = [
    "FORMATS",
    "SIMULATED_LABEL",
    "BuiltReport",
    "ReportBuildError",
    "ReportInputError",
    "build_report",
    "export_flights",
    "map_png",
    "timeline_png",
    "write_figures",
    "write_report",
]
