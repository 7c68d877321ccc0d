"""PNG figures for articles: the map (boundaries, tracks, entries) and sorties per day.

Drawn with matplotlib's Agg canvas on a Figure object (no pyplot global state), at an exact pixel
size. Text from feeds is drawn with mathtext off, so a callsign with "$" stays literal. When the
data is simulated, "SIMULATED RECONSTRUCTION" is written across the figure and in a banner, and
stored in the PNG's metadata. Boundary attributions are printed at the foot of the map.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import PathPatch, Patch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from isrwatch.report import geo, view  # noqa: E402
from isrwatch.report.html import GAP_S, SIMULATED_LABEL  # noqa: E402

MAP_SIZE = (1600, 1000)
TIMELINE_SIZE = (1600, 600)
DPI = 100
_RC = {"text.parse_math": False, "font.family": "DejaVu Sans", "svg.fonttype": "none"}

KIND_STYLE = {
    "land": dict(facecolor="#f3f0e7", edgecolor="#c9c1ad", linewidth=0.5, zorder=1),
    "sovereign": dict(facecolor=(0.70, 0.15, 0.12, 0.06), edgecolor="#b3261e", linewidth=1.2, linestyle=(0, (6, 3)), zorder=2),
    "aoi": dict(facecolor="none", edgecolor="#6a3fc0", linewidth=1.3, linestyle=(0, (5, 3, 1, 3)), zorder=3),
    "context": dict(facecolor="none", edgecolor="#6b7785", linewidth=0.8, linestyle=(0, (1, 3)), zorder=3),
}
KIND_LABEL = {
    "land": "land",
    "sovereign": "sovereign",
    "aoi": "not sovereignty",
    "context": "not sovereignty",
}


def _mpl_path(parts) -> MplPath | None:
    verts, codes = [], []
    for g in parts:
        rings = [g.exterior, *g.interiors] if g.geom_type == "Polygon" else [g]
        for ring in rings:
            c = np.asarray(ring.coords)[:, :2]
            if len(c) < 2:
                continue
            verts.append(c)
            kind = [MplPath.MOVETO] + [MplPath.LINETO] * (len(c) - 1)
            if g.geom_type == "Polygon":
                kind[-1] = MplPath.CLOSEPOLY
            codes.extend(kind)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), codes)


def _stamp(fig: Figure, simulated: bool) -> None:
    if not simulated:
        return
    fig.text(0.5, 0.5, SIMULATED_LABEL, fontsize=64, color=(0.55, 0.35, 0.0, 0.16), ha="center", va="center",
             rotation=22, weight="bold", zorder=100)
    fig.text(0.5, 0.985, f"{SIMULATED_LABEL} — synthetic positions, not real flights", fontsize=15, weight="bold",
             color="#5a3b00", ha="center", va="top", zorder=101,
             bbox=dict(boxstyle="round,pad=0.35", facecolor="#ffdf80", edgecolor="#c9962a"))


def _save(fig: Figure, out: Path, simulated: bool, title: str) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"Title": title, "Software": "isrwatch"}
    if simulated:
        meta["Description"] = SIMULATED_LABEL
    FigureCanvasAgg(fig)
    fig.savefig(out, dpi=fig.dpi, format="png", metadata=meta)
    return out


def _clip_text(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def map_png(
    out_path,
    *,
    flights,
    aircraft,
    observations,
    events=None,
    regions=(),
    simulated: bool,
    title: str = "",
    colour_by: str = "aircraft",
    size: tuple[int, int] = MAP_SIZE,
    dpi: int = DPI,
    gap_s: float = GAP_S,
    prepared: view.Prepared | None = None,
) -> Path:
    """The map for an article: boundaries, every counted track (coloured by aircraft or role),
    gaps dashed, entries highlighted (gap-only entries dashed), deepest / closest points, a scale
    bar and the boundary attributions."""
    if colour_by not in ("aircraft", "role"):
        raise ValueError("colour_by is 'aircraft' or 'role'")
    p = prepared or view.prepare(
        flights=flights, aircraft=aircraft, observations=observations, events=events, regions=regions
    )
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor="white")
        top = 0.90 if simulated else 0.93
        box = (0.02, 0.10, 0.72, top - 0.10)
        ax = fig.add_axes(box)
        ax.set_facecolor("#dfeaf3")
        proj = p.proj
        # regions
        drawn = []
        for r, colour in zip(p.regions, view.region_colours(p.regions), strict=True):
            parts = geo.flat_parts(geo.display_geometry(r.geometry, proj, p.clip))
            polys = _mpl_path([g for g in parts if g.geom_type == "Polygon"])
            lines = _mpl_path([g for g in parts if g.geom_type != "Polygon" and g.geom_type != "Point"])
            if polys is None and lines is None:
                continue
            style = {**KIND_STYLE[r.kind], "edgecolor": colour}
            if polys is not None:
                ax.add_patch(PathPatch(polys, **style))
            if lines is not None:  # a line is outlined, never filled
                ax.add_patch(PathPatch(lines, **{**style, "facecolor": "none"}))
            drawn.append((r, style))
        ft = p.ft
        colour_col = "colour_aircraft" if colour_by == "aircraft" else "colour_role"
        colours = ft[colour_col].to_list()
        pts = p.pts.select("i", "time", "lon", "lat")
        tr = geo.track_runs(pts, proj, gap_s)
        # entries under the tracks: a wide translucent band (observed) or dashed band (gap only)
        entered = p.ev.filter(p.ev["entered"].fill_null(False))
        if entered.height:
            runs = geo.entry_runs(pts, entered.select(pl.int_range(pl.len()).alias("e"), "i", "entry_time", "exit_time"), proj)
            obs_runs = [c for c, b in zip(runs, entered["basis"].to_list(), strict=True) if c is not None and b != "gap_only"]
            gap_runs = [c for c, b in zip(runs, entered["basis"].to_list(), strict=True) if c is not None and b == "gap_only"]
            if obs_runs:
                ax.add_collection(LineCollection(obs_runs, colors=[(0.9, 0.16, 0.12, 0.45)], linewidths=9, capstyle="round", zorder=5))
            if gap_runs:
                ax.add_collection(LineCollection(gap_runs, colors=[(0.94, 0.59, 0.0, 0.6)], linewidths=9, linestyles=(0, (2, 3)), zorder=5))
        if len(tr["runs"]):
            run_colours = [colours[int(i)] for i in tr["run_flight"]]
            singles = [c for c in tr["runs"] if len(c) == 1]
            lines = [c for c in tr["runs"] if len(c) > 1]
            line_cols = [col for c, col in zip(tr["runs"], run_colours, strict=True) if len(c) > 1]
            if lines:
                ax.add_collection(LineCollection(lines, colors=line_cols, linewidths=1.8, capstyle="round", zorder=7))
            if singles:
                xy = np.concatenate(singles)
                ax.scatter(xy[:, 0], xy[:, 1], s=12, c=[col for c, col in zip(tr["runs"], run_colours, strict=True) if len(c) == 1], zorder=7)
        if len(tr["gaps"]):
            ax.add_collection(
                LineCollection(list(tr["gaps"]), colors=[colours[int(i)] for i in tr["gap_flight"]], linewidths=1.2,
                               linestyles=(0, (4, 4)), zorder=6)
            )
        # deepest point of each entry, closest point of each flight that did not enter
        ev = p.ev.to_dicts()
        for r in ev:
            lon, lat = (r["max_depth_lon"], r["max_depth_lat"]) if r["entered"] else (r["closest_lon"], r["closest_lat"])
            if lon is None or lat is None:
                continue
            x, y = proj.xy(lon, lat)
            colour = "#0b5cad" if not r["entered"] else ("#e08a00" if r["basis"] == "gap_only" else "#b3261e")
            ax.plot([x], [y], "o", ms=7, color=colour, mec="white", mew=1, zorder=9)
        # widen the drawn extent to the axes' shape so that x and y keep the same scale
        box_aspect = (box[3] * size[1]) / (box[2] * size[0])
        x0, x1, y0, y1 = 0.0, proj.width, 0.0, proj.height
        if proj.height / proj.width < box_aspect:
            grow = (proj.width * box_aspect - proj.height) / 2
            y0, y1 = y0 - grow, y1 + grow
        else:
            grow = (proj.height / box_aspect - proj.width) / 2
            x0, x1 = x0 - grow, x1 + grow
        ax.set_xlim(x0, x1)
        ax.set_ylim(y1, y0)  # y grows downwards in the projection
        ax.set_xticks([])
        ax.set_yticks([])
        for s in ax.spines.values():
            s.set_color("#9aa6b2")
        _scale_bar(ax, proj, (x0, y0, x1, y1))
        # legend
        handles = []
        if colour_by == "aircraft":
            leg = ft.unique("icao24", keep="first", maintain_order=True).head(12)
            for r in leg.to_dicts():
                label = " · ".join(str(x) for x in (r["registration"] or r["icao24"], r["type_label"], r["callsign"]) if x)
                handles.append(Line2D([], [], color=r["colour_aircraft"], lw=3, label=_clip_text(label)))
            extra = ft["icao24"].n_unique() - leg.height
            if extra > 0:
                handles.append(Line2D([], [], color="none", label=f"+ {extra} more aircraft"))
        else:
            for role, colour in view.ROLE_COLOURS.items():
                if role in set(ft["role"].to_list()):
                    handles.append(Line2D([], [], color=colour, lw=3, label=view.ROLE_LABELS[role]))
        handles.append(Line2D([], [], color="#333", lw=1.2, ls=(0, (4, 4)), label=f"gap > {gap_s / 60:.0f} min (not observed)"))
        n_gap_entries = int((entered["basis"] == "gap_only").sum()) if entered.height else 0
        if entered.height > n_gap_entries:
            handles.append(Line2D([], [], color=(0.9, 0.16, 0.12, 0.45), lw=8, label="inside (observed positions)"))
            handles.append(Line2D([], [], marker="o", color="none", mfc="#b3261e", mec="white", ms=8, label="deepest point inside"))
        if n_gap_entries:
            handles.append(Line2D([], [], color=(0.94, 0.59, 0.0, 0.6), lw=8, ls=(0, (2, 3)), label="inside only across a gap"))
            handles.append(Line2D([], [], marker="o", color="none", mfc="#e08a00", mec="white", ms=8, label="deepest point (across a gap)"))
        if any(not r["entered"] for r in ev):
            handles.append(Line2D([], [], marker="o", color="none", mfc="#0b5cad", mec="white", ms=8, label="closest approach"))
        for r, st in drawn:
            label = r.name if r.kind == "land" else f"{_clip_text(r.name, 34)} ({KIND_LABEL[r.kind]})"
            handles.append(Patch(facecolor=st["facecolor"], edgecolor=st["edgecolor"], linestyle=st.get("linestyle", "-"), label=label))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.015, 1.0), fontsize=9, frameon=False, borderaxespad=0)
        heading = title or "Counted flights"
        fig.text(0.02, top + 0.015, _clip_text(heading, 110), fontsize=17, weight="bold", va="bottom", ha="left")
        t0, t1 = ft["start"].min(), ft["end"].max()
        sub = f"{ft.height} sorties by {ft['icao24'].n_unique()} aircraft"
        if t0 is not None:
            sub += f", {t0:%Y-%m-%d %H:%M}Z – {t1:%Y-%m-%d %H:%M}Z"
        fig.text(0.98, top + 0.015, sub, fontsize=11, va="bottom", ha="right", color="#444")
        attrib = view.attribution_lines(p.regions)
        foot = "Positions: ADS-B/MLAT feeds (see report). Boundaries: " + ("; ".join(attrib) if attrib else "none") + "."
        foot += " Aircraft with transponders off are invisible; dashed lines cross gaps in coverage."
        fig.text(0.02, 0.055, foot, fontsize=9, color="#333", ha="left", va="top", wrap=True)
        fig.text(0.98, 0.015, "isrwatch", fontsize=9, color="#777", ha="right", va="bottom")
        _stamp(fig, simulated)
        return _save(fig, out_path, simulated, title or "isrwatch map")


def _scale_bar(ax, proj: geo.Projection, view_box: tuple[float, float, float, float]) -> None:
    """A scale bar (true at the map's centre latitude) in the lower left."""
    vx0, vy0, vx1, vy1 = view_box
    w, h = vx1 - vx0, vy1 - vy0
    km_per_unit = proj.km_per_unit()
    target = w * 0.18 * km_per_unit
    nice = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
    km = max([n for n in nice if n <= target] or [nice[0]])
    length = km / km_per_unit
    x0, y0 = vx0 + w * 0.03, vy0 + h * 0.95
    ax.plot([x0, x0 + length], [y0, y0], color="#222", lw=3, solid_capstyle="butt", zorder=20)
    ax.text(x0 + length / 2, y0 - h * 0.012, f"{km:g} km (at map centre)", ha="center", va="bottom", fontsize=9,
            zorder=20, bbox=dict(facecolor="white", alpha=0.7, edgecolor="none", pad=1))


def timeline_png(
    out_path,
    *,
    flights,
    aircraft,
    coverage=None,
    simulated: bool,
    title: str = "",
    size: tuple[int, int] = TIMELINE_SIZE,
    dpi: int = DPI,
    prepared: view.Prepared | None = None,
) -> Path:
    """Sorties per UTC day, stacked by aircraft type; days without data hatched.

    prepared: view.prepare() of these same flights, aircraft and coverage, if already made."""
    from isrwatch.report import model

    if prepared is not None:
        spd = view.sorties_per_day(prepared.ft, prepared.coverage)
    else:
        spd = view.sorties_per_day(view.flight_table(flights, aircraft, None), model.normalise_coverage(coverage))
    days, types = spd["days"], spd["types"]
    colours = view.type_colours(types)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor="white")
        top = 0.84 if simulated else 0.88
        ax = fig.add_axes((0.06, 0.22, 0.92, top - 0.22))
        x = np.arange(len(days))
        bottom = np.zeros(len(days))
        ymax = 1
        for t in types:
            h = np.array([spd["counts"].get((d, t), 0) for d in days], dtype=float)
            if h.any():
                ax.bar(x, h, bottom=bottom, color=colours[t], width=0.8, label=_clip_text(t, 30), zorder=3)
            bottom += h
        if len(days):
            ymax = max(int(bottom.max()), 1)
        for k, d in enumerate(days):
            if d in spd["no_data"]:
                ax.bar([k], [ymax * 1.05], color="none", edgecolor="#b5b5b5", hatch="///", width=0.95, lw=0, zorder=1)
        ax.set_ylim(0, ymax * 1.08)
        ax.yaxis.get_major_locator().set_params(integer=True)
        every = max(1, math.ceil(len(days) / 14))
        ax.set_xticks(x[::every])
        ax.set_xticklabels([d.strftime("%d %b") for d in days[::every]], fontsize=10)
        ax.set_xlim(-0.6, max(len(days) - 0.4, 0.4))
        ax.set_ylabel("sorties (by take-off day, UTC)")
        ax.grid(axis="y", color="#e6e9ed", zorder=0)
        for s in ("top", "right"):
            ax.spines[s].set_visible(False)
        handles, _ = ax.get_legend_handles_labels()
        if spd["no_data"]:
            handles.append(Patch(facecolor="white", edgecolor="#b5b5b5", hatch="///", label="no data that day"))
        if handles:
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(7, len(handles)),
                      fontsize=9, frameon=False)
        if not days:
            ax.text(0.5, 0.5, "no sorties", transform=ax.transAxes, ha="center", va="center", fontsize=14, color="#777")
        fig.text(0.06, top + 0.02, _clip_text(title or "Sorties per day by aircraft type", 110), fontsize=16, weight="bold", va="bottom")
        if days:
            fig.text(0.98, top + 0.02, f"{days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}", fontsize=11, va="bottom", ha="right", color="#444")
        fig.text(0.98, 0.015, "isrwatch", fontsize=9, color="#777", ha="right", va="bottom")
        _stamp(fig, simulated)
        return _save(fig, out_path, simulated, title or "isrwatch timeline")


def write_figures(
    out_dir, *, flights, aircraft, observations, events=None, regions=(), coverage=None, simulated: bool, title: str = "",
    colour_by: str = "aircraft", prepared: view.Prepared | None = None,
) -> dict[str, Path]:
    """map.png and timeline.png in out_dir (prepared: view.prepare() of these same tables, if already made)."""
    out = Path(out_dir)
    return {
        "map_png": map_png(out / "map.png", flights=flights, aircraft=aircraft, observations=observations, events=events,
                           regions=regions, simulated=simulated, title=title, colour_by=colour_by, prepared=prepared),
        "timeline_png": timeline_png(out / "timeline.png", flights=flights, aircraft=aircraft, coverage=coverage,
                                     simulated=simulated, title=title, prepared=prepared),
    }


__all__ = ["map_png", "timeline_png", "write_figures", "MAP_SIZE", "TIMELINE_SIZE"]
