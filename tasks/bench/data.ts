/**
 * Bench suite `data`: preprocessing throughput (decode, resample,
 * spectrogram, cache write) in seconds of audio per second of wall time
 * ("x realtime"), with one worker and with one worker per core; plus
 * Griffin-Lim and batch sampling speed.
 *
 * The audio is the built-in demo corpus (160 espeak-ng utterances at
 * 22.05 kHz, 6.6 min; built on first use, ~30 s), preprocessed into a fresh
 * temporary cache so that every file is computed. These rows do not use the
 * tfjs backend; `threads` is the number of preprocessing workers. The note
 * also gives the process CPU time, whose ratio to the audio duration does not
 * depend on what else the machine is running.
 *
 * @module
 */

import process from "node:process";
import { tf } from "../../lib/deps.ts";
import {
  buildDemoCorpus,
  DEFAULT_FEATURES,
  denormalize,
  griffinLim,
  loadDataset,
  PairSampler,
} from "../../lib/data/mod.ts";
import type { BenchRow, BenchSuite } from "./types.ts";

function rss(): number {
  return Math.round(Deno.memoryUsage().rss / 2 ** 20);
}

/** The `data` suite. */
export const suite: BenchSuite = {
  name: "data",
  perThreadCount: false,
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const corpus = await buildDemoCorpus({ progress: false });
    const cores = navigator.hardwareConcurrency || 1;
    const dir = await Deno.makeTempDir({ prefix: "voxlab-bench-data-" });
    try {
      let last = null;
      for (const workers of [...new Set([1, Math.min(4, cores)])]) {
        const cpu0 = process.cpuUsage();
        const ds = await loadDataset(corpus.manifest, {
          cacheDir: `${dir}/cache-${workers}`,
          workers,
          progress: false,
        });
        const p = ds.preparation;
        const cpu = process.cpuUsage(cpu0);
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        rows.push({
          name: "data prepare (decode, resample, spectrogram, cache)",
          shape: `${ds.size} files, ${(ds.seconds / 60).toFixed(1)} min, 22.05k->16k, 256 bins`,
          backend: "js/wasm",
          threads: workers,
          value: Math.round(ds.seconds / p.seconds),
          unit: "x realtime",
          peakMiB: rss(),
          note: `${p.seconds.toFixed(2)} s wall, ${cpuSeconds.toFixed(2)} s CPU (${
            Math.round(ds.seconds / cpuSeconds)
          }x realtime per CPU second, which depends less on machine load); target >= 100x on 2 cores`,
        });
        last = ds;
      }
      const ds = last!;
      // Griffin-Lim, 60 iterations, on the first 256-frame window of utterances.
      const item = ds.items[0]!;
      const spec = item.spectrogram();
      const mag = {
        data: denormalize(spec, DEFAULT_FEATURES),
        bins: spec.bins,
        frames: spec.frames,
      };
      const t0 = performance.now();
      griffinLim(mag, DEFAULT_FEATURES, { iterations: 60 });
      const glSeconds = (performance.now() - t0) / 1000;
      rows.push({
        name: "griffin-lim 60 iterations",
        shape: `${spec.bins} bins x ${spec.frames} frames (${item.seconds.toFixed(2)} s)`,
        backend: "js",
        threads: 1,
        value: Number((item.seconds / glSeconds).toFixed(1)),
        unit: "x realtime",
        peakMiB: rss(),
      });
      // Pair batches as tensors at the seed's shapes.
      const sampler = new PairSampler(ds, { batchSize: 2, seed: 0 });
      tf.dispose(sampler.next());
      const n = 50;
      const t1 = performance.now();
      for (let i = 0; i < n; i++) tf.dispose(sampler.next());
      rows.push({
        name: "pair batches",
        shape: "xA, xB [2,256,256,1] + labels",
        backend: tf.getBackend(),
        threads: 1,
        value: Math.round(n / ((performance.now() - t1) / 1000)),
        unit: "batches/s",
        peakMiB: rss(),
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    return rows;
  },
};
