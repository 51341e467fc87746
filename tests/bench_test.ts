import { deepEqual, equal, match, throws } from "node:assert/strict";
import { benchBackend, formatTable, runSuitesHere } from "../tasks/bench/runner.ts";
import type { BenchRow, BenchSuite } from "../tasks/bench/types.ts";
import { timeMs } from "../tasks/bench/conv.ts";
import { torchRows } from "../tasks/bench/torch.ts";
import { ratioLines } from "../tasks/bench.ts";
import { tf } from "../mod.ts";

Deno.test("bench runner: suites see the backend they run on, rows come back in order", async () => {
  const seen: string[] = [];
  const suite = (name: string, perThreadCount: boolean): BenchSuite => ({
    name,
    perThreadCount,
    run() {
      const { name: backend, threads } = benchBackend();
      seen.push(`${name}@${backend}`);
      return Promise.resolve([{ name, shape: "-", backend, threads, value: 1, unit: "ms" }]);
    },
  });
  const suites = [suite("a", true), suite("b", false)];
  const all = await runSuitesHere(suites, { backend: "cpu" });
  deepEqual(all.map((r) => [r.name, r.backend, r.threads]), [["a", "cpu", 1], ["b", "cpu", 1]]);
  const perThread = await runSuitesHere(suites, { backend: "cpu", perThreadOnly: true });
  deepEqual(perThread.map((r) => r.name), ["a"]);
  deepEqual(seen, ["a@cpu", "b@cpu", "a@cpu"]);
  throws(() => benchBackend(), /no bench suite is running/);
});

Deno.test("bench table: one aligned line per row, numbers right-aligned", () => {
  const rows: BenchRow[] = [
    {
      name: "conv2d forward",
      shape: "2x32x32x256 k3 -> 256",
      backend: "wasm",
      threads: 2,
      value: 45.25,
      unit: "GFLOP/s",
      peakMiB: 16,
    },
    { name: "x", shape: "s", backend: "cpu", threads: 1, value: 1234.5, unit: "ms", note: "n" },
  ];
  const lines = formatTable(rows).split("\n");
  equal(lines.length, 4);
  match(lines[0]!, /^name\s+shape\s+backend\s+threads\s+value\s+unit\s+peak MiB\s+note$/);
  match(lines[2]!, /^conv2d forward\s+2x32x32x256 k3 -> 256\s+wasm\s+2\s+45\.3\s+GFLOP\/s\s+16$/);
  match(lines[3]!, /^x\s+s\s+cpu\s+1\s+1235\s+ms\s+n$/);
  // Columns line up: "value" ends where each value ends.
  const end = lines[0]!.indexOf("value") + "value".length;
  equal(lines[2]!.slice(0, end).endsWith("45.3"), true);
  equal(lines[3]!.slice(0, end).endsWith("1235"), true);
});

Deno.test("timeMs returns the fastest run and disposes what it times", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  let calls = 0;
  const ms = timeMs(() => {
    calls++;
    const start = performance.now();
    while (performance.now() - start < (calls === 3 ? 1 : 60)); // a wide gap: the machine is shared
    return tf.ones([4]);
  }, { maxReps: 4, budgetMs: 1e6 });
  equal(calls, 5); // one warm-up, then maxReps
  equal(ms < 60, true, `expected the fast third run to be the minimum, got ${ms} ms`);
  equal(tf.memory().numTensors, before);
});

Deno.test("bench ratios: each voxlab backend's all-threads model rows over PyTorch's", () => {
  const row = (name: string, backend: string, threads: number, value: number): BenchRow => ({
    name,
    shape: "-",
    backend,
    threads,
    value,
    unit: "s",
  });
  const rows = [
    row("GAN iteration", "wasm", 1, 30),
    row("GAN iteration", "wasm", 2, 12),
    row("GAN iteration", "tensorflow", 2, 4.8),
    row("generator forward", "tensorflow", 2, 210),
    row("conv2d forward", "tensorflow", 2, 300),
    row("GAN iteration", "PyTorch 2.13.0+cpu", 2, 6),
    row("generator forward", "PyTorch 2.13.0+cpu", 2, 200),
  ];
  deepEqual(ratioLines(rows), [
    "wasm / PyTorch 2.13.0+cpu time: GAN iteration 2.00x",
    "tensorflow / PyTorch 2.13.0+cpu time: GAN iteration 0.80x, generator forward 1.05x",
  ]);
  deepEqual(ratioLines(rows.filter((r) => !r.backend.startsWith("PyTorch"))), []);
});

Deno.test("torchRows: medians of the PyTorch report as model rows", () => {
  const rows = torchRows({
    torch: "2.13.0+cpu",
    threads: 2,
    generator_forward_s: [0.25, 0.2, 0.9],
    iteration_s: [7, 6.04, 6.5],
    peak_rss_mib: 1603.4,
  });
  deepEqual(rows.map((r) => [r.name, r.backend, r.threads, r.value, r.unit, r.peakMiB]), [
    ["generator forward", "PyTorch 2.13.0+cpu", 2, 250, "ms", 1603],
    ["GAN iteration (5 critic + 1 generator)", "PyTorch 2.13.0+cpu", 2, 6.5, "s", 1603],
  ]);
});
