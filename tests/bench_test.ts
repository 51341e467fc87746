import { deepEqual, equal, match, throws } from "node:assert/strict";
import { benchBackend, formatTable, runSuitesHere } from "../tasks/bench/runner.ts";
import type { BenchRow, BenchSuite } from "../tasks/bench/types.ts";
import { timeMs } from "../tasks/bench/conv.ts";
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
    while (performance.now() - start < (calls === 3 ? 1 : 8));
    return tf.ones([4]);
  }, { maxReps: 4, budgetMs: 1e6 });
  equal(calls, 5); // one warm-up, then maxReps
  equal(ms < 8, true, `expected the fast third run to be the minimum, got ${ms} ms`);
  equal(tf.memory().numTensors, before);
});
