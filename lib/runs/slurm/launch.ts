/**
 * Run a list of training points as one SLURM job array and watch it: the
 * launcher behind `deno task sweep --launcher slurm` (and any other command
 * that trains several runs, such as an ablation's seeds).
 *
 * `runOnSlurm` decides per point (missing or failed: start; unfinished:
 * `--resume`; done: skip), checks the paths the tasks need, writes
 * `<dir>/sweep.sbatch`, submits it, records the job in `<dir>/slurm.json`
 * and watches it. `attachSlurm` watches the last job again.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { userCacheDir } from "../../data/cache.ts";
import { sbatchOptionLines, SlurmError, type SlurmOptions } from "./options.ts";
import {
  jobScript,
  type ScriptEnvironment,
  shellQuote,
  type SlurmPoint,
  taskCommand,
} from "./script.ts";
import { checkSharedPaths, type SharedPath } from "./shared_fs.ts";
import { planPoints, type PointStatus, readPointStatus } from "./state.ts";
import { partitionNodes, queuedTasks, slurmUnavailable, submit } from "./scheduler.ts";
import { describeFailure, type WatchedPoint, watchJob, type WatchOptions } from "./watch.ts";

/** The file, in the sweep directory, that records the jobs submitted for it. */
export const SLURM_RECORD = "slurm.json";
/** The job script's name in the sweep directory. */
export const SLURM_SCRIPT = "sweep.sbatch";

/** One submission, as recorded in `slurm.json`. */
export interface SlurmJobRecord {
  /** The job id. */
  id: string;
  /** When it was submitted, ISO 8601. */
  submitted: string;
  /** The points it runs (array index = point index), with the arguments they were given. */
  points: SlurmPoint[];
}

/** Options for {@linkcode runOnSlurm}. */
export interface LaunchOptions extends SlurmOptions, WatchOptions {
  /** The sweep directory (absolute): the script, `slurm.json` and the points' directories. */
  dir: string;
  /**
   * Print the script and the commands, write and submit nothing.
   * @default {false}
   */
  dryRun?: boolean;
  /**
   * Submit, then return without watching.
   * @default {false}
   */
  detach?: boolean;
  /**
   * Other paths the tasks read (e.g. the dataset), for the shared-filesystem check.
   * @default {[]}
   */
  shared?: readonly SharedPath[];
  /**
   * Programs and caches the tasks use.
   * @default {this deno, this repository, its lib/runs/train_main.ts, `deno info`'s cache, the data cache's parent}
   */
  environment?: Partial<ScriptEnvironment>;
}

/** A point's outcome. */
export interface LaunchedPoint extends WatchedPoint {
  /** Whether this launch submitted it (false: it was done already, or a dry run). */
  submitted: boolean;
}

/** What {@linkcode runOnSlurm} and {@linkcode attachSlurm} return. */
export interface LaunchResult {
  /** The job watched, or null when nothing was submitted. */
  jobId: string | null;
  /** How watching ended; `dry-run` and `nothing-to-do` submit nothing. */
  outcome: "finished" | "detached" | "cancelled" | "submitted" | "dry-run" | "nothing-to-do";
  /** Every point, in the order given. */
  points: LaunchedPoint[];
}

const REPO = dirname(dirname(dirname(dirname(fileURLToPath(import.meta.url)))));

async function denoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdin: "null" })
    .output();
  try {
    return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  } catch {
    throw new SlurmError("Cannot find Deno's cache directory: 'deno info --json' failed");
  }
}

/** The environment the tasks run in, with defaults filled in. */
async function environment(dir: string, given: Partial<ScriptEnvironment> = {}) {
  const repo = given.repo ?? REPO;
  return {
    deno: given.deno ?? Deno.execPath(),
    repo,
    trainScript: given.trainScript ?? join(repo, "lib", "runs", "train_main.ts"),
    denoDir: given.denoDir ?? await denoDir(),
    cacheHome: given.cacheHome ?? dirname(userCacheDir()),
    dir,
  } satisfies ScriptEnvironment;
}

/** Read `slurm.json` (an empty record when absent). */
export async function readSlurmRecord(dir: string): Promise<{ jobs: SlurmJobRecord[] }> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, SLURM_RECORD));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { jobs: [] };
    throw e;
  }
  try {
    const record = JSON.parse(text) as { jobs: SlurmJobRecord[] };
    if (!Array.isArray(record.jobs)) throw new Error("no 'jobs' list");
    return record;
  } catch (e) {
    throw new SlurmError(`Cannot read '${join(dir, SLURM_RECORD)}': ${(e as Error).message}`);
  }
}

/** Refuse to submit while a job of this sweep is still queued. */
async function refuseIfQueued(dir: string): Promise<void> {
  const last = (await readSlurmRecord(dir)).jobs.at(-1);
  if (!last) return;
  const queued = await queuedTasks(last.id);
  if (queued.size > 0) {
    throw new SlurmError(
      `Cannot submit: job ${last.id} of this sweep still has ${queued.size} task(s) queued or running; ` +
        `watch it with --attach ${dir}, or scancel ${last.id} first`,
    );
  }
}

/**
 * Run `points` on SLURM as one job array, `parallel` at a time, and watch
 * them (unless `detach` or `dryRun`). Points already done are skipped;
 * unfinished ones continue with `--resume`.
 *
 * @throws {SlurmError} for bad options, SLURM not answering, a missing path, or sbatch refusing.
 */
export async function runOnSlurm(
  points: readonly SlurmPoint[],
  options: LaunchOptions,
): Promise<LaunchResult> {
  const log = options.log ?? ((l: string) => console.log(l));
  sbatchOptionLines(options); // bad options fail before anything else
  if (!options.dryRun) {
    const why = await slurmUnavailable();
    if (why) throw new SlurmError(`Cannot submit to SLURM: ${why}`);
    await refuseIfQueued(options.dir);
  }
  const env = await environment(options.dir, options.environment);
  const plan = await planPoints(points);
  const toSubmit = plan.filter((p) => p.submit).map((p) => p.point);
  for (const p of plan) {
    const s = p.status;
    if (s.state === "done") log(`slurm: ${p.point.name}: done at iteration ${s.iteration}, kept`);
    else if (s.state === "unfinished") {
      log(`slurm: ${p.point.name}: unfinished at iteration ${s.iteration}, resumes`);
    } else if (s.state === "failed") {
      log(`slurm: ${p.point.name}: ${describeFailure(s)}; runs again`);
    }
  }
  const result = (
    outcome: LaunchResult["outcome"],
    jobId: string | null,
    watched: WatchedPoint[] = [],
  ): LaunchResult => ({
    jobId,
    outcome,
    points: plan.map((p) => {
      const w = watched.find((x) => x.point.index === p.point.index);
      return w ? { ...w, submitted: true } : {
        point: p.point,
        status: p.status,
        scheduler: null,
        submitted: false,
      };
    }),
  });
  if (toSubmit.length === 0) {
    log("slurm: every point is done; nothing to submit");
    return result("nothing-to-do", null);
  }
  const script = jobScript(toSubmit, env, options);
  const scriptPath = join(options.dir, SLURM_SCRIPT);
  if (options.dryRun) {
    log(`slurm: dry run: would write ${scriptPath}:\n`);
    log(script);
    log(`slurm: would submit: sbatch --parsable ${shellQuote(scriptPath)}`);
    log(`slurm: ${toSubmit.length} task(s) would run, each in its point's directory:`);
    for (const p of toSubmit) {
      log(`  [${p.index}] ${taskCommand(p, env).map(shellQuote).join(" ")} >> ${p.out}/train.log`);
    }
    return result("dry-run", null);
  }

  await Deno.mkdir(join(options.dir, "slurm"), { recursive: true });
  for (const p of toSubmit) await Deno.mkdir(p.out, { recursive: true });
  const shared = await checkSharedPaths([
    { what: "repository", path: env.repo },
    { what: "deno", path: env.deno },
    { what: "sweep dir", path: options.dir },
    ...(options.shared ?? []),
    { what: "data cache", path: join(env.cacheHome, "voxlab"), required: false },
    { what: "Deno cache", path: env.denoDir },
  ], await partitionNodes(options.partition));
  log(
    "slurm: the tasks use these paths; on a cluster every compute node must see them, at the same path:",
  );
  for (const l of shared.lines) log(l);
  for (const w of shared.warnings) log(`slurm: warning: ${w}`);

  // Compute nodes may have no internet: fetch training's modules into the shared cache here.
  const cached = await new Deno.Command(env.deno, {
    args: ["cache", env.trainScript],
    env: { DENO_DIR: env.denoDir },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!cached.success) {
    const first = new TextDecoder().decode(cached.stderr).trim().split("\n").at(-1);
    log(
      `slurm: warning: 'deno cache ${env.trainScript}' failed (${first}); tasks may need the network`,
    );
  }

  await Deno.writeTextFile(scriptPath, script);
  const id = await submit(scriptPath, options.dir);
  const record = await readSlurmRecord(options.dir);
  record.jobs.push({ id, submitted: new Date().toISOString(), points: toSubmit });
  await Deno.writeTextFile(join(options.dir, SLURM_RECORD), JSON.stringify(record, null, 2) + "\n");
  log(
    `slurm: submitted job ${id}: ${toSubmit.length} task(s)${
      options.parallel ? `, ${options.parallel} at a time` : ""
    } (${scriptPath})`,
  );
  if (options.detach) return result("submitted", id);
  const watched = await watchJob(id, toSubmit, options);
  return result(watched.outcome, id, watched.points);
}

/**
 * Watch the last job submitted for the sweep in `dir` again, until its tasks
 * leave the queue; returns every point of `points` with its state.
 *
 * @throws {SlurmError} when `dir` has no job record.
 */
export async function attachSlurm(
  points: readonly SlurmPoint[],
  options: WatchOptions & { dir: string },
): Promise<LaunchResult> {
  const last = (await readSlurmRecord(options.dir)).jobs.at(-1);
  if (!last) {
    throw new SlurmError(
      `Cannot attach: '${options.dir}' has no ${SLURM_RECORD} (not a SLURM sweep)`,
    );
  }
  (options.log ?? console.log)(`slurm: watching job ${last.id} (submitted ${last.submitted})`);
  const watched = await watchJob(last.id, last.points, options);
  const out: LaunchedPoint[] = [];
  for (const point of points) {
    const w = watched.points.find((x) => x.point.index === point.index);
    const status: PointStatus = w?.status ?? await readPointStatus(point.out);
    out.push({ point: w?.point ?? point, status, scheduler: w?.scheduler ?? null, submitted: !!w });
  }
  return { jobId: last.id, outcome: watched.outcome, points: out };
}
