// voxlab board: hand-written SVG charts (line charts with smoothing, log scale
// and drag-to-zoom; forest plots). No dependencies.

const NS = "http://www.w3.org/2000/svg";
export const COLORS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#7f7f7f",
  "#bcbd22",
];

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

/** Exponential moving average with TensorBoard's debiasing; weight in [0, 1). */
export function smooth(points, weight) {
  if (!(weight > 0)) return points;
  let s = 0, n = 0;
  return points.map(([x, y]) => {
    if (!Number.isFinite(y)) return [x, y];
    s = weight * s + (1 - weight) * y;
    n++;
    return [x, s / (1 - weight ** n)];
  });
}

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out = [];
  // Integer multiples of the step, so 0 is exactly 0 (not -2.8e-17).
  for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) {
    out.push(+(i * step).toPrecision(12));
  }
  return out;
}

export function fmt(v) {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return Number(v.toPrecision(3)).toExponential();
  return +v.toPrecision(3) + "";
}

/**
 * A line chart in `container`. series: [{ name, points: [[x, y]], color?, dash? }].
 * options: { title, xLabel, logY, smoothing, hlines: [{ y, label, color }], height }.
 * Drag horizontally to zoom, double-click to reset; click a legend entry to hide a series.
 * Returns { update(series, options) }.
 */
export function lineChart(container, series, options = {}) {
  const state = { series, options, domain: null, hidden: new Set() };
  const wrap = document.createElement("div");
  wrap.className = "chart";
  container.appendChild(wrap);

  function draw() {
    const { series, options } = state;
    wrap.textContent = "";
    const W = 640,
      H = options.height ?? 300,
      m = { l: 58, r: 12, t: options.title ? 24 : 10, b: 36 };
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg" }, wrap);
    if (options.title) {
      el("text", { x: m.l, y: 16, class: "chart-title" }, svg).textContent = options.title;
    }
    const shown = series.filter((s) => !state.hidden.has(s.name));
    const logY = !!options.logY;
    let hiddenNonPositive = 0;
    const prepared = shown.map((s) => {
      const raw = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      const sm = smooth(raw, options.smoothing ?? 0);
      const keep = (pts) => logY ? pts.filter(([, y]) => y > 0) : pts;
      if (logY) hiddenNonPositive += raw.length - keep(raw).length;
      return { ...s, raw: keep(raw), sm: keep(sm) };
    });
    const allX = prepared.flatMap((s) => s.raw.map(([x]) => x));
    if (allX.length === 0) {
      el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, svg)
        .textContent = "no data yet";
      return;
    }
    let [x0, x1] = state.domain ?? [Math.min(...allX), Math.max(...allX)];
    if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
    const inView = prepared.flatMap((s) =>
      [...s.raw, ...s.sm].filter(([x]) => x >= x0 && x <= x1).map(([, y]) => y)
    );
    for (const h of options.hlines ?? []) if (!logY || h.y > 0) inView.push(h.y);
    let y0 = Math.min(...inView), y1 = Math.max(...inView);
    const ty = (v) => logY ? Math.log10(v) : v;
    y0 = ty(y0);
    y1 = ty(y1);
    if (!(y1 > y0)) {
      const d = logY ? 0.5 : Math.abs(y0) * 0.1 || 1; // a flat series: a band around it
      [y0, y1] = [y0 - d, y1 + d];
    }
    const pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
    const sx = (x) => m.l + (x - x0) / (x1 - x0) * (W - m.l - m.r);
    const sy = (y) => H - m.b - (ty(y) - y0) / (y1 - y0) * (H - m.t - m.b);
    // Axes and grid.
    const g = el("g", { class: "axes" }, svg);
    for (const t of niceTicks(x0, x1, 6)) {
      el("line", { x1: sx(t), x2: sx(t), y1: m.t, y2: H - m.b, class: "grid" }, g);
      el("text", { x: sx(t), y: H - m.b + 14, "text-anchor": "middle" }, g).textContent = fmt(t);
    }
    const yt = logY
      ? niceTicks(Math.floor(y0), Math.ceil(y1), Math.min(6, Math.ceil(y1) - Math.floor(y0) || 1))
        .filter((t) => Number.isInteger(t) && t >= y0 && t <= y1).map((t) => 10 ** t)
      : niceTicks(y0, y1, 5);
    for (const t of yt) {
      el("line", { x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t), class: "grid" }, g);
      el("text", { x: m.l - 4, y: sy(t) + 4, "text-anchor": "end" }, g).textContent = fmt(t);
    }
    el("rect", { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b, class: "frame" }, g);
    if (options.xLabel) {
      el("text", { x: (W + m.l) / 2, y: H - 4, "text-anchor": "middle", class: "label" }, g)
        .textContent = options.xLabel;
    }
    if (hiddenNonPositive > 0) {
      el("text", { x: W - m.r, y: H - 4, "text-anchor": "end", class: "note" }, g).textContent =
        `log scale: ${hiddenNonPositive} values ≤ 0 not drawn`;
    }
    // Clip to the plot area.
    const id = "clip" + Math.random().toString(36).slice(2);
    el(
      "rect",
      { x: m.l, y: m.t, width: W - m.l - m.r, height: H - m.t - m.b },
      el("clipPath", { id }, svg),
    );
    const plot = el("g", { "clip-path": `url(#${id})` }, svg);
    for (const h of options.hlines ?? []) {
      if (logY && h.y <= 0) continue;
      el("line", {
        x1: m.l,
        x2: W - m.r,
        y1: sy(h.y),
        y2: sy(h.y),
        class: "hline",
        stroke: h.color ?? "#c00",
      }, plot);
      el("text", {
        x: W - m.r - 4,
        y: sy(h.y) - 4,
        "text-anchor": "end",
        class: "hline-label",
        style: `fill: ${h.color ?? "#c00"}`,
      }, plot)
        .textContent = h.label;
    }
    const path = (pts) =>
      pts.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    prepared.forEach((s, i) => {
      const color = s.color ?? COLORS[i % COLORS.length];
      const smoothing = (options.smoothing ?? 0) > 0;
      if (smoothing) el("path", { d: path(s.raw), stroke: color, class: "line raw" }, plot);
      const line = el("path", {
        d: path(smoothing ? s.sm : s.raw),
        stroke: color,
        class: "line",
        "data-series": s.name,
      }, plot);
      if (s.dash) line.setAttribute("stroke-dasharray", s.dash);
      if (s.raw.length === 1) {
        const [x, y] = s.raw[0];
        el("circle", { cx: sx(x), cy: sy(y), r: 3, fill: color }, plot);
      }
    });
    // Drag to zoom on x; double-click resets.
    const sel = el("rect", {
      y: m.t,
      height: H - m.t - m.b,
      width: 0,
      class: "zoom-sel",
      visibility: "hidden",
    }, svg);
    const toX = (ev) => {
      const p = svg.createSVGPoint();
      p.x = ev.clientX;
      p.y = ev.clientY;
      const q = p.matrixTransform(svg.getScreenCTM().inverse());
      return Math.max(m.l, Math.min(W - m.r, q.x));
    };
    let start = null;
    svg.addEventListener("mousedown", (ev) => {
      start = toX(ev);
      sel.setAttribute("x", start);
      sel.setAttribute("width", 0);
      sel.setAttribute("visibility", "visible");
    });
    svg.addEventListener("mousemove", (ev) => {
      if (start === null) return;
      const x = toX(ev);
      sel.setAttribute("x", Math.min(start, x));
      sel.setAttribute("width", Math.abs(x - start));
    });
    const end = (ev) => {
      if (start === null) return;
      const x = toX(ev);
      sel.setAttribute("visibility", "hidden");
      if (Math.abs(x - start) > 4) {
        const inv = (px) => x0 + (px - m.l) / (W - m.l - m.r) * (x1 - x0);
        state.domain = [inv(Math.min(start, x)), inv(Math.max(start, x))];
        start = null;
        draw();
      }
      start = null;
    };
    svg.addEventListener("mouseup", end);
    svg.addEventListener("mouseleave", () => {
      start = null;
      sel.setAttribute("visibility", "hidden");
    });
    svg.addEventListener("dblclick", () => {
      state.domain = null;
      draw();
    });
    // Legend.
    const legend = document.createElement("div");
    legend.className = "legend";
    series.forEach((s, i) => {
      const item = document.createElement("span");
      item.className = "legend-item" + (state.hidden.has(s.name) ? " off" : "");
      const sw = document.createElement("i");
      sw.style.background = s.color ?? COLORS[i % COLORS.length];
      item.append(sw, document.createTextNode(s.name));
      item.title = "click to hide or show";
      item.addEventListener("click", () => {
        if (state.hidden.has(s.name)) state.hidden.delete(s.name);
        else state.hidden.add(s.name);
        draw();
      });
      legend.appendChild(item);
    });
    if (state.domain) {
      const reset = document.createElement("button");
      reset.textContent = "reset zoom";
      reset.className = "small";
      reset.addEventListener("click", () => {
        state.domain = null;
        draw();
      });
      legend.appendChild(reset);
    }
    wrap.appendChild(legend);
  }

  draw();
  return {
    update(series, options) {
      state.series = series;
      if (options) state.options = options;
      draw();
    },
  };
}

/**
 * A forest plot: rows [{ label, mean, low, high, n }], a zero line, each row's
 * interval as a bar with the mean as a square.
 */
export function forestPlot(container, rows, options = {}) {
  const W = 760, rowH = 28, m = { l: 190, r: 190, t: 28, b: 30 };
  const H = m.t + m.b + rows.length * rowH;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg forest" });
  container.appendChild(svg);
  if (options.title) {
    el("text", { x: 8, y: 16, class: "chart-title" }, svg).textContent = options.title;
  }
  const vals = rows.flatMap((r) => [r.low, r.high]).concat([0]);
  let lo = Math.min(...vals), hi = Math.max(...vals);
  const pad = (hi - lo || 1) * 0.08;
  lo -= pad;
  hi += pad;
  const sx = (v) => m.l + (v - lo) / (hi - lo) * (W - m.l - m.r);
  for (const t of niceTicks(lo, hi, 6)) {
    el("line", { x1: sx(t), x2: sx(t), y1: m.t, y2: H - m.b, class: "grid" }, svg);
    el("text", { x: sx(t), y: H - m.b + 14, "text-anchor": "middle" }, svg).textContent = fmt(t);
  }
  el("line", { x1: sx(0), x2: sx(0), y1: m.t - 6, y2: H - m.b, class: "zero" }, svg);
  el("text", { x: (W + m.l - m.r) / 2, y: H - 4, "text-anchor": "middle", class: "label" }, svg)
    .textContent = options.xLabel ?? "ablation − base";
  rows.forEach((r, i) => {
    const y = m.t + i * rowH + rowH / 2;
    el("text", { x: m.l - 8, y: y + 4, "text-anchor": "end" }, svg).textContent = r.label;
    el("line", { x1: sx(r.low), x2: sx(r.high), y1: y, y2: y, class: "ci" }, svg);
    for (const v of [r.low, r.high]) {
      el("line", { x1: sx(v), x2: sx(v), y1: y - 5, y2: y + 5, class: "ci" }, svg);
    }
    el("rect", { x: sx(r.mean) - 5, y: y - 5, width: 10, height: 10, class: "mean" }, svg);
    el("text", { x: W - m.r + 6, y: y + 4, class: "note" }, svg).textContent = `${fmt(r.mean)} [${
      fmt(r.low)
    }, ${fmt(r.high)}] n=${r.n}`;
  });
  return svg;
}
