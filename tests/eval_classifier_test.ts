import { equal, match, ok, throws } from "node:assert/strict";
import { initBackend, tf } from "../mod.ts";
import { conversionAccuracy, type GeneratorFn } from "../lib/eval/diagnostics/measures.ts";
import { SpeakerClassifier } from "../lib/eval/speaker_classifier.ts";
import { Rng } from "../lib/random.ts";
import { applyOverrides } from "../lib/experiment/overrides.ts";
import { trainExperiment } from "../lib/runs/train.ts";
import { main as classifierMain } from "../tasks/classifier.ts";
import base from "../experiments/47c97768.ts";
import { captured } from "./capture.ts";
import { TINY_SET, writeTinyCorpus } from "./tiny_corpus.ts";

// wasm: on the pure-JS cpu backend the CNN's conv gradients take seconds per step.
await initBackend({ backend: "wasm", threads: 1, quiet: true });

const H = 32, W = 24, SPEAKERS = 3;

/** Speaker k's spectral envelope: two formant-like bumps whose positions depend on k. */
function envelope(k: number): Float32Array {
  return Float32Array.from(
    { length: H },
    (_, b) =>
      0.15 + 0.6 * Math.exp(-(((b - (5 + 6 * k)) / 2.5) ** 2)) +
      0.3 * Math.exp(-(((b - (26 - 3 * k)) / 2) ** 2)),
  );
}

/** An "utterance" of speaker k: the envelope, random per-frame loudness and noise. */
function utterance(k: number, rng: Rng): Float32Array {
  const env = envelope(k);
  const out = new Float32Array(H * W);
  for (let t = 0; t < W; t++) {
    const loud = 0.6 + 0.4 * rng.uniform();
    for (let b = 0; b < H; b++) {
      out[b * W + t] = Math.min(1, Math.max(0, env[b]! * loud + 0.08 * rng.normal()));
    }
  }
  return out;
}

function corpus(perSpeaker: number, seed: number): { x: tf.Tensor4D; labels: number[] } {
  const rng = new Rng(seed);
  const data: Float32Array[] = [], labels: number[] = [];
  for (let i = 0; i < perSpeaker; i++) {
    for (let k = 0; k < SPEAKERS; k++) {
      data.push(utterance(k, rng));
      labels.push(k);
    }
  }
  const flat = new Float32Array(data.length * H * W);
  data.forEach((d, i) => flat.set(d, i * H * W));
  return { x: tf.tensor4d(flat, [data.length, H, W, 1]), labels };
}

for (const architecture of ["cnn", "pooled"] as const) {
  Deno.test(`speaker classifier (${architecture}) generalises to held-out utterances of the same speakers`, () => {
    const train = corpus(6, 1), test = corpus(5, 2);
    const clf = SpeakerClassifier.train(train.x, train.labels, {
      steps: 150,
      seed: 3,
      architecture,
    });
    equal(clf.architecture, architecture);
    ok(clf.trainLoss < 0.2, `train loss ${clf.trainLoss}`);
    const acc = clf.accuracy(test.x, test.labels);
    ok(acc >= 0.9, `held-out accuracy ${acc}`);
    // Wrong labels are rejected by the accuracy: it is a real measurement.
    const shifted = test.labels.map((l) => (l + 1) % SPEAKERS);
    ok(clf.accuracy(test.x, shifted) <= 0.1, "shifted labels should score near 0");
    clf.dispose();
    tf.dispose([train.x, test.x]);
  });
}

Deno.test("CNN trained on fresh crops of whole utterances classifies crops of unseen ones", () => {
  // Utterances 3× wider than the crops: each step sees new time shifts.
  const rng = new Rng(5);
  const long = (k: number) => {
    const parts = [utterance(k, rng), utterance(k, rng), utterance(k, rng)];
    const data = new Float32Array(H * 3 * W);
    for (let b = 0; b < H; b++) {
      parts.forEach((p, j) => data.set(p.subarray(b * W, (b + 1) * W), b * 3 * W + j * W));
    }
    return { data, bins: H, frames: 3 * W };
  };
  const specs: { data: Float32Array; bins: number; frames: number }[] = [], labels: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let k = 0; k < SPEAKERS; k++) {
      specs.push(long(k));
      labels.push(k);
    }
  }
  const clf = SpeakerClassifier.trainOnUtterances(specs, labels, {
    cropFrames: W,
    steps: 120,
    batchSize: 16,
    seed: 2,
  });
  const test = corpus(4, 11);
  const acc = clf.accuracy(test.x, test.labels);
  ok(acc >= 0.9, `held-out accuracy ${acc}`);
  throws(
    () => SpeakerClassifier.trainOnUtterances(specs, [0], { cropFrames: W }),
    /9 utterances but 1 labels/,
  );
  clf.dispose();
  test.x.dispose();
});

Deno.test("independent classifier scores a converting generator high and the identity at chance", () => {
  const train = corpus(6, 4);
  const clf = SpeakerClassifier.train(train.x, train.labels, { steps: 150, seed: 3 });
  const source = corpus(2, 9); // 6 utterances, all speakers
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const targets = tf.eye(SPEAKERS) as tf.Tensor2D;
    // A converter: keep each frame's loudness, swap the envelope for the target's.
    const envs = tf.tensor2d(
      Array.from({ length: SPEAKERS }, (_, k) => [...envelope(k)]),
      [SPEAKERS, H],
    );
    const convert: GeneratorFn = (x, c) => {
      const loud = tf.div(tf.mean(x, [1], true), 0.3); // [B, 1, W, 1], rough loudness
      const env = tf.reshape(tf.matMul(c, envs), [-1, H, 1, 1]); // [B, H, 1, 1]
      return tf.clipByValue(tf.mul(env, loud), 0, 1) as tf.Tensor4D;
    };
    const options = { classifier: (y: tf.Tensor4D) => clf.predict(y), targetClasses: [0, 1, 2] };
    const converted = conversionAccuracy(convert, { x: source.x, targets }, options);
    const identity = conversionAccuracy((x) => x, { x: source.x, targets }, options);
    ok(converted >= 0.9, `converted accuracy ${converted}`);
    // The identity keeps each source's speaker: right only when source = target, 1/3.
    ok(Math.abs(identity - 1 / 3) < 0.12, `identity accuracy ${identity}`);
  });
  equal(tf.memory().numTensors, before);
  clf.dispose();
  tf.dispose([train.x, source.x]);
});

Deno.test("speaker classifier refuses mismatched inputs", () => {
  const x = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
  throws(() => SpeakerClassifier.train(x, [0]), /2 spectrograms but 1 labels/);
  throws(() => SpeakerClassifier.train(x, [0, 0]), RangeError);
  throws(() => SpeakerClassifier.train(x, [0, 5], { classNames: ["a", "b"] }), /outside 0..1/);
  const clf = SpeakerClassifier.train(x, [0, 1], { steps: 1 });
  throws(() => clf.predict(tf.zeros([1, 5, 4, 1]) as tf.Tensor4D), /\[B, 4, W, 1\]/);
  clf.dispose();
  x.dispose();
});

Deno.test("deno task classifier --run reproduces the run's own verdict with its settings, and takes another", async () => {
  const manifest = await writeTinyCorpus(12);
  const root = await Deno.makeTempDir({ prefix: "voxlab-judge-" });
  try {
    const exp = applyOverrides(base, [`data.dataset=${manifest}`, ...TINY_SET]);
    const { runDir } = await trainExperiment(exp, {
      root,
      progress: false,
      log: () => {},
      maxSteps: 2,
    });
    const last = (await Deno.readTextFile(`${runDir}/diagnostics.jsonl`)).trim().split("\n").at(
      -1,
    )!;
    const record = JSON.parse(last);
    const judge = (extra: string[]) =>
      captured(() => classifierMain(["--run", runDir, "--threads", "1", ...extra]));
    // The run's diagnostics trained a tdnn with seed 0 (wasm): the same settings give its figures.
    const same = await judge([]);
    equal(same.value, 0, same.err);
    const m = same.out.match(
      /: ([\d.]+) on real held-out speech .*; ([\d.]+) on (\d+) conversions by 47c97768 at iteration 2 /,
    );
    ok(m, same.out);
    equal(Number(m[1]), Number(record.realAccuracy.classifier.toFixed(3)));
    equal(Number(m[2]), Number(record.accuracy.classifier.toFixed(3)));
    equal(Number(m[3]), record.conversions);
    // Another classifier is another verdict on the same conversions.
    const other = await judge(["--architecture", "pooled", "--seed", "1", "--steps", "50"]);
    equal(other.value, 0, other.err);
    match(
      other.out,
      /^classifier: pooled \(seed 1\), trained on \d+ utterances .* on \d+ conversions by 47c97768/,
    );
    // Bad input: one line, exit 1.
    const missing = await captured(() => classifierMain(["--run", `${root}/nope`]));
    equal(missing.value, 1);
    match(missing.err, /^classifier: Cannot load run '.*nope': no such file or directory\n$/);
    const stray = await captured(() => classifierMain(["--run", runDir, "--rate", "16000"]));
    equal(stray.value, 1);
    match(stray.err, /--rate comes from the run/);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(manifest.slice(0, manifest.lastIndexOf("/")), { recursive: true });
  }
});
