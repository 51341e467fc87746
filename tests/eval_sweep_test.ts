import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { expandGrid, parseGrid, runSweep, SweepError } from "../lib/runs/sweep.ts";
import { main as sweepMain } from "../tasks/sweep.ts";

/**
 * A stand-in for tasks/train.ts with the same command line: it writes a run
 * directory `<out>/fake/<stamp>/` whose config holds the --set values and whose
 * loss is lr × batchSize; batchSize 3 fails.
 */
const FAKE_TRAIN = `
import { parseArgs } from "node:util";
const { values, positionals } = parseArgs({ args: Deno.args, allowPositionals: true, options: {
  set: { type: "string", multiple: true, default: [] }, out: { type: "string" },
  "max-steps": { type: "string" }, threads: { type: "string" } } });
const set = Object.fromEntries(values.set.map((s) => s.split("=")));
if (set["trainer.batchSize"] === "3") { console.error("boom"); Deno.exit(3); }
const dir = values.out + "/fake/20260101-000000";
Deno.mkdirSync(dir, { recursive: true });
const yaml = "meta:\\n  id: fake\\nexperiment: " + positionals[0] + "\\ntrainer:\\n  batchSize: " +
  set["trainer.batchSize"] + "\\n  lr: " + set["trainer.lr"] + "\\n  maxSteps: " + values["max-steps"] + "\\n";
Deno.writeTextFileSync(dir + "/config.yaml", yaml);
const loss = Number(set["trainer.lr"]) * Number(set["trainer.batchSize"]);
Deno.writeTextFileSync(dir + "/metrics.jsonl", JSON.stringify({ iteration: 1, epoch: 1,
  terms: { loss }, lr: {}, seconds: 1, elapsed: 1, time: "" }) + "\\n");
console.log("trained");
`;

Deno.test("parseGrid and expandGrid", () => {
  const axes = parseGrid(["trainer.batchSize=1,2", "trainer.lr=0.1, 0.2 ,0.3"]);
  deepEqual(axes[1], { key: "trainer.lr", values: ["0.1", "0.2", "0.3"] });
  const points = expandGrid(axes);
  equal(points.length, 6);
  deepEqual(points[4]!.overrides, { "trainer.batchSize": "2", "trainer.lr": "0.2" });
  equal(points[4]!.name, "05_batchSize=2_lr=0.2");
  throws(() => parseGrid(["novalue"]), SweepError);
  throws(() => parseGrid(["a=1,"]), /expected key=value1,value2/);
  throws(() => parseGrid(["a=1", "a=2"]), /given twice/);
});

/** Write the stand-in training script and an empty experiment file into `dir`. */
async function writeFixture(dir: string): Promise<{ script: string; experiment: string }> {
  const script = `${dir}/fake_train.ts`;
  await Deno.writeTextFile(script, FAKE_TRAIN);
  const experiment = `${dir}/exp.ts`;
  await Deno.writeTextFile(experiment, "export default {};\n");
  return { script, experiment };
}

Deno.test("runSweep runs every point N at a time and ends with the comparison", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { script, experiment } = await writeFixture(dir);
    const lines: string[] = [];
    const result = await runSweep(experiment, {
      grid: parseGrid(["trainer.batchSize=1,2,3", "trainer.lr=0.5,2"]),
      out: `${dir}/sweep`,
      parallel: 2,
      trainArgs: ["--max-steps", "7"],
      trainScript: script,
      log: (l) => lines.push(l),
    });
    equal(result.runs.length, 6);
    deepEqual(result.runs.map((r) => r.code), [0, 0, 0, 0, 3, 3]);
    equal(result.runs.filter((r) => r.runDir).length, 4);
    ok(
      lines.some((l) =>
        /\[5\/6\] 05_batchSize=3_lr=0\.5 FAILED \(exit 3, see .*train\.log\)/.test(l)
      ),
    );
    match(await Deno.readTextFile(`${dir}/sweep/05_batchSize=3_lr=0.5/train.log`), /boom/);
    // The comparison: one column per successful point, the grid keys as config differences.
    const md = await Deno.readTextFile(result.comparePath);
    equal(md, result.markdown);
    const row = (label: string) =>
      md.split("\n").find((l) => l.startsWith(`| ${label} `))?.split("|").map((c) => c.trim());
    deepEqual(row("")?.slice(2, 6), [
      "01_batchSize=1_lr=0.5",
      "02_batchSize=1_lr=2",
      "03_batchSize=2_lr=0.5",
      "04_batchSize=2_lr=2",
    ]);
    deepEqual(row("trainer.batchSize")?.slice(2, 6), ["1", "1", "2", "2"]);
    deepEqual(row("loss")?.slice(2, 6), ["0.5000", "2", "1", "4"]);
    ok(!md.includes("maxSteps"), "the shared --max-steps is no difference");
    const record = JSON.parse(await Deno.readTextFile(`${dir}/sweep/sweep.json`));
    equal(record.runs.length, 6);
    // Two at a time: each run gets half the cores.
    const threads = String(Math.max(1, Math.floor(navigator.hardwareConcurrency / 2)));
    deepEqual(record.trainArgs, ["--max-steps", "7", "--threads", threads]);
    ok(lines.some((l) => l.endsWith(`: --threads ${threads} each`)), lines.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runSweep, one at a time, shows each run's output live", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { script, experiment } = await writeFixture(dir);
    // A separate process, so that the runs' output can be read from its stdout.
    const runner = `${dir}/runner.ts`;
    await Deno.writeTextFile(
      runner,
      `import { parseGrid, runSweep } from ${
        JSON.stringify(new URL("../lib/runs/sweep.ts", import.meta.url).href)
      };
await runSweep(Deno.args[0], { grid: parseGrid(["trainer.batchSize=1", "trainer.lr=1"]),
  out: Deno.args[1], trainScript: Deno.args[2], log: () => {} });
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", runner, experiment, `${dir}/sweep`, script],
      stdin: "null",
    }).output();
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    match(new TextDecoder().decode(out.stdout), /trained/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sweep task: --help, and one-line errors", async () => {
  const errors: string[] = [], logs: string[] = [];
  const origError = console.error, origLog = console.log;
  console.error = (m: string) => errors.push(m);
  console.log = (m: string) => logs.push(m);
  try {
    equal(await sweepMain(["--help"]), 0);
    match(logs.join("\n"), /--grid <key=v1,v2>/);
    match(logs.join("\n"), /--parallel <n>/);
    equal(await sweepMain(["missing.ts", "--grid", "a=1"]), 1);
    equal(errors.at(-1), "sweep: Cannot run sweep: experiment file 'missing.ts' not found");
    equal(await sweepMain(["x.ts", "--grid", "oops"]), 1);
    match(errors.at(-1)!, /^sweep: Cannot parse grid 'oops'/);
  } finally {
    console.error = origError;
    console.log = origLog;
  }
});

Deno.test("runSweep checks every grid point against the experiment before starting any run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { script } = await writeFixture(dir);
    const experiment = new URL("../experiments/9ada9179.ts", import.meta.url).pathname;
    const started: string[] = [];
    const sweep = (grid: string[], trainArgs: string[] = []) =>
      runSweep(experiment, {
        grid: parseGrid(grid),
        out: `${dir}/sweep`,
        trainArgs,
        trainScript: script,
        validate: true,
        log: (l) => started.push(l),
      });
    await rejects(
      sweep(["trainer.sede=0,1"]),
      (e: Error) =>
        e instanceof SweepError &&
        e.message ===
          "Cannot run sweep: grid point 01_sede=0: Cannot set 'trainer.sede': unknown key; " +
            "the nearest valid key is 'trainer.seed'; no run was started",
    );
    await rejects(sweep(["trainer.seed=0,x"]), /grid point 02_seed=x: .*expected an integer/);
    await rejects(
      sweep(["trainer.seed=0"], ["--set", "trainer.batchSize=0"]),
      /grid point 01_seed=0: Cannot set 'trainer.batchSize' to '0'/,
    );
    deepEqual(started, []);
    ok(!(await Deno.stat(`${dir}/sweep`).then(() => true, () => false)), "no sweep folder");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
