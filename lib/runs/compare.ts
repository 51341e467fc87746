/**
 * Side-by-side comparison of run directories: the config differences (by dot
 * path, via `lib/experiment`'s `diff`), the final metrics and the last
 * diagnostics with the collapse warning, as one Markdown table.
 *
 * A run directory holds `config.yaml`, `metrics.jsonl` and, when diagnostics
 * ran, `diagnostics.jsonl`.
 *
 * @module
 */

import { YAML } from "../deps.ts";
import { diff } from "../experiment/diff.ts";
import type { Experiment } from "../experiment/types.ts";
import { readMetrics } from "../train/metrics.ts";
import type { DiagnosticsRecord } from "../eval/diagnostics/evaluate.ts";
import { collapseWarning, readDiagnostics } from "../eval/diagnostics/records.ts";
import { dirname, isAbsolute, relative, resolve as resolvePath, sep } from "node:path";
import { readRunInfo } from "./run_dir.ts";
import { chooseRun, type ChosenRun, type LiveStatus, liveStatus } from "./run_status.ts";

/** A run could not be read; the message names the run and the problem. */
export class CompareError extends Error {
  /** The error class name. */
  override name = "CompareError";
}

/** What {@linkcode readRunSummary} extracts from one run directory. */
export interface RunSummary {
  /** The run directory. */
  dir: string;
  /** A short column name: `<experiment>/<timestamp>` (the last two path parts). */
  name: string;
  /** The resolved config as parsed from `config.yaml`. */
  config: Record<string, unknown>;
  /** The run's status now (`run.json`'s, `dead` when its process is gone), or `null` without `run.json`. */
  status: LiveStatus | null;
  /** Iterations recorded in `metrics.jsonl`. */
  iterations: number;
  /** Training seconds at the last record. */
  elapsed: number;
  /** Each loss term averaged over the final window of iterations. */
  terms: Record<string, number>;
  /** How many final iterations the terms are averaged over. */
  window: number;
  /** The last diagnostics record, if any. */
  diagnostics: DiagnosticsRecord | null;
  /** The collapse warning fired during the run, if any. */
  warning: string | null;
  /** The iteration at which the collapse warning first fired, if it did. */
  warningAt: number | null;
}

/** Options for {@linkcode readRunSummary} and {@linkcode compareRuns}. */
export interface RunSummaryOptions {
  /**
   * Final iterations each loss term is averaged over (fewer if the run is shorter).
   * @default {50}
   */
  window?: number;
}

/**
 * Read a run directory's config, final metrics and diagnostics.
 *
 * @throws {CompareError} when the directory or its `config.yaml` is missing or unreadable.
 */
export async function readRunSummary(
  dir: string,
  options: RunSummaryOptions = {},
): Promise<RunSummary> {
  const clean = dir.replace(/\/+$/, "");
  let configText: string;
  try {
    configText = await Deno.readTextFile(`${clean}/config.yaml`);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no config.yaml (is it a run directory?)"
      : String(e);
    throw new CompareError(`Cannot read run '${dir}': ${why}`);
  }
  let config: unknown;
  try {
    config = YAML.parse(configText);
  } catch (e) {
    throw new CompareError(
      `Cannot read run '${dir}': config.yaml is not valid YAML: ${(e as Error).message}`,
    );
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new CompareError(`Cannot read run '${dir}': config.yaml is not a mapping`);
  }
  let metrics: Awaited<ReturnType<typeof readMetrics>> = [];
  try {
    metrics = await readMetrics(`${clean}/metrics.jsonl`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new CompareError(`Cannot read run '${dir}': ${(e as Error).message}`);
    }
  }
  const window = Math.min(options.window ?? 50, metrics.length);
  const tail = metrics.slice(metrics.length - window);
  const sums: Record<string, [number, number]> = {};
  for (const r of tail) {
    for (const [k, v] of Object.entries(r.terms)) {
      const s = sums[k] ?? [0, 0];
      s[0] += v;
      s[1]++;
      sums[k] = s;
    }
  }
  const terms = Object.fromEntries(Object.entries(sums).map(([k, [s, n]]) => [k, s / n]));
  const diagnostics = await readDiagnostics(`${clean}/diagnostics.jsonl`);
  const parts = clean.split("/").filter(Boolean);
  const info = await readRunInfo(clean).catch(() => null);
  return {
    dir,
    name: parts.slice(-2).join("/") || clean,
    status: info ? liveStatus(info) : null,
    config: config as Record<string, unknown>,
    iterations: metrics.at(-1)?.iteration ?? 0,
    elapsed: metrics.at(-1)?.elapsed ?? 0,
    terms,
    window,
    diagnostics: diagnostics.at(-1) ?? null,
    warning: collapseWarning(diagnostics),
    warningAt: diagnostics.find((r) => r.warning)?.iteration ?? null,
  };
}

/** A comparison: a header and rows of cells, grouped in sections. */
export interface Comparison {
  /** Column names, one per run. */
  runs: string[];
  /** Sections in order: title, then rows of `[label, ...one cell per run]`. */
  sections: { title: string; rows: string[][] }[];
}

function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function cell(value: unknown): string {
  if (value === undefined) return "(absent)";
  if (typeof value === "number") return fmtNumber(value);
  return typeof value === "string" ? value : JSON.stringify(value);
}

function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toPrecision(4);
}

/**
 * Build the comparison of runs: config differences against the first run
 * (every path that differs in any run), final loss terms, diagnostics and
 * the collapse warning.
 *
 * @example
 * ```ts
 * import { compareRuns } from "./compare.ts";
 * const run = (name: string, w: number | undefined) => ({
 *   dir: name, name, status: null, iterations: 10, elapsed: 5, window: 10, diagnostics: null, warning: null,
 *   warningAt: null, terms: { "G.adversarial": 0.5 },
 *   config: { losses: { generator: w === undefined ? {} : { identity: { weight: w } } } },
 * });
 * const c = compareRuns([run("a", 5), run("b", undefined)]);
 * console.assert(c.sections[0]!.rows[0]!.join() === "losses.generator.identity,{\"weight\":5},(absent)");
 * ```
 */
export function compareRuns(runs: readonly RunSummary[]): Comparison {
  if (runs.length === 0) throw new RangeError("Cannot compare runs: no runs given");
  const first = runs[0]!;
  const paths = new Set<string>();
  for (const run of runs.slice(1)) {
    for (
      const d of diff(first.config as unknown as Experiment, run.config as unknown as Experiment)
    ) {
      paths.add(d.path);
    }
  }
  const configRows = [...paths].sort().map((
    p,
  ) => [p, ...runs.map((r) => cell(valueAt(r.config, p)))]);
  if (configRows.length === 0) configRows.push(["(no differences)", ...runs.map(() => "")]);

  const metricRows: string[][] = [
    ["status", ...runs.map((r) => r.status ?? "–")],
    ["iterations", ...runs.map((r) => String(r.iterations))],
    ["training time", ...runs.map((r) => formatDuration(r.elapsed))],
  ];
  const termNames = [...new Set(runs.flatMap((r) => Object.keys(r.terms)))].sort();
  for (const t of termNames) {
    metricRows.push([t, ...runs.map((r) => (t in r.terms ? fmtNumber(r.terms[t]!) : "(absent)"))]);
  }

  const diagRows: string[][] = [
    [
      "evaluated at iteration",
      ...runs.map((r) => r.diagnostics ? String(r.diagnostics.iteration) : "–"),
    ],
    [
      "label sensitivity",
      ...runs.map((r) =>
        r.diagnostics
          ? fmtNumber(r.diagnostics.labelSensitivity) + (r.diagnostics.collapsed ? " ⚠" : "")
          : "–"
      ),
    ],
    [
      "identity distance",
      ...runs.map((r) => (r.diagnostics ? fmtNumber(r.diagnostics.identityDistance) : "–")),
    ],
  ];
  const accNames = [...new Set(runs.flatMap((r) => Object.keys(r.diagnostics?.accuracy ?? {})))];
  for (const n of accNames) {
    diagRows.push([
      `accuracy (${n})`,
      ...runs.map((r) => {
        const v = r.diagnostics?.accuracy[n];
        const real = r.diagnostics?.realAccuracy?.[n];
        return v === undefined
          ? "–"
          : fmtNumber(v) + (real === undefined ? "" : ` (real ${fmtNumber(real)})`);
      }),
    ]);
  }
  if (runs.some((r) => r.diagnostics?.mcd)) {
    diagRows.push([
      "MCD converted / source / reconstruction [dB]",
      ...runs.map((r) => {
        const m = r.diagnostics?.mcd;
        return m
          ? `${m.converted.toFixed(2)} / ${m.source.toFixed(2)} / ${
            m.reconstruction?.toFixed(2) ?? "–"
          }`
          : "–";
      }),
    ]);
  }
  diagRows.push(["collapse warning", ...runs.map(collapseCell)]);

  const window = Math.max(...runs.map((r) => r.window));
  return {
    runs: runs.map((r) => r.name),
    sections: [
      { title: "config differences (vs. the first run)", rows: configRows },
      { title: `final metrics (mean of the last ${window} iterations)`, rows: metricRows },
      { title: "diagnostics (last evaluation)", rows: diagRows },
    ],
  };
}

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(2)} h`;
}

const escapeCell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/**
 * Render a comparison as a Markdown table (one table, bold section rows),
 * padded so it also reads well in a terminal.
 */
export function comparisonMarkdown(comparison: Comparison): string {
  const header = ["", ...comparison.runs];
  const body: string[][] = [];
  for (const s of comparison.sections) {
    body.push([`**${s.title}**`, ...comparison.runs.map(() => "")]);
    body.push(...s.rows);
  }
  const all = [header, ...body].map((r) => r.map(escapeCell));
  const widths = header.map((_, c) => Math.max(3, ...all.map((r) => [...(r[c] ?? "")].length)));
  const line = (r: string[]) =>
    `| ${r.map((v, c) => v + " ".repeat(widths[c]! - [...v].length)).join(" | ")} |`;
  return [
    line(all[0]!),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...all.slice(1).map(line),
  ].join("\n") + "\n";
}

/**
 * Resolve a path to a run directory: a directory holding `config.yaml` is
 * itself; an experiment directory (`runs/<experiment>`) resolves to its latest
 * run that has a checkpoint (see `chooseRun`).
 *
 * @throws {CompareError} when neither applies.
 */
export async function resolveRunDir(path: string): Promise<string> {
  return (await resolveRun(path)).dir;
}

/** Like {@linkcode resolveRunDir}, with the note saying which run was chosen. */
export async function resolveRun(path: string): Promise<ChosenRun> {
  try {
    return await chooseRun(path);
  } catch (e) {
    throw new CompareError((e as Error).message);
  }
}

/**
 * The folder `compare.md` goes to by default: the deepest folder holding
 * every compared run directory's parent (`runs/` for runs of two
 * experiments), so the comparison sits beside the runs and never in the
 * working folder.
 *
 * @example
 * ```ts
 * import { defaultCompareDir } from "./compare.ts";
 * console.assert(defaultCompareDir(["runs/a/20260101-1", "runs/b/20260101-2"]) === "runs");
 * console.assert(defaultCompareDir(["/x/runs/a/1", "/x/runs/a/2"]) === "/x/runs/a");
 * ```
 */
export function defaultCompareDir(runDirs: readonly string[]): string {
  const parents = runDirs.map((d) => dirname(resolvePath(d)));
  let common = parents[0] ?? resolvePath(".");
  while (
    !parents.every((p) =>
      p === common || p.startsWith(common.endsWith(sep) ? common : common + sep)
    )
  ) {
    common = dirname(common);
  }
  const rel = relative(resolvePath("."), common);
  const absolute = runDirs.every((d) => isAbsolute(d));
  return absolute || rel.startsWith("..") ? common : rel || ".";
}

/** Options for {@linkcode compareRunDirs}. */
export interface CompareRunDirsOptions extends RunSummaryOptions {
  /**
   * Write the Markdown here as well; `null` writes nothing.
   * @default {null}
   */
  out?: string | null;
  /**
   * Column names, one per directory, instead of `<experiment>/<timestamp>`.
   * @default {undefined}
   */
  names?: readonly string[];
}

/**
 * Read run directories, compare them and render the Markdown (written to
 * `options.out` when given).
 *
 * @throws {CompareError} when a run cannot be read.
 */
export async function compareRunDirs(
  dirs: readonly string[],
  options: CompareRunDirsOptions = {},
): Promise<{ markdown: string; runs: RunSummary[]; notes: string[] }> {
  if (dirs.length === 0) throw new CompareError("Cannot compare runs: no run directories given");
  const chosen = await Promise.all(dirs.map(resolveRun));
  const runs = await Promise.all(chosen.map((c) => readRunSummary(c.dir, options)));
  options.names?.forEach((name, i) => {
    if (runs[i]) runs[i].name = name;
  });
  const markdown = `# Run comparison\n\n${comparisonMarkdown(compareRuns(runs))}`;
  if (options.out) await Deno.writeTextFile(options.out, markdown);
  const notes = chosen.flatMap((c, i) => c.note ? [`${dirs[i]}: ${c.note}`] : []);
  return { markdown, runs, notes };
}

/** When the collapse warning fired and how the run ended; the report holds the full text. */
function collapseCell(run: RunSummary): string {
  if (!run.warning) return "none";
  const at = run.warningAt === null ? "" : ` at iteration ${run.warningAt}`;
  const last = run.diagnostics;
  if (!last) return `COLLAPSE${at}`;
  return last.collapsed
    ? `COLLAPSE${at}; still collapsed at ${last.iteration}`
    : `COLLAPSE${at}; recovered by ${last.iteration}`;
}
