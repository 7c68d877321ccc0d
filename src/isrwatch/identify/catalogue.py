"""The ISR catalogue (data, not code): which aircraft are ISR platforms, and in which role.

Rules live in data/catalogue/isr_types.csv (registration, description and type rows),
plane_alert_roles.csv (how plane-alert-db tags and categories are read) and
military_callsigns.csv (weak military evidence). This module turns those rows into vectorised
Polars expressions; it holds no aircraft facts itself.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from isrwatch import paths, schema

MATCH_KINDS = ("registration", "description", "type")


class CatalogueError(ValueError):
    """A catalogue file with a bad row (unknown role, bad regex, missing source)."""


def _read(name: str) -> pl.DataFrame:
    return pl.read_csv(paths.package_data("catalogue", name), comment_prefix="#", infer_schema=False, encoding="utf8")


def _split(col: str) -> pl.Expr:
    return (
        pl.when(pl.col(col).is_null() | (pl.col(col).str.strip_chars() == ""))
        .then(pl.lit([], pl.List(pl.String)))
        .otherwise(pl.col(col).str.split("|").list.eval(pl.element().str.strip_chars()))
    )


@lru_cache(maxsize=1)
def isr_rules() -> pl.DataFrame:
    """isr_types.csv, checked, with a rule index (file order = priority within a match kind)."""
    df = _read("isr_types.csv").with_row_index("rule").with_columns(
        pl.col("match").str.strip_chars(),
        _split("type_codes").list.eval(pl.element().str.to_uppercase()).alias("type_codes"),
        pl.col("isr_variant").replace("", None),
    )
    bad_kind = df.filter(~pl.col("match").is_in(MATCH_KINDS))
    bad_role = df.filter(~pl.col("isr_role").is_in(schema.ISR_ROLES))
    no_source = df.filter(pl.col("source").is_null() | (pl.col("source").str.strip_chars() == ""))
    for bad, what in ((bad_kind, "match kind"), (bad_role, "isr_role"), (no_source, "source")):
        if bad.height:
            raise CatalogueError(f"isr_types.csv: bad {what} in rows {bad['rule'].to_list()}")
    for row in df.filter(pl.col("match") == "description").iter_rows(named=True):
        try:
            pl.select(pl.lit("probe").str.contains(f"(?i){row['pattern']}"))
        except pl.exceptions.PolarsError as exc:
            raise CatalogueError(f"isr_types.csv row {row['rule']}: bad regex {row['pattern']!r}: {exc}") from exc
    return df


@lru_cache(maxsize=1)
def plane_alert_rules() -> pl.DataFrame:
    df = _read("plane_alert_roles.csv").with_row_index("rule")
    bad = df.filter(~pl.col("isr_role").is_in(schema.ISR_ROLES))
    if bad.height:
        raise CatalogueError(f"plane_alert_roles.csv: bad isr_role in rows {bad['rule'].to_list()}")
    return df


@lru_cache(maxsize=1)
def military_callsign_prefixes() -> pl.DataFrame:
    return _read("military_callsigns.csv").with_columns(pl.col("prefix").str.strip_chars().str.to_uppercase())


def normalise_registration(expr: pl.Expr) -> pl.Expr:
    """Registrations compared upper-case without spaces (62-4131 == '62-4131 ')."""
    return expr.str.to_uppercase().str.replace_all(r"\s+", "")


def _first_rule_index(conditions: list[tuple[int, pl.Expr]]) -> pl.Expr:
    """Index of the first rule whose condition holds (rules in priority order), else null."""
    expr = pl.lit(None, pl.UInt32)
    for idx, cond in reversed(conditions):
        expr = pl.when(cond.fill_null(False)).then(pl.lit(idx, pl.UInt32)).otherwise(expr)
    return expr


def _type_ok(codes: list[str]) -> pl.Expr:
    return pl.lit(True) if not codes else pl.col("type_code").is_in(codes)


def classify(facts: pl.DataFrame) -> pl.DataFrame:
    """ISR role for each aircraft from the catalogue and plane-alert-db evidence.

    facts columns: icao24, type_code (resolved), registrations (list of every registration any
    source gave), descriptions (list of every description any source gave), pa_tags (list),
    pa_category. Returns icao24, isr_role, isr_variant, isr_role_source, and pa_role /
    pa_role_source (the plane-alert reading, kept so disagreements can be reported).

    Precedence: catalogue by registration > by description > by type designator >
    plane-alert-db tags/category. A type that is known but not listed gets "none" with source
    "catalogue:unlisted_type"; an unknown type with no other evidence gets null.
    """
    rules = isr_rules()
    reg_rules = rules.filter(pl.col("match") == "registration")
    desc_rules = rules.filter(pl.col("match") == "description")
    type_rules = rules.filter(pl.col("match") == "type")
    base = facts.select(
        "icao24",
        "type_code",
        pl.col("registrations"),
        pl.col("descriptions").list.eval(pl.element().filter(pl.element().is_not_null())).list.join(" | ").alias("_desc"),
        "pa_tags",
        "pa_category",
    )

    # registrations: a join of every registration any source gave against the rule serials
    serials = reg_rules.select(
        "rule",
        pl.col("type_codes").alias("_rule_types"),
        pl.col("pattern").str.split("|").list.eval(normalise_registration(pl.element())).alias("_reg"),
    ).explode("_reg")
    reg_hits = (
        base.select("icao24", "type_code", pl.col("registrations").alias("_reg"))
        .explode("_reg")
        .with_columns(normalise_registration(pl.col("_reg")))
        .join(serials, on="_reg", how="inner")
        .filter((pl.col("_rule_types").list.len() == 0) | pl.col("_rule_types").list.contains(pl.col("type_code")).fill_null(False))
        .group_by("icao24")
        .agg(pl.col("rule").min().alias("_r_reg"))
    )

    # descriptions and designators: rules evaluated once per distinct (type, descriptions) pair
    desc_conds = [
        (r["rule"], pl.col("_desc").str.contains(f"(?i){r['pattern']}") & _type_ok(r["type_codes"]))
        for r in desc_rules.iter_rows(named=True)
    ]
    type_conds = [(r["rule"], _type_ok(r["type_codes"])) for r in type_rules.iter_rows(named=True)]
    keys = base.select("type_code", "_desc").unique().with_columns(
        _first_rule_index(desc_conds).alias("_r_desc"),
        _first_rule_index(type_conds).alias("_r_type"),
    )

    # plane-alert-db: only aircraft it lists
    pa = plane_alert_rules()
    pa_conds = []
    for r in pa.iter_rows(named=True):
        cond = pl.lit(True)
        if r["tag"]:
            cond = cond & pl.col("pa_tags").list.contains(r["tag"])
        if r["category"]:
            cond = cond & (pl.col("pa_category") == r["category"])
        pa_conds.append((r["rule"], cond))
    pa_hits = base.filter(pl.col("pa_category").is_not_null()).select(
        "icao24", _first_rule_index(pa_conds).alias("_r_pa")
    )

    hits = (
        base.select("icao24", "type_code", "_desc")
        .join(keys, on=["type_code", "_desc"], how="left", nulls_equal=True)
        .join(reg_hits, on="icao24", how="left")
        .join(pa_hits, on="icao24", how="left")
        .select("icao24", "type_code", pl.col("_r_reg").cast(pl.UInt32), "_r_desc", "_r_type", pl.col("_r_pa").cast(pl.UInt32))
    )
    role_of = dict(zip(rules["rule"].to_list(), rules["isr_role"].to_list()))
    variant_of = dict(zip(rules["rule"].to_list(), rules["isr_variant"].to_list()))
    pa_role_of = dict(zip(pa["rule"].to_list(), pa["isr_role"].to_list()))
    chosen = pl.coalesce("_r_reg", "_r_desc", "_r_type")
    source = (
        pl.when(pl.col("_r_reg").is_not_null()).then(pl.lit("catalogue:registration"))
        .when(pl.col("_r_desc").is_not_null()).then(pl.lit("catalogue:description"))
        .when(pl.col("_r_type").is_not_null()).then(pl.lit("catalogue:type"))
    )
    out = hits.with_columns(
        chosen.alias("_rule"),
        source.alias("_cat_source"),
        pl.col("_r_pa").replace_strict(pa_role_of, default=None, return_dtype=pl.String).alias("pa_role"),
    ).with_columns(
        pl.col("_rule").replace_strict(role_of, default=None, return_dtype=pl.String).alias("_cat_role"),
        pl.col("_rule").replace_strict(variant_of, default=None, return_dtype=pl.String).alias("_cat_variant"),
        pl.when(pl.col("pa_role").is_not_null())
        .then(
            pl.when(pl.col("_r_pa").replace_strict(dict(zip(pa["rule"].to_list(), pa["tag"].to_list())), default=None, return_dtype=pl.String).is_not_null())
            .then(pl.lit("db:plane-alert:tags"))
            .otherwise(pl.lit("db:plane-alert:category"))
        )
        .alias("pa_role_source"),
    )
    return out.select(
        "icao24",
        pl.coalesce(
            "_cat_role",
            "pa_role",
            pl.when(pl.col("type_code").is_not_null()).then(pl.lit("none")),
        ).cast(schema.IsrRole).alias("isr_role"),
        pl.when(pl.col("_cat_role").is_not_null()).then(pl.col("_cat_variant"))
        .when(pl.col("pa_role").is_not_null() & (pl.col("pa_role") != "none")).then(pl.lit(None, pl.String))
        .alias("isr_variant"),
        pl.coalesce(
            "_cat_source",
            "pa_role_source",
            pl.when(pl.col("type_code").is_not_null()).then(pl.lit("catalogue:unlisted_type")),
        ).alias("isr_role_source"),
        "pa_role",
        "pa_role_source",
    )
