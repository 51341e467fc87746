import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { experimentToYaml } from "../lib/experiment/serialize.ts";
import base from "../experiments/47c97768.ts";
import ablation from "../experiments/9ada9179.ts";
import { parseAblation } from "../lib/board/ablate.ts";
import { JsonlTail } from "../lib/board/jsonl.ts";
import { confinePath } from "../lib/board/paths.ts";
import { boardStatus, type RunSummary } from "../lib/board/run_index.ts";
import { createBoard } from "../lib/board/server.ts";
import { main as boardMain } from "../tasks/board.ts";
import { captured } from "./capture.ts";

const metricsLine = (iteration: number) =>
  JSON.stringify({
    iteration,
    epoch: 1,
    terms: { "G.total": 1 / iteration, "D.total": -iteration },
    lr: { generator: 1e-5 },
    seconds: 0.1,
    elapsed: iteration * 0.1,
    time: new Date(0).toISOString(),
  }) + "\n";

const runInfo = (experiment: string, status = "completed") => ({
  experiment,
  configHash: "x",
  status,
  statusMessage: "",
  started: new Date(0).toISOString(),
  ended: new Date(0).toISOString(),
  iteration: 3,
  totalIterations: 10,
  itersPerEpoch: 1,
  elapsedSeconds: 0.3,
  backend: { name: "cpu", threads: 1 },
  data: { summary: "", nIn: 3, nOut: 3, height: 16, width: 16 },
  resumes: 0,
  params: { generator: 1, discriminator: 1 },
});

/** A runs folder: two good runs (a base and its ablation), broken ones, a secret outside. */
async function fixture() {
  const top = await Deno.makeTempDir({ prefix: "voxlab-board-" });
  const root = join(top, "runs");
  const write = async (rel: string, text: string) => {
    await Deno.mkdir(join(root, rel, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, rel), text);
  };
  await write("47c97768/20260101-000000/config.yaml", experimentToYaml(base));
  await write("47c97768/20260101-000000/run.json", JSON.stringify(runInfo("47c97768")));
  await write("47c97768/20260101-000000/metrics.jsonl", metricsLine(1) + metricsLine(2));
  const seeded = { ...ablation, trainer: { ...ablation.trainer, seed: 7 } };
  await write("9ada9179/20260101-000001/config.yaml", experimentToYaml(seeded));
  await write("9ada9179/20260101-000001/run.json", JSON.stringify(runInfo("9ada9179", "signal")));
  await write("9ada9179/20260101-000001/metrics.jsonl", metricsLine(1));
  await write("9ada9179/20260101-000001/samples/iter-0000001.png", "not really a png");
  await write(
    "9ada9179/20260101-000001/diagnostics.jsonl",
    JSON.stringify({
      iteration: 1,
      labelSensitivity: 0.05,
      identityDistance: 0.01,
      spread: 1,
      accuracy: {},
      collapsed: true,
      seconds: 0,
    }) + "\n",
  );
  // Broken: garbage run.json; invalid YAML; a metrics file with a garbage line.
  await write("bad/garbage/run.json", "{not json");
  await write("bad/garbage/config.yaml", experimentToYaml(base));
  await write("bad/yaml/run.json", JSON.stringify(runInfo("x")));
  await write("bad/yaml/config.yaml", "model: [unclosed");
  await write("bad/lines/config.yaml", experimentToYaml(base));
  await write("bad/lines/run.json", JSON.stringify(runInfo("47c97768", "running")));
  await write("bad/lines/metrics.jsonl", metricsLine(1) + "garbage\n" + metricsLine(2));
  // Outside the runs folder, and symlinks to it from inside.
  await Deno.writeTextFile(join(top, "secret.txt"), "secret");
  await Deno.symlink(join(top, "secret.txt"), join(root, "9ada9179/20260101-000001/leak.txt"));
  await Deno.symlink(top, join(root, "9ada9179/20260101-000001/up"));
  return { top, root, cache: join(top, "cache") };
}

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      out.push(join(d, e.name));
      if (e.isDirectory) await walk(join(d, e.name));
    }
  };
  await walk(dir);
  return out.sort();
}

const GOOD = "9ada9179/20260101-000001";
const get = (board: ReturnType<typeof createBoard>, path: string, init: RequestInit = {}) =>
  board.handler(new Request(`http://127.0.0.1:8740${path}`, init));

Deno.test("board: paths are confined to the folder (.., absolute, symlinks out)", async () => {
  const { top, root } = await fixture();
  try {
    const run = join(root, GOOD);
    ok((await confinePath(run, "samples/iter-0000001.png")).endsWith("iter-0000001.png"));
    for (const bad of ["../../../secret.txt", "/etc/passwd", "\\etc\\passwd", "C:x", "a/../../x"]) {
      await rejects(confinePath(run, bad), (e: { status: number }) => e.status === 403, bad);
    }
    await rejects(confinePath(run, "leak.txt"), /leads outside/);
    await rejects(confinePath(run, "up/secret.txt"), /leads outside/);
    await rejects(confinePath(run, "missing.png"), (e: { status: number }) => e.status === 404);

    const board = createBoard(root, { cacheDir: join(top, "cache") });
    const file = (p: string) =>
      get(board, `/api/run/file?run=${encodeURIComponent(GOOD)}&path=${encodeURIComponent(p)}`);
    equal((await file("samples/iter-0000001.png")).status, 200);
    for (
      const p of [
        "../../../secret.txt",
        "/etc/passwd",
        "leak.txt",
        "up/secret.txt",
        "samples/../../../secret.txt",
      ]
    ) {
      const res = await file(p);
      equal(res.status, 403, p);
      ok(!(await res.text()).includes("secret\n"), p);
    }
    // Run ids come from the index: a path as a run id is not found.
    equal((await get(board, `/api/run?run=${encodeURIComponent("../" + GOOD)}`)).status, 404);
    equal((await get(board, `/api/run?run=${encodeURIComponent(join(root, GOOD))}`)).status, 404);
    equal(
      (await get(board, `/api/ablate?path=${encodeURIComponent("../secret.txt")}`)).status,
      403,
    );
    equal(
      (await get(board, `/api/run/audio/file?run=${encodeURIComponent(GOOD)}&name=..%2Fx.wav`))
        .status,
      404,
    );
    // Static files: only the listed names.
    equal((await get(board, "/static/..%2Fserver.ts")).status, 404);
    equal((await get(board, "/static/app.js")).status, 200);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("board: a token is checked on every request", async () => {
  const { top, root } = await fixture();
  try {
    const board = createBoard(root, {
      cacheDir: join(top, "cache"),
      token: "s3cret",
      loopbackOnly: false,
    });
    for (
      const path of ["/", "/api/runs", `/api/run?run=${encodeURIComponent(GOOD)}`, "/static/app.js"]
    ) {
      const none = await get(board, path);
      equal(none.status, 401, path);
      match(await none.text(), /token is required/);
      equal(
        (await get(board, `${path}${path.includes("?") ? "&" : "?"}token=garbage`)).status,
        401,
      );
      equal((await get(board, path, { headers: { authorization: "Bearer s3cre" } })).status, 401);
      equal(
        (await get(board, path, { headers: { cookie: "voxlab_board_token=s3cretX" } })).status,
        401,
      );
    }
    const first = await get(board, "/?token=s3cret");
    equal(first.status, 200);
    match(first.headers.get("set-cookie") ?? "", /voxlab_board_token=s3cret; .*HttpOnly/);
    equal(
      (await get(board, "/api/runs", { headers: { cookie: "voxlab_board_token=s3cret" } })).status,
      200,
    );
    equal(
      (await get(board, "/api/runs", { headers: { authorization: "Bearer s3cret" } })).status,
      200,
    );
    // A loopback board without a token refuses other host names (DNS rebinding).
    const local = createBoard(root, { cacheDir: join(top, "cache") });
    equal((await local.handler(new Request("http://evil.example/api/runs"))).status, 403);
    equal((await local.handler(new Request("http://localhost:1/api/runs"))).status, 200);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("board: malformed runs are broken entries; the rest is listed; nothing is written", async () => {
  const { top, root, cache } = await fixture();
  try {
    const before = await listing(root);
    const board = createBoard(root, { cacheDir: cache });
    const res = await get(board, "/api/runs");
    equal(res.status, 200);
    const { runs } = await res.json() as { runs: RunSummary[] };
    const byId = Object.fromEntries(runs.map((r) => [r.id, r]));
    deepEqual(Object.keys(byId).sort(), [
      "47c97768/20260101-000000",
      "9ada9179/20260101-000001",
      "bad/garbage",
      "bad/lines",
      "bad/yaml",
    ]);
    equal(byId["bad/garbage"]!.status, "broken");
    match(byId["bad/garbage"]!.broken!, /bad\/garbage/);
    equal(byId["bad/yaml"]!.status, "broken");
    match(byId["bad/yaml"]!.broken!, /config\.yaml is invalid/);
    const good = byId[GOOD]!;
    equal(good.broken, undefined);
    equal(good.status, "collapsed"); // stopped by a signal, collapsed at its last evaluation
    equal(good.seed, 7);
    equal(good.base, "47c97768");
    deepEqual(good.diffToBase, [
      'losses.generator.identity: {"weight":5} -> (absent)',
      "trainer.seed: 0 -> 7",
    ]);
    equal(good.baseRun, "47c97768/20260101-000000");
    equal(byId["47c97768/20260101-000000"]!.status, "finished");
    equal(byId["47c97768/20260101-000000"]!.iteration, 2);
    // A run that says "running" but wrote nothing for long is interrupted.
    const lines = byId["bad/lines"]!;
    equal(lines.status, "running");
    // A broken run's page and data routes answer, never crash.
    for (const id of ["bad/garbage", "bad/yaml"]) {
      const page = await get(board, `/api/run?run=${encodeURIComponent(id)}`);
      equal(page.status, 200);
      ok((await page.json()).summary.broken);
      equal((await get(board, `/api/run/metrics?run=${encodeURIComponent(id)}`)).status, 200);
      equal((await get(board, `/api/run/report?run=${encodeURIComponent(id)}`)).status, 404);
      const audio =
        await (await get(board, `/api/run/audio?run=${encodeURIComponent(id)}`, { method: "POST" }))
          .json();
      deepEqual(audio, { state: "error", message: "the run has no checkpoint yet" });
    }
    const metrics = await (await get(board, `/api/run/metrics?run=bad%2Flines`)).json();
    deepEqual(metrics.records.map((r: { iteration: number }) => r.iteration), [1, 2]);
    equal(metrics.badLines, 1);
    // Read-only: other methods are refused, and nothing in the runs folder changed.
    equal((await get(board, "/api/runs", { method: "POST" })).status, 405);
    equal(
      (await get(board, `/api/run/file?run=${encodeURIComponent(GOOD)}&path=x`, { method: "PUT" }))
        .status,
      405,
    );
    deepEqual(await listing(root), before);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("board: run status from run.json and diagnostics", () => {
  const s = (status: string, o: Partial<Parameters<typeof boardStatus>[1]> = {}) =>
    boardStatus({ status: status as "running", statusMessage: "" }, {
      collapsed: false,
      idleMinutes: 1,
      staleMinutes: 30,
      ...o,
    });
  deepEqual([s("running").status, s("running").live], ["running", true]);
  deepEqual([s("running", { idleMinutes: 31 }).status, s("running", { idleMinutes: 31 }).live], [
    "interrupted",
    false,
  ]);
  equal(s("completed").status, "finished");
  equal(s("max-steps").status, "finished");
  equal(s("signal").status, "interrupted");
  equal(s("non-finite").status, "failed");
  equal(s("non-finite", { collapsed: true }).status, "failed");
  equal(s("completed", { collapsed: true }).status, "collapsed");
  equal(s("running", { collapsed: true }).status, "running");
});

Deno.test("board: JSONL files are read incrementally, by byte offset", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "metrics.jsonl");
  try {
    const tail = new JsonlTail<{ iteration: number }>(path);
    deepEqual(await tail.update(), { added: [], reset: false }); // missing: empty
    await Deno.writeTextFile(path, metricsLine(1) + metricsLine(2));
    equal((await tail.update()).added.length, 2);
    const size = (await Deno.stat(path)).size;
    equal(tail.bytesRead, size);
    // Nothing new: nothing read.
    await tail.update();
    equal(tail.bytesRead, size);
    // Half a line is kept for later; only the appended bytes are read.
    const third = metricsLine(3);
    await Deno.writeTextFile(path, third.slice(0, 10), { append: true });
    equal((await tail.update()).added.length, 0);
    await Deno.writeTextFile(path, third.slice(10), { append: true });
    deepEqual((await tail.update()).added.map((r) => r.iteration), [3]);
    equal(tail.offset, (await Deno.stat(path)).size);
    ok(tail.bytesRead < size + third.length + 12, `read ${tail.bytesRead} bytes`);
    // Replaced (a resume truncates via rename): read again from the start.
    await Deno.writeTextFile(`${path}.tmp`, metricsLine(1));
    await Deno.rename(`${path}.tmp`, path);
    const again = await tail.update();
    ok(again.reset);
    equal(tail.generation, 1);
    deepEqual(tail.records.map((r) => r.iteration), [1]);

    // Through the route: from= returns only new records; a stale generation gets all.
    const root = join(dir, "runs");
    await Deno.mkdir(join(root, "e/1"), { recursive: true });
    await Deno.writeTextFile(join(root, "e/1/config.yaml"), experimentToYaml(base));
    await Deno.writeTextFile(join(root, "e/1/run.json"), JSON.stringify(runInfo("e", "running")));
    await Deno.writeTextFile(join(root, "e/1/metrics.jsonl"), metricsLine(1) + metricsLine(2));
    const board = createBoard(root, { cacheDir: join(dir, "cache") });
    const m = async (q: string) =>
      await (await get(board, `/api/run/metrics?run=e%2F1${q}`)).json();
    const r1 = await m("&from=0");
    deepEqual([r1.records.length, r1.next, r1.generation], [2, 2, 0]);
    await Deno.writeTextFile(join(root, "e/1/metrics.jsonl"), metricsLine(3), { append: true });
    const r2 = await m("&from=2&generation=0");
    deepEqual([r2.from, r2.records.map((r: { iteration: number }) => r.iteration)], [2, [3]]);
    const bytes = board.index.get("e/1")!.metrics.bytesRead;
    equal(bytes, (await Deno.stat(join(root, "e/1/metrics.jsonl"))).size);
    const r3 = await m("&from=3&generation=5");
    deepEqual([r3.from, r3.records.length], [0, 3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("board: ablate.json files are found, checked and served", async () => {
  const { top, root, cache } = await fixture();
  try {
    const good = {
      format: "voxlab-ablate/1",
      base: "47c97768",
      ablation: "9ada9179",
      seeds: [{ seed: 0, base: "47c97768/20260101-000000", ablation: GOOD }],
      differences: [{ metric: "labelSensitivity", mean: -0.4, low: -0.6, high: -0.2, n: 3 }],
    };
    await Deno.writeTextFile(join(root, "ablate.json"), JSON.stringify(good));
    await Deno.writeTextFile(
      join(root, "bad/x.ablate.json"),
      JSON.stringify({ ...good, differences: [{ metric: "m", mean: 0, low: 1, high: 0, n: 1 }] }),
    );
    const board = createBoard(root, { cacheDir: cache });
    deepEqual((await (await get(board, "/api/runs")).json()).ablations, [
      "ablate.json",
      "bad/x.ablate.json",
    ]);
    const ok1 = await (await get(board, "/api/ablate?path=ablate.json")).json();
    equal(ok1.ablation.title, "9ada9179 vs 47c97768");
    equal(ok1.ablation.confidence, 0.95);
    deepEqual(ok1.ablation.seeds, good.seeds);
    // Run paths are relative to the file's folder (as deno task ablate writes them): the
    // page gets ids relative to the root.
    await Deno.mkdir(join(root, "abl"), { recursive: true });
    await Deno.writeTextFile(
      join(root, "abl/ablate.json"),
      JSON.stringify({
        ...good,
        seeds: [{ seed: 0, base: "../47c97768/20260101-000000", ablation: null }],
      }),
    );
    const nested = await (await get(board, "/api/ablate?path=abl%2Fablate.json")).json();
    deepEqual(nested.ablation.seeds, [
      { seed: 0, base: "47c97768/20260101-000000", ablation: null },
    ]);
    const bad = await get(board, "/api/ablate?path=bad%2Fx.ablate.json");
    equal(bad.status, 422);
    match(await bad.text(), /differences\[0\]: low is above high/);
    equal((await get(board, "/api/ablate?path=47c97768%2F20260101-000000%2Frun.json")).status, 403);
    for (
      const [value, error] of [
        [[], /expected a JSON object/],
        [{ ...good, format: "x" }, /format must be/],
        [{ ...good, seeds: [{ seed: "0" }] }, /seeds\[0\]\.seed must be a number/],
        [
          { ...good, curves: [{ metric: "m", seed: 0, arm: "base", points: [[1]] }] },
          /curves\[0\]\.points/,
        ],
      ] as const
    ) {
      let thrown: unknown = null;
      try {
        parseAblation(value);
      } catch (e) {
        thrown = e;
      }
      ok(thrown instanceof TypeError);
      match(thrown.message, error);
    }
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("board task: --help, a bad folder, and a non-loopback host gets a token and a warning", async () => {
  const help = await captured(() => boardMain(["--help"]));
  equal(help.value, 0);
  match(help.out, /--token/);
  const missing = await captured(() => boardMain(["/nonexistent/runs"]));
  equal(missing.value, 1);
  match(missing.err, /^board: Cannot serve '\/nonexistent\/runs': no such directory/);
  const { top, root } = await fixture();
  try {
    const stop = new AbortController();
    const running = captured(() =>
      boardMain(
        [root, "--host", "0.0.0.0", "--port", "0", "--cache", join(top, "cache")],
        stop.signal,
      )
    );
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    const result = await running;
    equal(result.value, 0);
    match(result.err, /WARNING: listening on 0\.0\.0\.0, not loopback/);
    match(result.out, /at http:\/\/0\.0\.0\.0:\d+\/\?token=[0-9a-f]{32}\n/);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});
