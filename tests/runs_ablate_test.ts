import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { relative } from "node:path";
import { parseAblation } from "../lib/board/ablate.ts";
import { AblateError, pairedStats, runAblation } from "../lib/runs/ablate.ts";
import { progressLine } from "../lib/runs/heartbeat.ts";
import type { PointJob, PointOutcome } from "../lib/runs/point.ts";
import { main as ablateMain } from "../tasks/ablate.ts";

const BASE = new URL("../experiments/47c97768.ts", import.meta.url).pathname;
const ABLATION = new URL("../experiments/9ada9179.ts", import.meta.url).pathname;

/**
 * A stand-in runner: writes a run directory with run.json and diagnostics.jsonl.
 * The base's label sensitivity is 0.8 + 0.02·seed², the ablation's 0.1 + 0.02·seed²
 * + 0.01·seed (so differences vary a little by seed); the ablation collapses.
 * `fail` names jobs (`ablation/seed-2`) that exit 1 without a run.
 */
function fakeRunner(calls: string[], fail: Set<string> = new Set()) {
  return async (job: PointJob): Promise<PointOutcome> => {
    const key = job.out.split("/").slice(-2).join("/");
    calls.push(`${key} ${job.args.join(" ")}`);
    if (fail.has(key)) return { code: 1, seconds: 0, runDir: null };
    const resume = job.args[0] === "--resume" ? job.args[1]! : null;
    const seed = Number(key.split("seed-")[1]);
    const ablation = key.startsWith("ablation");
    const dir = resume ?? `${job.out}/${ablation ? "9ada9179" : "47c97768"}/20260101-000000`;
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/config.yaml`, "meta: {}\n");
    const steps = Number(job.args[job.args.indexOf("--max-steps") + 1]);
    const before = resume ? JSON.parse(await Deno.readTextFile(`${dir}/run.json`)).iteration : 0;
    await Deno.writeTextFile(
      `${dir}/run.json`,
      JSON.stringify({ status: "max-steps", iteration: before + steps, elapsedSeconds: 1 }),
    );
    const ls = (ablation ? 0.1 + 0.01 * seed : 0.8) + 0.02 * seed * seed;
    const recs = [1, 2, 3].map((k) => ({
      iteration: 10 * k,
      labelSensitivity: ls * k / 3,
      identityDistance: 0.1,
      spread: 0.2,
      accuracy: { classifier: ablation ? 0.125 : 0.9 - 0.01 * seed },
      realAccuracy: { classifier: 0.97 },
      collapsed: ablation && k === 3,
      seconds: 0,
    }));
    await Deno.writeTextFile(
      `${dir}/diagnostics.jsonl`,
      recs.map((r) => JSON.stringify(r)).join("\n") + "\n",
    );
    return { code: 0, seconds: 0, runDir: dir };
  };
}

Deno.test("runAblation pairs seeds, reports paired statistics and resumes only missing seeds", async () => {
  const out = await Deno.makeTempDir();
  try {
    const calls: string[] = [];
    const first = await runAblation(BASE, ABLATION, {
      seeds: 4,
      out,
      maxSteps: 30,
      parallel: 2,
      resamples: 2000,
      runner: fakeRunner(calls, new Set(["ablation/seed-2"])),
      log: () => {},
    });
    equal(calls.length, 8);
    // Identical seeds for each pair.
    ok(
      calls.includes(
        `base/seed-3 ${BASE} --set trainer.seed=3 --max-steps 30 --out ${out}/base/seed-3`,
      ),
    );
    ok(calls.some((c) => c.startsWith("ablation/seed-3 ") && c.includes("--set trainer.seed=3")));
    equal(first.runs[2]!.ablation.code, 1);
    const ls1 = first.diagnostics.find((d) => d.name === "labelSensitivity")!;
    equal(ls1.n, 3, "the seed without an ablation run is left out of the pairs");

    // Rerun: only the missing seed trains.
    calls.length = 0;
    const second = await runAblation(BASE, ABLATION, {
      seeds: 4,
      out,
      maxSteps: 30,
      resamples: 2000,
      runner: fakeRunner(calls),
      log: () => {},
    });
    deepEqual(calls.map((c) => c.split(" ")[0]), ["ablation/seed-2"]);
    const ls = second.diagnostics.find((d) => d.name === "labelSensitivity")!;
    equal(ls.n, 4);
    const base = [0, 1, 2, 3].map((s) => 0.8 + 0.02 * s * s);
    const abl = [0, 1, 2, 3].map((s) => 0.1 + 0.01 * s + 0.02 * s * s);
    const expected = pairedStats("labelSensitivity", base, abl, { resamples: 2000 });
    ok(Math.abs(ls.difference.mean - (-0.7 + 0.015)) < 1e-12, `${ls.difference.mean}`);
    ok(Math.abs(ls.test.p - expected.test.p) < 1e-15);
    ok(ls.test.p < 1e-4, `p ${ls.test.p}`);
    ok(ls.difference.t.low < ls.difference.mean && ls.difference.mean < ls.difference.t.high);
    ok(ls.difference.bootstrap.low <= ls.difference.mean);
    deepEqual(second.collapse, { base: 0, ablation: 4 });
    ok(second.diagnostics.some((d) => d.name === "realAccuracy.classifier"));
    // Outputs.
    match(second.markdown, /\| labelSensitivity \| 4 \|/);
    match(second.markdown, /collapse warning fired \(seeds\) \| 4 \| 0 of 4 \| 4 of 4/);
    match(second.markdown, /paired t-test/);
    const json = JSON.parse(await Deno.readTextFile(second.files.json));
    deepEqual(json.seeds.map((s: { seed: number }) => s.seed), [0, 1, 2, 3]);
    equal(json.diagnostics[0].test.name, "paired t-test (two-sided)");
    // The board reads the same file: its format, run paths from the file's folder, curves.
    const board = parseAblation(json);
    equal(board.base, "47c97768");
    equal(board.ablation, "9ada9179");
    equal(board.seeds.length, 4);
    for (const s of board.seeds) {
      for (const arm of ["base", "ablation"] as const) {
        const runDir = second.runs[s.seed]![arm].runDir;
        equal(s[arm], runDir === null ? null : relative(out, runDir));
      }
    }
    const curve = board.curves.find((c) => c.seed === 1 && c.arm === "ablation")!;
    equal(curve.metric, "labelSensitivity");
    equal(curve.points.length, 3);
    const ls0 = board.differences.find((d) => d.metric === "labelSensitivity")!;
    equal(ls0.mean, ls.difference.mean);
    equal(ls0.low, ls.difference.t.low);
    const png = await Deno.readFile(second.files.png);
    deepEqual([...png.slice(1, 4)], [80, 78, 71]); // "PNG"

    // An unfinished run is resumed with the rest of its budget.
    calls.length = 0;
    await runAblation(BASE, ABLATION, {
      seeds: 4,
      out,
      maxSteps: 50,
      resamples: 200,
      runner: fakeRunner(calls),
      log: () => {},
    });
    equal(calls.length, 8);
    match(calls[0]!, /^base\/seed-0 --resume .* --max-steps 20$/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("ablate refuses bad settings in one line", async () => {
  await rejects(
    () => runAblation(BASE, ABLATION, { seeds: 1, out: "x" }),
    (e: Error) => e instanceof AblateError && /at least 2/.test(e.message),
  );
  await rejects(
    () => runAblation(BASE, "missing.ts", { seeds: 2, out: "x" }),
    (e: Error) => e instanceof AblateError && /missing\.ts/.test(e.message),
  );
  const errors: string[] = [];
  const origError = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    equal(await ablateMain([BASE]), 1);
    equal(await ablateMain([BASE, ABLATION]), 1);
  } finally {
    console.error = origError;
  }
  ok(errors.some((e) => /--seeds N is required/.test(e)), errors.join("\n"));
});

Deno.test("a waiting ablation reports each running run's iteration and latest diagnostics, and stops when it ends", async () => {
  const out = await Deno.makeTempDir({ prefix: "voxlab-heartbeat-" });
  try {
    equal(await progressLine(out), null, "no run directory yet: no line");
    const calls: string[] = [];
    const inner = fakeRunner(calls);
    // Like a real run: the directory, metrics and diagnostics exist while the process still runs.
    const slow = async (job: PointJob): Promise<PointOutcome> => {
      const r = await inner(job);
      const info = JSON.parse(await Deno.readTextFile(`${r.runDir}/run.json`));
      await Deno.writeTextFile(
        `${r.runDir}/run.json`,
        JSON.stringify({ ...info, totalIterations: 9000 }),
      );
      await Deno.writeTextFile(`${r.runDir}/metrics.jsonl`, '{"iteration":4500}\n');
      await new Promise((resolve) => setTimeout(resolve, 150));
      return r;
    };
    const lines: string[] = [];
    await runAblation(BASE, ABLATION, {
      seeds: 2,
      out,
      maxSteps: 30,
      runner: slow,
      progressSeconds: 0.03,
      log: (l) => lines.push(l),
    });
    const beats = lines.filter((l) => /^ablate: base seed 0: iteration/.test(l));
    ok(beats.length >= 2, lines.join("\n"));
    match(
      beats[0]!,
      /^ablate: base seed 0: iteration 4,500\/9,000; diagnostics @30: label sensitivity 0\.800/,
    );
    // Nothing about a run after it is done.
    const done = lines.findIndex((l) => /^ablate: base seed 0: done/.test(l));
    ok(
      done > 0 &&
        !lines.slice(done + 1).some((l) => l.startsWith("ablate: base seed 0: iteration")),
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
