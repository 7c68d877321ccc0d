"""Aircraft databases: readers, a Parquet cache, and where the files are found.

Two public databases are read:

- tar1090-db (Mictronics-derived, maintained by wiedehopf): either the flattened CSV
  (``icao24,registration,typecode,dbflags,description``) or the upstream's native
  ``aircraft.csv.gz`` that readsb reads: semicolon-separated, no header, no quoting, ``\\;``
  escapes a semicolon, fields ``icao;registration;type;flags;description;year;ownOp``.
  ``flags`` is a string of 0/1 characters, character j being bit j (bit 0 military,
  1 interesting, 2 PIA, 3 LADD), exactly as readsb decodes it.
- plane-alert-db (sdr-enthusiasts, ODbL): ``$ICAO,$Registration,$Operator,$Type,$ICAO Type,
  #CMPG,$Tag 1,$#Tag 2,$#Tag 3,Category,$#Link``.

Readers keep every well-formed row and reject the rest with a reason (schema.REJECTS):
``bad_icao24`` (not 6 hex digits, e.g. tar1090-db's ``3children`` index rows) and
``duplicate_icao24`` (a later row for an address already read). Parsed tables are cached as
Parquet in the cache directory, keyed by the file's sha256, so the 600k-row file is parsed once.

Where a database comes from, first match wins: a path given by the caller, the environment
(ISRWATCH_AIRCRAFT_DB, ISRWATCH_PLANE_ALERT_DB), the copy ``isrwatch db update`` downloaded
into the cache. When none exists the loaders return None and callers must say so.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from isrwatch import paths, schema

# normalised tar1090-db table
AIRCRAFT_DB: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "registration": pl.String,
    "type_code": pl.String,
    "type_description": pl.String,
    "operator": pl.String,  # native format's ownOp; null in the flattened CSV
    "db_flags": pl.Int32,  # bit 0 military, 1 interesting, 2 PIA, 3 LADD; null when unreadable
}

# normalised plane-alert-db table
PLANE_ALERT: dict[str, pl.DataType] = {
    "icao24": pl.String,
    "registration": pl.String,
    "operator": pl.String,
    "type_description": pl.String,  # $Type
    "type_code": pl.String,  # $ICAO Type
    "cmpg": pl.String,  # #CMPG: Civ, Gov, Pol, Mil
    "tags": pl.List(pl.String),  # $Tag 1, $#Tag 2, $#Tag 3 (non-empty ones)
    "category": pl.String,
    "link": pl.String,
}

KINDS = {
    "tar1090": ("ISRWATCH_AIRCRAFT_DB", "aircraft database (tar1090-db)"),
    "plane-alert": ("ISRWATCH_PLANE_ALERT_DB", "plane-alert-db"),
}
READER_VERSION = 1  # bump when parsing changes, so cached Parquet is rebuilt

_NATIVE_FIELDS = ["icao24", "registration", "type_code", "flags", "type_description", "year", "operator"]
_PLANE_ALERT_COLUMNS = {
    "$ICAO": "icao24",
    "$Registration": "registration",
    "$Operator": "operator",
    "$Type": "type_description",
    "$ICAO Type": "type_code",
    "#CMPG": "cmpg",
    "Category": "category",
    "$#Link": "link",
}
_PLANE_ALERT_TAGS = ["$Tag 1", "$#Tag 2", "$#Tag 3"]


class DatabaseError(ValueError):
    """A database file that cannot be read as what it claims to be."""


@dataclass
class LoadedDb:
    """A database read from a file: the normalised table and what was rejected."""

    kind: str  # "tar1090" or "plane-alert"
    table: pl.DataFrame
    rejects: pl.DataFrame  # schema.REJECTS
    path: Path | None = None
    sha256: str | None = None
    origin: str = "argument"  # argument, env:<VAR>, cache
    rows_in: int = 0
    notes: dict[str, int] = field(default_factory=dict)  # counted oddities kept in the table

    def summary(self) -> dict:
        return {
            "kind": self.kind,
            "path": str(self.path) if self.path else None,
            "origin": self.origin,
            "sha256": self.sha256,
            "rows_in": self.rows_in,
            "rows": self.table.height,
            "rejected": int(self.rejects["n_rows"].sum()) if self.rejects.height else 0,
            "reject_reasons": dict(self.rejects.group_by("reason").agg(pl.col("n_rows").sum()).iter_rows())
            if self.rejects.height
            else {},
            "notes": dict(self.notes),
        }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _first_line(path: Path) -> str:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            return fh.readline()
    except (OSError, EOFError) as exc:
        raise DatabaseError(f"{path}: unreadable ({exc})") from exc


def blank_to_null(cols: list[str]) -> list[pl.Expr]:
    """The columns as stripped text, an empty field as null (feeds and databases leave fields blank)."""
    return [pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c) for c in cols]


def _flags_to_int(flags: pl.Expr) -> pl.Expr:
    """readsb's decoding of the flags string: character j == '1' sets bit j (null if not 0/1)."""
    bits = [pl.when(flags.str.slice(j, 1) == "1").then(1 << j).otherwise(0) for j in range(16)]
    return pl.when(flags.str.contains(r"^[01]{1,16}$")).then(pl.sum_horizontal(bits)).otherwise(None).cast(pl.Int32)


def _validate_addresses(df: pl.DataFrame, feed: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep rows with a 6-hex address (first row per address); reject the rest with a reason."""
    df = df.with_row_index("_line").with_columns(pl.col("icao24").str.strip_chars().str.to_lowercase())
    valid = pl.col("icao24").str.contains(r"^~?[0-9a-f]{6}$").fill_null(False)
    bad = df.filter(~valid)
    good = df.filter(valid)
    dup_mask = good.select(pl.col("icao24").is_duplicated() & ~pl.col("icao24").is_first_distinct()).to_series()
    dups = good.filter(dup_mask)
    good = good.filter(~dup_mask)
    rejects = pl.concat(
        [
            bad.select(
                pl.lit(feed).alias("feed"),
                pl.lit("bad_icao24").alias("reason"),
                pl.concat_str([pl.lit("row "), (pl.col("_line") + 1).cast(pl.String), pl.lit(": icao24 "), pl.col("icao24").fill_null("<empty>")]).alias("detail"),
                pl.lit(1, pl.Int64).alias("n_rows"),
            ),
            dups.select(
                pl.lit(feed).alias("feed"),
                pl.lit("duplicate_icao24").alias("reason"),
                pl.concat_str([pl.lit("row "), (pl.col("_line") + 1).cast(pl.String), pl.lit(": icao24 "), pl.col("icao24"), pl.lit(" already read")]).alias("detail"),
                pl.lit(1, pl.Int64).alias("n_rows"),
            ),
        ]
    )
    return good.drop("_line"), schema.conform(rejects, schema.REJECTS)


def _read_or_explain(read: Callable[[Path], LoadedDb], path: str | Path) -> LoadedDb:
    """read(path), with a file that cannot be read or decoded reported as a DatabaseError naming it
    (a missing file stays FileNotFoundError)."""
    path = Path(path)
    try:
        return read(path)
    except (OSError, EOFError, pl.exceptions.PolarsError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DatabaseError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from exc


def read_aircraft_db(path: str | Path) -> LoadedDb:
    """Parse a tar1090-db file (flattened CSV or native aircraft.csv.gz) without the cache."""
    return _read_or_explain(_read_aircraft_db, path)


def _read_aircraft_db(path: Path) -> LoadedDb:
    if not path.is_file():
        raise FileNotFoundError(f"aircraft database not found: {path}")
    head = _first_line(path)
    feed = f"tar1090-db:{path.name}"
    if head.lower().startswith("icao24,"):
        raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True)
        missing = {"icao24", "registration", "typecode", "dbflags", "description"} - set(raw.columns)
        if missing:
            raise DatabaseError(f"{path}: flattened tar1090-db CSV without columns {sorted(missing)}")
        df = raw.select(
            pl.col("icao24"),
            pl.col("registration"),
            pl.col("typecode").alias("type_code"),
            pl.col("description").alias("type_description"),
            pl.lit(None, pl.String).alias("operator"),
            pl.col("dbflags").alias("flags"),
        )
    elif ";" in head:
        lines = pl.read_csv(
            path,
            has_header=False,
            separator="\x1f",
            quote_char=None,
            infer_schema=False,
            new_columns=["line"],
            encoding="utf8-lossy",
        )
        # "\;" escapes a semicolon inside a field (csv.writer escapechar in the upstream script)
        parts = pl.col("line").str.replace_all("\\;", "\x00", literal=True).str.split(";")
        df = lines.select(
            [
                parts.list.get(i, null_on_oob=True).str.replace_all("\x00", ";", literal=True).alias(name)
                for i, name in enumerate(_NATIVE_FIELDS)
            ]
        ).drop("year")
    else:
        raise DatabaseError(
            f"{path}: not a tar1090-db file (expected a CSV header 'icao24,...' or semicolon-separated rows)"
        )
    rows_in = df.height
    df = df.with_columns(blank_to_null(["registration", "type_code", "type_description", "operator", "flags"]))
    df = df.with_columns(pl.col("type_code").str.to_uppercase(), _flags_to_int(pl.col("flags")).alias("db_flags"))
    notes = {"unreadable_dbflags": int(df.filter(pl.col("flags").is_not_null() & pl.col("db_flags").is_null()).height)}
    good, rejects = _validate_addresses(df, feed)
    return LoadedDb("tar1090", schema.conform(good, AIRCRAFT_DB), rejects, path, None, "argument", rows_in, notes)


def read_plane_alert(path: str | Path) -> LoadedDb:
    """Parse plane-alert-db's CSV without the cache."""
    return _read_or_explain(_read_plane_alert, path)


def _read_plane_alert(path: Path) -> LoadedDb:
    if not path.is_file():
        raise FileNotFoundError(f"plane-alert-db not found: {path}")
    head = _first_line(path)
    if not head.lstrip("\ufeff").startswith("$ICAO"):
        raise DatabaseError(f"{path}: not a plane-alert-db CSV (expected a header starting with '$ICAO')")
    raw = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True)
    raw = raw.rename({c: c.lstrip("\ufeff") for c in raw.columns})
    missing = (set(_PLANE_ALERT_COLUMNS) | set(_PLANE_ALERT_TAGS)) - set(raw.columns)
    if missing:
        raise DatabaseError(f"{path}: plane-alert-db CSV without columns {sorted(missing)}")
    df = raw.select(
        [pl.col(src).alias(dst) for src, dst in _PLANE_ALERT_COLUMNS.items()]
        + [pl.concat_list([pl.col(t).str.strip_chars() for t in _PLANE_ALERT_TAGS]).list.eval(
            pl.element().filter(pl.element().is_not_null() & (pl.element() != ""))
        ).alias("tags")]
    )
    rows_in = df.height
    df = df.with_columns(
        blank_to_null(["registration", "operator", "type_description", "type_code", "cmpg", "category", "link"])
    ).with_columns(pl.col("type_code").str.to_uppercase())
    good, rejects = _validate_addresses(df, f"plane-alert-db:{path.name}")
    return LoadedDb("plane-alert", schema.conform(good, PLANE_ALERT), rejects, path, None, "argument", rows_in, {})


_READERS = {"tar1090": read_aircraft_db, "plane-alert": read_plane_alert}


def parquet_cache_dir() -> Path:
    return paths.cache_dir() / "parquet"


def load_cached(kind: str, path: str | Path, *, origin: str = "argument", use_cache: bool = True) -> LoadedDb:
    """Read a database file, through the Parquet cache keyed by the file's sha256."""
    if kind not in _READERS:
        raise ValueError(f"unknown database kind {kind!r}; expected one of {sorted(_READERS)}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{KINDS[kind][1]} not found: {path}")
    digest = sha256_file(path)
    stem = parquet_cache_dir() / f"{kind}-{digest[:24]}-v{READER_VERSION}"
    table_pq, rejects_pq, meta_js = (stem.with_suffix(".parquet"), Path(f"{stem}.rejects.parquet"), Path(f"{stem}.json"))
    if use_cache and table_pq.is_file() and rejects_pq.is_file() and meta_js.is_file():
        try:
            meta = json.loads(meta_js.read_text())
            return LoadedDb(
                kind, pl.read_parquet(table_pq), pl.read_parquet(rejects_pq), path, digest, origin,
                int(meta.get("rows_in", 0)), dict(meta.get("notes", {})),
            )
        except (OSError, ValueError, pl.exceptions.PolarsError):
            pass  # a damaged cache entry is rebuilt below
    loaded = _READERS[kind](path)
    loaded.sha256, loaded.origin = digest, origin
    if use_cache:
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            tmp = stem.with_suffix(".parquet.tmp")
            loaded.table.write_parquet(tmp)
            os.replace(tmp, table_pq)
            loaded.rejects.write_parquet(rejects_pq)
            meta_js.write_text(json.dumps({"rows_in": loaded.rows_in, "notes": loaded.notes, "source": str(path)}))
            _prune(kind, keep=CACHE_KEEP)
        except OSError:
            pass  # a read-only cache must not stop identification
    return loaded


CACHE_KEEP = 3  # parsed versions kept per database kind (each `db update` adds one)


def _prune(kind: str, keep: int) -> None:
    entries = sorted(
        parquet_cache_dir().glob(f"{kind}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for meta in entries[keep:]:
        stem = str(meta)[: -len(".json")]
        for p in (Path(stem + ".parquet"), Path(stem + ".rejects.parquet"), meta):
            p.unlink(missing_ok=True)


def resolve_path(kind: str, explicit: str | Path | None = None) -> tuple[Path | None, str | None]:
    """Where the database of this kind is: (path, origin) or (None, None) when there is none.

    An explicit path or environment variable that points nowhere is an error, not a fallback.
    """
    env_var, label = KINDS[kind]
    if explicit is not None:
        p = Path(explicit)
        if not p.is_file():
            raise FileNotFoundError(f"{label} not found: {p}")
        return p, "argument"
    env = os.environ.get(env_var)
    if env:
        p = Path(env)
        if not p.is_file():
            raise FileNotFoundError(f"{label} named by ${env_var} not found: {p}")
        return p, f"env:{env_var}"
    from isrwatch.identify.download import cached_file  # late import: download imports this module

    p = cached_file(kind)
    if p is not None:
        return p, "cache"
    return None, None


def load_aircraft_db(path: str | Path | None = None, *, use_cache: bool = True) -> LoadedDb | None:
    """The tar1090-db table from PATH, $ISRWATCH_AIRCRAFT_DB or the download cache; None if none."""
    p, origin = resolve_path("tar1090", path)
    return None if p is None else load_cached("tar1090", p, origin=origin or "argument", use_cache=use_cache)


def load_plane_alert(path: str | Path | None = None, *, use_cache: bool = True) -> LoadedDb | None:
    """The plane-alert-db table from PATH, $ISRWATCH_PLANE_ALERT_DB or the download cache; None if none."""
    p, origin = resolve_path("plane-alert", path)
    return None if p is None else load_cached("plane-alert", p, origin=origin or "argument", use_cache=use_cache)


def _key_rows(df: pl.DataFrame, only: pl.DataFrame | None) -> pl.DataFrame:
    # normalised address, restricted to the wanted addresses before de-duplicating (cheap on 600k rows)
    df = df.with_columns(pl.col("icao24").str.strip_chars().str.to_lowercase())
    if only is not None:
        df = df.join(only.select(pl.col("icao24").cast(pl.String)), on="icao24", how="semi")
    return df.unique("icao24", keep="first", maintain_order=True)


def normalise_aircraft_db(df: pl.DataFrame, only: pl.DataFrame | None = None) -> pl.DataFrame:
    """Accept the normalised table or the raw flattened CSV columns; return AIRCRAFT_DB.

    only: keep just these addresses (a frame with an icao24 column)."""
    if "typecode" in df.columns or "dbflags" in df.columns:
        df = df.rename({"typecode": "type_code", "description": "type_description"}, strict=False)
        if "dbflags" in df.columns:
            df = df.with_columns(_flags_to_int(pl.col("dbflags").cast(pl.String)).alias("db_flags"))
    return _key_rows(schema.conform(df, AIRCRAFT_DB), only)


def normalise_plane_alert(df: pl.DataFrame, only: pl.DataFrame | None = None) -> pl.DataFrame:
    """Accept the normalised table or the raw plane-alert-db columns; return PLANE_ALERT.

    only: keep just these addresses (a frame with an icao24 column)."""
    if "$ICAO" in df.columns:
        tags = [c for c in _PLANE_ALERT_TAGS if c in df.columns]
        df = df.rename({k: v for k, v in _PLANE_ALERT_COLUMNS.items() if k in df.columns}).with_columns(
            pl.concat_list([pl.col(t).cast(pl.String) for t in tags]).list.eval(
                pl.element().filter(pl.element().is_not_null() & (pl.element() != ""))
            ).alias("tags")
            if tags
            else pl.lit(None, pl.List(pl.String)).alias("tags")
        )
    return _key_rows(schema.conform(df, PLANE_ALERT), only)
