"""Scoring identify() against labelled aircraft (e.g. BuzzFeed News' 2017 spy-plane training set).

Plain functions over tables; the caller reads the label files. An aircraft is "flagged" when
identify gives it an ISR role other than none.
"""

from __future__ import annotations

import polars as pl

FLAGGED = (pl.col("isr_role").is_not_null() & (pl.col("isr_role") != "none")).alias("flagged")


def flagged(aircraft: pl.DataFrame) -> pl.DataFrame:
    """The aircraft with an ISR role, with the role, variant and the source that decided it."""
    return aircraft.filter(FLAGGED).select(
        "icao24", "registration", "type_code", "country_iso2", "military", "isr_role", "isr_variant",
        "isr_role_source", "military_source",
    )


def score_labels(labels: pl.DataFrame, aircraft: pl.DataFrame, positive: str = "surveil") -> pl.DataFrame:
    """One row per label class: how many aircraft, how many flagged and by which source.

    labels: icao24 (any case) and class. Columns out: class, n, flagged, flagged_share,
    military, hex_military, and one flagged_by:<source> column per isr_role_source seen.
    """
    lab = labels.select(pl.col("icao24").cast(pl.String).str.strip_chars().str.to_lowercase(), pl.col("class").cast(pl.String))
    j = lab.join(aircraft, on="icao24", how="left").with_columns(FLAGGED.fill_null(False))
    base = j.group_by("class").agg(
        pl.len().alias("n"),
        pl.col("flagged").sum().alias("flagged"),
        pl.col("military").fill_null(False).sum().alias("military"),
        pl.col("military_source").str.contains("hex_block").fill_null(False).sum().alias("hex_military"),
    ).with_columns((pl.col("flagged") / pl.col("n")).round(3).alias("flagged_share"))
    by = (
        j.filter(pl.col("flagged"))
        .group_by("class", "isr_role_source")
        .len()
        .with_columns(pl.concat_str([pl.lit("flagged_by:"), pl.col("isr_role_source")]).alias("how"))
    )
    if by.height:
        wide = by.pivot(on="how", index="class", values="len")
        base = base.join(wide, on="class", how="left")
    cols = [c for c in base.columns if c.startswith("flagged_by:")]
    base = base.with_columns([pl.col(c).fill_null(0) for c in cols])
    order = pl.when(pl.col("class") == positive).then(0).otherwise(1)
    return base.sort(order, "class").select("class", "n", "flagged", "flagged_share", "military", "hex_military", *sorted(cols))
