"""Inputs of the report, brought into one shape: tables conformed to the schema, regions, claim
verdicts, count results and coverage as plain dicts.

The count and claims stages hand over their own objects; the report accepts any of: a dict, a
dataclass, a NamedTuple, an object with attributes, or a pydantic-style ``model_dump()``. What it
reads from each is documented on the normalising function below.
"""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import date, datetime
from typing import Any, Iterable, Sequence

import polars as pl
import shapely
import shapely.geometry

from isrwatch import schema
# the claims stage's verdict names and the coverage table it reads
from isrwatch.claims.verdict import COVERAGE, VERDICTS

OBS_COLUMNS: dict[str, pl.DataType] = {**schema.OBSERVATIONS, schema.FLIGHT_ID: pl.String}

REGION_KINDS = ("land", "sovereign", "aoi", "context")


class ReportInputError(ValueError):
    """Input the report cannot draw, with the reason."""


# ---------------------------------------------------------------------------------------------
# generic helpers


def as_dict(obj: Any) -> dict[str, Any]:
    """A shallow dict of an object's fields (dict, dataclass, NamedTuple, pydantic, attributes)."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return dict(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # shallow on purpose: dataclasses.asdict deep-copies tables carried by a count result
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if hasattr(obj, "_asdict"):
        return dict(obj._asdict())
    if hasattr(obj, "model_dump"):
        return dict(obj.model_dump())
    if hasattr(obj, "__dict__"):
        return {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    raise ReportInputError(f"cannot read fields from a {type(obj).__name__}")


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a value: enums by value, times as ISO text, NaN as None."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "value") and type(value).__module__ != "builtins" and hasattr(type(value), "__members__"):
        return plain(value.value)  # Enum
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (pl.DataFrame, pl.Series)):
        return None  # tables are not rendered through this path
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalar
        return plain(value.item())
    return str(value)


def text(value: Any) -> str:
    """Display text of a plain value (lists joined, dicts as key: value; empty for None)."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {text(v)}" for k, v in value.items() if v not in (None, "", [], {}))
    return str(value)


def _frame(obj: Any, what: str) -> pl.DataFrame:
    if obj is None:
        return pl.DataFrame()
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, pl.LazyFrame):
        return obj.collect()
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return pl.DataFrame([as_dict(r) for r in obj]) if obj else pl.DataFrame()
    raise ReportInputError(f"{what}: expected a Polars table or a list of rows, got {type(obj).__name__}")


def conform(df: pl.DataFrame | None, columns: dict[str, pl.DataType], what: str) -> pl.DataFrame:
    """The table with the schema's columns in order (missing ones null), extra columns kept."""
    df = _frame(df, what)
    if df.width == 0:
        return schema.empty(columns)
    base = schema.conform(df, columns)
    extra = [c for c in df.columns if c not in columns]
    return pl.concat([base, df.select(extra)], how="horizontal") if extra else base


# ---------------------------------------------------------------------------------------------
# regions


@dataclasses.dataclass(frozen=True)
class Region:
    id: str
    name: str
    kind: str  # land, sovereign, aoi or context (FIR, ADIZ, user GeoJSON: not sovereignty)
    geometry: shapely.Geometry
    attribution: tuple[str, ...]


def _geometry(geom: Any, rid: str) -> shapely.Geometry:
    if isinstance(geom, shapely.Geometry):
        return geom
    if isinstance(geom, dict):
        try:
            return shapely.geometry.shape(geom)
        except Exception as exc:  # shapely raises several types for bad GeoJSON
            raise ReportInputError(f"region {rid!r}: not a GeoJSON geometry ({exc})") from exc
    if isinstance(geom, str):
        try:
            return shapely.from_geojson(geom) if geom.lstrip().startswith("{") else shapely.from_wkt(geom)
        except Exception as exc:
            raise ReportInputError(f"region {rid!r}: unreadable geometry text ({exc})") from exc
    if isinstance(geom, (bytes, bytearray)):
        return shapely.from_wkb(bytes(geom))
    raise ReportInputError(f"region {rid!r}: geometry must be shapely, GeoJSON, WKT or WKB")


def normalise_regions(regions: Iterable[Any] | None) -> list[Region]:
    """Regions as (id, name, kind, geometry, attribution) tuples, dicts or objects.

    kind is one of land, sovereign, aoi; anything else (fir, adiz, user) is drawn as context.
    attribution is a string, a list of strings or None. geometry is shapely (WGS84 lon/lat),
    a GeoJSON mapping, WKT/GeoJSON text or WKB.
    """
    out: list[Region] = []
    for item in regions or []:
        if isinstance(item, (tuple, list)):
            if len(item) != 5:
                raise ReportInputError("a region tuple is (id, name, kind, geometry, attribution)")
            rid, name, kind, geom, attr = item
        else:
            d = as_dict(item)
            rid, name, kind = d.get("id"), d.get("name"), d.get("kind")
            geom, attr = d.get("geometry"), d.get("attribution")
        rid = str(rid)
        kind = str(kind or "context").lower()
        kind = kind if kind in REGION_KINDS else "context"
        if attr is None:
            attrs: tuple[str, ...] = ()
        elif isinstance(attr, str):
            attrs = (attr,)
        else:
            attrs = tuple(str(a) for a in attr)
        out.append(Region(rid, str(name if name is not None else rid), kind, _geometry(geom, rid), attrs))
    return out


# ---------------------------------------------------------------------------------------------
# count results, claim verdicts, coverage


def definition_label(defn: Any) -> str:
    """Short name of a counting definition: text, an object with a ``name`` (CountDefinition), or a
    dict with name/label/id/kind."""
    if defn is None:
        return ""
    if isinstance(defn, str):
        return defn
    name = getattr(defn, "name", None)
    if isinstance(name, str) and name:
        return name
    d = as_dict(defn) if not isinstance(defn, dict) else defn
    for key in ("name", "label", "id", "key", "kind", "definition", "unit", "what"):
        if d.get(key) not in (None, ""):
            return text(d[key]).replace("_", " ")
    return text(d)


def _sentence(item: Any, d: dict[str, Any], defn: Any) -> str:
    for obj in (d.get("sentence"), getattr(item, "sentence", None), getattr(defn, "sentence", None)):
        if callable(obj):
            obj = obj()
        if obj:
            return text(obj)
    if isinstance(defn, dict):
        return text({k: v for k, v in defn.items() if k not in ("name", "label")})
    return ""


def normalise_counts(count_table: Any) -> dict[str, Any]:
    """Counts side by side: {"columns": [...], "rows": [[...], ...], "labels": [...]}.

    Accepts the count stage's table (COUNT_TABLE: name, n, n_upper, sentence, notes, ...), a list
    of count results (CountResult, or dicts with n or count, definition, sentence, notes,
    n_upper), or any other table, which is shown column by column.
    """
    if count_table is None:
        return {"columns": [], "rows": [], "labels": []}
    if isinstance(count_table, (pl.DataFrame, pl.LazyFrame)):
        df = _frame(count_table, "count_table")
        if not {"n", "name"} <= set(df.columns):
            label_col = next((c for c in ("definition", "label", "id", "kind") if c in df.columns), None)
            dicts = df.to_dicts()
            return {
                "columns": list(df.columns),
                "rows": [[text(r.get(c)) for c in df.columns] for r in dicts],
                "labels": [text(r.get(label_col)) if label_col else "" for r in dicts],
            }
        items: list[Any] = df.to_dicts()
    elif isinstance(count_table, Sequence) and not isinstance(count_table, str):
        items = list(count_table)
    else:
        items = [count_table]
    rows, labels = [], []
    for item in items:
        d = as_dict(item)
        defn = d.get("definition")
        label = text(d.get("name")) or definition_label(defn)
        n = d.get("n", d.get("count"))
        upper = d.get("n_upper")
        rows.append(
            [
                label,
                text(n),
                text(upper) if upper is not None and upper != n else "",
                _sentence(item, d, defn),
                text(d.get("notes")),
            ]
        )
        labels.append(label)
    columns = ["Definition", "n", "Could be up to", "In words", "Notes"]
    # drop columns empty in every row (no upper bounds, no notes)
    keep = [k for k in range(len(columns)) if k < 2 or any(r[k] for r in rows)]
    return {
        "columns": [columns[k] for k in keep],
        "rows": [[r[k] for k in keep] for r in rows],
        "labels": labels,
    }


def _hold(h: Any) -> dict[str, Any]:
    """One definition under which a claim holds: a name, a definition object, or a dict as the
    claims stage gives it (name, n, verdict under that definition, is_claims_own, sentence)."""
    if isinstance(h, dict):
        label = text(h.get("name")) or definition_label(h.get("definition")) or definition_label(h)
        return {
            "label": label,
            "n": text(h.get("n")),
            "verdict": text(h.get("verdict")).replace("_", " "),
            "own": bool(h.get("is_claims_own")),
            "sentence": text(h.get("sentence")),
        }
    return {"label": definition_label(h), "n": "", "verdict": "", "own": False, "sentence": ""}


def _observed(d: dict[str, Any]) -> str:
    obs = d.get("observed")
    if isinstance(obs, (dict, list, str)) or obs is None:
        return text(obs)
    upper = d.get("observed_upper")
    out = text(obs)
    if d.get("upper_bounded") is False or (isinstance(upper, float) and math.isinf(upper)):
        return out + " seen (no upper bound: flights may have gone unseen)"
    if upper is not None and upper != obs:
        return out + f" seen (up to {text(upper)} if the unknowns count)"
    return out


def normalise_verdicts(verdicts: Iterable[Any] | None) -> list[dict[str, Any]]:
    """Claim verdicts for the page.

    Reads from each verdict (a dict such as the claims stage's Verdict.to_dict(), or the Verdict
    itself, whose ``claim`` carries id/source/words/date): id, source, words, date, verdict
    (supported / contradicted / not_determinable; an Enum's value is used), reason, observed
    (and observed_upper / upper_bounded), claim (the claim as read, e.g. "at least 18 sorties"),
    sentence (the counting definition in words), definitions_that_hold (names or dicts with
    name, n, verdict, is_claims_own), coverage_holes and notes.
    """
    out = []
    for item in verdicts or []:
        d = as_dict(item)
        claim = d.get("claim")
        if claim is not None and not isinstance(claim, str):  # the Verdict object: facts on its Claim
            c = as_dict(claim)
            for k in ("id", "source", "words", "date"):
                d.setdefault(k, c.get(k))
            meaning = d.get("meaning")
            d["claim"] = meaning.describe() if hasattr(meaning, "describe") else None
        if d.get("sentence") is None and hasattr(d.get("definition"), "sentence"):
            d["sentence"] = d["definition"].sentence()
        verdict = str(plain(d.get("verdict")) or "not_determinable").lower().replace(" ", "_")
        holds = d.get("definitions_that_hold") or []
        if isinstance(holds, (str, dict)):
            holds = [holds]
        holes = [text(h.get("message") if isinstance(h, dict) else getattr(h, "message", h)) for h in d.get("coverage_holes") or d.get("holes") or []]
        out.append(
            {
                "id": text(d.get("id")),
                "source": text(d.get("source")),
                "words": text(d.get("words")),
                "date": text(d.get("date")),
                "verdict": verdict,
                "verdict_known": verdict in VERDICTS,
                "verdict_text": verdict.replace("_", " "),
                "reason": text(d.get("reason")),
                "observed": _observed(d),
                "read_as": text(d.get("claim")),
                "counted_as": text(d.get("sentence")),
                "holds": [_hold(h) for h in holds],
                "holes": [h for h in holes if h],
                "notes": [text(n) for n in d.get("notes") or [] if text(n)],
            }
        )
    return out


def normalise_coverage(coverage: Any) -> pl.DataFrame:
    """Coverage by day (day, n_obs, n_aircraft, first, last, max_gap_s), sorted by day."""
    if coverage is None:
        return schema.empty(COVERAGE)
    df = _frame(coverage, "coverage")
    if df.width == 0:
        return schema.empty(COVERAGE)
    if "day" not in df.columns:
        raise ReportInputError("coverage needs a 'day' column")
    if df.schema["day"] == pl.String:
        df = df.with_columns(pl.col("day").str.to_date())
    return conform(df, COVERAGE, "coverage").sort("day")


def json_for_script(obj: Any) -> str:
    """JSON safe inside <script type="application/json">: <, >, & and line separators escaped."""
    s = json.dumps(plain(obj), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        s.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
