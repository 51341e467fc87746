/**
 * Samples during training: a fixed batch drawn once, converted and
 * reconstructed by the current generator and written as
 * `samples/iter-NNNNNNN.png`.
 *
 * @module
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { join } from "node:path";
import { tf } from "../deps.ts";
import { PairSampler, toTensors } from "../data/batches.ts";
import { plotLossCurves, plotSpectrogramGrid } from "../eval/plots.ts";
import { readMetrics } from "../train/metrics.ts";
import { RUN_FILES } from "./run_dir.ts";
import type { Trainer } from "./trainer.ts";

/** A fixed batch for samples: the first batch of a sampler seeded apart from training. */
export function sampleArrays(trainer: Trainer): ReturnType<PairSampler["nextArrays"]> {
  const sampler = new PairSampler(trainer.dataset, {
    batchSize: Math.min(2, trainer.dataset.size),
    seed: `${trainer.experiment.trainer.seed}/samples`,
  });
  return sampler.nextArrays();
}

/** Write `samples/iter-NNNNNN.png`: per sample x_A, G(x_A, c_B), G(G(x_A, c_B), c_A) and x_B. */
export async function writeSamples(
  dir: string,
  trainer: Trainer,
  arrays: ReturnType<typeof sampleArrays>,
  iteration: number,
): Promise<string> {
  const features = trainer.dataset.features;
  const { bins } = features;
  const frames = trainer.sampler.segmentFrames;
  const names = (idx: number[]) =>
    idx.map((i) => {
      const v = trainer.dataset.items[i]!.values;
      return String(v.speaker ?? Object.values(v).find((x) => typeof x === "string") ?? i);
    });
  const [nameA, nameB] = [names(arrays.indexA), names(arrays.indexB)];
  const out = tf.tidy(() => {
    const b = toTensors(arrays, bins, frames);
    const fake = trainer.generator.apply(b.xA, b.cB, { training: false });
    const rec = trainer.generator.apply(fake, b.cA, { training: false });
    return { xA: b.xA.dataSync(), fake: fake.dataSync(), rec: rec.dataSync(), xB: b.xB.dataSync() };
  });
  const seg = bins * frames;
  const panels = arrays.indexA.flatMap((_, s) => {
    const part = (data: Float32Array | Int32Array | Uint8Array) =>
      data.slice(s * seg, (s + 1) * seg);
    const shape = [bins, frames] as const;
    return [
      { title: `x_A (${nameA[s]})`, values: part(out.xA), shape },
      { title: `G(x_A, ${nameB[s]})`, values: part(out.fake), shape },
      { title: `reconstruction`, values: part(out.rec), shape },
      { title: `x_B (${nameB[s]})`, values: part(out.xB), shape },
    ];
  });
  const canvas = plotSpectrogramGrid(panels, {
    columns: 4,
    cellSize: Math.max(96, Math.min(192, bins)),
    caption: `${trainer.experiment.meta.id} at iteration ${iteration}`,
    secondsPerFrame: features.hop / features.sampleRate,
    hzPerBin: features.sampleRate / (2 * bins),
  });
  const path = join(dir, RUN_FILES.samples, `iter-${String(iteration).padStart(7, "0")}.png`);
  await writeFileAtomic(path, canvas.toPng(), { sync: false });
  return path;
}

/**
 * Redraw `loss_curves.png` from `metrics.jsonl` while the run goes on (the
 * report redraws it at the end); nothing when there are no records yet.
 */
export async function writeLossCurves(dir: string): Promise<void> {
  let metrics;
  try {
    metrics = await readMetrics(join(dir, RUN_FILES.metrics));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (metrics.length === 0) return;
  await Deno.writeFile(join(dir, RUN_FILES.lossCurves), plotLossCurves(metrics).toPng());
}
