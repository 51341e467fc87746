// voxlab board: the page. Hash routes: #/ (runs), #/run/<id>, #/compare/<id>,<id>…,
// #/ablate/<path>. Data comes from the board's /api routes; curves are polled
// incrementally (from= the count already held), so a live run costs only its new lines.
import { COLORS, fmt, forestPlot, lineChart } from "./charts.js";
// marked is served by the board from its npm package; the path is built so that Deno's
// type check (which sees this file) does not try to resolve it.
const VENDOR = "../vendor/";
const { marked } = await import(VENDOR + "marked.js");

const main = document.getElementById("main");
let timers = [];
let routeToken = 0;

function clearTimers() {
  for (const t of timers) clearInterval(t);
  timers = [];
}

function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

async function api(path, init) {
  const res = await fetch(path, init);
  if (!res.ok) throw new Error((await res.text()).trim() || `${res.status} ${res.statusText}`);
  const type = res.headers.get("content-type") ?? "";
  return type.startsWith("application/json") ? res.json() : res.text();
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (v !== undefined && v !== null && v !== false) {
      node.setAttribute(k, v === true ? "" : v);
    }
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const q = (id) => `run=${encodeURIComponent(id)}`;
const runLink = (id) => h("a", { href: `#/run/${encodeURIComponent(id)}` }, id);
const badge = (status) => h("span", { class: `badge ${status}`, "data-status": status }, status);

function duration(seconds) {
  if (!seconds) return "–";
  const hh = Math.floor(seconds / 3600), mm = Math.floor(seconds % 3600 / 60);
  return hh
    ? `${hh}h${String(mm).padStart(2, "0")}`
    : mm
    ? `${mm}m${String(Math.round(seconds % 60)).padStart(2, "0")}`
    : `${seconds.toFixed(1)}s`;
}

// ---------------------------------------------------------------- runs list

const listState = { filter: "", sort: "id", asc: true, selected: new Set() };

function sortKey(run, key) {
  switch (key) {
    case "iteration":
      return run.iteration;
    case "sensitivity":
      return run.diagnostics?.labelSensitivity ?? -1;
    case "started":
      return run.started;
    case "elapsed":
      return run.elapsedSeconds;
    case "seed":
      return run.seed ?? -1;
    default:
      return String(run[key] ?? "");
  }
}

async function showRuns(token) {
  main.textContent = "";
  const filter = h("input", {
    type: "search",
    placeholder: "filter (id, experiment, status…)",
    value: listState.filter,
    id: "filter",
    oninput: (e) => {
      listState.filter = e.target.value;
      render();
    },
  });
  const compare = h("button", {
    id: "compare-selected",
    onclick: () =>
      location.hash = `#/compare/${[...listState.selected].map(encodeURIComponent).join(",")}`,
  }, "compare selected");
  const table = h("table", { id: "runs" });
  const ablations = h("div", { id: "ablations" });
  main.append(
    h("h1", {}, "Runs"),
    h("div", { class: "toolbar" }, filter, compare),
    table,
    ablations,
  );
  let data = null;
  const columns = [
    ["", null],
    ["run", "id"],
    ["experiment", "experiment"],
    ["base / diff", "base"],
    ["status", "status"],
    ["iteration", "iteration"],
    ["checkpoint", "checkpoint"],
    ["last diagnostics", "sensitivity"],
    ["started", "started"],
    ["time", "elapsed"],
    ["seed", "seed"],
  ];
  function render() {
    if (!data) return;
    document.getElementById("root").textContent = data.root;
    compare.disabled = listState.selected.size < 1;
    const f = listState.filter.toLowerCase();
    const runs = data.runs.filter((r) =>
      !f ||
      [r.id, r.experiment, r.status, r.title, r.base ?? ""].some((s) => s.toLowerCase().includes(f))
    );
    runs.sort((a, b) => {
      const x = sortKey(a, listState.sort), y = sortKey(b, listState.sort);
      return (x < y ? -1 : x > y ? 1 : 0) * (listState.asc ? 1 : -1);
    });
    table.textContent = "";
    table.append(h(
      "tr",
      {},
      columns.map(([label, key]) =>
        h("th", {
          class: key && key === listState.sort ? `sorted ${listState.asc ? "asc" : ""}` : "",
          onclick: () => {
            if (!key) return;
            listState.asc = listState.sort === key ? !listState.asc : true;
            listState.sort = key;
            render();
          },
        }, label)
      ),
    ));
    for (const r of runs) {
      const check = h("input", {
        type: "checkbox",
        checked: listState.selected.has(r.id),
        disabled: !!r.broken,
        onchange: (e) => {
          e.target.checked ? listState.selected.add(r.id) : listState.selected.delete(r.id);
          render();
        },
      });
      const d = r.diagnostics;
      table.append(
        h(
          "tr",
          { class: r.broken ? "broken run-row" : "run-row", "data-run": r.id },
          h("td", {}, check),
          h("td", {}, runLink(r.id)),
          h("td", { title: r.title }, r.experiment),
          h(
            "td",
            {},
            r.base ?? "–",
            r.diffToBase
              ? h(
                "div",
                { class: "diff" },
                r.diffToBase.length ? r.diffToBase.join("\n") : "no differences",
              )
              : r.base
              ? h("div", { class: "muted" }, "base not in this folder")
              : null,
          ),
          h(
            "td",
            {},
            badge(r.status),
            r.broken || r.statusMessage
              ? h("div", { class: r.broken ? "error" : "muted" }, r.broken ?? r.statusMessage)
              : null,
          ),
          h(
            "td",
            { class: "num" },
            r.totalIterations ? `${r.iteration} / ${r.totalIterations}` : r.iteration,
          ),
          h("td", {}, r.checkpoint ? "yes" : "no"),
          h(
            "td",
            {},
            d
              ? `@${d.iteration}: sensitivity ${fmt(d.labelSensitivity)}, identity ${
                fmt(d.identityDistance)
              }` +
                (d.mcd ? `, MCD ${d.mcd.converted.toFixed(2)} dB` : "") +
                (d.collapsed ? " — collapsed" : "")
              : "–",
          ),
          h("td", {}, r.started ? r.started.replace("T", " ").slice(0, 19) : "–"),
          h("td", { class: "num" }, duration(r.elapsedSeconds)),
          h("td", { class: "num" }, r.seed ?? "–"),
        ),
      );
    }
    if (runs.length === 0) {
      table.append(h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "no runs")));
    }
    ablations.textContent = "";
    if (data.ablations.length) {
      ablations.append(
        h("h2", {}, "Ablations"),
        h(
          "ul",
          {},
          data.ablations.map((p) =>
            h("li", {}, h("a", { href: `#/ablate/${encodeURIComponent(p)}` }, p))
          ),
        ),
      );
    }
  }
  async function refresh() {
    try {
      data = await api("/api/runs");
      if (token !== routeToken) return;
      document.getElementById("live").textContent = `updated ${new Date().toLocaleTimeString()}`;
      render();
    } catch (e) {
      document.getElementById("live").textContent = `cannot reach the board: ${e.message}`;
    }
  }
  await refresh();
  every(3000, refresh);
}

// ---------------------------------------------------------------- incremental JSONL

class Stream {
  constructor(route, id) {
    this.route = route;
    this.id = id;
    this.records = [];
    this.generation = null;
    this.extra = {};
  }
  async poll() {
    const gen = this.generation === null ? "" : `&generation=${this.generation}`;
    const r = await api(`/api/run/${this.route}?${q(this.id)}&from=${this.records.length}${gen}`);
    if (r.from === 0) this.records = r.records;
    else this.records.push(...r.records);
    const changed = r.records.length > 0 || r.generation !== this.generation;
    this.generation = r.generation;
    this.extra = r;
    return changed;
  }
}

const termsOf = (records) =>
  [...new Set(records.flatMap((r) => Object.keys(r.terms ?? {})))].sort();

// ---------------------------------------------------------------- one run

async function showRun(id, token) {
  main.textContent = "";
  const head = h("div", { id: "run-head" });
  const controls = { smoothing: 0.6, logY: false };
  const smoothing = h("input", {
    type: "range",
    min: 0,
    max: 0.99,
    step: 0.01,
    value: controls.smoothing,
    id: "smoothing",
  });
  const smoothLabel = h("span", {}, controls.smoothing.toFixed(2));
  const logY = h("input", { type: "checkbox", id: "logy" });
  const lossCharts = h("div", { class: "charts", id: "loss-charts" });
  const diagCharts = h("div", { class: "charts", id: "diagnostics-charts" });
  const audio = h("div", { id: "audio", class: "audio" });
  const samples = h("div", { id: "samples", class: "samples" });
  const report = h("div", { id: "report", class: "report" });
  main.append(
    head,
    h("h2", {}, "Loss curves"),
    h(
      "div",
      { class: "toolbar" },
      h("label", {}, "smoothing ", smoothing, " ", smoothLabel),
      h("label", {}, logY, " log scale"),
      h(
        "span",
        { class: "muted" },
        "drag on a chart to zoom, double-click to reset; click a legend entry to hide it",
      ),
    ),
    lossCharts,
    h("h2", {}, "Diagnostics"),
    diagCharts,
    h("h2", {}, "Audio"),
    audio,
    h("h2", {}, "Samples"),
    samples,
    h("h2", {}, "Report"),
    report,
  );
  const metrics = new Stream("metrics", id), diagnostics = new Stream("diagnostics", id);
  const charts = {};
  function drawLoss() {
    const terms = termsOf(metrics.records);
    const groups = [
      ["critic (D) terms", terms.filter((t) => t.startsWith("D."))],
      ["generator (G) terms", terms.filter((t) => t.startsWith("G."))],
      ["other terms", terms.filter((t) => !t.startsWith("D.") && !t.startsWith("G."))],
    ].filter(([, ts]) => ts.length);
    if (groups.length === 0) groups.push(["loss terms", []]);
    const lrs = [...new Set(metrics.records.flatMap((r) => Object.keys(r.lr ?? {})))];
    const opts = (title) => ({
      title,
      xLabel: "iteration",
      smoothing: controls.smoothing,
      logY: controls.logY,
    });
    for (const [title, ts] of groups) {
      const series = ts.map((t) => ({
        name: t,
        points: metrics.records.map((r) => [r.iteration, r.terms[t]]),
      }));
      if (charts[title]) charts[title].update(series, opts(title));
      else charts[title] = lineChart(lossCharts, series, opts(title));
    }
    if (lrs.length) {
      const series = lrs.map((k) => ({
        name: `lr ${k}`,
        points: metrics.records.map((r) => [r.iteration, r.lr[k]]),
      }));
      const o = { ...opts("learning rates"), smoothing: 0 };
      if (charts.lr) charts.lr.update(series, o);
      else charts.lr = lineChart(lossCharts, series, o);
    }
  }
  function drawDiagnostics() {
    const recs = diagnostics.records;
    const threshold = diagnostics.extra.threshold ?? 0.1;
    const patience = diagnostics.extra.patience ?? 3;
    const it = (f) => recs.map((r) => [r.iteration, f(r)]);
    const sens = [{ name: "label sensitivity", points: it((r) => r.labelSensitivity) }];
    const sensOpts = {
      title: "label sensitivity",
      xLabel: "iteration",
      logY: controls.logY,
      hlines: [{
        y: threshold,
        label: `collapse threshold ${threshold} (${patience} evaluations in a row)`,
        color: "#cf222e",
      }],
    };
    const accNames = [...new Set(recs.flatMap((r) => Object.keys(r.accuracy ?? {})))];
    const other = [
      { name: "identity distance", points: it((r) => r.identityDistance) },
      ...accNames.map((n) => ({ name: `accuracy ${n}`, points: it((r) => r.accuracy?.[n]) })),
    ];
    const mcd = recs.some((r) => r.mcd)
      ? [
        { name: "MCD converted (dB)", points: it((r) => r.mcd?.converted) },
        { name: "MCD source (dB)", points: it((r) => r.mcd?.source) },
      ]
      : null;
    const o = (title) => ({ title, xLabel: "iteration", logY: controls.logY });
    if (charts.sens) {
      charts.sens.update(sens, sensOpts);
      charts.other.update(other, o("identity distance and accuracy"));
      if (mcd && charts.mcd) charts.mcd.update(mcd, o("mel-cepstral distortion"));
    } else {
      charts.sens = lineChart(diagCharts, sens, sensOpts);
      charts.other = lineChart(diagCharts, other, o("identity distance and accuracy"));
    }
    if (mcd && !charts.mcd) charts.mcd = lineChart(diagCharts, mcd, o("mel-cepstral distortion"));
    const warning = [...recs].reverse().find((r) => r.warning)?.warning;
    let w = document.getElementById("collapse-warning");
    if (warning && !w) {
      w = h("p", { id: "collapse-warning", class: "error" }, warning);
      diagCharts.before(w);
    }
  }
  smoothing.addEventListener("input", () => {
    controls.smoothing = Number(smoothing.value);
    smoothLabel.textContent = controls.smoothing.toFixed(2);
    drawLoss();
  });
  logY.addEventListener("change", () => {
    controls.logY = logY.checked;
    drawLoss();
    drawDiagnostics();
  });

  async function drawHead() {
    const { summary: s, config } = await api(`/api/run?${q(id)}`);
    head.textContent = "";
    head.append(...[
      h("h1", {}, s.id, " ", badge(s.status)),
      s.broken ? h("p", { class: "error" }, s.broken) : null,
      h(
        "dl",
        { class: "kv" },
        h("dt", {}, "experiment"),
        h("dd", {}, `${s.experiment}${s.title ? ` — ${s.title}` : ""}`),
        h("dt", {}, "base"),
        h(
          "dd",
          {},
          s.base ?? "–",
          s.diffToBase
            ? h("div", { class: "diff" }, s.diffToBase.join("\n") || "no differences")
            : null,
        ),
        h("dt", {}, "iteration"),
        h(
          "dd",
          { id: "iteration" },
          s.totalIterations ? `${s.iteration} / ${s.totalIterations}` : String(s.iteration),
        ),
        h("dt", {}, "status"),
        h("dd", {}, s.statusMessage || s.status),
        h("dt", {}, "time"),
        h("dd", {}, duration(s.elapsedSeconds), s.started ? ` (started ${s.started})` : ""),
        h("dt", {}, "seed"),
        h("dd", {}, s.seed ?? "–"),
        h("dt", {}, "checkpoint"),
        h("dd", {}, s.checkpoint ? "yes" : "no"),
      ),
    ].filter(Boolean));
    return { summary: s, config };
  }

  const { summary } = await drawHead();
  if (token !== routeToken) return;
  await Promise.all([metrics.poll(), diagnostics.poll()]).catch(() => {});
  drawLoss();
  drawDiagnostics();
  every(2000, async () => {
    try {
      const [a, b] = await Promise.all([metrics.poll(), diagnostics.poll()]);
      if (token !== routeToken) return;
      if (a) drawLoss();
      if (b) drawDiagnostics();
      if (a || b) await drawHead();
    } catch { /* the next poll tries again */ }
  });
  showAudio(id, audio, summary, token);
  showSamples(id, samples);
  showReport(id, report);
}

async function showSamples(id, box) {
  const { samples, diagnostics } = await api(`/api/run/images?${q(id)}`);
  box.textContent = "";
  if (!samples.length && !diagnostics.length) {
    box.append(h("p", { class: "muted" }, "no samples yet"));
    return;
  }
  const img = h("img", { id: "sample-image", alt: "spectrogram samples" });
  const pick = h("select", {
    id: "sample-select",
    onchange: () => img.src = fileUrl(id, pick.value),
  }, [...samples].reverse().concat(diagnostics).map((p) => h("option", { value: p }, p)));
  img.src = fileUrl(id, pick.value);
  box.append(h("div", { class: "toolbar" }, h("label", {}, "image ", pick)), img);
}

const fileUrl = (id, path) => `/api/run/file?${q(id)}&path=${encodeURIComponent(path)}`;

async function showReport(id, box) {
  let text;
  try {
    text = await api(`/api/run/report?${q(id)}`);
  } catch (e) {
    box.append(h("p", { class: "muted" }, e.message));
    return;
  }
  const div = h("div");
  div.innerHTML = marked.parse(text);
  for (const img of div.querySelectorAll("img")) {
    const src = img.getAttribute("src") ?? "";
    if (!/^([a-z]+:|\/)/i.test(src)) img.src = fileUrl(id, decodeURIComponent(src));
  }
  const blocks = [...div.querySelectorAll("pre > code.language-mermaid")].map((code) => {
    const pre = h("pre", { class: "mermaid" });
    pre.textContent = code.textContent;
    code.parentElement.replaceWith(pre);
    return pre;
  });
  box.textContent = "";
  box.append(div);
  if (blocks.length && globalThis.mermaid) {
    try {
      globalThis.mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
      await globalThis.mermaid.run({ nodes: blocks });
    } catch (e) {
      box.prepend(h("p", { class: "error" }, `mermaid: ${e.message ?? e}`));
    }
  }
}

async function showAudio(id, box, summary, token) {
  const render = (s) => {
    box.textContent = "";
    if (s.state === "none") {
      if (!s.checkpoint) {
        box.append(h("p", { class: "muted" }, "no checkpoint yet"));
        return;
      }
      box.append(
        h(
          "p",
          { class: "muted" },
          "The probe's held-out utterances: the input, its Griffin-Lim resynthesis and each target's conversion, " +
            "rendered from the checkpoint on request and cached.",
        ),
        h("button", { id: "render-audio", onclick: start }, "render audio"),
      );
    } else if (s.state === "queued" || s.state === "rendering") {
      box.append(
        h(
          "p",
          {},
          s.state === "queued"
            ? "queued…"
            : `rendering: ${s.step}${s.total ? ` (${s.done} / ${s.total})` : ""}`,
        ),
        h("progress", { id: "audio-progress", max: s.total || 1, value: s.done || 0 }),
      );
    } else if (s.state === "error") {
      box.append(
        h("p", { class: "error" }, s.message),
        h("button", { onclick: start }, "try again"),
      );
    } else if (s.state === "done") {
      const m = s.manifest;
      const targets = m.utterances[0]?.conversions.map((c) => c.target) ?? [];
      const player = (name) =>
        h("audio", {
          controls: true,
          preload: "metadata",
          src: `/api/run/audio/file?${q(id)}&name=${encodeURIComponent(name)}`,
        });
      box.append(
        h(
          "p",
          { class: "muted" },
          `from the checkpoint at iteration ${m.iteration}; ${m.sampleRate} Hz; Griffin-Lim ${m.griffinLimIterations} iterations`,
        ),
        h(
          "table",
          { id: "audio-table" },
          h(
            "tr",
            {},
            h("th", {}, "utterance"),
            h("th", {}, "input"),
            h("th", {}, "Griffin-Lim"),
            targets.map((t) => h("th", {}, `→ ${t}`)),
          ),
          m.utterances.map((u) =>
            h(
              "tr",
              {},
              h("td", {}, `${u.source} (${u.file})`),
              h("td", {}, player(u.input)),
              h("td", {}, player(u.griffinLim)),
              u.conversions.map((c) => h("td", {}, player(c.file))),
            )
          ),
        ),
      );
    }
    return s.state;
  };
  let polling = null;
  const poll = async () => {
    if (token !== routeToken) return clearInterval(polling);
    const state = await render(await api(`/api/run/audio?${q(id)}`));
    if (state !== "queued" && state !== "rendering") {
      clearInterval(polling);
      polling = null;
    }
  };
  async function start() {
    await render(await api(`/api/run/audio?${q(id)}`, { method: "POST" }));
    if (!polling) {
      polling = setInterval(poll, 700);
      timers.push(polling);
    }
  }
  const state = await render(await api(`/api/run/audio?${q(id)}`));
  if (state === "queued" || state === "rendering") {
    polling = setInterval(poll, 700);
    timers.push(polling);
  }
  void summary;
}

// ---------------------------------------------------------------- compare

async function showCompare(ids, token) {
  main.textContent = "";
  if (ids.length === 0) {
    main.append(
      h("h1", {}, "Compare"),
      h("p", { class: "muted" }, "Tick runs in the runs list, then “compare selected”."),
    );
    return;
  }
  const streams = ids.map((id) => ({
    id,
    metrics: new Stream("metrics", id),
    diagnostics: new Stream("diagnostics", id),
  }));
  const termSelect = h("select", { id: "compare-term" });
  const smoothing = h("input", { type: "range", min: 0, max: 0.99, step: 0.01, value: 0.6 });
  const logY = h("input", { type: "checkbox" });
  const box = h("div", { class: "charts", id: "compare-charts" });
  main.append(
    h("h1", {}, "Compare ", ids.length, " runs"),
    h(
      "p",
      {},
      ids.map((id, i) =>
        h("span", { style: `color:${COLORS[i % COLORS.length]}; margin-right:12px` }, runLink(id))
      ),
    ),
    h(
      "div",
      { class: "toolbar" },
      h("label", {}, "term ", termSelect),
      h("label", {}, "smoothing ", smoothing),
      h("label", {}, logY, " log scale"),
    ),
    box,
  );
  let chart = null, sensChart = null;
  function draw() {
    const terms = [...new Set(streams.flatMap((s) => termsOf(s.metrics.records)))].sort();
    const current = termSelect.value || (terms.includes("G.total") ? "G.total" : terms[0]);
    termSelect.textContent = "";
    for (const t of terms) termSelect.append(h("option", { value: t, selected: t === current }, t));
    const series = streams.map((s, i) => ({
      name: s.id,
      color: COLORS[i % COLORS.length],
      points: s.metrics.records.map((r) => [r.iteration, r.terms[current]]),
    }));
    const o = {
      title: current ?? "loss",
      xLabel: "iteration",
      smoothing: Number(smoothing.value),
      logY: logY.checked,
    };
    chart ? chart.update(series, o) : chart = lineChart(box, series, o);
    const threshold = streams[0].diagnostics.extra.threshold ?? 0.1;
    const sens = streams.map((s, i) => ({
      name: s.id,
      color: COLORS[i % COLORS.length],
      points: s.diagnostics.records.map((r) => [r.iteration, r.labelSensitivity]),
    }));
    const so = {
      title: "label sensitivity",
      xLabel: "iteration",
      logY: logY.checked,
      hlines: [{ y: threshold, label: `collapse threshold ${threshold}`, color: "#cf222e" }],
    };
    sensChart ? sensChart.update(sens, so) : sensChart = lineChart(box, sens, so);
  }
  termSelect.addEventListener("change", draw);
  smoothing.addEventListener("input", draw);
  logY.addEventListener("change", draw);
  const poll = async () => {
    const changed = await Promise.all(
      streams.flatMap((s) => [s.metrics.poll(), s.diagnostics.poll()]),
    );
    return changed.some(Boolean);
  };
  await poll().catch((e) => main.append(h("p", { class: "error" }, e.message)));
  if (token !== routeToken) return;
  draw();
  every(3000, async () => {
    try {
      if (await poll() && token === routeToken) draw();
    } catch { /* next time */ }
  });
}

// ---------------------------------------------------------------- ablate

async function showAblate(path, token) {
  main.textContent = "";
  let a;
  try {
    ({ ablation: a } = await api(`/api/ablate?path=${encodeURIComponent(path)}`));
  } catch (e) {
    main.append(h("h1", {}, "Ablation"), h("p", { class: "error" }, e.message));
    return;
  }
  if (token !== routeToken) return;
  const metricSelect = h("select", { id: "ablate-metric" });
  const curves = h("div", { class: "charts", id: "ablate-curves" });
  const forest = h("div", { id: "ablate-forest" });
  main.append(
    h("h1", {}, a.title),
    h(
      "p",
      { class: "muted" },
      `${a.ablation} against its base ${a.base}, ${a.seeds.length} seeds; intervals at ${
        Math.round(a.confidence * 100)
      }%`,
    ),
    h("h2", {}, "Paired differences"),
    forest,
    h("h2", {}, "Per-seed curves"),
    h("div", { class: "toolbar" }, h("label", {}, "metric ", metricSelect)),
    curves,
  );
  if (a.differences.length) {
    forestPlot(forest, a.differences.map((d) => ({ ...d, label: d.metric })), {
      title: `${a.ablation} − ${a.base}`,
    });
  } else forest.append(h("p", { class: "muted" }, "no differences in the file"));
  // The seeds' runs, read like any run's curves.
  const runs = new Map();
  for (const s of a.seeds) {
    for (const arm of ["base", "ablation"]) {
      if (!s[arm]) continue;
      const m = new Stream("metrics", s[arm]), d = new Stream("diagnostics", s[arm]);
      try {
        await Promise.all([m.poll(), d.poll()]);
        runs.set(s[arm], { metrics: m, diagnostics: d });
      } catch (e) {
        curves.before(h("p", { class: "error" }, `${s[arm]}: ${e.message}`));
      }
    }
  }
  const diagKeys = ["labelSensitivity", "identityDistance"];
  const metrics = new Set([
    ...a.differences.map((d) => d.metric),
    ...a.curves.map((c) => c.metric),
    ...diagKeys,
  ]);
  for (const r of runs.values()) for (const t of termsOf(r.metrics.records)) metrics.add(t);
  for (const m of metrics) metricSelect.append(h("option", { value: m }, m));
  let chart = null;
  function draw() {
    const metric = metricSelect.value;
    const series = [];
    a.seeds.forEach((s, i) => {
      for (const arm of ["base", "ablation"]) {
        const r = runs.get(s[arm]);
        let points = [];
        if (r) {
          points = diagKeys.includes(metric) || !metric.includes(".")
            ? r.diagnostics.records.map((x) => [x.iteration, x[metric]])
            : r.metrics.records.map((x) => [x.iteration, x.terms[metric]]);
        }
        const inline = a.curves.find((c) =>
          c.metric === metric && c.seed === s.seed && c.arm === arm
        );
        if (inline) points = inline.points;
        series.push({
          name: `${arm === "base" ? a.base : a.ablation} seed ${s.seed}`,
          color: arm === "base" ? COLORS[0] : COLORS[1],
          dash: i ? ["", "6 3", "2 3", "8 3 2 3"][i % 4] : undefined,
          points,
        });
      }
    });
    const o = { title: metric, xLabel: "iteration", smoothing: 0 };
    chart ? chart.update(series, o) : chart = lineChart(curves, series, o);
  }
  metricSelect.addEventListener("change", draw);
  draw();
}

// ---------------------------------------------------------------- router

async function route() {
  clearTimers();
  const token = ++routeToken;
  const hash = location.hash.replace(/^#\/?/, "");
  const [page, ...rest] = hash.split("/");
  const arg = rest.join("/");
  try {
    if (page === "run" && arg) await showRun(decodeURIComponent(arg), token);
    else if (page === "compare") {
      await showCompare(arg ? arg.split(",").map(decodeURIComponent) : [], token);
    } else if (page === "ablate" && arg) await showAblate(decodeURIComponent(arg), token);
    else await showRuns(token);
  } catch (e) {
    if (token === routeToken) main.append(h("p", { class: "error" }, e.message));
  }
}

addEventListener("hashchange", route);
route();
