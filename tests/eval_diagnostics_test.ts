import { equal, ok, throws } from "node:assert/strict";
import { initBackend, tf } from "../mod.ts";
import {
  CollapseDetector,
  conversionAccuracy,
  dataSpread,
  type GeneratorFn,
  identityDistance,
  labelSensitivity,
} from "../lib/eval/diagnostics/measures.ts";
import {
  frameMcd,
  mcd,
  melCepstrum,
  spectrogramMelCepstra,
  warpFrequency,
  waveformMelCepstra,
} from "../lib/eval/mcd.ts";
import { Rng } from "../lib/random.ts";
import { DEFAULT_FEATURES } from "../lib/data/spectrogram.ts";

await initBackend({ backend: "cpu", quiet: true });

const close = (a: number, b: number, tol: number, what: string) =>
  ok(Math.abs(a - b) <= tol, `${what}: expected ${b} ± ${tol}, got ${a}`);

/** Two constant spectrograms, 0.25 and 0.75: spread exactly 0.5. */
function twoLevels(h = 8, w = 8): tf.Tensor4D {
  return tf.concat([tf.fill([1, h, w, 1], 0.25), tf.fill([1, h, w, 1], 0.75)]) as tf.Tensor4D;
}

/** G(x, c) = x + s · (index of the hot label): a label-dependent generator with a known answer. */
function shiftByLabel(s: number): GeneratorFn {
  return (x, c) => {
    const index = tf.matMul(c, tf.reshape(tf.range(0, c.shape[1]), [-1, 1])); // [B, 1]
    return tf.add(x, tf.mul(s, tf.reshape(index, [-1, 1, 1, 1]))) as tf.Tensor4D;
  };
}

/** The seed's failure: the output is almost the input, a 1e-4 trace of the label. */
const identityLike: GeneratorFn = (x, c) => shiftByLabel(1e-4)(tf.mul(x, 0.99) as tf.Tensor4D, c);

Deno.test("dataSpread is the mean pairwise absolute difference", () => {
  tf.tidy(() => {
    close(dataSpread(twoLevels()), 0.5, 1e-7, "two levels");
    // Three samples 0, 0.1, 0.4: pairs 0.1, 0.4, 0.3 -> mean 0.8/3.
    const x = tf.concat([0, 0.1, 0.4].map((v) => tf.fill([1, 2, 3, 1], v))) as tf.Tensor4D;
    close(dataSpread(x), 0.8 / 3, 1e-7, "three levels");
    throws(() => dataSpread(tf.zeros([1, 2, 2, 1]) as tf.Tensor4D), RangeError);
  });
});

Deno.test("labelSensitivity and identityDistance on constructed generators", () => {
  tf.tidy(() => {
    const x = twoLevels();
    const targets = tf.eye(3) as tf.Tensor2D; // labels 0, 1, 2
    // Identity: no label effect, no change.
    equal(labelSensitivity((xx) => xx, { x, targets }), 0);
    equal(identityDistance((xx) => xx, { x, targets }), 0);
    // Shift by 0.1·k: pairs (0,1) (0,2) (1,2) differ by 0.1, 0.2, 0.1 -> mean 0.4/3; / spread 0.5.
    const g = shiftByLabel(0.1);
    close(labelSensitivity(g, { x, targets }), 0.4 / 3 / 0.5, 1e-6, "shift sensitivity");
    close(labelSensitivity(g, { x, targets }, { spread: 1 }), 0.4 / 3, 1e-6, "raw sensitivity");
    // |G(x, c_k) − x| = 0.1·k -> mean over k = 0.1.
    close(identityDistance(g, { x, targets }), 0.1, 1e-6, "shift identity distance");
    // A constant generator ignores labels but is far from the input.
    const constant: GeneratorFn = (xx) => tf.fill(xx.shape, 0.5) as tf.Tensor4D;
    equal(labelSensitivity(constant, { x, targets }), 0);
    close(identityDistance(constant, { x, targets }), 0.25, 1e-7, "constant identity distance");
    // Shape errors are refused with a message naming both shapes.
    throws(
      () => labelSensitivity((xx) => tf.slice(xx, 0, 1) as tf.Tensor4D, { x, targets }),
      /maps \[2, 8, 8, 1\] to \[1, 8, 8, 1\]/,
    );
    throws(() => labelSensitivity(g, { x, targets: tf.eye(1) as tf.Tensor2D }), RangeError);
    // A repeated target counts once: labels 0, 0, 1 -> the one pair (0, 1) differs by 0.1.
    const repeated = tf.tensor2d([[1, 0], [1, 0], [0, 1]]);
    close(labelSensitivity(g, { x, targets: repeated }, { spread: 1 }), 0.1, 1e-6, "repeated");
    throws(
      () => labelSensitivity(g, { x, targets: tf.tensor2d([[0, 1], [0, 1]]) }),
      /at least 2 distinct targets, got 1/,
    );
  });
});

Deno.test("diagnostics leave no tensors behind", () => {
  const x = twoLevels();
  const targets = tf.eye(3) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  labelSensitivity(shiftByLabel(0.1), { x, targets });
  identityDistance(shiftByLabel(0.1), { x, targets });
  dataSpread(x);
  equal(tf.memory().numTensors, before);
  tf.dispose([x, targets]);
});

Deno.test("conversionAccuracy counts converted outputs classified as their target", () => {
  tf.tidy(() => {
    const x = tf.zeros([4, 4, 4, 1]) as tf.Tensor4D;
    const targets = tf.eye(3) as tf.Tensor2D;
    // The classifier reads the mean level back as a class: round(mean / 0.1).
    const classify = (y: tf.Tensor4D) =>
      tf.oneHot(tf.cast(tf.round(tf.div(tf.mean(y, [1, 2, 3]), 0.1)), "int32"), 3) as tf.Tensor2D;
    const options = { classifier: classify, targetClasses: [0, 1, 2] };
    equal(conversionAccuracy(shiftByLabel(0.1), { x, targets }, options), 1);
    // The identity lands every output in class 0: right only for target 0.
    close(
      conversionAccuracy((xx) => xx, { x, targets }, options),
      1 / 3,
      1e-9,
      "identity accuracy",
    );
    throws(
      () => conversionAccuracy((xx) => xx, { x, targets }, { ...options, targetClasses: [0] }),
      RangeError,
    );
  });
});

/** Feed a detector the label sensitivity of `g` at 6 evaluations; return what it said. */
function watch(g: GeneratorFn): { warnings: (string | null)[]; detector: CollapseDetector } {
  const detector = new CollapseDetector({ threshold: 0.05, patience: 3 });
  const warnings: (string | null)[] = [];
  const rng = new Rng(5);
  tf.tidy(() => {
    const targets = tf.eye(4) as tf.Tensor2D;
    for (let i = 0; i < 6; i++) {
      // A fresh held-out-like batch of random spectrograms each time.
      const x = tf.tensor4d(rng.uniformArray(2 * 8 * 8), [2, 8, 8, 1]);
      const spread = dataSpread(x);
      warnings.push(detector.update({
        iteration: (i + 1) * 100,
        labelSensitivity: labelSensitivity(g, { x, targets }, { spread }),
        identityDistance: identityDistance(g, { x, targets }),
        spread,
      }));
    }
  });
  return { warnings, detector };
}

Deno.test("collapse warning fires on an identity-like generator", () => {
  const { warnings, detector } = watch(identityLike);
  equal(warnings[0], null);
  equal(warnings[1], null);
  ok(warnings[2]?.startsWith("COLLAPSE: the generator ignores its labels"), String(warnings[2]));
  ok(warnings[2]?.includes("iterations 100–300"), warnings[2]!);
  ok(warnings[2]?.includes("almost the input"), warnings[2]!);
  ok(warnings[5]?.includes("6 consecutive evaluations"), String(warnings[5]));
  ok(detector.collapsed);
  equal(detector.warning, warnings[5]);
});

Deno.test("collapse warning stays quiet on a label-dependent generator", () => {
  const { warnings, detector } = watch(shiftByLabel(0.1));
  equal(warnings.filter((w) => w !== null).length, 0);
  equal(detector.warning, null);
  equal(detector.collapsed, false);
});

Deno.test("collapse detector: a recovery resets the streak but keeps the fired warning", () => {
  const d = new CollapseDetector({ threshold: 0.1, patience: 2 });
  equal(d.update({ iteration: 1, labelSensitivity: 0.01 }), null);
  equal(d.update({ iteration: 2, labelSensitivity: 0.5 }), null);
  equal(d.update({ iteration: 3, labelSensitivity: 0.01 }), null); // streak restarted
  const w = d.update({ iteration: 4, labelSensitivity: 0.02 });
  ok(w?.includes("iterations 3–4"), String(w));
  ok(w?.includes("nearly identical"), String(w)); // no identity distance given
  d.update({ iteration: 5, labelSensitivity: 0.9 });
  equal(d.collapsed, false);
  equal(d.warning, w);
  throws(() => new CollapseDetector({ patience: 0 }), RangeError);
  throws(() => d.update({ iteration: 6, labelSensitivity: NaN }), RangeError);
});

// ---- MCD ----

const N = 256;

/** A log spectrum that is exactly a short cosine series on the warped axis. */
function seriesFrame(coefs: number[], alpha = 0.42): Float32Array {
  return Float32Array.from({ length: N }, (_, k) => {
    const beta = warpFrequency(Math.PI * k / N, alpha);
    let v = coefs[0]!;
    for (let m = 1; m < coefs.length; m++) v += coefs[m]! * Math.cos(m * beta);
    return v;
  });
}

Deno.test("warpFrequency: -alpha inverts +alpha", () => {
  for (const w of [0, 0.3, 1, 2, 3, Math.PI]) {
    close(warpFrequency(warpFrequency(w, 0.42), -0.42), w, 1e-12, `w=${w}`);
  }
});

Deno.test("melCepstrum recovers the coefficients of a known warped cosine series", () => {
  const c = melCepstrum(seriesFrame([0.5, 0.3, 0, -0.1, 0.05]), { nyquistBin: N });
  const want = [0.5, 0.3, 0, -0.1, 0.05];
  for (let m = 0; m <= 24; m++) close(c[m]!, want[m] ?? 0, 2e-3, `c${m}`);
  // With alpha 0 it is the plain cepstrum of a plain cosine series.
  const plain = Float32Array.from({ length: N }, (_, k) => 1 + 0.4 * Math.cos(2 * Math.PI * k / N));
  const c0 = melCepstrum(plain, { alpha: 0, nyquistBin: N, order: 4 });
  close(c0[0]!, 1, 1e-3, "plain c0");
  close(c0[1]!, 0, 1e-3, "plain c1");
  close(c0[2]!, 0.4, 1e-3, "plain c2");
  throws(() => melCepstrum(plain, { order: 0 }), RangeError);
  throws(() => melCepstrum(plain, { alpha: 1 }), RangeError);
});

Deno.test("frameMcd matches the formula by hand", () => {
  const a = Float64Array.from([9, 0.1, 0.2]);
  const b = Float64Array.from([-3, 0.0, 0.0]); // c0 is ignored
  close(frameMcd(a, b), 10 / Math.LN10 * Math.sqrt(2 * (0.01 + 0.04)), 1e-12, "frame MCD");
});

Deno.test("frame MCD is the RMS distance in dB between the two log spectra (level excluded)", () => {
  // Two smooth log envelopes on the warped axis, not built from the coefficients.
  const envA = (b: number) => -1 + 0.8 * Math.exp(-((b - 0.9) ** 2) / 0.3) + 0.3 * Math.sin(b);
  const envB = (b: number) => 0.5 + 0.6 * Math.exp(-((b - 1.8) ** 2) / 0.4) - 0.2 * b;
  const frameOf = (env: (b: number) => number) =>
    Float32Array.from({ length: N }, (_, k) => env(warpFrequency(Math.PI * k / N, 0.42)));
  const order = 40; // enough terms that truncation is negligible for these envelopes
  const got = frameMcd(
    melCepstrum(frameOf(envA), { nyquistBin: N, order, gridSize: 2048 }),
    melCepstrum(frameOf(envB), { nyquistBin: N, order, gridSize: 2048 }),
  );
  // Independent: RMS over a uniform β grid of the dB difference with its mean removed.
  const g = 20000, db = 20 / Math.LN10;
  const d = Array.from({ length: g }, (_, i) => {
    const b = Math.PI * (i + 0.5) / g;
    return db * (envA(b) - envB(b));
  });
  const mean = d.reduce((s, x) => s + x, 0) / g;
  const rms = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / g);
  close(got, rms, 0.01 * rms, "frame MCD vs RMS dB distance");
});

/** An utterance-like sequence: coefficients drift smoothly over `frames` frames. */
function utterance(frames: number, speaker: number, stretch = 1): Float64Array[] {
  return Array.from({ length: frames }, (_, t) => {
    const u = t / stretch;
    // A second speaker has a different envelope: offsets on c1, c2 and c4.
    return melCepstrum(
      seriesFrame([
        -2,
        0.4 * Math.sin(u / 7) + 0.3 * speaker,
        0.2 * Math.cos(u / 5) - 0.2 * speaker,
        0.1 * Math.sin(u / 3),
        0.15 * speaker,
      ]),
      { nyquistBin: N },
    );
  });
}

Deno.test("mcd: identical -> 0; time-stretched -> near 0 with DTW; different -> larger", () => {
  const a = utterance(60, 0);
  equal(mcd(a, a).mcd, 0);
  equal(mcd(a, a).pathLength, 60);
  // The same utterance spoken 1.5× slower: 90 frames sampled from the same trajectory.
  const slow = utterance(90, 0, 1.5);
  const stretched = mcd(a, slow).mcd;
  const unaligned = mcd(a, slow, { dtw: false }).mcd;
  const other = mcd(a, utterance(60, 1)).mcd;
  ok(stretched < 0.3, `stretched with DTW: ${stretched} dB`);
  ok(unaligned > 5 * stretched, `without DTW ${unaligned} should exceed DTW ${stretched}`);
  ok(other > 10 * stretched && other > 1.5, `different: ${other} dB vs stretched ${stretched} dB`);
  throws(() => mcd([], a), RangeError);
});

Deno.test("spectrogramMelCepstra maps [0,1] over the dB range to log amplitude", () => {
  // A 256×3 spectrogram whose every frame is 0.5 + 0.25·cos β(ω) in [0,1] units.
  const h = N, w = 3;
  const frame = seriesFrame([0.5, 0.25]);
  const data = new Float32Array(h * w);
  for (let k = 0; k < h; k++) for (let t = 0; t < w; t++) data[k * w + t] = frame[k]!;
  const cs = spectrogramMelCepstra(data, [h, w], { minDb: -80, maxDb: 0, order: 4 });
  equal(cs.length, 3);
  // value v -> (−80 + 80 v) dB -> ln amplitude (−80 + 80 v)·ln10/20.
  const s = Math.LN10 / 20;
  close(cs[2]![0]!, (-80 + 80 * 0.5) * s, 1e-3, "c0");
  close(cs[2]![1]!, 80 * 0.25 * s, 1e-3, "c1");
  throws(() => spectrogramMelCepstra(data, [h, 2]), RangeError);
});

/** Tones in sequence: each [frequency Hz, seconds], with short fades. */
function melody(notes: [number, number][], rate = 16000): Float32Array {
  const parts: number[] = [];
  let phase = 0;
  for (const [f, sec] of notes) {
    const n = Math.round(sec * rate);
    for (let i = 0; i < n; i++) {
      phase += 2 * Math.PI * f / rate;
      const fade = Math.min(1, i / 160, (n - i) / 160);
      parts.push(
        0.3 * fade * (Math.sin(phase) + 0.5 * Math.sin(2 * phase) + 0.25 * Math.sin(3 * phase)),
      );
    }
  }
  return Float32Array.from(parts);
}

Deno.test("MCD from waveforms: same -> 0, slower rendition -> small with DTW, other notes -> larger", () => {
  const f = DEFAULT_FEATURES;
  const a = waveformMelCepstra(melody([[220, 0.3], [330, 0.3], [262, 0.3]]), f);
  const slow = waveformMelCepstra(melody([[220, 0.45], [330, 0.45], [262, 0.45]]), f);
  const other = waveformMelCepstra(melody([[440, 0.3], [600, 0.3], [520, 0.3]]), f);
  equal(mcd(a, a).mcd, 0);
  const stretched = mcd(a, slow).mcd, unaligned = mcd(a, slow, { dtw: false }).mcd;
  const different = mcd(a, other).mcd;
  ok(stretched < 0.5 * unaligned, `DTW ${stretched} dB vs frame by frame ${unaligned} dB`);
  ok(different > 3 * stretched, `other notes ${different} dB vs slower ${stretched} dB`);
});
