"""identify: who is flying — one row per ICAO address with every fact and where it came from.

Sources, and the order in which they win when they disagree (the first that has a value):

- registration: feed ``r`` > tar1090-db > plane-alert-db.
- type_code: feed ``t`` > tar1090-db ``typecode`` > plane-alert-db ``$ICAO Type``.
  type_description follows the same order on its own; type_source names the source of
  type_code and adds ``; description <source>`` when the description came from elsewhere.
- operator: feed ``ownOp`` > tar1090-db (native format's ownOp) > plane-alert-db ``$Operator``.
- country: the ICAO address block only (data/catalogue/icao24_blocks.csv): the allocating
  State, which is not always the operator's country.
- military: true when ANY of these says so — feed dbFlags bit 0, tar1090-db dbflags bit 0,
  plane-alert-db #CMPG == "Mil", the address lies in a published military block. False when
  none says so and at least one database or feed row describes the aircraft as not military.
  Otherwise, and only then, a known military callsign prefix (data/catalogue/
  military_callsigns.csv) is weak evidence with source ``callsign_prefix``. Null when nothing
  is known. military_source lists every source that said true, joined with "+".
- isr_role: catalogue by registration > catalogue by description variant (matched against
  every description any source gave) > catalogue by type designator > plane-alert-db tags and
  category (data/catalogue/plane_alert_roles.csv). A known type that the catalogue does not list
  is "none" (source ``catalogue:unlisted_type``); an unknown type with no evidence is null.

Nothing is resolved silently: every disagreement between sources on registration, type_code,
military or isr_role is a row of the conflicts table (see identify_all). Free-text facts
(descriptions, operator names) differ in wording between sources and are not compared.

When no aircraft database is given, facts that stay unknown carry the source "no database",
and identify_all's status says so; nothing is invented to fill the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from isrwatch import schema
from isrwatch.identify.blocks import lookup_blocks
from isrwatch.identify.catalogue import classify, military_callsign_prefixes
from isrwatch.identify.databases import blank_to_null, normalise_aircraft_db, normalise_plane_alert

NO_DATABASE = "no database"

# one row per (aircraft, fact, disagreeing source)
CONFLICTS: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "fact": pl.String,  # registration, type_code, military, isr_role
    "value": pl.String,  # the value identify chose
    "source": pl.String,  # where the chosen value came from
    "other_value": pl.String,  # what the other source says
    "other_source": pl.String,
}

_TEXT_FACTS = ("registration", "type_code", "type_description", "operator")
_COMPARED = ("registration", "type_code")
_RANK = {"feed": 0, "db:tar1090": 1, "db:plane-alert": 2}


@dataclass
class Identification:
    """identify_all's result: the aircraft table, the conflicts between sources, and a status."""

    aircraft: pl.DataFrame  # schema.AIRCRAFT
    conflicts: pl.DataFrame  # CONFLICTS
    status: dict = field(default_factory=dict)


def _distinct_icao24(icao24s: pl.DataFrame | pl.Series) -> pl.DataFrame:
    s = icao24s["icao24"] if isinstance(icao24s, pl.DataFrame) else icao24s
    return (
        s.cast(pl.String).str.strip_chars().str.to_lowercase().alias("icao24").to_frame()
        .filter(pl.col("icao24").is_not_null() & (pl.col("icao24") != ""))
        .unique(maintain_order=True)
    )


def _candidates(ids: pl.DataFrame, feed: pl.DataFrame, db: pl.DataFrame | None, pa: pl.DataFrame | None) -> pl.DataFrame:
    """Long table of text-fact candidates: icao24, fact, value, source, rank, n (feed row count)."""
    parts = []
    if feed.height:
        f = feed.join(ids, on="icao24", how="semi").with_columns(
            pl.concat_str([pl.lit("feed:"), pl.col("source").fill_null("unknown")]).alias("source")
        )
        long = f.unpivot(index=["icao24", "source"], on=list(_TEXT_FACTS), variable_name="fact", value_name="value")
        parts.append(
            long.drop_nulls("value")
            .group_by("icao24", "fact", "value")
            .agg(pl.len().alias("n"), pl.col("source").sort().first())
            .with_columns(pl.lit(_RANK["feed"], pl.Int32).alias("rank"))
        )
    for table, src in ((db, "db:tar1090"), (pa, "db:plane-alert")):
        if table is None:
            continue
        t = table.join(ids, on="icao24", how="semi")
        long = t.select("icao24", *_TEXT_FACTS).unpivot(index="icao24", variable_name="fact", value_name="value")
        parts.append(
            long.drop_nulls("value").with_columns(
                pl.lit(1, pl.UInt32).alias("n"), pl.lit(src).alias("source"), pl.lit(_RANK[src], pl.Int32).alias("rank")
            )
        )
    cols = {"icao24": pl.String, "fact": pl.String, "value": pl.String, "n": pl.UInt32, "source": pl.String, "rank": pl.Int32}
    if not parts:
        return pl.DataFrame(schema=cols)
    return pl.concat([p.select([pl.col(c).cast(t) for c, t in cols.items()]) for p in parts])


def _compare_key(fact: pl.Expr, value: pl.Expr) -> pl.Expr:
    # registrations and designators compared without case, spaces or dashes
    return value.str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "")


def identify_all(
    icao24s: pl.DataFrame | pl.Series,
    feed_aircraft: pl.DataFrame | None = None,
    *,
    aircraft_db: pl.DataFrame | None = None,
    plane_alert: pl.DataFrame | None = None,
    callsigns: pl.DataFrame | None = None,
) -> Identification:
    """Identify each distinct address; see the module docstring for the precedence rules.

    feed_aircraft: schema.FEED_AIRCRAFT rows (several per address allowed: the most frequent
    value wins within the feed). aircraft_db / plane_alert: tables from load_aircraft_db() /
    load_plane_alert() (or the raw CSV columns). callsigns: optional (icao24, callsign) rows,
    only used as weak military evidence.
    """
    ids = _distinct_icao24(icao24s)
    feed = schema.conform(feed_aircraft if feed_aircraft is not None else schema.empty(schema.FEED_AIRCRAFT), schema.FEED_AIRCRAFT)
    feed = feed.with_columns(blank_to_null(["icao24", *_TEXT_FACTS, "source"])).with_columns(
        pl.col("icao24").str.to_lowercase(), pl.col("type_code").str.to_uppercase()
    )
    db = normalise_aircraft_db(aircraft_db, only=ids) if aircraft_db is not None else None
    pa = normalise_plane_alert(plane_alert, only=ids) if plane_alert is not None else None

    # --- text facts -------------------------------------------------------------------
    cand = _candidates(ids, feed, db, pa)
    ranked = cand.sort(["icao24", "fact", "rank", "n", "value"], descending=[False, False, False, True, False])
    chosen = ranked.group_by("icao24", "fact", maintain_order=True).first()
    wide_v = chosen.pivot(on="fact", index="icao24", values="value")
    wide_s = chosen.pivot(on="fact", index="icao24", values="source").rename(lambda c: c if c == "icao24" else f"{c}__src")
    out = ids.join(wide_v, on="icao24", how="left").join(wide_s, on="icao24", how="left")
    for fct in _TEXT_FACTS:
        for col in (fct, f"{fct}__src"):
            if col not in out.columns:
                out = out.with_columns(pl.lit(None, pl.String).alias(col))

    # conflicts on compared text facts: every source whose value differs from the chosen one
    text_conf = (
        cand.filter(pl.col("fact").is_in(_COMPARED))
        .join(chosen.select("icao24", "fact", pl.col("value").alias("chosen"), pl.col("source").alias("chosen_src")), on=["icao24", "fact"])
        .filter(_compare_key(pl.col("fact"), pl.col("value")) != _compare_key(pl.col("fact"), pl.col("chosen")))
        .select(
            "icao24", "fact", pl.col("chosen").alias("value"), pl.col("chosen_src").alias("source"),
            pl.col("value").alias("other_value"), pl.col("source").alias("other_source"),
        )
    )

    # --- country and hex military ----------------------------------------------------------
    blocks = lookup_blocks(ids)

    # --- military evidence (long: icao24, source, says) -------------------------------------
    mil_parts = []
    if feed.height:
        # one entry per answer, naming the first feed and how many others said the same
        # (a store of a year of daily files would otherwise list hundreds of feeds)
        mil_parts.append(
            feed.join(ids, on="icao24", how="semi").filter(pl.col("db_flags").is_not_null())
            .select(
                "icao24",
                pl.concat_str([pl.lit("feed:"), pl.col("source").fill_null("unknown")]).alias("source"),
                ((pl.col("db_flags") & 1) == 1).alias("says"),
            )
            .group_by("icao24", "says")
            .agg(pl.col("source").unique().sort())
            .select(
                "icao24",
                pl.when(pl.col("source").list.len() > 1)
                .then(pl.concat_str([pl.col("source").list.first(), pl.lit(" (+"), (pl.col("source").list.len() - 1).cast(pl.String), pl.lit(" feeds)")]))
                .otherwise(pl.col("source").list.first())
                .alias("source"),
                "says",
            )
        )
    if db is not None:
        mil_parts.append(
            db.join(ids, on="icao24", how="semi").filter(pl.col("db_flags").is_not_null()).select(
                "icao24", pl.lit("db:tar1090").alias("source"), ((pl.col("db_flags") & 1) == 1).alias("says")
            )
        )
    if pa is not None:
        mil_parts.append(
            pa.join(ids, on="icao24", how="semi").filter(pl.col("cmpg").is_not_null()).select(
                "icao24", pl.lit("db:plane-alert").alias("source"), (pl.col("cmpg").str.to_lowercase() == "mil").alias("says")
            )
        )
    mil_parts.append(blocks.filter(pl.col("hex_military")).select("icao24", pl.lit("hex_block").alias("source"), pl.lit(True).alias("says")))
    mil = pl.concat([p.select(pl.col("icao24").cast(pl.String), pl.col("source").cast(pl.String), pl.col("says").cast(pl.Boolean)) for p in mil_parts]).unique()
    mil_agg = mil.group_by("icao24").agg(
        pl.col("says").any().alias("mil_any"),
        pl.col("source").filter(pl.col("says")).unique().sort().str.join("+").alias("mil_true_src"),
        pl.col("source").filter(~pl.col("says")).unique().sort().str.join("+").alias("mil_false_src"),
    )
    if callsigns is not None and callsigns.height:
        prefixes = military_callsign_prefixes()["prefix"].to_list()
        pattern = "^(" + "|".join(prefixes) + r")[0-9]"
        cs = (
            callsigns.select(pl.col("icao24").cast(pl.String).str.strip_chars().str.to_lowercase(), pl.col("callsign").cast(pl.String).str.strip_chars().str.to_uppercase())
            .filter(pl.col("callsign").str.contains(pattern).fill_null(False))
            .group_by("icao24").agg(pl.col("callsign").sort().first().alias("mil_callsign"))
        )
    else:
        cs = pl.DataFrame(schema={"icao24": pl.String, "mil_callsign": pl.String})
    out = out.join(mil_agg, on="icao24", how="left").join(cs, on="icao24", how="left")
    military = (
        pl.when(pl.col("mil_any")).then(True)
        .when(pl.col("mil_any").is_not_null()).then(False)
        .when(pl.col("mil_callsign").is_not_null()).then(True)
    )
    military_src = (
        pl.when(pl.col("mil_any")).then(pl.col("mil_true_src"))
        .when(pl.col("mil_any").is_not_null()).then(pl.col("mil_false_src"))
        .when(pl.col("mil_callsign").is_not_null()).then(pl.lit("callsign_prefix"))
    )
    out = out.with_columns(military.alias("military"), military_src.alias("military_source"))
    mil_conf = (
        mil.join(out.select("icao24", "military", "military_source"), on="icao24")
        .filter(pl.col("military").is_not_null() & (pl.col("says") != pl.col("military")))
        .select(
            "icao24", pl.lit("military").alias("fact"), pl.col("military").cast(pl.String).str.to_lowercase().alias("value"),
            pl.col("military_source").alias("source"), pl.col("says").cast(pl.String).str.to_lowercase().alias("other_value"),
            pl.col("source").alias("other_source"),
        )
    )
    cs_conf = (
        out.filter(pl.col("mil_callsign").is_not_null() & (pl.col("mil_any") == False))  # noqa: E712
        .select(
            "icao24", pl.lit("military").alias("fact"), pl.lit("false").alias("value"), pl.col("military_source").alias("source"),
            pl.lit("true").alias("other_value"), pl.concat_str([pl.lit("callsign_prefix ("), pl.col("mil_callsign"), pl.lit(")")]).alias("other_source"),
        )
    )

    # --- ISR role ----------------------------------------------------------------------------
    all_values = cand.filter(pl.col("fact").is_in(["registration", "type_description"])).group_by("icao24", "fact").agg("value")
    def values_of(fct: str, alias: str) -> pl.DataFrame:
        return all_values.filter(pl.col("fact") == fct).select("icao24", pl.col("value").alias(alias))
    facts = (
        out.select("icao24", "type_code")
        .join(values_of("registration", "registrations"), on="icao24", how="left")
        .join(values_of("type_description", "descriptions"), on="icao24", how="left")
        .with_columns(pl.col("registrations").fill_null(pl.lit([], pl.List(pl.String))), pl.col("descriptions").fill_null(pl.lit([], pl.List(pl.String))))
    )
    if pa is not None:
        facts = facts.join(pa.select("icao24", pl.col("tags").alias("pa_tags"), pl.col("category").alias("pa_category")), on="icao24", how="left")
    else:
        facts = facts.with_columns(pl.lit(None, pl.List(pl.String)).alias("pa_tags"), pl.lit(None, pl.String).alias("pa_category"))
    roles = classify(facts)
    out = out.join(roles, on="icao24", how="left")
    isr_conf = out.filter(
        pl.col("pa_role").is_not_null() & pl.col("isr_role").is_not_null()
        & (pl.col("pa_role") != pl.col("isr_role").cast(pl.String))
    ).select(
        "icao24", pl.lit("isr_role").alias("fact"), pl.col("isr_role").cast(pl.String).alias("value"),
        pl.col("isr_role_source").alias("source"), pl.col("pa_role").alias("other_value"), pl.col("pa_role_source").alias("other_source"),
    )

    # --- assemble ------------------------------------------------------------------------------
    no_db = db is None

    def src(col: str, value_col: str) -> pl.Expr:
        # without the aircraft database an unknown fact says why it is unknown
        if not no_db:
            return pl.col(col)
        return pl.when(pl.col(value_col).is_null()).then(pl.lit(NO_DATABASE)).otherwise(pl.col(col))

    type_src = (
        pl.when(pl.col("type_description__src").is_not_null() & pl.col("type_code__src").is_not_null()
                & (pl.col("type_description__src") != pl.col("type_code__src")))
        .then(pl.concat_str([pl.col("type_code__src"), pl.lit("; description "), pl.col("type_description__src")]))
        .otherwise(pl.coalesce("type_code__src", "type_description__src"))
    )
    out = out.join(blocks.select("icao24", "country_iso2", "country"), on="icao24", how="left")
    aircraft = out.with_columns(
        src("registration__src", "registration").alias("registration_source"),
        type_src.alias("type_source"),
        src("operator__src", "operator").alias("operator_source"),
        pl.when(pl.col("country").is_not_null()).then(pl.lit("hex_block")).alias("country_source"),
        src("military_source", "military").alias("military_source"),
        src("isr_role_source", "isr_role").alias("isr_role_source"),
    )
    if no_db:
        aircraft = aircraft.with_columns(
            pl.when(pl.col("type_code").is_null() & pl.col("type_description").is_null()).then(pl.lit(NO_DATABASE))
            .otherwise(pl.col("type_source")).alias("type_source")
        )
    aircraft = schema.conform(aircraft, schema.AIRCRAFT)
    conflicts = schema.conform(
        pl.concat([schema.conform(c, CONFLICTS) for c in (text_conf, mil_conf, cs_conf, isr_conf)]), CONFLICTS
    ).sort("icao24", "fact", "other_source")

    in_db = db.join(ids, on="icao24", how="semi").height if db is not None else 0
    in_pa = pa.join(ids, on="icao24", how="semi").height if pa is not None else 0
    warnings = []
    if db is None:
        warnings.append(
            "no aircraft database: registration, type and military status rest on feed fields, "
            "plane-alert-db and the address block only (run `isrwatch db update` or pass --aircraft-db)"
        )
    if pa is None:
        warnings.append("no plane-alert-db: ISR roles rest on the catalogue only")
    status = {
        "aircraft_db": "loaded" if db is not None else "missing",
        "plane_alert": "loaded" if pa is not None else "missing",
        "n_aircraft": aircraft.height,
        "n_in_aircraft_db": in_db,
        "n_in_plane_alert": in_pa,
        "n_with_feed_facts": feed.join(ids, on="icao24", how="semi")["icao24"].n_unique(),
        "n_military": int(aircraft["military"].sum()),
        "n_isr": int(aircraft.filter(pl.col("isr_role").is_not_null() & (pl.col("isr_role") != "none")).height),
        "n_conflicts": conflicts.height,
        "warnings": warnings,
    }
    return Identification(aircraft, conflicts, status)


def identify(
    icao24s: pl.DataFrame | pl.Series,
    feed_aircraft: pl.DataFrame | None = None,
    *,
    aircraft_db: pl.DataFrame | None = None,
    plane_alert: pl.DataFrame | None = None,
    callsigns: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The aircraft table (schema.AIRCRAFT) for the given addresses; see identify_all."""
    return identify_all(
        icao24s, feed_aircraft, aircraft_db=aircraft_db, plane_alert=plane_alert, callsigns=callsigns
    ).aircraft


def conflicts(
    icao24s: pl.DataFrame | pl.Series,
    feed_aircraft: pl.DataFrame | None = None,
    *,
    aircraft_db: pl.DataFrame | None = None,
    plane_alert: pl.DataFrame | None = None,
    callsigns: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Where the sources disagree (CONFLICTS), one row per disagreeing source."""
    return identify_all(
        icao24s, feed_aircraft, aircraft_db=aircraft_db, plane_alert=plane_alert, callsigns=callsigns
    ).conflicts
