import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { initBackend } from "../mod.ts";
import { type DatasetItem, SpectrogramDataset } from "../lib/data/dataset.ts";
import { LabelSchema } from "../lib/data/labels.ts";
import { resolveFeatures } from "../lib/data/spectrogram.ts";
import { sentenceKeyOf, splitDataset } from "../lib/data/split.ts";
import { extend } from "../lib/experiment/compose.ts";
import { buildTrainer } from "../lib/runs/trainer.ts";
import base from "../experiments/47c97768.ts";

await initBackend({ backend: "cpu", quiet: true });

const SPEAKERS = ["m1", "f1", "m2", "f2"];
const features = resolveFeatures({ bins: 16, segmentFrames: 16 });
const schema = new LabelSchema([{ name: "speaker", values: SPEAKERS }]);

/** A parallel corpus: every speaker says sentences 001…n (files `wav/<spk>/<spk>_<nnn>.wav`). */
function parallel(
  sentences: number,
  order: "speaker" | "sentence" = "speaker",
): SpectrogramDataset {
  const items: DatasetItem[] = [];
  const pairs = SPEAKERS.flatMap((s) =>
    Array.from({ length: sentences }, (_, i) => [s, String(i + 1).padStart(3, "0")] as const)
  );
  if (order === "sentence") {
    pairs.sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]));
  }
  for (const [s, n] of pairs) {
    const values = { speaker: s };
    const spec = { data: new Float32Array(16 * 24).fill(0.5), bins: 16, frames: 24 };
    items.push({
      path: `/c/wav/${s}/${s}_${n}.wav`,
      values,
      input: schema.encodeInput(values),
      output: schema.encodeOutput(values),
      frames: 24,
      seconds: 0.2,
      spectrogram: () => spec,
    });
  }
  return new SpectrogramDataset("par", items, schema, features);
}

Deno.test("sentence keys strip the speaker from the file name", () => {
  equal(sentenceKeyOf({ path: "wav/m1/m1_007.wav", values: { speaker: "m1" } }), "007");
  equal(sentenceKeyOf({ path: "p225/p225_001.flac", values: { speaker: "p225" } }), "001");
  equal(sentenceKeyOf({ path: "a/001-spk9.wav", values: { speaker: "spk9" } }), "001");
  equal(sentenceKeyOf({ path: "u3.wav", values: { speaker: "s1" } }), "u3");
  equal(sentenceKeyOf({ path: "x\\\\m2_004.wav", values: { speaker: "m2" } }), "004");
});

Deno.test("split holds out whole sentences, deterministically and whatever the file order", () => {
  const ds = parallel(20);
  const a = splitDataset(ds, { heldOut: 0.25, seed: 0 });
  equal(a.keys, 20);
  equal(a.testKeys.length, 5);
  equal(a.test.size, 5 * SPEAKERS.length);
  equal(a.train.size, 15 * SPEAKERS.length);
  // Every speaker's rendition of a held-out sentence is held out; no sentence is on both sides.
  const trainKeys = new Set(a.train.items.map((i) => sentenceKeyOf(i)));
  for (const k of a.testKeys) ok(!trainKeys.has(k), `sentence ${k} on both sides`);
  for (const s of SPEAKERS) {
    equal(a.test.items.filter((i) => i.values.speaker === s).length, 5);
  }
  // Same seed, same split, also when the files come in another order; another seed differs.
  deepEqual(
    splitDataset(parallel(20, "sentence"), { heldOut: 0.25, seed: 0 }).testKeys,
    a.testKeys,
  );
  ok(splitDataset(ds, { heldOut: 0.25, seed: 1 }).testKeys.join() !== a.testKeys.join());
  // Rounding and bounds: at least 1 and at most n − 1 held out; 0 holds out nothing.
  equal(splitDataset(parallel(3), { heldOut: 0.01, seed: 0 }).testKeys.length, 1);
  equal(splitDataset(parallel(3), { heldOut: 0.99, seed: 0 }).testKeys.length, 2);
  equal(splitDataset(ds, { heldOut: 0, seed: 0 }).test.size, 0);
  throws(() => splitDataset(ds, { heldOut: 1, seed: 0 }), /heldOut must be in \[0, 1\)/);
});

Deno.test("the trainer trains on the training split, draws cross-speaker pairs and counts epochs", () => {
  const exp = extend(base, {
    data: { features: { bins: 16, segmentFrames: 16 }, pairs: { differentAttribute: "speaker" } },
    model: {
      generator: { widths: [2, 4, 4], resBlocks: 1 },
      discriminator: { widths: [2, 4, 4, 4], featureLayer: 3 },
    },
  });
  const trainer = buildTrainer(exp, parallel(8));
  try {
    equal(trainer.dataset.size, 6 * 4); // 2 of 8 sentences held out
    equal(trainer.heldOut?.size, 2 * 4);
    equal(trainer.heldOutKeys.length, 2);
    const heldOut = new Set(trainer.heldOutKeys);
    // 24 utterances, batch 2, 6 batches per iteration: 2 iterations per epoch.
    equal(trainer.itersPerEpoch, 2);
    // The seed's decay every 100 epochs: at iteration 200, not at epoch… of iterations.
    equal(trainer.learningRates(199).generator, 1e-5);
    ok(Math.abs(trainer.learningRates(200).generator - 1e-5 * 10 ** -0.5) < 1e-18);
    for (let i = 0; i < 50; i++) {
      const b = trainer.sampler.nextArrays();
      b.indexA.forEach((a, s) => {
        const A = trainer.dataset.items[a]!, B = trainer.dataset.items[b.indexB[s]!]!;
        ok(A.values.speaker !== B.values.speaker, "same-speaker pair");
        ok(!heldOut.has(sentenceKeyOf(A)) && !heldOut.has(sentenceKeyOf(B)), "held-out item drawn");
      });
    }
  } finally {
    trainer.dispose();
  }
  const wrong = extend(exp, { data: { pairs: { differentAttribute: "accent" } } });
  throws(
    () => buildTrainer(wrong, parallel(4)),
    /data\.pairs\.differentAttribute.*no attribute 'accent'/,
  );
});
