/**
 * The board's index of a runs directory: every run folder below it (found by
 * its `run.json` or `config.yaml`), each with a summary for the runs list and
 * its `metrics.jsonl` / `diagnostics.jsonl` read incrementally
 * ({@linkcode JsonlTail}), so a poll costs the bytes appended since the last
 * one, not the whole file. A folder that cannot be read is a broken entry
 * with the reason; it never stops the index.
 *
 * @module
 */

import { join, relative } from "node:path";
import type { DiagnosticsRecord } from "../eval/diagnostics/evaluate.ts";
import { DIAGNOSTICS_FILES } from "../eval/diagnostics/records.ts";
import type { MetricsRecord } from "../train/metrics.ts";
import { diff, formatDiff } from "../experiment/diff.ts";
import type { RunInfo } from "../runs/report.ts";
import { readRunConfig, readRunInfo, RUN_FILES } from "../runs/run_dir.ts";
import type { Experiment } from "../experiment/types.ts";
import { JsonlTail } from "./jsonl.ts";

/** A run's status as the board shows it. */
export type BoardStatus =
  | "running"
  | "finished"
  | "interrupted"
  | "failed"
  | "collapsed"
  | "broken";

/** One entry of the runs list (`GET /api/runs`). */
export interface RunSummary {
  /** The run's path relative to the runs directory, e.g. `9ada9179/20261126-101939`: its id. */
  id: string;
  /** Why the folder could not be read; the other fields are then mostly empty. */
  broken?: string;
  /** Experiment id (`meta.id`). */
  experiment: string;
  /** Experiment title. */
  title: string;
  /** The base experiment's id, or null. */
  base: string | null;
  /** The config differences from the base's latest stopped run in this folder (else its latest running one), as `path: a -> b` lines; null when no run of the base is here. */
  diffToBase: string[] | null;
  /** The base run the diff was taken against (its id). */
  baseRun: string | null;
  /** Status (see {@linkcode boardStatus}). */
  status: BoardStatus;
  /** One line on the status (how it ended, or how long since it last wrote). */
  statusMessage: string;
  /** Whether the training process still writes to it. */
  live: boolean;
  /** Iterations done (the last `metrics.jsonl` record, else `run.json`). */
  iteration: number;
  /** Iterations of the full run. */
  totalIterations: number;
  /** Whether `checkpoint.vxck` exists. */
  checkpoint: boolean;
  /** The last diagnostics record, or null. */
  diagnostics: DiagnosticsRecord | null;
  /** Start time, ISO 8601. */
  started: string;
  /** Training seconds. */
  elapsedSeconds: number;
  /** The trainer's seed. */
  seed: number | null;
  /** Milliseconds since epoch of the last write to `metrics.jsonl` or `run.json`. */
  updated: number;
  /** Whether `report.md` exists. */
  report: boolean;
}

/** Options for {@linkcode RunIndex}. */
export interface RunIndexOptions {
  /**
   * Folder levels searched below the runs directory: 6 reaches an ablation's runs
   * (`ablations/<name>/<arm>/seed-<s>/<id>/<stamp>`); the search stops at a run folder.
   * @default {6}
   */
  depth?: number;
  /**
   * Minutes without a write after which a run whose `run.json` still says
   * "running" is shown as interrupted (its process is gone).
   * @default {30}
   */
  staleMinutes?: number;
}

/** A run folder with its incremental readers. */
export interface IndexedRun {
  /** Its id (relative path). */
  id: string;
  /** Its absolute path. */
  dir: string;
  /** `metrics.jsonl`, read incrementally. */
  metrics: JsonlTail<MetricsRecord>;
  /** `diagnostics.jsonl`, read incrementally. */
  diagnostics: JsonlTail<DiagnosticsRecord>;
}

/** How a run's `run.json` status and its diagnostics map to the board's status. */
export function boardStatus(
  info: Pick<RunInfo, "status" | "statusMessage">,
  options: { collapsed: boolean; idleMinutes: number; staleMinutes: number },
): { status: BoardStatus; message: string; live: boolean } {
  const live = info.status === "running" && options.idleMinutes < options.staleMinutes;
  let status: BoardStatus;
  let message = info.statusMessage;
  switch (info.status) {
    case "running":
      status = live ? "running" : "interrupted";
      if (!live) {
        message = `run.json says running, but nothing was written for ${
          Math.round(options.idleMinutes)
        } min (process gone?)`;
      }
      break;
    case "non-finite":
      status = "failed";
      break;
    case "signal":
      status = "interrupted";
      break;
    default:
      status = "finished";
      if (!message && (info.status === "max-steps" || info.status === "max-time")) {
        message = `stopped at ${info.status}`;
      }
  }
  if (options.collapsed && status !== "failed" && status !== "running") status = "collapsed";
  if (options.collapsed && !message) message = "the generator ignores its labels";
  return { status, message, live };
}

/** The runs below a folder, rescanned on demand. */
export class RunIndex {
  /** The runs directory (absolute). */
  readonly root: string;
  readonly #depth: number;
  readonly #staleMinutes: number;
  #runs = new Map<string, IndexedRun>();
  #ablations: string[] = [];
  #configs = new Map<string, { mtime: number; config: Experiment }>();

  /** An index of `root` (scanned by {@linkcode scan}). */
  constructor(root: string, options: RunIndexOptions = {}) {
    this.root = root;
    this.#depth = options.depth ?? 6;
    this.#staleMinutes = options.staleMinutes ?? 30;
  }

  /** Find run folders and `ablate.json` files (symlinks are not followed; dot-folders skipped). */
  async scan(): Promise<void> {
    const found = new Set<string>();
    const ablations: string[] = [];
    const walk = async (dir: string, level: number) => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch {
        return;
      }
      const names = new Set(entries.map((e) => e.name));
      if (dir !== this.root && (names.has(RUN_FILES.info) || names.has(RUN_FILES.config))) {
        found.add(relative(this.root, dir));
        return;
      }
      for (const e of entries) {
        if (e.isFile && (e.name === "ablate.json" || e.name.endsWith(".ablate.json"))) {
          ablations.push(relative(this.root, join(dir, e.name)));
        }
        if (e.isDirectory && !e.name.startsWith(".") && level < this.#depth) {
          await walk(join(dir, e.name), level + 1);
        }
      }
    };
    await walk(this.root, 0);
    for (const id of [...this.#runs.keys()]) if (!found.has(id)) this.#runs.delete(id);
    for (const id of found) {
      if (this.#runs.has(id)) continue;
      const dir = join(this.root, id);
      this.#runs.set(id, {
        id,
        dir,
        metrics: new JsonlTail(join(dir, RUN_FILES.metrics)),
        diagnostics: new JsonlTail(join(dir, DIAGNOSTICS_FILES.records)),
      });
    }
    this.#ablations = ablations.sort();
  }

  /** The ids of the indexed runs, sorted. */
  ids(): string[] {
    return [...this.#runs.keys()].sort();
  }

  /** The `ablate.json` files found by the last scan (relative paths). */
  ablations(): string[] {
    return [...this.#ablations];
  }

  /** The indexed run with this id, or undefined (ids come only from the scan, never from a path). */
  get(id: string): IndexedRun | undefined {
    return this.#runs.get(id);
  }

  /** A run's resolved config, re-read only when `config.yaml` changed. */
  async config(run: IndexedRun): Promise<Experiment> {
    const mtime = (await Deno.stat(join(run.dir, RUN_FILES.config))).mtime?.getTime() ?? 0;
    const cached = this.#configs.get(run.id);
    if (cached && cached.mtime === mtime) return cached.config;
    const config = await readRunConfig(run.dir);
    this.#configs.set(run.id, { mtime, config });
    return config;
  }

  /** Summaries of every run (broken ones included), after a rescan. */
  async summaries(): Promise<RunSummary[]> {
    await this.scan();
    const out: RunSummary[] = [];
    for (const id of this.ids()) out.push(await this.summary(this.#runs.get(id)!));
    // Diffs to the base need every run's experiment, so they come second.
    for (const s of out) await this.#addDiffToBase(s, out);
    return out;
  }

  /** One run's summary with its diff to the base's latest run (after a rescan). */
  async summaryWithDiff(run: IndexedRun): Promise<RunSummary> {
    return (await this.summaries()).find((s) => s.id === run.id) ?? await this.summary(run);
  }

  async #addDiffToBase(s: RunSummary, all: readonly RunSummary[]): Promise<void> {
    if (s.broken || !s.base) return;
    // The base's latest run that has stopped, else its latest running one.
    const candidates = all.filter((o) => !o.broken && o.experiment === s.base);
    const stopped = candidates.filter((o) => !o.live);
    const baseRun = (stopped.length ? stopped : candidates)
      .sort((x, y) => x.started.localeCompare(y.started) || x.id.localeCompare(y.id)).at(-1);
    if (!baseRun) return;
    try {
      const [a, b] = await Promise.all([
        this.config(this.#runs.get(baseRun.id)!),
        this.config(this.#runs.get(s.id)!),
      ]);
      const entries = diff(a, b);
      s.diffToBase = entries.length ? formatDiff(entries).split("\n") : [];
      s.baseRun = baseRun.id;
    } catch { /* the base's config is unreadable: it shows as broken itself */ }
  }

  /** One run's summary; a folder that cannot be read gives a broken entry. */
  async summary(run: IndexedRun): Promise<RunSummary> {
    const empty: RunSummary = {
      id: run.id,
      experiment: run.id.split("/")[0] ?? run.id,
      title: "",
      base: null,
      diffToBase: null,
      baseRun: null,
      status: "broken",
      statusMessage: "",
      live: false,
      iteration: 0,
      totalIterations: 0,
      checkpoint: false,
      diagnostics: null,
      started: "",
      elapsedSeconds: 0,
      seed: null,
      updated: 0,
      report: false,
    };
    try {
      const info = await readRunInfo(run.dir);
      if (typeof info !== "object" || info === null || typeof info.status !== "string") {
        throw new Error(`Cannot read run '${run.dir}': run.json has no status`);
      }
      const config = await this.config(run);
      await Promise.all([run.metrics.update(), run.diagnostics.update()]);
      const lastDiag = run.diagnostics.records.at(-1) ?? null;
      const mtimes = await Promise.all(
        [RUN_FILES.metrics, RUN_FILES.info].map((f) =>
          Deno.stat(join(run.dir, f)).then((s) => s.mtime?.getTime() ?? 0, () => 0)
        ),
      );
      const updated = Math.max(...mtimes);
      const exists = (f: string) => Deno.stat(join(run.dir, f)).then(() => true, () => false);
      const s = boardStatus(info, {
        collapsed: lastDiag?.collapsed ?? false,
        idleMinutes: (Date.now() - updated) / 60000,
        staleMinutes: this.#staleMinutes,
      });
      const last = run.metrics.records.at(-1);
      return {
        ...empty,
        experiment: config.meta.id,
        title: config.meta.title ?? "",
        base: config.meta.base ?? null,
        status: s.status,
        statusMessage: s.message,
        live: s.live,
        iteration: last?.iteration ?? info.iteration ?? 0,
        totalIterations: info.totalIterations ?? 0,
        checkpoint: await exists(RUN_FILES.checkpoint),
        diagnostics: lastDiag,
        started: info.started ?? "",
        elapsedSeconds: last?.elapsed ?? info.elapsedSeconds ?? 0,
        seed: config.trainer?.seed ?? null,
        updated,
        report: await exists(RUN_FILES.report),
      };
    } catch (e) {
      return { ...empty, broken: e instanceof Error ? e.message : String(e) };
    }
  }
}
