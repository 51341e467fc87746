/**
 * The SLURM launcher against a real SLURM (`tools/slurm/start-local.sh`
 * starts a single-node one): a 4-point tiny sweep with one task cancelled
 * mid-run and resubmitted, a time limit with `--signal`, and `--dry-run`.
 *
 * Without a SLURM that answers, the cluster tests are skipped with a notice;
 * with VOXLAB_REQUIRE_SLURM=1 (set by CI) they fail instead.
 */
import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { findRunDir, parseGrid } from "../lib/runs/sweep.ts";
import {
  attachSlurmSweep,
  cancel,
  jobScript,
  lastIteration,
  planPoints,
  readPointStatus,
  readSlurmRecord,
  resumeArgs,
  runOnSlurm,
  runSlurmSweep,
  SlurmError,
  slurmUnavailable,
} from "../lib/runs/slurm/mod.ts";
import { readMetrics } from "../lib/train/metrics.ts";
import { main as sweepMain } from "../tasks/sweep.ts";
import { main as ablateMain } from "../tasks/ablate.ts";
import { parseAblation } from "../lib/board/ablate.ts";
import { runAblationOnSlurm } from "../lib/runs/ablate.ts";
import { captured } from "./capture.ts";
import { tinyTrainArgs, writeTinyCorpus } from "./tiny_corpus.ts";

const EXPERIMENT = new URL("../experiments/9ada9179.ts", import.meta.url).pathname;
const BASE = new URL("../experiments/47c97768.ts", import.meta.url).pathname;
const unavailable = await slurmUnavailable();
const required = Deno.env.get("VOXLAB_REQUIRE_SLURM") === "1";
const skipped = unavailable !== null && !required;
/** Without SLURM the cluster tests are ignored; the reason goes into their names (shown even with --quiet). */
const skipNote = skipped
  ? ` [skipped: ${unavailable}; tools/slurm/start-local.sh starts one, VOXLAB_REQUIRE_SLURM=1 fails instead]`
  : "";
const cluster = { ignore: skipped, sanitizeResources: false };
const manifest = skipped ? "" : await writeTinyCorpus();

/** Tiny cpu runs: no samples or diagnostics before the end. */
const tinyArgs = (extra: string[]) =>
  tinyTrainArgs(manifest, ["--set", "trainer.sampleEvery=1000", ...extra]);

function assertSlurm(): void {
  if (unavailable) throw new Error(`SLURM is required (VOXLAB_REQUIRE_SLURM=1): ${unavailable}`);
}

async function waitFor(what: string, seconds: number, test: () => Promise<boolean>) {
  const end = Date.now() + seconds * 1000;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`Timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

Deno.test({
  name:
    "slurm: a 4-point sweep, 2 at a time; one task cancelled mid-run is the only one rerun, and it resumes" +
    skipNote,
  ...cluster,
  fn: async () => {
    assertSlurm();
    const dir = await Deno.makeTempDir({ prefix: "voxlab-slurm-" });
    try {
      const options = {
        grid: parseGrid(["losses.generator.reconstruction.weight=5,10", "trainer.seed=0,1"]),
        out: dir,
        trainArgs: tinyArgs(["--max-steps", "20"]),
        parallel: 2,
        interval: 500,
        log: () => {},
      };
      const first = await runSlurmSweep(EXPERIMENT, { ...options, detach: true });
      equal(first.launch.outcome, "submitted");
      match(await Deno.readTextFile(join(dir, "sweep.sbatch")), /^#SBATCH --array=0-3%2$/m);
      const target = join(dir, "01_weight=5_seed=0");
      await waitFor("point 01 to pass iteration 3", 90, async () => {
        const run = await findRunDir(target);
        return run !== null && await lastIteration(run) >= 3;
      });
      await cancel(`${first.launch.jobId}_0`);

      // Watch the rest; at most 2 tasks run at once, and 2 do at some point.
      let most = 0;
      const attached = await attachSlurmSweep(dir, {
        interval: 500,
        log: () => {},
        progress: (line) => {
          most = Math.max(most, Number(line.match(/(\d+) running/)?.[1] ?? 0));
        },
      });
      equal(attached.launch.outcome, "finished");
      equal(most, 2);
      const states = attached.launch.points.map((p) => p.status.state);
      deepEqual(states, ["unfinished", "done", "done", "done"]);
      const stopped = attached.launch.points[0]!;
      equal(stopped.status.info?.status, "signal");
      equal(stopped.scheduler?.state, "CANCELLED");
      const stoppedAt = stopped.status.iteration;
      ok(stoppedAt >= 3 && stoppedAt < 20, `stopped at ${stoppedAt}`);
      ok(attached.markdown !== null);

      // The same sweep again: only point 01 is submitted, and it resumes.
      const lines: string[] = [];
      const second = await runSlurmSweep(EXPERIMENT, {
        ...options,
        log: (l) => lines.push(l),
        progress: () => {},
      });
      equal(second.launch.outcome, "finished");
      deepEqual(second.launch.points.map((p) => p.submitted), [true, false, false, false]);
      deepEqual(second.launch.points.map((p) => p.status.state), ["done", "done", "done", "done"]);
      const resumed = second.launch.points[0]!;
      equal(resumed.status.runDir, stopped.status.runDir, "the same run directory");
      equal(resumed.status.info?.resumes, 1);
      equal(resumed.status.iteration, 20);
      deepEqual(resumed.point.args.slice(-4), [
        "--max-steps",
        String(20 - stoppedAt),
        "--resume",
        stopped.status.runDir!,
      ]);
      const its = (await readMetrics(join(resumed.status.runDir!, "metrics.jsonl")))
        .map((m) => m.iteration);
      deepEqual(its, Array.from({ length: 20 }, (_, i) => i + 1));
      ok(lines.some((l) => /01_weight=5_seed=0: unfinished at iteration \d+, resumes/.test(l)));
      equal((await readSlurmRecord(dir)).jobs.length, 2);

      // The comparison, as a local sweep ends: one column per point.
      const header = second.markdown!.split("\n").find((l) => l.includes("01_weight=5_seed=0"));
      deepEqual(header?.split("|").map((c) => c.trim()).filter((c) => c), [
        "01_weight=5_seed=0",
        "02_weight=5_seed=1",
        "03_weight=10_seed=0",
        "04_weight=10_seed=1",
      ]);
      match(
        second.markdown!,
        /\| losses\.generator\.reconstruction\.weight +\| 5 +\| 5 +\| 10 +\| 10 +\|/,
      );

      // Nothing left to do: a third run submits nothing.
      const third = await runSlurmSweep(EXPERIMENT, options);
      equal(third.launch.outcome, "nothing-to-do");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "slurm: --signal before a time limit stops training with a checkpoint (the re-run plan resumes it); a failed task is named by its log" +
    skipNote,
  ...cluster,
  fn: async () => {
    assertSlurm();
    const dir = await Deno.makeTempDir({ prefix: "voxlab-slurm-" });
    try {
      const point = {
        index: 0,
        name: "long",
        out: join(dir, "long"),
        args: [EXPERIMENT, ...tinyArgs(["--max-steps", "100000"])],
      };
      // Beside it, on the other CPU, a task that fails at once.
      const bad = {
        index: 1,
        name: "bad",
        out: join(dir, "bad"),
        args: [EXPERIMENT, ...tinyArgs(["--set", "trainer.batchSize=abc"])],
      };
      // SLURM's limit is 1 minute; the signal comes 10 s before it, or up to 60 s earlier.
      const events: string[] = [];
      const result = await runOnSlurm([point, bad], {
        dir,
        time: "1",
        signalSeconds: 10,
        interval: 500,
        log: (l) => events.push(l),
        progress: () => {},
      });
      const [p, failed] = result.points;
      // A failed task is named with the last line of its log.
      equal(failed!.status.state, "failed");
      equal(failed!.status.exitCode, 1);
      const why = "train: Cannot set 'trainer.batchSize': expected an integer, got 'abc'";
      equal(failed!.status.lastLine, why);
      ok(events.some((l) => l.endsWith(`bad FAILED (exit 1): ${why}`)), events.join("\n"));
      equal(p!.status.state, "unfinished");
      equal(p!.status.info?.status, "signal");
      equal(p!.status.exitCode, 0);
      ok(p!.status.iteration > 0);
      await Deno.stat(join(p!.status.runDir!, "checkpoint.vxck"));
      match(
        await Deno.readTextFile(join(point.out, "train.log")),
        /Training interrupted at iteration/,
      );
      const [plan, again] = await planPoints([point, bad]);
      equal(plan!.submit, true);
      deepEqual(plan!.point.args.slice(-2), ["--resume", p!.status.runDir!]);
      deepEqual(again!.point.args, bad.args, "a failed point starts afresh");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("slurm: --dry-run prints the script and the commands, and submits nothing", async () => {
  const dir = join(await Deno.makeTempDir(), "sweep");
  const logs: string[] = [], errors: string[] = [];
  const origLog = console.log, origError = console.error;
  console.log = (m: string) => logs.push(m);
  console.error = (m: string) => errors.push(m);
  try {
    const code = await sweepMain([
      EXPERIMENT,
      "--launcher",
      "slurm",
      "--grid",
      "trainer.seed=0,1,2",
      "--parallel",
      "2",
      "--max-steps",
      "5",
      "--time",
      "1:00:00",
      "--signal",
      "300",
      "--partition",
      "gpu",
      "--cpus-per-task",
      "4",
      "--mem",
      "8G",
      "--gres",
      "gpu:1",
      "--sbatch=--account=speech",
      "--out",
      dir,
      "--dry-run",
    ]);
    equal(code, 0, errors.join("\n"));
    const text = logs.join("\n");
    for (
      const line of [
        "#SBATCH --array=0-2%2",
        `#SBATCH --output=${dir}/slurm/%A_%a.out`,
        "#SBATCH --partition=gpu",
        "#SBATCH --time=1:00:00",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --mem=8G",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --signal=B:USR1@300",
        "#SBATCH --account=speech",
        `sbatch --parsable ${dir}/sweep.sbatch`,
      ]
    ) ok(text.includes(line), `missing: ${line}`);
    const commands = logs.filter((l) => /^ {2}\[\d\] /.test(l));
    equal(commands.length, 3);
    ok(commands[1]!.startsWith(`  [1] ${Deno.execPath()} run -A `));
    match(
      commands[1]!,
      /--set trainer\.seed=1 .*--max-steps 5 --out \S+\/02_seed=1 >> \S+\/02_seed=1\/train\.log$/,
    );
    await rejects(Deno.stat(dir), Deno.errors.NotFound, "a dry run writes nothing");

    // Bad settings are one-line errors before anything happens.
    equal(
      await sweepMain([
        EXPERIMENT,
        "--launcher",
        "slurm",
        "--grid",
        "a=1",
        "--time",
        "1",
        "--signal",
        "60",
        "--dry-run",
      ]),
      1,
    );
    equal(errors.at(-1), "sweep: Invalid --signal 60: it must be shorter than --time 1 (60 s)");
    // A grid key the experiment does not have: refused before any script is written.
    equal(
      await sweepMain([
        EXPERIMENT,
        "--launcher",
        "slurm",
        "--grid",
        "trainer.nope=1,2",
        "--dry-run",
      ]),
      1,
    );
    match(errors.at(-1)!, /^sweep: Cannot run sweep: grid point 01_nope=1: .*trainer\.nope/);
    equal(await sweepMain([EXPERIMENT, "--grid", "a=1", "--time", "5"]), 1);
    match(errors.at(-1)!, /^sweep: Cannot sweep: --time needs --launcher slurm/);
    equal(await sweepMain(["--attach", dir]), 1);
    match(errors.at(-1)!, /^sweep: Cannot attach: .* holds no sweep\.json$/);
  } finally {
    console.log = origLog;
    console.error = origError;
  }
});

Deno.test("slurm: point states from the run directory, and the arguments that resume", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = async (name: string, info: object | null, files: Record<string, string>) => {
      const run = join(dir, name, "exp", "20260101-000000");
      await Deno.mkdir(run, { recursive: true });
      await Deno.writeTextFile(join(run, "config.yaml"), "meta: {}\n");
      if (info) await Deno.writeTextFile(join(run, "run.json"), JSON.stringify(info));
      for (const [f, text] of Object.entries(files)) {
        await Deno.writeTextFile(
          join(f === "train.log" || f === "slurm.exit" ? join(dir, name) : run, f),
          text,
        );
      }
      return run;
    };
    await write("done", { status: "max-steps", iteration: 20, elapsedSeconds: 9 }, {
      "slurm.exit": "0\n",
    });
    const stopped = await write("stopped", { status: "signal", iteration: 7, elapsedSeconds: 3 }, {
      "checkpoint.vxck": "x",
    });
    await write("nan", {
      status: "non-finite",
      statusMessage: "Training stopped: loss term 'G.adversarial' is NaN",
      iteration: 4,
    }, {
      "checkpoint.vxck": "x",
      "slurm.exit": "1",
    });
    await Deno.mkdir(join(dir, "crashed"));
    await Deno.writeTextFile(
      join(dir, "crashed", "train.log"),
      "voxlab: backend cpu\r50%\rCannot load data: x.csv not found\n\n",
    );
    const state = async (name: string) => (await readPointStatus(join(dir, name))).state;
    equal(await state("done"), "done");
    equal(await state("stopped"), "unfinished");
    equal(await state("nan"), "failed");
    equal(await state("crashed"), "failed");
    equal(
      (await readPointStatus(join(dir, "crashed"))).lastLine,
      "Cannot load data: x.csv not found",
    );
    equal(await state("never"), "missing");
    deepEqual(
      resumeArgs(["e.ts", "--max-time", "1m", "--max-steps", "20"], stopped, {
        iteration: 7,
        elapsedSeconds: 3.5,
      }),
      [
        "e.ts",
        "--max-time",
        "57",
        "--max-steps",
        "13",
        "--resume",
        stopped,
      ],
    );
    equal(
      resumeArgs(["e.ts", "--max-steps", "7"], stopped, { iteration: 7, elapsedSeconds: 3 }),
      null,
    );
    const plan = await planPoints(["done", "stopped", "nan", "never"].map((name, index) => ({
      index,
      name,
      out: join(dir, name),
      args: ["e.ts", "--max-steps", "20"],
    })));
    deepEqual(plan.map((p) => p.submit), [false, true, true, true]);
    deepEqual(plan[1]!.point.args, ["e.ts", "--max-steps", "13", "--resume", stopped]);
    deepEqual(plan[2]!.point.args, ["e.ts", "--max-steps", "20"], "a failed run starts afresh");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("slurm: the job script refuses what SLURM cannot take", () => {
  const env = {
    deno: "/d",
    repo: "/r",
    trainScript: "/r/t.ts",
    denoDir: "/c",
    cacheHome: "/h",
    dir: "/s",
  };
  const point = { index: 0, name: "a", out: "/s/a", args: ["e.ts"] };
  const fails = (f: () => unknown, re: RegExp) => {
    try {
      f();
    } catch (e) {
      ok(e instanceof SlurmError, String(e));
      match((e as Error).message, re);
      return;
    }
    throw new Error("expected a SlurmError");
  };
  fails(() => jobScript([], env), /no points/);
  fails(() => jobScript([point], { ...env, dir: "/my sweeps" }), /path with spaces/);
  fails(() => jobScript([point], env, { time: "soon" }), /Invalid --time 'soon'/);
  fails(() => jobScript([point], env, { mem: "lots" }), /Invalid --mem 'lots'/);
  fails(() => jobScript([point], env, { sbatch: ["--array=1-9"] }), /voxlab sets --array itself/);
  fails(() => jobScript([point], env, { sbatch: ["account=x"] }), /expected one sbatch option/);
  // Without --time there is no signal line: only the time limit's own SIGTERM.
  ok(!jobScript([point], env, { signalSeconds: 30 }).includes("#SBATCH --signal"));
});

Deno.test({
  name:
    "slurm: deno task ablate --launcher slurm runs 2 seeds × 2 experiments as one array and ends with the statistics" +
    skipNote,
  ...cluster,
  fn: async () => {
    assertSlurm();
    const dir = await Deno.makeTempDir({ prefix: "voxlab-slurm-ablate-" });
    try {
      const options = {
        seeds: 2,
        out: dir,
        maxSteps: 3,
        parallel: 2,
        trainArgs: tinyArgs([]),
        resamples: 500,
        interval: 500,
        log: () => {},
        progress: () => {},
      };
      const { launch, result } = await runAblationOnSlurm(BASE, EXPERIMENT, options);
      equal(launch.outcome, "finished");
      match(await Deno.readTextFile(join(dir, "sweep.sbatch")), /^#SBATCH --array=0-3%2$/m);
      deepEqual(launch.points.map((p) => p.point.name), [
        "base-seed-0",
        "ablation-seed-0",
        "base-seed-1",
        "ablation-seed-1",
      ]);
      ok(result !== null);
      for (const r of result.runs) {
        for (const side of ["base", "ablation"] as const) {
          equal(r[side].code, 0);
          equal(r[side].iteration, 3);
          ok(r[side].runDir!.startsWith(join(dir, side, `seed-${r.seed}`)), r[side].runDir!);
        }
      }
      // The same paired layout as a local ablation: the board reads its ablate.json.
      const board = parseAblation(JSON.parse(await Deno.readTextFile(result.files.json)));
      equal(board.seeds.length, 2);

      // Again: every run is done, nothing is submitted, the statistics come back.
      const again = await runAblationOnSlurm(BASE, EXPERIMENT, options);
      equal(again.launch.outcome, "nothing-to-do");
      ok(again.result !== null);
      // Another ablation into the same directory is refused.
      await rejects(
        () => runAblationOnSlurm(BASE, EXPERIMENT, { ...options, maxSteps: 5 }),
        /holds another one/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("slurm: ablate --launcher slurm --dry-run prints one task per seed and side, submits nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-slurm-ablate-dry-" });
  try {
    const out = join(dir, "a");
    const { value: code, out: stdout, err } = await captured(() =>
      ablateMain([
        BASE,
        EXPERIMENT,
        "--seeds",
        "2",
        "--max-steps",
        "4",
        "--launcher",
        "slurm",
        "--time",
        "10",
        "--dry-run",
        "--out",
        out,
      ])
    );
    equal(code, 0, err);
    match(stdout, /#SBATCH --array=0-3/);
    for (const name of ["base/seed-0", "ablation/seed-0", "base/seed-1", "ablation/seed-1"]) {
      ok(stdout.includes(join(out, name)), `${name} in:\n${stdout}`);
    }
    match(stdout, /trainer\.seed=1 --max-steps 4/);
    await rejects(() => Deno.stat(out), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
