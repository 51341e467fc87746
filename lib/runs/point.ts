/**
 * Running one training job of a batch of runs (an ablation's seed) as its
 * own process, as `runSweep` runs a grid point. A runner is a function, so
 * another launcher (a cluster scheduler) can take the local one's place.
 *
 * The local runner starts `lib/runs/train_main.ts` with the job's arguments
 * (the flags of `deno task train`), so runs cannot disturb each other's tfjs
 * state and a crash stops only its own run.
 *
 * @module
 */

/**
 * The newest directory holding `config.yaml` at or below `dir` (up to 3
 * levels): the run a sweep point's training made under its `--out`.
 */
export async function findRunDir(dir: string, depth = 3): Promise<string | null> {
  try {
    if ((await Deno.stat(`${dir}/config.yaml`)).isFile) return dir;
  } catch { /* not here */ }
  if (depth === 0) return null;
  const children: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) children.push(e.name);
  } catch {
    return null;
  }
  for (const name of children.sort().reverse()) {
    const found = await findRunDir(`${dir}/${name}`, depth - 1);
    if (found) return found;
  }
  return null;
}

/** One training job. */
export interface PointJob {
  /** Arguments of `lib/runs/train_main.ts`: the experiment file (or `--resume <dir>`) and flags. */
  args: readonly string[];
  /** The job's `--out` directory (runs are created below it); also where `train.log` goes. */
  out: string;
  /** Show the run's output live instead of writing it to `<out>/train.log`. */
  live: boolean;
}

/** How a job ended. */
export interface PointOutcome {
  /** The training process's exit code. */
  code: number;
  /** Wall seconds. */
  seconds: number;
  /** The run directory found under `out` (holding `config.yaml`), or null. */
  runDir: string | null;
}

/** Runs one job to its end. */
export type PointRunner = (job: PointJob) => Promise<PointOutcome>;

/** Options of {@linkcode localRunner}. */
export interface LocalRunnerOptions {
  /**
   * The training entry point.
   * @default {lib/runs/train_main.ts}
   */
  trainScript?: string;
}

/**
 * A runner that starts each job as a local `deno run -A <train script>` process.
 *
 * @example
 * ```ts ignore
 * const run = localRunner();
 * const { code, runDir } = await run({ args: ["exp.ts", "--max-steps", "5", "--out", "o"], out: "o", live: true });
 * ```
 */
export function localRunner(options: LocalRunnerOptions = {}): PointRunner {
  const script = options.trainScript ?? new URL("./train_main.ts", import.meta.url).pathname;
  return async (job) => {
    await Deno.mkdir(job.out, { recursive: true });
    const args = ["run", "-A", script, ...job.args];
    const t0 = performance.now();
    let code: number;
    if (job.live) {
      // `output()` would pipe (and drop) the run's output: inherit it to show it live.
      const child = new Deno.Command(Deno.execPath(), {
        args,
        stdin: "null",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      code = (await child.status).code;
    } else {
      // stdout and stderr both go to train.log, through two append handles.
      const logPath = `${job.out}/train.log`;
      await Deno.writeTextFile(logPath, "", { append: true });
      const child = new Deno.Command(Deno.execPath(), {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const sink = async () => (await Deno.open(logPath, { append: true })).writable;
      await Promise.all([child.stdout.pipeTo(await sink()), child.stderr.pipeTo(await sink())]);
      code = (await child.status).code;
    }
    return { code, seconds: (performance.now() - t0) / 1000, runDir: await findRunDir(job.out) };
  };
}

/** Run `jobs` with at most `parallel` at once; results in job order. */
export async function runPool<T, R>(
  jobs: readonly T[],
  parallel: number,
  run: (job: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await run(jobs[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  return out;
}
