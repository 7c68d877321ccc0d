"""Synthetic inputs for the report tests (built here, not read from ../shared), and checks that
they honour the column contracts the report codes against.

Scenario off Baja California: a sovereign box "MEX", a land box, an area of interest; four
sorties by three aircraft: an RC-135 that stays outside (two days), a P-8 that enters on observed
positions, and an aircraft whose feed text is hostile markup, whose entry rests only on a line
across a 20-minute gap; plus a one-position sortie with no callsign.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import shapely

from isrwatch import schema

XSS_CALLSIGN = "<script>alert(1)</script>"
XSS_REGISTRATION = '"><img src=x onerror=alert(1)>'
XSS_OPERATOR = '<img src=x onerror="window.__xss=1">'
XSS_DESCRIPTION = "</script><script>window.__xss=1</script>"
XSS_CLAIM = 'Spy planes "everywhere" <b onmouseover="window.__xss=1">now</b> & more'

MEX = shapely.box(-117.0, 22.0, -109.0, 32.5)
LAND = shapely.box(-116.0, 23.0, -110.0, 32.5)
AOI = shapely.box(-119.0, 27.0, -115.5, 32.5)

T0 = datetime(2025, 2, 3, 14, 0, tzinfo=timezone.utc)


def _track(icao, callsign, start, lon0, lat0, lon1, lat1, n, step_s=30, gap_at=None, gap_s=0, mlat_every=0):
    t = [start + timedelta(seconds=step_s * k + (gap_s if gap_at is not None and k >= gap_at else 0)) for k in range(n)]
    # positions move with time, so a hole in time is a hole in space too
    frac = np.array([(x - t[0]).total_seconds() for x in t]) / max((t[-1] - t[0]).total_seconds(), 1.0)
    lon = lon0 + (lon1 - lon0) * frac
    lat = lat0 + (lat1 - lat0) * frac + 0.05 * np.sin(frac * 6)
    src = ["mlat" if mlat_every and k % mlat_every == 0 else "adsb" for k in range(n)]
    return pl.DataFrame(
        {
            "time": t,
            "icao24": [icao] * n,
            "callsign": [callsign] * n,
            "lat": lat,
            "lon": lon,
            "alt_baro": np.full(n, 30000.0),
            "on_ground": [False] * n,
            "pos_source": src,
            "feed": ["adsbx-v2"] * n,
        }
    )


def make_inputs() -> dict:
    """flights, aircraft, observations (with flight_id), events, regions, verdicts, counts, coverage."""
    tracks = [
        ("ae01ce", "JAKE11", "ae01ce-20250203T140000Z", _track("ae01ce", "JAKE11", T0, -118.5, 31.0, -117.4, 26.0, 120, mlat_every=4)),
        ("ae01ce", "JAKE12", "ae01ce-20250204T150000Z", _track("ae01ce", "JAKE12", T0 + timedelta(days=1, hours=1), -118.6, 30.0, -117.3, 25.5, 90)),
        ("ae6890", "PELICAN1", "ae6890-20250203T160000Z", _track("ae6890", "PELICAN1", T0 + timedelta(hours=2), -118.0, 28.0, -115.0, 28.5, 100)),
        ("a1b2c3", XSS_CALLSIGN, "a1b2c3-20250203T180000Z", _track("a1b2c3", XSS_CALLSIGN, T0 + timedelta(hours=4), -117.8, 23.5, -116.2, 21.5, 60, gap_at=30, gap_s=1200)),
        ("adf7c8", None, "adf7c8-20250205T120000Z", _track("adf7c8", None, T0 + timedelta(days=2, hours=-2), -118.2, 29.0, -118.2, 29.0, 1)),
    ]
    obs = pl.concat(
        [schema.conform(df, schema.OBSERVATIONS).with_columns(pl.lit(fid).alias(schema.FLIGHT_ID)) for _, _, fid, df in tracks]
    )
    flights = (
        obs.group_by("flight_id", maintain_order=True)
        .agg(
            pl.col("icao24").first(),
            pl.col("callsign").drop_nulls().first().alias("callsign"),
            pl.col("callsign").drop_nulls().unique(maintain_order=True).alias("callsigns"),
            pl.col("time").min().alias("start"),
            pl.col("time").max().alias("end"),
            pl.len().cast(pl.Int64).alias("n_obs"),
            pl.col("lat").first().alias("first_lat"),
            pl.col("lon").first().alias("first_lon"),
            pl.col("lat").last().alias("last_lat"),
            pl.col("lon").last().alias("last_lon"),
            pl.col("time").diff().dt.total_seconds().max().cast(pl.Float64).alias("max_gap_s"),
            (pl.col("pos_source") == "adsb").mean().alias("share_adsb"),
            (pl.col("pos_source") == "mlat").mean().alias("share_mlat"),
        )
        .with_columns(
            ((pl.col("end") - pl.col("start")).dt.total_seconds() / 60).cast(pl.Float64).alias("duration_min"),
            (1 - pl.col("share_adsb") - pl.col("share_mlat")).alias("share_other"),
            pl.lit("KNKX").alias("takeoff_airfield"),
            pl.lit(None, pl.String).alias("landing_airfield"),
            pl.lit("takeoff_observed").alias("start_reason"),
            pl.lit("coverage_end").alias("end_reason"),
        )
    )
    flights = schema.conform(flights, schema.FLIGHTS)
    aircraft = schema.conform(
        pl.DataFrame(
            {
                "icao24": ["ae01ce", "ae6890", "a1b2c3"],
                "registration": ["64-14841", "169001", XSS_REGISTRATION],
                "type_code": ["R135", "P8", "C12"],
                "type_description": ["Boeing RC-135", "Boeing P-8 Poseidon", XSS_DESCRIPTION],
                "operator": ["United States Air Force", "United States Navy", XSS_OPERATOR],
                "country_iso2": ["US", "US", "US"],
                "country": ["United States", "United States", "United States"],
                "military": [True, True, True],
                "isr_role": ["sigint", "maritime_patrol", "imint"],
                "isr_variant": ["RC-135V/W Rivet Joint", None, None],
                "registration_source": ["db:tar1090", "db:plane-alert", "feed:adsbx-v2"],
                "type_source": ["db:tar1090", "db:tar1090", "feed:adsbx-v2"],
                "operator_source": ["db:plane-alert", "db:plane-alert", "feed:adsbx-v2"],
                "country_source": ["hex_block", "hex_block", "hex_block"],
                "military_source": ["hex_block", "db:tar1090", "hex_block"],
                "isr_role_source": ["catalogue:type", "catalogue:type", "catalogue:type"],
            }
        ),
        schema.AIRCRAFT,
    )
    ids = flights["flight_id"].to_list()
    p8 = "ae6890-20250203T160000Z"
    xss = "a1b2c3-20250203T180000Z"
    ev_rows = []
    for fid, icao in zip(ids, flights["icao24"].to_list(), strict=True):
        if fid == p8:
            ev_rows.append(
                dict(flight_id=fid, icao24=icao, region="MEX", region_kind="sovereign", entered=True, entry_index=0,
                     entry_time=T0 + timedelta(hours=2, minutes=10), exit_time=None, duration_s=1800.0, n_obs_inside=60,
                     basis="observed", over_land=True, max_depth_km=95.2, max_depth_lat=28.4, max_depth_lon=-115.2,
                     closest_km=0.0)
            )
        elif fid == xss:
            ev_rows.append(
                dict(flight_id=fid, icao24=icao, region="MEX", region_kind="sovereign", entered=True, entry_index=0,
                     entry_time=T0 + timedelta(hours=4, minutes=20), exit_time=T0 + timedelta(hours=4, minutes=32),
                     duration_s=720.0, n_obs_inside=0, basis="gap_only", over_land=False, max_depth_km=3.1,
                     max_depth_lat=22.4, max_depth_lon=-116.9, closest_km=0.0)
            )
        else:
            ev_rows.append(
                dict(flight_id=fid, icao24=icao, region="MEX", region_kind="sovereign", entered=False, closest_km=18.4,
                     closest_lat=27.0, closest_lon=-117.2, closest_time=T0 + timedelta(hours=1))
            )
    events = schema.conform(pl.DataFrame(ev_rows), schema.AIRSPACE_EVENTS)
    regions = [
        ("land", "Land", "land", LAND, "Made with Natural Earth (public domain), via world-atlas"),
        ("MEX", "Mexico", "sovereign", MEX, ["© OpenStreetMap contributors (ODbL)"]),
        ("baja_pacific", "Baja California Pacific coast", "aoi", AOI, None),
    ]
    verdicts = [
        dict(id="claim-1", source="Newspaper A", words="At least 18 US spy flights near Mexico in two weeks",
             date="2025-02-10", verdict="not_determinable", reason="two of fourteen days have no coverage",
             observed={"sorties": 4, "distinct aircraft": 3}, definitions_that_hold=["sorties"]),
        dict(id="claim-2", source="Ministry B", words="No aircraft entered Mexican airspace", date="2025-02-11",
             verdict="contradicted", reason="PELICAN1 flew 95 km inside on observed positions",
             observed=2, definitions_that_hold=[]),
        dict(id="claim-3", source=XSS_OPERATOR, words=XSS_CLAIM, date="2025-02-12", verdict="supported",
             reason="as stated", observed="4", definitions_that_hold=[{"name": "aircraft-days", "window": "2025-02-03/2025-02-05"}]),
    ]
    counts = [
        dict(n=4, definition={"name": "sorties", "region": "baja_pacific", "military_only": True}, sentence="4 sorties"),
        dict(n=3, definition={"name": "distinct aircraft", "region": "baja_pacific"}, sentence="3 aircraft"),
        dict(n=4, definition={"name": "aircraft-days", "window": "2025-02-03/2025-02-05"}, sentence="4 aircraft-days"),
        dict(n=2, definition={"name": "entries MEX"}, sentence="2 flights entered Mexico's sovereign airspace"),
    ]
    coverage = pl.DataFrame(
        {
            "day": [date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5), date(2025, 2, 6)],
            "n_obs": [280, 90, 1, 0],
            "n_aircraft": [3, 1, 1, 0],
            "first": [T0, T0 + timedelta(days=1), T0 + timedelta(days=2), None],
            "last": [T0 + timedelta(hours=6), T0 + timedelta(days=1, hours=2), T0 + timedelta(days=2), None],
            "max_gap_s": [1200.0, 30.0, None, None],
        }
    )
    return dict(
        flights=flights,
        aircraft=aircraft,
        observations=obs,
        events=events,
        regions=regions,
        verdicts=verdicts,
        count_table=counts,
        coverage=coverage,
    )


N_FLIGHTS = 5


def test_synthetic_inputs_follow_the_contracts():
    d = make_inputs()
    assert d["flights"].schema == pl.Schema(schema.FLIGHTS)
    assert d["aircraft"].schema == pl.Schema(schema.AIRCRAFT)
    assert d["events"].schema == pl.Schema(schema.AIRSPACE_EVENTS)
    assert d["observations"].columns == [*schema.OBSERVATIONS, schema.FLIGHT_ID]
    assert d["flights"].height == N_FLIGHTS
    assert d["flights"]["flight_id"].is_unique().all()
    # the gap-only flight really has a 20-minute hole
    xss = d["flights"].filter(pl.col("callsign") == XSS_CALLSIGN)
    assert xss["max_gap_s"][0] > 1200
    # a null-callsign sortie is kept
    assert d["flights"]["callsign"].null_count() == 1
