/**
 * Ctrl-C as a user presses it: `deno task train` runs in a pseudo-terminal
 * (util-linux `script`), and the test types Ctrl-C (byte 0x03) into it, so
 * the terminal's line discipline signals the foreground process group and
 * `deno task` forwards its own copy, exactly as in an interactive shell.
 */
import { equal, match, ok } from "node:assert/strict";
import { tinyTrainArgs, writeTinyCorpus } from "./tiny_corpus.ts";

const repo = new URL("../", import.meta.url).pathname;
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
const manifest = await writeTinyCorpus();

/** Quote one argument for `sh`. */
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Start `deno task train` for a tiny run in a pseudo-terminal; `presses`
 * says when to type Ctrl-C: after the progress line of iteration `after`
 * appears, then `delaysMs` later for each further press.
 */
async function trainInTerminal(out: string, after: number, delaysMs: number[] = []) {
  const args = [
    "task",
    "train",
    "experiments/9ada9179.ts",
    ...tinyTrainArgs(manifest, [
      "--set",
      "trainer.sampleEvery=1",
      "--max-steps",
      "40",
      "--out",
      out,
    ]),
  ];
  // A pseudo-terminal made from a pipe has no size: give it one.
  const command = `stty cols 200 rows 40; exec ${[Deno.execPath(), ...args].map(quote).join(" ")}`;
  const child = new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: repo,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  const decoder = new TextDecoder();
  let text = "";
  let pressed = false;
  const progress = new RegExp(`it ${after}/\\d+`);
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    if (!pressed && progress.test(text)) {
      // Right after a progress line, when the loop awaits its hooks' file
      // writes: the moment one Ctrl-C used to arrive as two presses.
      pressed = true;
      await writer.write(new Uint8Array([3]));
      for (const ms of delaysMs) {
        await new Promise((r) => setTimeout(r, ms));
        await writer.write(new Uint8Array([3]));
      }
    }
  }
  await writer.close().catch(() => {});
  const status = await child.status;
  return { text, code: status.code, pressed };
}

const runDir = (root: string) => {
  const dirs = [...Deno.readDirSync(`${root}/9ada9179`)].map((e) => e.name);
  equal(dirs.length, 1);
  return `${root}/9ada9179/${dirs[0]}`;
};

Deno.test({
  name: "Ctrl-C in a terminal through deno task: one press stops with a checkpoint and exit 130",
  sanitizeResources: false,
  async fn() {
    for (const after of [3, 6]) {
      const out = await Deno.makeTempDir({ prefix: "voxlab-ctrlc-" });
      try {
        const r = await trainInTerminal(out, after);
        ok(r.pressed, `no progress line for iteration ${after}:\n${r.text}`);
        match(r.text, /voxlab: stopping: finishing iteration \d+…/);
        ok(!r.text.includes("quitting without saving"), r.text);
        equal(r.code, 130, r.text);
        const dir = runDir(out);
        const stopped = Number(r.text.match(/Training interrupted at iteration (\d+)/)?.[1]);
        ok(stopped >= after, r.text);
        ok(await exists(`${dir}/checkpoint.vxck`), "no checkpoint");
        ok(!(await exists(`${dir}/checkpoint.vxck.tmp`)), "a partial checkpoint is left");
        ok(await exists(`${dir}/report.md`), "no report");
        const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
        equal(info.status, "signal");
        equal(info.iteration, stopped);
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    }
  },
});

/**
 * A loop whose iterations busy the main thread for `stepMs`, run in its own
 * process with signal handling on; `signals` are sent at the given
 * milliseconds after its first iteration begins.
 */
async function signalledLoop(stepMs: number, signals: [number, Deno.Signal][]) {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-signals-" });
  const script = `${dir}/loop.ts`;
  await Deno.writeTextFile(
    script,
    `import { runLoop } from ${JSON.stringify(new URL("lib/train/loop.ts", `file://${repo}`).href)};
const result = await runLoop({
  itersPerEpoch: 100, epochs: 1,
  step: () => {
    console.log("step");
    const end = performance.now() + ${stepMs};
    while (performance.now() < end); // busy, as an iteration on wasm is
    return { terms: { loss: 1 }, lr: {} };
  },
  save: () => ({ state: {}, tensors: {} }),
}, { handleSignals: true, checkpointPath: ${JSON.stringify(`${dir}/checkpoint.vxck`)} });
console.log("result", result.reason, result.stopSignal, result.iteration);
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", "--quiet", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // the first "step"
  const t0 = performance.now();
  for (const [ms, signal] of signals) {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + ms - performance.now())));
    child.kill(signal);
  }
  let out = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    out += new TextDecoder().decode(r.value);
  }
  const { code, signal } = await child.status;
  const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  await Deno.remove(dir, { recursive: true });
  return { out, err, code, signal };
}

Deno.test("Ctrl-C: copies of one SIGINT that land while an iteration runs are one press", async () => {
  // Three SIGINTs within 2 ms, in the middle of a 1.5 s iteration: the old
  // listener on the main thread counted the later ones as a second press.
  const r = await signalledLoop(1500, [[300, "SIGINT"], [301, "SIGINT"], [302, "SIGINT"]]);
  equal(r.code, 0, r.err);
  match(r.out, /result signal SIGINT 1\n/);
  // The stopping line comes while the iteration is still running.
  match(r.err, /^voxlab: stopping: finishing iteration 1…, then a checkpoint; Ctrl-C again/m);
  ok(!r.err.includes("quitting"), r.err);
});

Deno.test("Ctrl-C: a second press a second later quits at once, killed by SIGINT", async () => {
  const r = await signalledLoop(4000, [[200, "SIGINT"], [1500, "SIGINT"]]);
  equal(r.signal, "SIGINT", r.out + r.err);
  ok(!r.out.includes("result"), r.out);
  match(r.err, /voxlab: quitting without saving; the last checkpoint on disk is kept/);
});

Deno.test("SIGTERM stops after the iteration and says so; a SIGTERM copy is one signal", async () => {
  const r = await signalledLoop(800, [[100, "SIGTERM"], [101, "SIGTERM"]]);
  equal(r.code, 0, r.err);
  match(r.out, /result signal SIGTERM 1\n/);
  match(r.err, /^voxlab: stopping: finishing iteration 1…, then a checkpoint$/m);
});
