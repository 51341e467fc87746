/**
 * Ablations answered with statistics over seeds: train a base experiment and
 * its ablation over N seeds, pair them seed by seed, and report for every
 * diagnostic each experiment's mean with a 95% t interval, the paired
 * difference (ablation − base) with a paired t interval and a paired
 * percentile bootstrap interval, the paired t-test's two-sided p-value, and
 * in how many seeds the collapse warning fired.
 *
 * Pairing. Seed s runs both experiments with `--set trainer.seed=s`; the
 * trainer seeds the initial weights and the data order from `trainer.seed`
 * (see `lib/runs/trainer.ts`), so with the same model sizes a pair starts
 * from identical weights and sees identical batches: the difference within
 * a pair is the ablation's, not the seed's.
 *
 * Runs go through a point runner (`./point.ts`), the same as a sweep's, so a
 * cluster launcher can take the local one's place. Layout of the output
 * directory:
 *
 * ```text
 * <out>/base/seed-<s>/<id>/<timestamp>/    the base's run of seed s
 * <out>/ablation/seed-<s>/<id>/<timestamp>/
 * <out>/ablate.md    the table (also printed)
 * <out>/ablate.png   per-seed label-sensitivity curves of both, forest plot of the differences
 * <out>/ablate.json  the same figures for programs (fields below)
 * ```
 *
 * Resuming: rerunning the same command skips every seed whose run finished
 * (status `completed`, or stopped by the budget having reached it) and
 * continues the unfinished ones from their checkpoints (`--resume`, with the
 * rest of the budget), so only missing or unfinished seeds train.
 *
 * `ablate.json` is the board's ablation format (`voxlab-ablate/1`, specified in
 * `lib/board/ablate.ts`, so `deno task board` shows it) plus the details:
 * - `format`, `title`; `base`, `ablation`: the experiment ids; `confidence`: 0.95;
 * - `seeds`: per seed, `{ seed, base, ablation }`, each the run directory relative to
 *   the file's folder, or null;
 * - `curves`: `{ metric: "labelSensitivity", seed, arm, points: [[iteration, value]] }`
 *   per seed and arm;
 * - `differences`: per diagnostic, `{ metric, mean, low, high, n }`: the paired
 *   difference ablation − base with its 95% paired t interval;
 * - `files`: `{ base, ablation }`, the experiment files; `budget`: `{ maxSteps?, maxSeconds? }`;
 *   `trainArgs`: extra flags;
 * - `runs`: per seed, `{ seed, base, ablation }` with each side's `{ runDir, status,
 *   iteration, code, collapsed }` (`collapsed`: the collapse warning fired);
 * - `diagnostics`: per diagnostic (`labelSensitivity`, `identityDistance`,
 *   `accuracy.<classifier>`, `realAccuracy.<classifier>`, `mcd.converted`, `mcd.source`,
 *   `mcd.reconstruction`): `{ name, n, base: MeanInterval, ablation: MeanInterval,
 *   difference: { mean, t: { low, high }, bootstrap: { low, high, resamples }, },
 *   test: { name: "paired t-test (two-sided)", t, df, p }, values: { base: number[],
 *   ablation: number[] } }` — values of the final evaluation of each seed, in seed order;
 *   `MeanInterval` is `{ n, mean, sd, low, high }` (95% t interval);
 * - `collapse`: `{ base, ablation }`: seeds in which the warning fired.
 *
 * @module
 */

import { join, relative, resolve } from "node:path";
import type { DiagnosticsRecord } from "../eval/diagnostics/evaluate.ts";
import { DIAGNOSTICS_FILES, readDiagnostics } from "../eval/diagnostics/records.ts";
import { DEFAULT_COLLAPSE_THRESHOLD } from "../eval/diagnostics/measures.ts";
import { COLORS, type Rgb } from "../eval/png.ts";
import { plotForest, plotSeries, stackCanvases } from "../eval/stat_plots.ts";
import { type MeanInterval, meanInterval, pairedBootstrap, pairedTTest } from "../eval/stats.ts";
import { loadExperiment } from "../experiment/load.ts";
import { DEFAULT_PROGRESS_SECONDS, withProgress } from "./heartbeat.ts";
import { findRunDir, localRunner, type PointRunner, runPool } from "./point.ts";
import type { RunInfo } from "./report.ts";
import { attachSlurm, type LaunchOptions, type LaunchResult, runOnSlurm } from "./slurm/launch.ts";
import type { SlurmPoint } from "./slurm/script.ts";
import { readRunInfo } from "./run_dir.ts";

/** An ablation could not be set up; the message is one line meant for the user. */
export class AblateError extends Error {
  /** The error class name. */
  override name = "AblateError";
}

/** Options of {@linkcode runAblation}. */
export interface AblateOptions {
  /** Number of seeds: 0 … N−1 (or `seedList`). */
  seeds: number;
  /** The output directory. */
  out: string;
  /**
   * Runs at the same time.
   * @default {1}
   */
  parallel?: number;
  /**
   * Iterations per run (the whole run's, across resumes).
   * @default {undefined}
   */
  maxSteps?: number;
  /**
   * Seconds of training per run (the whole run's, across resumes).
   * @default {undefined}
   */
  maxSeconds?: number;
  /**
   * Other flags for every run (`--set …`, `--backend`, `--threads`, `--data`).
   * @default {[]}
   */
  trainArgs?: readonly string[];
  /**
   * Runs each training job.
   * @default {localRunner()}
   */
  runner?: PointRunner;
  /**
   * Show each run's output live (only when `parallel` is 1); otherwise it goes to `<run>/train.log`.
   * @default {false}
   */
  live?: boolean;
  /**
   * Seconds between the progress lines of each running run (iteration and
   * latest diagnostics, from its directory); 0: none. Not with `live`.
   * @default {DEFAULT_PROGRESS_SECONDS (300)}
   */
  progressSeconds?: number;
  /**
   * Bootstrap resamples.
   * @default {10000}
   */
  resamples?: number;
  /**
   * One-line status messages.
   * @default {console.log}
   */
  log?: (line: string) => void;
}

/** One side of one seed. */
export interface AblateRun {
  /** The run directory, or null when none was made. */
  runDir: string | null;
  /** Its `run.json` status, or null. */
  status: RunInfo["status"] | null;
  /** Iterations done. */
  iteration: number;
  /** Exit code of the last training process (0 when skipped as finished). */
  code: number;
  /** Whether the collapse warning fired in this run. */
  collapsed: boolean;
}

/** One diagnostic's statistics. */
export interface DiagnosticStats {
  /** E.g. `labelSensitivity`, `accuracy.classifier`. */
  name: string;
  /** Seeds where both runs have it. */
  n: number;
  /** The base's mean and 95% t interval. */
  base: MeanInterval;
  /** The ablation's. */
  ablation: MeanInterval;
  /** Paired difference ablation − base. */
  difference: {
    mean: number;
    t: { low: number; high: number };
    bootstrap: { low: number; high: number; resamples: number };
  };
  /** The paired test. */
  test: { name: string; t: number; df: number; p: number };
  /** Final values per seed (seed order). */
  values: { base: number[]; ablation: number[] };
}

/** What {@linkcode runAblation} returns. */
export interface AblateResult {
  /** Per seed, both runs. */
  runs: { seed: number; base: AblateRun; ablation: AblateRun }[];
  /** Statistics per diagnostic. */
  diagnostics: DiagnosticStats[];
  /** Seeds in which the collapse warning fired, per side. */
  collapse: { base: number; ablation: number };
  /** The Markdown table. */
  markdown: string;
  /** Paths written. */
  files: { markdown: string; png: string; json: string };
}

/** A finished run needs no more training: completed, or stopped by a budget it has reached. */
function finished(info: RunInfo, options: AblateOptions): boolean {
  if (info.status === "completed" || info.status === "non-finite") return true;
  if (options.maxSteps !== undefined && info.iteration >= options.maxSteps) return true;
  if (options.maxSeconds !== undefined && info.elapsedSeconds >= options.maxSeconds) return true;
  return false;
}

/** The diagnostics a record holds, by name. */
export function diagnosticValues(r: DiagnosticsRecord): Record<string, number> {
  const out: Record<string, number> = {
    labelSensitivity: r.labelSensitivity,
    identityDistance: r.identityDistance,
  };
  for (const [k, v] of Object.entries(r.accuracy)) out[`accuracy.${k}`] = v;
  for (const [k, v] of Object.entries(r.realAccuracy ?? {})) out[`realAccuracy.${k}`] = v;
  if (r.mcd) {
    out["mcd.converted"] = r.mcd.converted;
    out["mcd.source"] = r.mcd.source;
    if (r.mcd.reconstruction !== undefined) out["mcd.reconstruction"] = r.mcd.reconstruction;
  }
  return out;
}

/**
 * Statistics of paired final values (see the module doc).
 *
 * @example
 * ```ts
 * import { pairedStats } from "./ablate.ts";
 * const s = pairedStats("x", [1, 2, 3], [2, 3.1, 3.9], { resamples: 500 });
 * console.assert(s.difference.mean > 0.9 && s.test.p < 0.01);
 * ```
 */
export function pairedStats(
  name: string,
  base: readonly number[],
  ablation: readonly number[],
  options: { resamples?: number } = {},
): DiagnosticStats {
  const t = pairedTTest(base, ablation);
  const boot = base.length
    ? pairedBootstrap(base, ablation, { resamples: options.resamples ?? 10000, seed: name })
    : { low: NaN, high: NaN, resamples: 0 };
  return {
    name,
    n: base.length,
    base: meanInterval(base),
    ablation: meanInterval(ablation),
    difference: {
      mean: t.difference.mean,
      t: { low: t.difference.low, high: t.difference.high },
      bootstrap: { low: boot.low, high: boot.high, resamples: boot.resamples },
    },
    test: { name: "paired t-test (two-sided)", t: t.t, df: t.df, p: t.p },
    values: { base: [...base], ablation: [...ablation] },
  };
}

const fmt = (v: number) =>
  !Number.isFinite(v)
    ? "–"
    : Math.abs(v) >= 100
    ? v.toFixed(1)
    : Math.abs(v) >= 0.01 || v === 0
    ? v.toFixed(3)
    : v.toPrecision(2);
const interval = (m: MeanInterval) =>
  Number.isFinite(m.low) ? `${fmt(m.mean)} [${fmt(m.low)}, ${fmt(m.high)}]` : fmt(m.mean);
const pText = (p: number) =>
  !Number.isFinite(p) ? "–" : p < 1e-4 ? p.toExponential(1) : p.toFixed(4);

/** The Markdown table of an ablation. */
export function ablationMarkdown(
  names: { base: string; ablation: string },
  stats: readonly DiagnosticStats[],
  collapse: { base: number; ablation: number },
  seeds: number,
): string {
  const lines = [
    `# Ablation: ${names.ablation} vs. ${names.base}`,
    "",
    `${seeds} seeds, paired by seed (identical initial weights and data order). Final evaluation of each run.`,
    "",
    `| diagnostic | n | ${names.base}: mean [95% CI] | ${names.ablation}: mean [95% CI] | difference (ablation − base) | 95% CI (paired t) | 95% CI (paired bootstrap) | p (paired t-test) |`,
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const s of stats) {
    lines.push(
      `| ${s.name} | ${s.n} | ${interval(s.base)} | ${interval(s.ablation)} | ${
        fmt(s.difference.mean)
      } | [${fmt(s.difference.t.low)}, ${fmt(s.difference.t.high)}] | [${
        fmt(s.difference.bootstrap.low)
      }, ${fmt(s.difference.bootstrap.high)}] | ${pText(s.test.p)} |`,
    );
  }
  lines.push(
    `| collapse warning fired (seeds) | ${seeds} | ${collapse.base} of ${seeds} | ${collapse.ablation} of ${seeds} | | | | |`,
    "",
    "Means with 95% t intervals (t quantile with n−1 degrees of freedom). Differences are paired " +
      "by seed: the t interval and the two-sided paired t-test assume normal differences; the " +
      "percentile bootstrap resamples seeds (10,000 resamples, seeded) and is narrower than it " +
      "should be with few seeds. The collapse warning is voxlab's: label sensitivity below " +
      `${DEFAULT_COLLAPSE_THRESHOLD} for 3 evaluations in a row.`,
    "",
  );
  return lines.join("\n");
}

/** The checked settings shared by the local and the SLURM route. */
interface Prepared {
  ids: Record<"base" | "ablation", string>;
  parallel: number;
  seeds: number[];
  log: (line: string) => void;
}

async function prepare(
  baseFile: string,
  ablationFile: string,
  options: AblateOptions,
): Promise<Prepared> {
  if (!Number.isInteger(options.seeds) || options.seeds < 2) {
    throw new AblateError(
      `Cannot run ablation: --seeds must be an integer of at least 2, got ${options.seeds}`,
    );
  }
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new AblateError(
      `Cannot run ablation: --parallel must be a positive integer, got ${parallel}`,
    );
  }
  const ids: Record<"base" | "ablation", string> = { base: "", ablation: "" };
  for (const [side, file] of [["base", baseFile], ["ablation", ablationFile]] as const) {
    try {
      ids[side] = (await loadExperiment(file)).meta.id;
    } catch (e) {
      throw new AblateError(`Cannot run ablation: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const log = options.log ?? ((l: string) => console.log(l));
  const seeds = Array.from({ length: options.seeds }, (_, i) => i);
  return { ids, parallel, seeds, log };
}

/** A seed's run directory's parent: `<out>/<side>/seed-<s>`. */
function seedDir(out: string, side: "base" | "ablation", seed: number): string {
  return join(out, side, `seed-${seed}`);
}

/**
 * Train both experiments over the seeds (resuming unfinished ones), then
 * compute, print-ready and write the statistics.
 *
 * @throws {AblateError} for a bad seed count or parallelism, or a missing experiment file.
 */
export async function runAblation(
  baseFile: string,
  ablationFile: string,
  options: AblateOptions,
): Promise<AblateResult> {
  const { ids, parallel, seeds, log } = await prepare(baseFile, ablationFile, options);
  const runner = options.runner ?? localRunner();
  const live = (options.live ?? false) && parallel === 1;
  await Deno.mkdir(options.out, { recursive: true });

  // Jobs: seed by seed, base then ablation, so that a stopped ablation has whole pairs first.
  const jobs = seeds.flatMap((seed) =>
    (["base", "ablation"] as const).map((side) => ({ seed, side }))
  );
  log(
    `ablate: ${ids.ablation} vs. ${ids.base}, ${options.seeds} seeds, ${parallel} at a time, into ${options.out}`,
  );
  const outcomes = await runPool(jobs, parallel, async ({ seed, side }) => {
    const out = seedDir(options.out, side, seed);
    const file = side === "base" ? baseFile : ablationFile;
    const existing = await findRunDir(out);
    let info: RunInfo | null = null;
    if (existing) {
      try {
        info = await readRunInfo(existing);
      } catch { /* a broken run.json: start over below */ }
    }
    const label = `${side} seed ${seed}`;
    if (existing && info && finished(info, options)) {
      log(`ablate: ${label}: finished (${info.status} at iteration ${info.iteration}), skipped`);
      return { seed, side, code: 0 };
    }
    const resume = existing && info ? existing : null;
    const budget: string[] = [];
    if (options.maxSteps !== undefined) {
      budget.push("--max-steps", String(options.maxSteps - (resume ? info!.iteration : 0)));
    }
    if (options.maxSeconds !== undefined) {
      const left = Math.max(1, Math.ceil(options.maxSeconds - (resume ? info!.elapsedSeconds : 0)));
      budget.push("--max-time", `${left}s`);
    }
    const args = resume ? ["--resume", resume, ...budget, ...(options.trainArgs ?? [])] : [
      file,
      "--set",
      `trainer.seed=${seed}`,
      ...budget,
      ...(options.trainArgs ?? []),
      "--out",
      out,
    ];
    log(`ablate: ${label}: ${resume ? `resuming ${resume}` : "started"}`);
    const seconds = live ? 0 : options.progressSeconds ?? DEFAULT_PROGRESS_SECONDS;
    const r = await withProgress(
      out,
      { seconds, log: (l) => log(`ablate: ${label}: ${l}`) },
      () => runner({ args, out, live }),
    );
    log(
      `ablate: ${label}: ${
        r.code === 0 ? "done" : `FAILED (exit ${r.code}${live ? "" : `, see ${out}/train.log`})`
      } in ${r.seconds.toFixed(1)} s`,
    );
    return { seed, side, code: r.code };
  });

  return await collect(baseFile, ablationFile, options, { ids, parallel, seeds, log }, outcomes);
}

/**
 * Compute, print-ready and write the statistics of the runs under
 * `options.out`, with the exit codes known from this invocation.
 */
async function collect(
  baseFile: string,
  ablationFile: string,
  options: AblateOptions,
  { ids, seeds }: Prepared,
  outcomes: readonly { seed: number; side: "base" | "ablation"; code: number }[],
): Promise<AblateResult> {
  // Collect each run's diagnostics.
  const runs: AblateResult["runs"] = [];
  const records: Record<"base" | "ablation", DiagnosticsRecord[][]> = { base: [], ablation: [] };
  for (const seed of seeds) {
    const row = { seed } as AblateResult["runs"][number];
    for (const side of ["base", "ablation"] as const) {
      const runDir = await findRunDir(seedDir(options.out, side, seed));
      let info: RunInfo | null = null;
      let recs: DiagnosticsRecord[] = [];
      if (runDir) {
        try {
          info = await readRunInfo(runDir);
        } catch { /* reported as no status */ }
        recs = await readDiagnostics(join(runDir, DIAGNOSTICS_FILES.records));
      }
      records[side][seed] = recs;
      row[side] = {
        runDir,
        status: info?.status ?? null,
        iteration: info?.iteration ?? 0,
        code: outcomes.find((o) => o.seed === seed && o.side === side)?.code ?? 0,
        collapsed: recs.some((r) => r.collapsed || r.warning !== undefined),
      };
    }
    runs.push(row);
  }
  const names = new Set<string>();
  for (const side of ["base", "ablation"] as const) {
    for (const recs of records[side]) {
      const last = recs?.at(-1);
      if (last) Object.keys(diagnosticValues(last)).forEach((n) => names.add(n));
    }
  }
  const diagnostics: DiagnosticStats[] = [];
  for (const name of names) {
    const a: number[] = [], b: number[] = [];
    for (const seed of seeds) {
      const vb = records.base[seed]?.at(-1), va = records.ablation[seed]?.at(-1);
      const x = vb ? diagnosticValues(vb)[name] : undefined;
      const y = va ? diagnosticValues(va)[name] : undefined;
      if (x !== undefined && y !== undefined && Number.isFinite(x) && Number.isFinite(y)) {
        a.push(x);
        b.push(y);
      }
    }
    if (a.length > 0) {
      diagnostics.push(
        pairedStats(name, a, b, options.resamples ? { resamples: options.resamples } : {}),
      );
    }
  }
  const collapse = {
    base: runs.filter((r) => r.base.collapsed).length,
    ablation: runs.filter((r) => r.ablation.collapsed).length,
  };
  const markdown = ablationMarkdown(ids, diagnostics, collapse, options.seeds);
  const files = {
    markdown: join(options.out, "ablate.md"),
    png: join(options.out, "ablate.png"),
    json: join(options.out, "ablate.json"),
  };
  await Deno.writeTextFile(files.markdown, markdown + `\n![ablation](ablate.png)\n`);

  // Picture: per-seed label-sensitivity curves of both, then the forest plot.
  const colors: Record<"base" | "ablation", Rgb> = { base: COLORS.blue, ablation: COLORS.orange };
  const curves = seeds.map((seed) => ({
    seed,
    base: curveOf(records.base[seed] ?? []),
    ablation: curveOf(records.ablation[seed] ?? []),
  }));
  const series = curves.flatMap((c) =>
    (["base", "ablation"] as const).map((side) => ({
      x: c[side].iteration,
      y: c[side].labelSensitivity,
      color: colors[side],
    }))
  );
  const picture = stackCanvases([
    plotSeries(series, {
      title: `label sensitivity per seed (${options.seeds} seeds)`,
      legend: [
        { label: ids.base, color: colors.base },
        { label: ids.ablation, color: colors.ablation },
      ],
      reference: DEFAULT_COLLAPSE_THRESHOLD,
    }),
    plotForest(
      diagnostics.map((s) => ({
        label: s.name,
        estimate: s.difference.mean,
        low: s.difference.t.low,
        high: s.difference.t.high,
      })),
      { title: `${ids.ablation} - ${ids.base}: mean difference, 95% paired t interval` },
    ),
  ]);
  await Deno.writeFile(files.png, picture.toPng());
  const fromFile = (dir: string | null) => dir === null ? null : relative(options.out, dir);
  await Deno.writeTextFile(
    files.json,
    JSON.stringify(
      {
        format: "voxlab-ablate/1",
        title: `${ids.ablation} vs. ${ids.base}, ${options.seeds} seeds`,
        base: ids.base,
        ablation: ids.ablation,
        confidence: 0.95,
        seeds: runs.map((r) => ({
          seed: r.seed,
          base: fromFile(r.base.runDir),
          ablation: fromFile(r.ablation.runDir),
        })),
        curves: curves.flatMap((c) =>
          (["base", "ablation"] as const).map((arm) => ({
            metric: "labelSensitivity",
            seed: c.seed,
            arm,
            points: c[arm].iteration.map((it, i) => [it, c[arm].labelSensitivity[i]!]),
          }))
        ),
        differences: diagnostics.map((d) => ({
          metric: d.name,
          mean: d.difference.mean,
          low: d.difference.t.low,
          high: d.difference.t.high,
          n: d.n,
        })),
        files: { base: baseFile, ablation: ablationFile },
        budget: {
          ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
          ...(options.maxSeconds !== undefined ? { maxSeconds: options.maxSeconds } : {}),
        },
        trainArgs: options.trainArgs ?? [],
        runs,
        diagnostics,
        collapse,
      },
      (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
      2,
    ) + "\n",
  );
  return { runs, diagnostics, collapse, markdown, files };
}

function curveOf(recs: readonly DiagnosticsRecord[]): {
  iteration: number[];
  labelSensitivity: number[];
} {
  return {
    iteration: recs.map((r) => r.iteration),
    labelSensitivity: recs.map((r) => r.labelSensitivity),
  };
}

/** Options of {@linkcode runAblationOnSlurm}: an ablation's, plus the SLURM launcher's. */
export interface SlurmAblateOptions
  extends Omit<AblateOptions, "runner" | "live">, Omit<LaunchOptions, "dir" | "parallel" | "log"> {}

/** What {@linkcode runAblationOnSlurm} and {@linkcode attachSlurmAblation} return. */
export interface SlurmAblateResult {
  /** What the launcher did, and every run's state (array index = seed × 2, +1 for the ablation). */
  launch: LaunchResult;
  /** The statistics, or null while the job still runs (detached, submitted, dry run). */
  result: AblateResult | null;
}

/** What an ablation on SLURM keeps in its directory, so `--attach` and a re-run know it. */
interface SlurmAblationPlan {
  base: string;
  ablation: string;
  seeds: number;
  maxSteps?: number;
  maxSeconds?: number;
  trainArgs: string[];
}

/** The file holding a SLURM ablation's plan. */
export const SLURM_ABLATION_PLAN = "ablate-slurm.json";

/** One array task per seed and side: index `2·seed` for the base, `2·seed + 1` for the ablation. */
function slurmPoints(plan: SlurmAblationPlan, out: string): SlurmPoint[] {
  const budget = [
    ...(plan.maxSteps !== undefined ? ["--max-steps", String(plan.maxSteps)] : []),
    ...(plan.maxSeconds !== undefined ? ["--max-time", `${Math.ceil(plan.maxSeconds)}s`] : []),
  ];
  return Array.from(
    { length: plan.seeds },
    (_, seed) =>
      (["base", "ablation"] as const).map((side, i) => ({
        index: 2 * seed + i,
        name: `${side}-seed-${seed}`,
        out: seedDir(out, side, seed),
        args: [plan[side], "--set", `trainer.seed=${seed}`, ...budget, ...plan.trainArgs],
      })),
  ).flat();
}

async function finishOnSlurm(
  plan: SlurmAblationPlan,
  options: AblateOptions,
  prepared: Prepared,
  launch: LaunchResult,
): Promise<SlurmAblateResult> {
  if (!["finished", "cancelled", "nothing-to-do"].includes(launch.outcome)) {
    return { launch, result: null };
  }
  const outcomes = launch.points.map((p) => ({
    seed: Math.floor(p.point.index / 2),
    side: p.point.index % 2 === 0 ? "base" as const : "ablation" as const,
    code: p.status.state === "done" ? 0 : p.status.exitCode || 1,
  }));
  return { launch, result: await collect(plan.base, plan.ablation, options, prepared, outcomes) };
}

/**
 * {@linkcode runAblation} on SLURM: every seed of both experiments as one job
 * array (`lib/runs/slurm/`, `parallel` at a time), watched unless detached,
 * then the same statistics and files. The output directory has the local
 * layout, so either route can continue the other's ablation; re-running
 * submits only the runs that are missing, failed or unfinished.
 *
 * @throws {AblateError} for bad settings, or a directory holding another ablation.
 * @throws {SlurmError} for bad SLURM options, SLURM not answering, or sbatch refusing.
 */
export async function runAblationOnSlurm(
  baseFile: string,
  ablationFile: string,
  options: SlurmAblateOptions,
): Promise<SlurmAblateResult> {
  const prepared = await prepare(baseFile, ablationFile, options);
  const out = resolve(options.out);
  const plan: SlurmAblationPlan = {
    base: resolve(baseFile),
    ablation: resolve(ablationFile),
    seeds: options.seeds,
    ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
    ...(options.maxSeconds !== undefined ? { maxSeconds: options.maxSeconds } : {}),
    trainArgs: [...(options.trainArgs ?? [])],
  };
  const before = await readSlurmPlan(out);
  if (before && JSON.stringify(before) !== JSON.stringify(plan)) {
    throw new AblateError(
      `Cannot run ablation into '${out}': it holds another one (its ${SLURM_ABLATION_PLAN} names ` +
        "other experiments, seeds, budget or arguments); choose another --out",
    );
  }
  prepared.log(
    `ablate: ${prepared.ids.ablation} vs. ${prepared.ids.base}, ${options.seeds} seeds on SLURM, into ${out}`,
  );
  if (!options.dryRun) {
    await Deno.mkdir(out, { recursive: true });
    await Deno.writeTextFile(join(out, SLURM_ABLATION_PLAN), JSON.stringify(plan, null, 2) + "\n");
  }
  const launch = await runOnSlurm(slurmPoints(plan, out), {
    ...options,
    dir: out,
    log: prepared.log,
    ...(options.parallel !== undefined ? { parallel: prepared.parallel } : {}),
  });
  return await finishOnSlurm(plan, { ...options, out }, prepared, launch);
}

/**
 * Watch the SLURM job of the ablation in `dir` again and end with its statistics.
 *
 * @throws {AblateError} when `dir` holds no SLURM ablation.
 */
export async function attachSlurmAblation(
  dir: string,
  options: Omit<LaunchOptions, "dir"> & { resamples?: number } = {},
): Promise<SlurmAblateResult> {
  const out = resolve(dir);
  const plan = await readSlurmPlan(out);
  if (!plan) throw new AblateError(`Cannot attach: '${out}' holds no ${SLURM_ABLATION_PLAN}`);
  const ablateOptions: AblateOptions = {
    seeds: plan.seeds,
    out,
    ...(plan.maxSteps !== undefined ? { maxSteps: plan.maxSteps } : {}),
    ...(plan.maxSeconds !== undefined ? { maxSeconds: plan.maxSeconds } : {}),
    trainArgs: plan.trainArgs,
    ...(options.resamples !== undefined ? { resamples: options.resamples } : {}),
    ...(options.log ? { log: options.log } : {}),
  };
  const prepared = await prepare(plan.base, plan.ablation, ablateOptions);
  const launch = await attachSlurm(slurmPoints(plan, out), { ...options, dir: out });
  return await finishOnSlurm(plan, ablateOptions, prepared, launch);
}

async function readSlurmPlan(dir: string): Promise<SlurmAblationPlan | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, SLURM_ABLATION_PLAN));
  } catch {
    return null;
  }
  try {
    const p = JSON.parse(text) as SlurmAblationPlan;
    if (
      typeof p.base !== "string" || typeof p.ablation !== "string" || !Number.isInteger(p.seeds)
    ) {
      throw new Error("incomplete");
    }
    return { ...p, trainArgs: p.trainArgs ?? [] };
  } catch (e) {
    throw new AblateError(
      `Cannot read '${join(dir, SLURM_ABLATION_PLAN)}': ${(e as Error).message}`,
    );
  }
}
