import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { initBackend, tf } from "../mod.ts";
import type { GeneratorFn } from "../lib/eval/diagnostics/measures.ts";
import {
  collapseWarning,
  diagnosticsMarkdown,
  DiagnosticsMonitor,
  type DiagnosticsProbe,
  diagnosticsSection,
  evaluateDiagnostics,
  readDiagnostics,
} from "../lib/eval/diagnostics/mod.ts";
import { captured } from "./capture.ts";
import {
  CompareError,
  compareRunDirs,
  defaultCompareDir,
  resolveRun,
  resolveRunDir,
} from "../lib/runs/compare.ts";
import { main as compareMain } from "../tasks/compare.ts";
import { experimentToYaml } from "../lib/experiment/serialize.ts";
import { MetricsWriter } from "../lib/train/metrics.ts";
import { Rng } from "../lib/random.ts";
import base from "../experiments/47c97768.ts";
import ablation from "../experiments/9ada9179.ts";

await initBackend({ backend: "cpu", quiet: true });

const close = (a: number, b: number, tol: number) =>
  ok(Math.abs(a - b) <= tol, `expected ${b} ± ${tol}, got ${a}`);

/** G(x, c) = x + s · (index of the hot label). */
const shiftByLabel = (s: number): GeneratorFn => (x, c) => {
  const index = tf.matMul(c, tf.reshape(tf.range(0, c.shape[1]), [-1, 1]));
  return tf.add(x, tf.mul(s, tf.reshape(index, [-1, 1, 1, 1]))) as tf.Tensor4D;
};

function probe(generator: GeneratorFn): DiagnosticsProbe {
  const rng = new Rng(2);
  return {
    generator,
    x: tf.tensor4d(rng.uniformArray(3 * 16 * 16), [3, 16, 16, 1]),
    targets: tf.eye(3) as tf.Tensor2D,
    targetNames: ["speaker=a", "speaker=b", "speaker=c"],
    sourceLabels: tf.eye(3) as tf.Tensor2D,
    sourceNames: ["speaker=a", "speaker=b", "speaker=c"],
  };
}

async function runMonitor(generator: GeneratorFn, dir: string) {
  const p = probe(generator);
  const logged: string[] = [];
  const monitor = new DiagnosticsMonitor(p, {
    every: 2,
    patience: 3,
    dir,
    log: (l) => logged.push(l),
  });
  // The loop passes 0-based iteration indices; 6 iterations -> evaluations at 1, 2, 4, 6.
  for (let i = 0; i < 6; i++) monitor.onStepEnd({ iteration: i });
  tf.dispose([p.x, p.targets, p.sourceLabels!]);
  return { monitor, logged, records: await readDiagnostics(`${dir}/diagnostics.jsonl`) };
}

Deno.test("monitor: evaluates every N iterations and fires the collapse warning on an identity-like G", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const before = tf.memory().numTensors;
    const { monitor, logged, records } = await runMonitor(
      (x, c) => shiftByLabel(1e-5)(x, c),
      dir,
    );
    equal(tf.memory().numTensors, before);
    equal(records.map((r) => r.iteration).join(), "1,2,4,6");
    equal(records[1]!.warning, undefined);
    match(records[2]!.warning ?? "", /^COLLAPSE: .*iterations 1–4/);
    ok(records[3]!.collapsed);
    match(monitor.warning ?? "", /4 consecutive evaluations/);
    ok(logged.some((l) => l.startsWith("COLLAPSE")), "warning goes to the progress log");
    ok(logged.some((l) => l.startsWith("diagnostics @6: label sensitivity")));
    const md = monitor.markdown({ plot: "diagnostics.png" });
    match(md, /> \*\*⚠ COLLAPSE: the generator ignores its labels/);
    match(md, /!\[diagnostics\]\(diagnostics\.png\)/);
    equal(collapseWarning(records), monitor.warning);
    ok(monitor.plot().width > 0);
    // Pictures in the run directory, and the report section that embeds them.
    for (const f of ["curves.png", "conversions_first.png", "conversions_last.png"]) {
      ok((await Deno.stat(`${dir}/diagnostics/${f}`)).size > 100, f);
    }
    const section = await diagnosticsSection(dir);
    match(section, /> \*\*⚠ COLLAPSE/);
    match(section, /!\[diagnostics\]\(diagnostics\/curves\.png\)/);
    match(
      section,
      /!\[conversions at the last evaluation \(iteration \d+\)\]\(diagnostics\/conversions_last\.png\)/,
    );
    equal(await diagnosticsSection(`${dir}/nothing-here`), "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("monitor: stays quiet on a label-dependent G", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { monitor, logged, records } = await runMonitor(
      shiftByLabel(0.1),
      dir,
    );
    equal(records.length, 4);
    equal(monitor.warning, null);
    ok(records.every((r) => !r.collapsed && r.labelSensitivity > 0.1));
    ok(!logged.some((l) => l.includes("COLLAPSE")));
    match(diagnosticsMarkdown(records), /No collapse/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluateDiagnostics: MCD is 0 for a perfect converter and not for the identity", () => {
  const rng = new Rng(4);
  // Whole utterances of 40 and 33 frames, longer and shorter than the 16-frame probe width ×2.
  const utt = (frames: number) => ({ data: rng.uniformArray(16 * frames), bins: 16, frames });
  const source = utt(40), reference = utt(33);
  const parallel = [{ source, target: Float32Array.from([0, 1, 0]), reference }];
  const p = probe((x) => x);
  tf.tidy(() => {
    // A pair whose source is the reference: the identity converts it perfectly.
    const same = [{ source: reference, target: parallel[0]!.target, reference }];
    const ideal = evaluateDiagnostics({ ...p, parallel: same }, 1);
    equal(ideal.mcd!.converted, 0);
    equal(ideal.mcd!.source, 0);
    const identity = evaluateDiagnostics({ ...p, parallel }, 1);
    ok(identity.mcd!.source > 1, `source MCD ${identity.mcd!.source}`);
    close(identity.mcd!.converted, identity.mcd!.source, 1e-4);
    // A generator that changes the spectrum moves the converted MCD away from the source's.
    const darker = evaluateDiagnostics({ ...p, generator: (x) => tf.mul(x, 0.5), parallel }, 1);
    ok(Math.abs(darker.mcd!.converted - darker.mcd!.source) > 0.1);
  });
  tf.dispose([p.x, p.targets, p.sourceLabels!]);
});

Deno.test("monitor: the time trigger evaluates between the iteration multiples", () => {
  let clock = 0;
  const p = probe(shiftByLabel(0.1));
  const monitor = new DiagnosticsMonitor(p, {
    every: 100,
    atStart: false,
    everyMinutes: 2,
    now: () => clock,
  });
  const at: number[] = [];
  for (let i = 0; i < 10; i++) {
    clock += 50_000; // 50 s per iteration: the time trigger fires every 3rd iteration
    if (monitor.onStepEnd({ iteration: i })) at.push(i + 1);
  }
  equal(at.join(), "3,6,9");
  tf.dispose([p.x, p.targets, p.sourceLabels!]);
});

Deno.test("evaluateDiagnostics runs G once per target on the held-out batch", () => {
  let calls = 0;
  const p = probe((x, c) => {
    calls++;
    return shiftByLabel(0.1)(x, c);
  });
  const classifier = (y: tf.Tensor4D) =>
    tf.oneHot(tf.zeros([y.shape[0]], "int32"), 3) as tf.Tensor2D;
  const r = evaluateDiagnostics({
    ...p,
    targetClasses: [0, 1, 2],
    classifiers: { a: classifier, b: classifier },
  }, 5);
  equal(calls, 3);
  close(r.accuracy.a!, 1 / 3, 1e-9);
  close(r.identityDistance, 0.1, 1e-6);
  tf.dispose([p.x, p.targets, p.sourceLabels!]);
});

async function fakeRun(
  root: string,
  exp: typeof base,
  stamp: string,
  options: {
    lossScale: number;
    collapse: boolean;
    checkpoint?: boolean;
    info?: Record<string, unknown>;
  },
): Promise<string> {
  const dir = `${root}/${exp.meta.id}/${stamp}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.yaml`, experimentToYaml(exp));
  // Only its presence matters to choosing a run.
  if (options.checkpoint ?? true) await Deno.writeTextFile(`${dir}/checkpoint.vxck`, "");
  if (options.info) await Deno.writeTextFile(`${dir}/run.json`, JSON.stringify(options.info));
  const w = new MetricsWriter(`${dir}/metrics.jsonl`);
  for (let i = 1; i <= 20; i++) {
    w.append({
      iteration: i,
      epoch: 1,
      terms: { "G.adversarial": options.lossScale * i, "G.reconstruction": 2 },
      lr: { generator: 1e-5 },
      seconds: 1,
      elapsed: i,
      time: new Date(0).toISOString(),
    });
  }
  w.close();
  const rec = {
    iteration: 20,
    labelSensitivity: options.collapse ? 0.001 : 0.3,
    identityDistance: 0.01,
    spread: 0.2,
    accuracy: { classifier: 0.25 },
    collapsed: options.collapse,
    seconds: 0.1,
    ...(options.collapse ? { warning: "COLLAPSE: the generator ignores its labels (test)" } : {}),
  };
  await Deno.writeTextFile(`${dir}/diagnostics.jsonl`, JSON.stringify(rec) + "\n");
  return dir;
}

Deno.test("compare: config differences, final metrics and the collapse warning side by side", async () => {
  const root = await Deno.makeTempDir();
  try {
    const a = await fakeRun(root, base, "20260101-000000", { lossScale: 1, collapse: false });
    await fakeRun(root, ablation, "20250101-000000", { lossScale: 9, collapse: false });
    const b = await fakeRun(root, ablation, "20260101-000000", { lossScale: 2, collapse: true });
    // A newer run that died before its first checkpoint: its run.json still says running.
    const child = new Deno.Command("true").spawn();
    await child.status;
    const dead = await fakeRun(root, ablation, "20270101-000000", {
      lossScale: 3,
      collapse: false,
      checkpoint: false,
      info: { status: "running", pid: child.pid, host: Deno.hostname() },
    });
    // runs/<experiment> resolves to its latest run with a checkpoint, and says so.
    equal(await resolveRunDir(`${root}/9ada9179`), b);
    deepEqual(await resolveRun(`${root}/9ada9179`), {
      dir: b,
      note: "latest run with a checkpoint: 20260101-000000 (1 newer without one: 20270101-000000)",
    });
    const withDead = await compareRunDirs([b, dead]);
    match(withDead.markdown, /^\| status +\| – +\| dead +\|$/m);
    const out = `${root}/compare.md`;
    const { markdown, runs } = await compareRunDirs([a, `${root}/9ada9179/`], { out, window: 10 });
    equal(runs.length, 2);
    equal(await Deno.readTextFile(out), markdown);
    const row = (label: string) =>
      markdown.split("\n").find((l) => l.startsWith(`| ${label} `))?.split("|").map((c) =>
        c.trim()
      );
    // Exactly the identity term differs (meta is ignored).
    const identity = row("losses.generator.identity");
    equal(identity?.[2], '{"weight":5}');
    equal(identity?.[3], "(absent)");
    equal(markdown.match(/^\| losses\.|^\| model\.|^\| trainer\./gm)?.length, 1);
    // Mean of iterations 11..20 of G.adversarial: scale × 15.5.
    equal(row("G.adversarial")?.[2], "15.50");
    equal(row("G.adversarial")?.[3], "31");
    equal(row("label sensitivity")?.[3], "0.001000 ⚠");
    equal(row("collapse warning")?.[2], "none");
    equal(row("collapse warning")?.[3], "COLLAPSE at iteration 20; still collapsed at 20");
    await rejects(compareRunDirs([`${root}/nope`]), CompareError);
    // compare.md goes beside the runs, never into the working folder.
    equal(defaultCompareDir([a, b]), root);
    equal(defaultCompareDir([b, dead]), `${root}/9ada9179`);
    const task = await captured(() => compareMain([a, `${root}/9ada9179`]));
    equal(task.value, 0, task.err);
    match(task.out, new RegExp(`compare: written to ${root}/compare\\.md`));
    match(task.err, /9ada9179: latest run with a checkpoint: 20260101-000000/);
    ok(!(await Deno.stat("compare.md").then(() => true, () => false)), "compare.md in the cwd");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("compare: a collapse the run recovered from says when it fired and that it ended", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await fakeRun(root, ablation, "20260101-000000", { lossScale: 1, collapse: true });
    const early = {
      ...JSON.parse(await Deno.readTextFile(`${dir}/diagnostics.jsonl`)),
      iteration: 10,
    };
    const late = { ...early, iteration: 20, labelSensitivity: 0.5, collapsed: false };
    delete late.warning;
    await Deno.writeTextFile(
      `${dir}/diagnostics.jsonl`,
      [early, late].map((r) => JSON.stringify(r)).join("\n") + "\n",
    );
    const { markdown } = await compareRunDirs([dir]);
    match(markdown, /\| collapse warning +\| COLLAPSE at iteration 10; recovered by 20 +\|/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("compare task: --help, and a one-line error for a missing run", async () => {
  const errors: string[] = [];
  const logs: string[] = [];
  const origError = console.error, origLog = console.log;
  console.error = (m: string) => errors.push(m);
  console.log = (m: string) => logs.push(m);
  try {
    equal(await compareMain(["--help"]), 0);
    match(logs.join("\n"), /--out <file>/);
    equal(await compareMain(["/nonexistent/run"]), 1);
    equal(errors.at(-1), "compare: Cannot read run '/nonexistent/run': no such directory");
    equal(await compareMain([]), 1);
  } finally {
    console.error = origError;
    console.log = origLog;
  }
});
