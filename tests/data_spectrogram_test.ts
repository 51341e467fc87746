import { equal, ok, throws } from "node:assert/strict";
import {
  buildDemoCorpus,
  DEFAULT_FEATURES,
  denormalize,
  griffinLim,
  initBackend,
  istft,
  magnitudeSpectrogram,
  normalizeMagnitudes,
  randomCrop,
  readAudioFile,
  resample,
  resolveFeatures,
  Rng,
  spectralConvergence,
  spectrogramsToTensor,
  stft,
  stitch,
  tensorToSpectrograms,
  tf,
  toSpectrogram,
  toWaveform,
  windows,
} from "../mod.ts";

const sine = (f: number, n: number, amp = 1, rate = 16000) =>
  Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * f * i) / rate));

/**
 * |X_t[k]| by the DFT's definition: frame `t` centred on sample `t·hop`,
 * zero-padded, with the symmetric Hann window `0.5 − 0.5 cos(2πi/(n − 1))`.
 */
function directMagnitude(
  x: Float32Array,
  frame: number,
  hop: number,
  t: number,
  k: number,
): number {
  let re = 0, im = 0;
  for (let i = 0; i < frame; i++) {
    const j = t * hop - frame / 2 + i;
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frame - 1));
    const v = j >= 0 && j < x.length ? x[j]! * w : 0;
    re += v * Math.cos((2 * Math.PI * k * i) / frame);
    im -= v * Math.sin((2 * Math.PI * k * i) / frame);
  }
  return Math.hypot(re, im);
}

Deno.test("spectrogram: magnitudes match a direct DFT; shape and bin placement", () => {
  const x = new Rng(3).normalArray(5000, 0.1);
  const mag = magnitudeSpectrogram(x, DEFAULT_FEATURES);
  equal(mag.bins, 256);
  equal(mag.frames, Math.floor(5000 / 128) + 1);
  let maxRel = 0;
  for (let k = 0; k < mag.bins; k++) {
    for (let t = 0; t < mag.frames; t++) {
      const r = directMagnitude(x, 512, 128, t, k);
      maxRel = Math.max(maxRel, Math.abs(mag.data[k * mag.frames + t]! - r) / (r + 1e-3));
    }
  }
  ok(maxRel < 1e-3, `spectrogram vs direct DFT relative error ${maxRel}`);
  // A full-scale 1 kHz sine: bin 1000 / (16000 / 512) = 32 reads 0 dB -> (0 + 90) / 100.
  const spec = toSpectrogram(sine(1000, 16000), DEFAULT_FEATURES);
  const t = 60;
  let best = 0;
  for (let k = 1; k < 256; k++) {
    if (spec.data[k * spec.frames + t]! > spec.data[best * spec.frames + t]!) best = k;
  }
  equal(best, 32);
  ok(
    Math.abs(spec.data[32 * spec.frames + t]! - 0.9) < 0.005,
    `peak ${spec.data[32 * spec.frames + t]}`,
  );
  // Silence maps to 0, everything to [0, 1].
  const quiet = toSpectrogram(new Float32Array(2000), DEFAULT_FEATURES);
  ok(quiet.data.every((v) => v === 0));
  ok(spec.data.every((v) => v >= 0 && v <= 1));
  throws(
    () => toSpectrogram(new Float32Array(511), DEFAULT_FEATURES),
    /shorter than one frame \(512\)/,
  );
});

Deno.test("fft: the STFT matches a direct DFT, and the inverse STFT reconstructs a signal", () => {
  const x = new Rng(1).normalArray(3000);
  for (const frames of [24, 23]) { // even and odd frame counts (frames are transformed in pairs)
    const s = stft(x, 64, 128, frames);
    const w = (n: number) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / 63);
    for (const t of [0, 1, frames - 1]) {
      for (const k of [0, 1, 13, 31]) {
        let re = 0, im = 0;
        for (let n = 0; n < 64; n++) {
          const j = t * 128 - 32 + n;
          const v = j >= 0 && j < x.length ? x[j]! * w(n) : 0;
          re += v * Math.cos((2 * Math.PI * k * n) / 64);
          im -= v * Math.sin((2 * Math.PI * k * n) / 64);
        }
        ok(
          Math.abs(re - s.re[k * frames + t]!) < 1e-9 &&
            Math.abs(im - s.im[k * frames + t]!) < 1e-9,
        );
      }
    }
  }
  // A signal far below Nyquist comes back almost exactly: only the little energy
  // the Hann window leaks into the dropped Nyquist bin is lost.
  const y = sine(440, 8000, 0.5).map((v, i) => v + 0.3 * Math.sin(i / 3));
  const frames = Math.floor(8000 / 128) + 1;
  const back = istft(stft(y, 512, 128, frames), 128, 8000);
  let err = 0;
  for (let i = 0; i < 8000; i++) err = Math.max(err, Math.abs(back[i]! - y[i]!));
  ok(err < 1e-3, `reconstruction error ${err}`);
});

Deno.test("spectrogram: normalize/denormalize invert each other inside the dB range; tiny configs work", () => {
  const f = DEFAULT_FEATURES;
  const ref = (512 - 1) / 4;
  const mags = Float32Array.from([-80, -45, -3, 5].map((db) => ref * 10 ** (db / 20)));
  const norm = normalizeMagnitudes(mags.slice(), f);
  ok(Math.abs(norm[0]! - 0.1) < 1e-6 && Math.abs(norm[3]! - 0.95) < 1e-6);
  const back = denormalize({ data: norm, bins: 4, frames: 1 }, f);
  back.forEach((m, i) => ok(Math.abs(m / mags[i]! - 1) < 1e-4));
  const tiny = resolveFeatures({ bins: 32, segmentFrames: 32 });
  const s = toSpectrogram(sine(2000, 4096), tiny);
  equal(s.bins, 32);
  equal(s.frames, 4096 / 128 + 1);
  throws(() => resolveFeatures({ bins: 100 }), /bins must be a power of two/);
  throws(() => resolveFeatures({ minDb: 0, maxDb: -10 }), RangeError);
});

Deno.test("segments: seeded crops, silence padding, windows and stitching", () => {
  const bins = 3, frames = 700;
  const data = Float32Array.from({ length: bins * frames }, (_, i) => ((i * 7919) % 1000) / 1000);
  const spec = { data, bins, frames };
  const a = randomCrop(spec, 256, new Rng(5)), b = randomCrop(spec, 256, new Rng(5));
  equal(a.frames, 256);
  equal(a.data.join(), b.data.join());
  // The crop is a contiguous run of the source in every bin.
  const first = a.data[0]!;
  const start = [...Array(frames - 255).keys()].find((s) =>
    data[s] === first && data[s + 1] === a.data[1]
  )!;
  for (let k = 0; k < bins; k++) {
    for (let t = 0; t < 256; t++) equal(a.data[k * 256 + t], data[k * frames + start + t]);
  }
  const short = randomCrop(
    { data: new Float32Array(bins * 10).fill(0.7), bins, frames: 10 },
    256,
    new Rng(1),
  );
  ok(short.data.subarray(0, 10).every((v) => Math.abs(v - 0.7) < 1e-6));
  ok(short.data.subarray(10, 256).every((v) => v === 0));
  const w = windows(spec, 256);
  equal(w.starts.join(), "0,128,256,384,444");
  const back = stitch(w.windows, w.starts, frames);
  back.data.forEach((v, i) => ok(Math.abs(v - data[i]!) < 1e-6));
  const one = windows({ data: new Float32Array(bins * 100), bins, frames: 100 }, 256);
  equal(one.windows.length, 1);
  equal(stitch(one.windows, one.starts, 100).frames, 100);
});

Deno.test("Griffin-Lim: on a synthesized utterance, spectral convergence < 0.08 at 60 iterations and falls with iterations", async () => {
  const corpus = await buildDemoCorpus({ speakers: 4, sentences: 3, progress: false });
  const audio = await resample(await readAudioFile(`${corpus.dir}/wav/f1/f1_001.wav`), 16000);
  const spec = toSpectrogram(audio.samples, DEFAULT_FEATURES);
  const target = {
    data: denormalize(spec, DEFAULT_FEATURES),
    bins: spec.bins,
    frames: spec.frames,
  };
  const sc = (iterations: number, momentum?: number) =>
    spectralConvergence(
      target,
      griffinLim(target, DEFAULT_FEATURES, {
        iterations,
        ...(momentum === undefined ? {} : { momentum }),
      }),
      DEFAULT_FEATURES,
    );
  const [sc0, sc10, sc60] = [sc(0), sc(10), sc(60)];
  console.log(
    `  spectral convergence (fast GL): 0 it ${sc0.toFixed(3)}, 10 it ${sc10.toFixed(3)}, 60 it ${
      sc60.toFixed(3)
    }`,
  );
  ok(sc60 < 0.08, `SC at 60 iterations ${sc60}`);
  ok(sc60 < sc10 && sc10 < sc0);
  const classic10 = sc(10, 0), classic30 = sc(30, 0);
  ok(classic30 < classic10, `classic GL ${classic10} -> ${classic30}`);
  // toWaveform = denormalize + Griffin-Lim, and keeps the level of the original.
  const wave = toWaveform(spec, DEFAULT_FEATURES, { iterations: 30, length: audio.samples.length });
  equal(wave.length, audio.samples.length);
  const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  ok(Math.abs(20 * Math.log10(rms(wave) / rms(audio.samples))) < 1, "level within 1 dB");
  throws(() => griffinLim(target, DEFAULT_FEATURES, { iterations: -1 }), RangeError);
});

Deno.test("tensors: windows of an utterance through a [n, bins, frames, 1] tensor and back", async () => {
  await initBackend({ backend: "cpu", quiet: true });
  const spec = toSpectrogram(sine(700, 40000, 0.5), resolveFeatures({ bins: 32 }));
  const w = windows(spec, 64);
  const before = tf.memory().numTensors;
  const x = spectrogramsToTensor(w.windows);
  equal(x.shape.join(), `${w.windows.length},32,64,1`);
  const back = stitch(tensorToSpectrograms(x), w.starts, w.frames);
  x.dispose();
  equal(tf.memory().numTensors, before);
  back.data.forEach((v, i) => ok(Math.abs(v - spec.data[i]!) < 1e-6));
  throws(() => spectrogramsToTensor([]), RangeError);
});
