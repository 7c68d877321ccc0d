"""Country and military status from the ICAO 24-bit address alone.

The table is the project's own (data/catalogue/icao24_blocks.csv): State allocations from ICAO
Annex 10 Volume III, Chapter 9 (level 0) and military sub-blocks from community standing data
(level 1). Lookup is one sorted interval join per level (join_asof on the block start, then a
check against the block end); the most specific level that holds the address wins.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from isrwatch import paths

BLOCKS_FILE = ("catalogue", "icao24_blocks.csv")

# one row per input address; *_block columns are null when no block holds the address
BLOCK_LOOKUP: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "country_iso2": pl.String,
    "country": pl.String,
    "hex_military": pl.Boolean,  # address lies in a published military sub-block
    "block_start": pl.String,  # the most specific block holding the address (6 hex digits)
    "block_end": pl.String,
    "block_note": pl.String,
}


class BlockTableError(ValueError):
    """The address-block table is malformed (overlapping blocks of one level, bad hex)."""


def address_int(icao24: pl.Expr) -> pl.Expr:
    """A 24-bit address as an integer; null for non-ICAO ('~'-prefixed) or malformed addresses."""
    s = icao24.str.strip_chars().str.to_lowercase()
    return pl.when(s.str.contains(r"^[0-9a-f]{6}$")).then(s.str.to_integer(base=16, strict=False)).otherwise(None)


@lru_cache(maxsize=1)
def load_blocks() -> pl.DataFrame:
    """The block table with integer bounds, checked: start <= end, no overlap within a level."""
    raw = pl.read_csv(
        paths.package_data(*BLOCKS_FILE), comment_prefix="#", infer_schema=False, encoding="utf8"
    )
    df = raw.select(
        pl.col("start").str.to_integer(base=16, strict=False).alias("start_int"),
        pl.col("end").str.to_integer(base=16, strict=False).alias("end_int"),
        pl.col("start").str.to_lowercase().alias("block_start"),
        pl.col("end").str.to_lowercase().alias("block_end"),
        pl.col("level").cast(pl.Int32),
        pl.col("country_iso2").replace("", None),
        pl.col("country"),
        (pl.col("military").str.to_lowercase() == "true").alias("military"),
        pl.col("note").alias("block_note"),
    )
    bad = df.filter(pl.col("start_int").is_null() | pl.col("end_int").is_null() | (pl.col("start_int") > pl.col("end_int")))
    if bad.height:
        raise BlockTableError(f"bad block bounds: {bad.select('block_start', 'block_end').rows()[:5]}")
    overlaps = (
        df.sort("level", "start_int")
        .with_columns(pl.col("end_int").shift(1).over("level").alias("prev_end"))
        .filter(pl.col("prev_end") >= pl.col("start_int"))
    )
    if overlaps.height:
        raise BlockTableError(f"overlapping blocks within a level: {overlaps.select('level', 'block_start').rows()[:5]}")
    return df.sort("level", "start_int")


def lookup_blocks(icao24s: pl.Series | pl.DataFrame) -> pl.DataFrame:
    """Country, ISO code and military-block flag for each address (schema BLOCK_LOOKUP).

    One row per input row, in input order. Non-ICAO ('~...') and malformed addresses get nulls.
    """
    frame = icao24s.select("icao24") if isinstance(icao24s, pl.DataFrame) else icao24s.alias("icao24").to_frame()
    frame = frame.with_columns(pl.col("icao24").cast(pl.String)).with_row_index("_row").with_columns(
        address_int(pl.col("icao24")).alias("_addr")
    )
    blocks = load_blocks()
    keyed = frame.filter(pl.col("_addr").is_not_null()).sort("_addr")
    out = frame.select("_row", "icao24")
    # most specific level last, so it overwrites the less specific ones
    for level in sorted(blocks["level"].unique().to_list()):
        layer = blocks.filter(pl.col("level") == level)
        hit = (
            keyed.join_asof(layer, left_on="_addr", right_on="start_int", strategy="backward")
            .filter(pl.col("_addr") <= pl.col("end_int"))
            .select(
                "_row",
                pl.col("country_iso2").alias(f"_iso_{level}"),
                pl.col("country").alias(f"_country_{level}"),
                pl.col("military").alias(f"_mil_{level}"),
                pl.col("block_start").alias(f"_bs_{level}"),
                pl.col("block_end").alias(f"_be_{level}"),
                pl.col("block_note").alias(f"_note_{level}"),
                pl.lit(True).alias(f"_hit_{level}"),
            )
        )
        out = out.join(hit, on="_row", how="left")
    levels = sorted(blocks["level"].unique().to_list(), reverse=True)

    def most_specific(prefix: str) -> pl.Expr:
        # value from the most specific level that holds the address (even when that value is null)
        expr = pl.lit(None)
        for level in reversed(levels):
            expr = pl.when(pl.col(f"_hit_{level}")).then(pl.col(f"{prefix}{level}")).otherwise(expr)
        return expr

    return out.sort("_row").select(
        "icao24",
        most_specific("_iso_").cast(pl.String).alias("country_iso2"),
        most_specific("_country_").cast(pl.String).alias("country"),
        pl.when(pl.any_horizontal([pl.col(f"_hit_{lv}").fill_null(False) for lv in levels]))
        .then(pl.any_horizontal([pl.col(f"_mil_{lv}").fill_null(False) for lv in levels]))
        .otherwise(None)
        .alias("hex_military"),
        most_specific("_bs_").cast(pl.String).alias("block_start"),
        most_specific("_be_").cast(pl.String).alias("block_end"),
        most_specific("_note_").cast(pl.String).alias("block_note"),
    )
