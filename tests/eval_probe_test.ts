import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { initBackend, tf } from "../mod.ts";
import { type DatasetItem, SpectrogramDataset } from "../lib/data/dataset.ts";
import { LabelSchema } from "../lib/data/labels.ts";
import { resolveFeatures } from "../lib/data/spectrogram.ts";
import { convertUtterance } from "../lib/eval/convert.ts";
import { evaluateDiagnostics } from "../lib/eval/diagnostics/evaluate.ts";
import { buildProbe, probeSelection, sentenceKey } from "../lib/eval/diagnostics/probe.ts";
import { sliceFrames } from "../lib/data/segments.ts";
import { spectrogramsToTensor } from "../lib/data/tensors.ts";
import { Rng } from "../lib/random.ts";

await initBackend({ backend: "cpu", quiet: true });

const BINS = 32, WIDTH = 16;
const SPEAKERS = ["a", "b", "c", "d"];
const GENDER: Record<string, string> = { a: "female", b: "male", c: "female", d: "male" };

/** A parallel toy corpus: 4 speakers (distinct envelopes) × 5 sentences (distinct rhythms). */
function toyDataset(): SpectrogramDataset {
  const schema = new LabelSchema([
    { name: "speaker", values: SPEAKERS },
    { name: "gender", values: ["female", "male"] },
  ]);
  const rng = new Rng(11);
  const items: DatasetItem[] = [];
  SPEAKERS.forEach((spk, k) => {
    for (let s = 1; s <= 5; s++) {
      const frames = 20 + 3 * s + k; // lengths differ by sentence and speaker
      const data = new Float32Array(BINS * frames);
      for (let b = 0; b < BINS; b++) {
        const env = 0.2 + 0.6 * Math.exp(-(((b - (4 + 7 * k)) / 3) ** 2));
        for (let t = 0; t < frames; t++) {
          const rhythm = 0.6 + 0.4 * Math.sin(t * s / 5);
          data[b * frames + t] = Math.min(1, Math.max(0, env * rhythm + 0.05 * rng.normal()));
        }
      }
      const values = { speaker: spk, gender: GENDER[spk]! };
      items.push({
        path: `wav/${spk}/${spk}_00${s}.wav`,
        values,
        input: schema.encodeInput(values),
        output: schema.encodeOutput(values),
        frames,
        seconds: frames / 125,
        spectrogram: () => ({ data, bins: BINS, frames }),
      });
    }
  });
  return new SpectrogramDataset(
    "toy",
    items,
    schema,
    resolveFeatures({ bins: BINS, segmentFrames: WIDTH }),
  );
}

Deno.test("sentenceKey strips the speaker prefix", () => {
  equal(sentenceKey({ path: "wav48/p225/p225_001.wav", values: { speaker: "p225" } }), "001");
  equal(sentenceKey({ path: "wav/f1/f1_012.wav", values: { speaker: "f1" } }), "012");
  equal(sentenceKey({ path: "x/other.flac", values: { speaker: "p1" } }), "other");
});

Deno.test("buildProbe picks targets, a held-out batch, classifiers and parallel pairs", () => {
  const dataset = toyDataset();
  const before = tf.memory().numTensors;
  // D's classifier head that reads the speaker from the envelope peak, in output-label layout.
  const discriminator = {
    apply: (x: tf.Tensor4D) => ({
      cls: tf.tidy(() => {
        const env = tf.mean(x, [2, 3]) as tf.Tensor2D; // [B, BINS]
        const centres = [0, 1, 2, 3].map((k) => tf.slice(env, [0, 4 + 7 * k], [-1, 1]));
        return tf.concat([...centres, tf.zeros([x.shape[0], 2])], 1); // + gender logits
      }),
    }),
  };
  const generator = { apply: (x: tf.Tensor4D) => tf.clone(x) };
  const built = buildProbe(dataset, { generator, discriminator }, {
    targets: 4,
    batch: 4,
    classifierSteps: 150,
  });
  const { probe } = built;
  deepEqual(probe.targetNames, ["speaker=a", "speaker=b", "speaker=c", "speaker=d"]);
  deepEqual(probe.targetClasses, [0, 1, 2, 3]);
  deepEqual(probe.x.shape, [4, BINS, WIDTH, 1]);
  // Target labels carry the speaker's gender too: b is male -> input index 4 + 1.
  deepEqual([...probe.targets.arraySync()[1]!], [0, 1, 0, 0, 0, 1]);
  ok(
    built.classifierRealAccuracy! >= 0.75,
    `classifier on real data ${built.classifierRealAccuracy}`,
  );
  // Parallel pairs: reference = another speaker, same sentence (the rhythm).
  ok(probe.parallel && probe.parallel.length === 4);
  for (const pair of probe.parallel!) {
    ok(pair.reference !== pair.source);
    const refItem = dataset.items.find((i) => i.spectrogram().data === pair.reference.data)!;
    const srcItem = dataset.items.find((i) => i.spectrogram().data === pair.source.data)!;
    equal(sentenceKey(refItem), sentenceKey(srcItem));
    ok(refItem.values.speaker !== srcItem.values.speaker);
    deepEqual([...pair.target], [...refItem.input]);
  }
  // The identity generator: no sensitivity, the classifiers see the sources (chance-level).
  const r = evaluateDiagnostics(probe, 1);
  equal(r.labelSensitivity, 0);
  equal(r.identityDistance, 0);
  ok(Math.abs(r.accuracy.discriminator! - 0.25) < 1e-9, `D accuracy ${r.accuracy.discriminator}`);
  ok(r.accuracy.classifier! <= 0.5, `classifier accuracy ${r.accuracy.classifier}`);
  ok(r.mcd!.converted === r.mcd!.source && r.mcd!.source > 0);
  built.dispose();
  equal(tf.memory().numTensors, before);
});

Deno.test("buildProbe refuses an attribute the schema lacks", () => {
  const dataset = toyDataset();
  throws(
    () => buildProbe(dataset, { generator: { apply: (x) => x } }, { attribute: "accent" }),
    /no attribute 'accent' \(it has speaker, gender\)/,
  );
});

Deno.test("convertUtterance stitches windows of any length and applies the generator", () => {
  const rng = new Rng(3);
  for (const frames of [7, 16, 37]) {
    const spec = { data: rng.uniformArray(BINS * frames), bins: BINS, frames };
    const labels = Float32Array.from([0, 0, 1]);
    // G adds 0.1 × the label index: every window gets +0.2, so the stitched whole does too.
    const before = tf.memory().numTensors;
    const out = convertUtterance(
      (x, c) => tf.add(x, tf.mul(0.1, tf.reshape(tf.argMax(c, 1), [-1, 1, 1, 1]))) as tf.Tensor4D,
      { spectrogram: spec, labels },
      { width: WIDTH, batchSize: 2 },
    );
    equal(tf.memory().numTensors, before);
    equal(out.frames, frames);
    ok(out.data.every((v, i) => Math.abs(v - spec.data[i]! - 0.2) < 1e-5), `frames ${frames}`);
  }
});

Deno.test("probeSelection chooses the targets and held-out utterances buildProbe uses", () => {
  const dataset = toyDataset();
  for (const seed of [0, 3]) {
    const built = buildProbe(dataset, { generator: { apply: (x) => x } }, {
      seed,
      classifierSteps: 0,
      pairs: 0,
    });
    const chosen = probeSelection(dataset, { seed });
    deepEqual(built.probe.targetNames, chosen.targetValues.map((v) => `speaker=${v}`));
    deepEqual(built.probe.targets.arraySync(), chosen.targetLabels.map((l) => [...l]));
    // The held-out batch is the centre crops of exactly these utterances, in this order.
    const crops = chosen.held.map((item) => {
      const s = item.spectrogram();
      return sliceFrames(s, Math.max(0, Math.floor((s.frames - WIDTH) / 2)), WIDTH);
    });
    deepEqual([...built.probe.x.dataSync()], [...spectrogramsToTensor(crops).dataSync()]);
    built.dispose();
  }
});
