"""The evidence report page: structure, escaping of hostile feed text, offline, simulated labels."""

from __future__ import annotations

import html as html_mod
import json
import re
from dataclasses import dataclass, field

import polars as pl
import pytest
import shapely
from test_report_synthetic import (
    N_FLIGHTS,
    XSS_CALLSIGN,
    XSS_CLAIM,
    XSS_DESCRIPTION,
    XSS_OPERATOR,
    XSS_REGISTRATION,
    make_inputs,
)

from isrwatch.report import SIMULATED_LABEL, write_report
from isrwatch.report.html import build_context
from isrwatch.report.model import ReportInputError, json_for_script, normalise_counts, normalise_verdicts


@pytest.fixture(scope="module")
def inputs():
    return make_inputs()


@pytest.fixture(scope="module")
def page(inputs, tmp_path_factory):
    out = write_report(tmp_path_factory.mktemp("rep") / "report.html", title="Spy flights off Baja", simulated=True, **inputs)
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real_page(inputs, tmp_path_factory):
    out = write_report(tmp_path_factory.mktemp("rep"), title="Spy flights off Baja", simulated=False, **inputs)
    assert out.name == "report.html"
    return out.read_text(encoding="utf-8")


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m, "data block missing"
    return json.loads(m.group(1))


def test_every_counted_track_is_drawn_once(page):
    assert len(re.findall(r'<path class="trk" ', page)) == N_FLIGHTS
    # one flight has a 20-minute hole: one dashed gap line
    assert len(re.findall(r'<path class="gap" ', page)) == 1
    # the P-8 entry is observed, the hostile aircraft's only across a gap
    assert len(re.findall(r'class="ent ent-obs"', page)) == 1
    assert len(re.findall(r'class="ent ent-gap"', page)) == 1
    # deepest points of the two entries, closest points of the three flights that stayed out
    assert len(re.findall(r'class="mk mk-depth"', page)) == 1
    assert len(re.findall(r'class="mk mk-depth-gap"', page)) == 1
    assert len(re.findall(r'class="mk mk-closest"', page)) == 3


def test_boundaries_and_layers_are_drawn(page):
    for kind in ("land", "sovereign", "aoi"):
        assert f'class="rg rg-{kind}"' in page
        assert f'data-layer="{kind}"' in page
    for layer in ("tracks", "gaps", "entries", "markers"):
        assert f'data-layer="{layer}"' in page


def test_tracks_sit_inside_the_view_box(inputs):
    ctx = build_context(title="t", simulated=False, **inputs)
    w, h = ctx["map"]["width"], ctx["map"]["height"]
    for t in ctx["map"]["tracks"]:
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", t["d"])]
        xs, ys = nums[0::2], nums[1::2]
        assert all(0 <= x <= w for x in xs) and all(0 <= y <= h for y in ys)


def test_verdicts_and_definitions_side_by_side(page):
    for text in ("not determinable", "contradicted", "supported"):
        assert f">{text}</span>" in page
    assert "At least 18 US spy flights near Mexico in two weeks" in page
    assert 'id="counts-table"' in page and 'id="matrix-table"' in page
    matrix = page[page.index('id="matrix-table"') :]
    matrix = matrix[: matrix.index("</table>")]
    # claim-1 holds under sorties; claim-3 under aircraft-days (given as a definition dict)
    assert matrix.count("✓ holds") == 2
    assert matrix.count("<tr>") == 3 and "aircraft-days" in matrix


def test_hostile_feed_text_is_escaped_everywhere(page):
    for raw in (XSS_CALLSIGN, XSS_REGISTRATION, XSS_OPERATOR, XSS_DESCRIPTION, XSS_CLAIM):
        assert raw not in page
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "onmouseover=" not in page.replace("onmouseover=&#34;", "")
    # shown as text in the tables
    assert html_mod.escape(XSS_CALLSIGN, quote=False) in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # and carried in the data block as escaped JSON that parses back to the original text
    data = _data(page)
    assert "\\u003cscript\\u003e" in page
    assert any(f["callsigns"] == XSS_CALLSIGN for f in data["flights"])
    assert any(f["registration"] == XSS_REGISTRATION for f in data["flights"])
    # exactly the report's own two script blocks
    assert page.count("<script") == 2


def test_json_block_cannot_close_the_script():
    s = json_for_script({"a": "</script><script>x()</script>", "b": "&\u2028"})
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(s) == {"a": "</script><script>x()</script>", "b": "&\u2028"}


def test_page_is_self_contained(page):
    # nothing to fetch: no external URL in src/href, no CDN, no web fonts; a CSP forbids it anyway
    assert not re.search(r'(?:src|href)\s*=\s*"(?:https?:)?//', page)
    assert "@import" not in page and "@font-face" not in page and "url(http" not in page
    csp = html_mod.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1))
    assert "default-src 'none'" in csp
    m = re.search(r"script-src 'sha256-([A-Za-z0-9+/=]+)'", csp)
    assert m, "script hash missing from the CSP"
    import base64
    import hashlib

    js = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    assert base64.b64encode(hashlib.sha256(js.encode()).digest()).decode() == m.group(1)


def test_simulated_label_on_every_section_header_footer_and_map(page, real_page):
    sections = re.findall(r"<section id=\"(\w+)\">(.*?)</section>", page, re.S)
    assert len(sections) >= 7
    for name, body in sections:
        assert SIMULATED_LABEL in body, f"section {name} lacks the simulated banner"
    header = page[page.index("<header") : page.index("</header>")]
    footer = page[page.index("<footer") : page.index("</footer>")]
    assert SIMULATED_LABEL in header and SIMULATED_LABEL in footer
    map_wrap = page[page.index('id="map-wrap"') : page.index('<div class="legend">')]
    assert f'<div class="sim-stamp" aria-hidden="true">{SIMULATED_LABEL}</div>' in map_wrap
    assert f"<title>[{SIMULATED_LABEL}]" in page
    assert SIMULATED_LABEL not in real_page


def test_attributions_and_limits(page):
    assert "© OpenStreetMap contributors (ODbL)" in page
    assert "Natural Earth (public domain)" in page
    assert "tar1090-db" in page and "plane-alert-db" in page and "Open Database License (ODbL)" in page
    assert "adsbx-v2: ADS-B Exchange" in page
    assert "transponder off" in page
    assert "not sovereign airspace" in page
    assert "MLAT" in page and "less precise" in page
    assert "Days without data in the window: 2025-02-06." in page


def test_flights_table_carries_sources(page):
    table = page[page.index('id="flights-table"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr id=\"f-") == N_FLIGHTS
    for src in ("db:tar1090", "db:plane-alert", "hex_block", "catalogue:type", "feed:adsbx-v2"):
        assert src in table
    assert "75%" in table and "25%" in table  # ADS-B / MLAT share of the RC-135's first sortie
    assert "20 min" in table  # the gap


def test_entries_table(page):
    table = page[page.index('id="entries-table"') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr") == 3  # header + two entries
    assert "only across a gap" in table and "95.2 km" in table


def test_timeline_counts_sorties_by_day_and_type(inputs):
    ctx = build_context(title="t", simulated=False, **inputs)
    tl = ctx["timeline"]
    assert tl["n_days"] == 4
    assert [b["title"] for b in tl["bars"] if b["title"].startswith("2025-02-03")] == [
        "2025-02-03: 1 sortie by R135",
        "2025-02-03: 1 sortie by C12",
        "2025-02-03: 1 sortie by P8",
    ]
    assert tl["no_data_days"] == ["2025-02-06"]


def test_empty_report_still_renders(tmp_path):
    empty = make_inputs()
    out = write_report(
        tmp_path / "r.html",
        flights=empty["flights"].head(0),
        aircraft=empty["aircraft"].head(0),
        observations=empty["observations"].head(0),
        events=None,
        regions=empty["regions"],
        title="Nothing seen",
        simulated=False,
    )
    page = out.read_text()
    assert 'class="trk"' not in page
    assert "No sorties to show." in page and "No claims were checked" in page


def test_bad_input_is_a_clear_error(inputs, tmp_path):
    dup = pl.concat([inputs["flights"], inputs["flights"].head(1)])
    with pytest.raises(ReportInputError, match="flight_id not unique"):
        write_report(tmp_path / "r.html", **{**inputs, "flights": dup}, title="t", simulated=False)
    bad = inputs["observations"].with_columns(pl.lit(123.0).alias("lat"))
    with pytest.raises(ReportInputError, match="out of range"):
        write_report(tmp_path / "r.html", **{**inputs, "observations": bad}, title="t", simulated=False)
    with pytest.raises(ReportInputError, match="region tuple"):
        write_report(tmp_path / "r.html", **{**inputs, "regions": [("MEX", shapely.box(0, 0, 1, 1))]}, title="t", simulated=False)


def test_world_boundaries_are_clipped_to_keep_the_file_small(inputs, tmp_path):
    # a detailed world-sized polygon (100k vertices) must not land whole in the page
    ring = shapely.Point(0, 0).buffer(170, quad_segs=25_000)
    regions = [*inputs["regions"], ("WORLD", "World", "sovereign", ring, None)]
    out = write_report(tmp_path / "r.html", **{**inputs, "regions": regions}, title="t", simulated=False)
    assert out.stat().st_size < 400_000


@dataclass
class _Definition:
    kind: str

    @property
    def name(self) -> str:
        return self.kind.replace("_", " ")

    def sentence(self) -> str:
        return f"Counted as {self.name}"


@dataclass
class _Result:
    n: int
    definition: _Definition
    n_upper: int
    notes: tuple = ()
    flights: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def sentence(self) -> str:
        return self.definition.sentence()


def test_count_results_as_objects_or_table():
    res = normalise_counts([_Result(4, _Definition("sorties"), 6, ("2 left out: role unknown",)), _Result(3, _Definition("distinct_aircraft"), 3)])
    assert res["columns"] == ["Definition", "n", "Could be up to", "In words", "Notes"]
    assert res["rows"][0] == ["sorties", "4", "6", "Counted as sorties", "2 left out: role unknown"]
    assert res["rows"][1][2] == ""  # upper bound equal to n is not repeated
    table = pl.DataFrame({"name": ["sorties"], "n": [4], "n_upper": [4], "sentence": ["Sorties ..."], "notes": [[]]})
    res = normalise_counts(table)
    assert res["columns"] == ["Definition", "n", "In words"] and res["labels"] == ["sorties"]


def test_count_stage_results_render():
    count = pytest.importorskip("isrwatch.count")
    d = count.CountDefinition("sorties")
    r = count.CountResult(n=4, definition=d, flights=pl.DataFrame(), n_upper=5, n_unknown_facts=1, n_gap_only=0, unknown=pl.DataFrame())
    res = normalise_counts([r])
    assert res["rows"][0][:3] == [d.name, "4", "5"]
    assert res["rows"][0][3] == d.sentence()


def test_verdicts_accept_enums_and_objects():
    import enum

    class V(enum.Enum):
        SUPPORTED = "supported"

    @dataclass
    class Verdict:
        id: str
        source: str
        words: str
        date: str
        verdict: V
        reason: str
        observed: dict
        definitions_that_hold: list

    vs = normalise_verdicts([Verdict("c1", "TV", "18 flights", "2025-02-01", V.SUPPORTED, "ok", {"sorties": 18}, [_Definition("sorties")])])
    assert vs[0]["verdict"] == "supported" and [h["label"] for h in vs[0]["holds"]] == ["sorties"]
    assert vs[0]["observed"] == "sorties: 18"


def test_claims_stage_verdicts_render(inputs, tmp_path):
    """Verdicts as the claims stage makes them (objects and their to_dict()), through the page."""
    claims = pytest.importorskip("isrwatch.claims.verdict")
    from isrwatch.claims.model import Claim
    from isrwatch.count import CountDefinition

    d = CountDefinition("sorties")
    held = {"name": "sorties · anywhere", "n": 4, "verdict": "not_determinable", "is_claims_own": True, "sentence": d.sentence()}
    v = claims.Verdict(
        Claim(id="c9", source="Radio <X>", words="At least 3 flights"), "not_determinable", "two days without data",
        observed=4, observed_upper=float("inf"), definition=d, definitions_that_hold=[held],
    )
    for given in (v, v.to_dict()):
        out = normalise_verdicts([given])[0]
        assert (out["id"], out["source"], out["words"], out["verdict"]) == ("c9", "Radio <X>", "At least 3 flights", "not_determinable")
        assert out["observed"].startswith("4 seen (no upper bound")
        assert out["counted_as"] == d.sentence()
        assert out["holds"][0] == {"label": "sorties · anywhere", "n": "4", "verdict": "not determinable", "own": True, "sentence": d.sentence()}
    page = write_report(tmp_path / "r.html", **{**inputs, "verdicts": [v.to_dict()]}, title="t", simulated=False).read_text()
    matrix = page[page.index('id="matrix-table"') :]
    assert "sorties · anywhere" in matrix[: matrix.index("</table>")]
    assert "Radio &lt;X&gt;" in page


def test_closest_approaches_are_capped_per_region(inputs, monkeypatch):
    from isrwatch.report import html as report_html

    monkeypatch.setattr(report_html, "NEAR_ROWS", 1)
    ctx = build_context(title="t", simulated=False, **inputs)
    assert [r["closest"] for r in ctx["near"]] == ["18.4 km"]
    assert ctx["near_more"] == {"Mexico": 2}
    page = report_html.render(ctx)
    assert "2 more flights stayed farther from Mexico" in page


def test_headline_separates_observed_entries_from_gap_only_lines(page):
    # one observed entry and one resting only on a line across a gap: the headline must not add them up
    assert "<b>1</b><span>airspace entries on observed positions (+1 only across a coverage gap)</span>" in page


def test_long_lists_of_definitions_fold_after_five(inputs, tmp_path):
    from isrwatch.report import write_report

    holds = [{"name": f"sorties · near:MEX:{k}", "n": k, "verdict": "supported"} for k in range(1, 9)]
    verdict = dict(id="c", source="s", words="at least 1 flight", date="2025-02-10", verdict="supported",
                   reason="r", observed=3, definitions_that_hold=holds)
    args = {k: v for k, v in inputs.items() if k != "verdicts"}
    html = write_report(tmp_path / "r.html", **args, verdicts=[verdict], title="t", simulated=False).read_text()
    row = html[html.index("at least 1 flight"):]
    row = row[: row.index("</tr>")]
    visible, folded = row.split("<details", 1)
    assert visible.count("<li>") == 5
    assert "3 more definitions" in folded and folded.count("<li>") == 3
