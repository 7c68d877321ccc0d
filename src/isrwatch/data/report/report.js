/* isrwatch evidence report: pan/zoom, tooltips, layer toggles, colour-by, table filter.
   Plain JavaScript, no library, no network. Text from the data is only ever set with
   textContent, never parsed as HTML. */
(function () {
  "use strict";
  var dataEl = document.getElementById("report-data");
  var D = dataEl ? JSON.parse(dataEl.textContent) : { flights: [], events: [], proj: null };
  var svg = document.getElementById("map-svg");
  var wrap = document.getElementById("map-wrap");
  var tip = document.getElementById("map-tip");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function row(parent, key, value) {
    if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
    var r = el("span", "row");
    r.appendChild(el("span", "k", key + ": "));
    r.appendChild(document.createTextNode(Array.isArray(value) ? value.join("; ") : String(value)));
    parent.appendChild(r);
  }

  /* ---- tables: filter and selection ------------------------------------------------------ */
  var filter = document.getElementById("flight-filter");
  var table = document.getElementById("flights-table");
  var countEl = document.getElementById("flight-count");
  if (filter && table) {
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      var n = 0;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        var show = !q || tr.textContent.toLowerCase().indexOf(q) >= 0;
        tr.hidden = !show;
        if (show) n += 1;
      });
      if (countEl) countEl.textContent = n + " flight" + (n === 1 ? "" : "s");
    });
  }

  if (!svg || !D.proj) return;

  /* ---- view box: pan and zoom ------------------------------------------------------------ */
  var full = { x: 0, y: 0, w: D.proj.width, h: D.proj.height };
  var vb = { x: full.x, y: full.y, w: full.w, h: full.h };
  function apply() {
    svg.setAttribute("viewBox", [vb.x, vb.y, vb.w, vb.h].map(function (v) { return v.toFixed(3); }).join(" "));
    updateScale();
  }
  function svgPoint(clientX, clientY) {
    var m = svg.getScreenCTM();
    if (!m) return { x: vb.x + vb.w / 2, y: vb.y + vb.h / 2 };
    var p = svg.createSVGPoint();
    p.x = clientX; p.y = clientY;
    var q = p.matrixTransform(m.inverse());
    return { x: q.x, y: q.y };
  }
  function zoomAt(factor, cx, cy) {
    var nw = Math.min(Math.max(vb.w * factor, full.w / 400), full.w * 3);
    var f = nw / vb.w;
    vb.x = cx - (cx - vb.x) * f;
    vb.y = cy - (cy - vb.y) * f;
    vb.w = nw; vb.h = vb.h * f;
    apply();
  }
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var p = svgPoint(ev.clientX, ev.clientY);
    zoomAt(ev.deltaY > 0 ? 1.25 : 0.8, p.x, p.y);
  }, { passive: false });
  var drag = null;
  svg.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: vb.x, vy: vb.y, moved: false };
    svg.setPointerCapture(ev.pointerId);
  });
  svg.addEventListener("pointermove", function (ev) {
    showCoords(ev);
    if (!drag) return;
    var m = svg.getScreenCTM();
    var s = m ? m.a : 1;
    var dx = (ev.clientX - drag.x) / s, dy = (ev.clientY - drag.y) / s;
    if (Math.abs(dx) + Math.abs(dy) > 2 / s) { drag.moved = true; svg.classList.add("dragging"); hideTip(); }
    vb.x = drag.vx - dx; vb.y = drag.vy - dy;
    apply();
  });
  function endDrag(ev) {
    if (!drag) return;
    var moved = drag.moved;
    drag = null;
    svg.classList.remove("dragging");
    if (!moved && ev.type === "pointerup") onClick(ev);
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);
  function centre() { return { x: vb.x + vb.w / 2, y: vb.y + vb.h / 2 }; }
  function bind(id, fn) { var b = document.getElementById(id); if (b) b.addEventListener("click", fn); }
  bind("zoom-in", function () { var c = centre(); zoomAt(0.66, c.x, c.y); });
  bind("zoom-out", function () { var c = centre(); zoomAt(1.5, c.x, c.y); });
  bind("zoom-reset", function () { vb = { x: full.x, y: full.y, w: full.w, h: full.h }; apply(); });

  function zoomTo(b) {
    if (!b) return;
    var pad = 0.15, w = Math.max(b[2] - b[0], full.w / 60), h = Math.max(b[3] - b[1], full.h / 60);
    var aspect = full.h / full.w;
    if (h / w > aspect) w = h / aspect; else h = w * aspect;
    vb = { x: (b[0] + b[2]) / 2 - w * (1 + pad) / 2, y: (b[1] + b[3]) / 2 - h * (1 + pad) / 2, w: w * (1 + pad), h: h * (1 + pad) };
    apply();
  }

  /* ---- scale bar and cursor position ----------------------------------------------------- */
  var scaleBar = document.querySelector("#map-scale .scale-bar");
  var scaleText = document.querySelector("#map-scale .scale-text");
  function updateScale() {
    if (!scaleBar) return;
    var cw = svg.clientWidth || 1, ch = svg.clientHeight || 1;
    var pxPerUnit = Math.min(cw / vb.w, ch / vb.h);
    var kmPerPx = D.proj.km_per_unit / pxPerUnit;
    var target = kmPerPx * 110, nice = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];
    var km = nice[0];
    for (var i = 0; i < nice.length; i++) if (nice[i] <= target) km = nice[i];
    scaleBar.style.width = (km / kmPerPx).toFixed(1) + "px";
    scaleText.textContent = km + " km (at map centre)";
  }
  var coordsEl = document.getElementById("map-coords");
  function showCoords(ev) {
    if (!coordsEl) return;
    var p = svgPoint(ev.clientX, ev.clientY), P = D.proj;
    var lon = P.lon0 + (p.x / P.k) * 180 / Math.PI;
    var lat = (2 * Math.atan(Math.exp(P.ytop - p.y / P.k)) - Math.PI / 2) * 180 / Math.PI;
    coordsEl.textContent = Math.abs(lat).toFixed(3) + "°" + (lat >= 0 ? "N" : "S") + " " + Math.abs(lon).toFixed(3) + "°" + (lon >= 0 ? "E" : "W");
  }

  /* ---- colour by, layers ----------------------------------------------------------------- */
  document.querySelectorAll('input[name="colour-by"]').forEach(function (r) {
    r.addEventListener("change", function () {
      var byRole = r.value === "role" && r.checked;
      svg.classList.toggle("colour-role", byRole);
      svg.classList.toggle("colour-aircraft", !byRole);
      document.body.classList.toggle("by-role", byRole);
      var la = document.querySelector(".legend-aircraft"), lr = document.querySelector(".legend-role");
      if (la) la.hidden = byRole;
      if (lr) lr.hidden = !byRole;
    });
  });
  document.querySelectorAll("#map-controls input[data-layer]").forEach(function (cb) {
    cb.addEventListener("change", function () {
      svg.querySelectorAll('g[data-layer="' + cb.getAttribute("data-layer") + '"]').forEach(function (g) {
        g.style.display = cb.checked ? "" : "none";
      });
    });
  });

  /* ---- tooltips -------------------------------------------------------------------------- */
  function flightTip(f) {
    var box = document.createDocumentFragment();
    box.appendChild(el("b", null, f.callsigns || f.icao24));
    row(box, "Aircraft", [f.registration, f.type].filter(Boolean).join(" · "));
    row(box, "Operator", f.operator);
    row(box, "Role", f.role);
    row(box, "ICAO 24-bit", f.icao24);
    row(box, "Flight", f.start + " → " + f.end);
    row(box, "Positions", f.n_obs + (f.adsb ? " (ADS-B " + f.adsb + ", MLAT " + (f.mlat || "0%") + ")" : ""));
    row(box, "Largest gap", f.max_gap);
    row(box, "Entered", f.entries);
    row(box, "Closest (not entered)", f.closest);
    return box;
  }
  function eventTip(e) {
    var box = document.createDocumentFragment();
    var f = D.flights[e.i] || {};
    box.appendChild(el("b", null, (e.entered ? "Entry into " : "Closest approach to ") + (e.region_name || e.region)));
    row(box, "Flight", (f.callsigns || f.icao24 || "") + " " + (f.registration || ""));
    if (e.entered) {
      row(box, "Basis", e.basis === "gap_only" ? "only across a gap (no position inside)" : e.basis);
      row(box, "Entry", e.entry);
      row(box, "Exit", e.exit);
      row(box, "Time inside", e.duration);
      row(box, "Positions inside", e.n_inside);
      row(box, "Deepest", e.depth);
      row(box, "Over", e.over_land);
    } else {
      row(box, "Closest", e.closest);
      row(box, "When", e.closest_time);
    }
    return box;
  }
  function hideTip() { if (tip) tip.hidden = true; }
  function showTip(ev, content) {
    if (!tip) return;
    tip.textContent = "";
    tip.appendChild(content);
    tip.hidden = false;
    var r = wrap.getBoundingClientRect();
    var x = ev.clientX - r.left + 14, y = ev.clientY - r.top + 14;
    if (x + tip.offsetWidth > r.width) x = Math.max(4, ev.clientX - r.left - tip.offsetWidth - 14);
    if (y + tip.offsetHeight > r.height) y = Math.max(4, ev.clientY - r.top - tip.offsetHeight - 14);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  svg.addEventListener("mousemove", function (ev) {
    if (drag && drag.moved) return;
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-e")) {
      var e = D.events[+t.getAttribute("data-e")];
      if (e) return showTip(ev, eventTip(e));
    }
    if (t.hasAttribute && t.hasAttribute("data-f")) {
      var f = D.flights[+t.getAttribute("data-f")];
      if (f) return showTip(ev, flightTip(f));
    }
    if (t.hasAttribute && t.hasAttribute("data-r")) {
      var r = D.regions[+t.getAttribute("data-r")];
      if (r) {
        var box = document.createDocumentFragment();
        box.appendChild(el("b", null, r.name));
        row(box, "Kind", { sovereign: "sovereign airspace", aoi: "area of interest (not sovereignty)", land: "land", context: "other area (not sovereignty)" }[r.kind] || r.kind);
        return showTip(ev, box);
      }
    }
    hideTip();
  });
  svg.addEventListener("mouseleave", hideTip);

  /* ---- selection: map <-> flights table -------------------------------------------------- */
  var selected = null;
  function select(i) {
    svg.querySelectorAll(".sel").forEach(function (p) { p.classList.remove("sel"); });
    if (table) table.querySelectorAll("tr.sel").forEach(function (tr) { tr.classList.remove("sel"); });
    selected = (i === selected || i === null) ? null : i;
    svg.classList.toggle("has-sel", selected !== null);
    if (selected === null) return;
    svg.querySelectorAll('[data-f="' + selected + '"]').forEach(function (p) { p.classList.add("sel"); });
    var tr = document.getElementById("f-" + selected);
    if (tr) tr.classList.add("sel");
  }
  function onClick(ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-f")) select(+t.getAttribute("data-f"));
    else select(null);
  }
  if (table) {
    table.addEventListener("click", function (ev) {
      var a = ev.target.closest ? ev.target.closest("a[data-show]") : null;
      if (!a) return;
      ev.preventDefault();
      var i = +a.getAttribute("data-show");
      selected = null;
      select(i);
      var f = D.flights[i];
      if (f) zoomTo(f.bbox);
      wrap.scrollIntoView({ behavior: "smooth", block: "center" });
    });
  }

  window.addEventListener("resize", updateScale);
  apply();
})();
