import { deepEqual, equal, match, notDeepEqual } from "node:assert/strict";
import { initBackend } from "../mod.ts";
import { applyOverrides } from "../lib/experiment/overrides.ts";
import { trainExperiment } from "../lib/runs/train.ts";
import { writeReport } from "../lib/runs/run_dir.ts";
import { listRuns } from "../lib/runs/run_status.ts";
import { main as runsMain } from "../tasks/runs.ts";
import ablation from "../experiments/9ada9179.ts";
import { captured } from "./capture.ts";
import { TINY_SET, writeTinyCorpus } from "./tiny_corpus.ts";
import { YAML } from "../lib/deps.ts";

await initBackend({ backend: "cpu", quiet: true });

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("runs: a killed run is dead, its report says what it did; deno task runs lists every run", async () => {
  const manifest = await writeTinyCorpus(6);
  const root = await Deno.makeTempDir({ prefix: "voxlab-runs-" });
  try {
    const exp = applyOverrides(ablation, [`data.dataset=${manifest}`, ...TINY_SET]);
    const quiet = { root, progress: false, log: () => {} } as const;
    const done = await trainExperiment(exp, { ...quiet, maxSteps: 2 });
    // A resume keeps the run's first conversions picture; the last one moves on.
    const pics = `${done.runDir}/diagnostics`;
    const first = await Deno.readFile(`${pics}/conversions_first.png`);
    const lastBefore = await Deno.readFile(`${pics}/conversions_last.png`);
    await trainExperiment(exp, { ...quiet, resume: done.runDir, maxSteps: 2 });
    deepEqual(await Deno.readFile(`${pics}/conversions_first.png`), first);
    notDeepEqual(await Deno.readFile(`${pics}/conversions_last.png`), lastBefore);
    match(
      await Deno.readTextFile(`${done.runDir}/report.md`),
      /Conversions at the first evaluation \(iteration 1\)[\s\S]*at the last evaluation \(iteration 4\)/,
    );
    // A second run, "killed" after 3 iterations before any checkpoint: run.json as
    // training leaves it while running, metrics as far as it got, no checkpoint.
    await new Promise((r) => setTimeout(r, 1100)); // a new timestamp folder
    const killed = await trainExperiment(exp, { ...quiet, maxSteps: 3 });
    const info = JSON.parse(await Deno.readTextFile(`${killed.runDir}/run.json`));
    await Deno.writeTextFile(
      `${killed.runDir}/run.json`,
      JSON.stringify({
        ...info,
        status: "running",
        ended: null,
        iteration: 0,
        pid: await deadPid(),
      }),
    );
    await Deno.remove(`${killed.runDir}/checkpoint.vxck`);

    const report = await Deno.readTextFile(await writeReport(killed.runDir));
    const front = YAML.parse(report.split("---")[1]!) as { tags: string[]; closed_at: unknown };
    deepEqual(front.tags.filter((t) => t === "running" || t === "dead"), ["dead"]);
    equal(front.closed_at, null);
    match(
      report,
      /Iterations: 3 of \d+ \(.*; no checkpoint was written\); dead: its process ended/,
    );

    const runs = await listRuns(root);
    deepEqual(runs.map((r) => [r.dir, r.status, r.iteration, r.checkpoint]), [
      [done.runDir, "max-steps", 4, true],
      [killed.runDir, "dead", 3, false],
    ]);
    match(runs[0]!.diagnostics, /^@4: label sensitivity/);

    const table = await captured(() => runsMain([root]));
    equal(table.value, 0, table.err);
    const lines = table.out.trim().split("\n");
    match(
      lines[0]!,
      /^\| run +\| experiment \| status +\| iteration \| checkpoint \| last diagnostics/,
    );
    match(
      lines[2]!,
      /^\| 9ada9179\/\d{8}-\d{6} \| 9ada9179 +\| max-steps \| 4\/\d+ +\| yes +\| @4: /,
    );
    match(lines[3]!, /^\| 9ada9179\/\d{8}-\d{6} \| 9ada9179 +\| dead +\| 3\/\d+ +\| no +\| /);
    const empty = await captured(() => runsMain([`${root}/none`]));
    equal(empty.out, `runs: no runs under ${root}/none\n`);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(manifest.slice(0, manifest.lastIndexOf("/")), { recursive: true });
  }
});
