import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import {
  type Audio,
  DataError,
  decodeAudio,
  decodeWav,
  encodeWav,
  readAudioFile,
  resample,
  type ResampleQuality,
  writeWavFile,
} from "../mod.ts";

const fixture = new URL("./fixtures/data/tone_stereo_44k.flac", import.meta.url).pathname;

/** Build a WAV file by hand (independent of encodeWav) for any format. */
function rawWav(opts: {
  format: number;
  bits: number;
  channels: number;
  rate: number;
  frames: number[][]; // [frame][channel] already-encoded integer or float values
  extensible?: boolean;
  dataSizeOverride?: number;
}): Uint8Array {
  const bps = opts.bits / 8;
  const dataBytes = opts.frames.length * opts.channels * bps;
  const fmtSize = opts.extensible ? 40 : 16;
  const out = new Uint8Array(12 + 8 + fmtSize + 8 + dataBytes);
  const v = new DataView(out.buffer);
  const put = (a: number, s: string) =>
    [...s].forEach((c, i) => v.setUint8(a + i, c.charCodeAt(0)));
  put(0, "RIFF");
  v.setUint32(4, out.length - 8, true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, opts.extensible ? 0xfffe : opts.format, true);
  v.setUint16(22, opts.channels, true);
  v.setUint32(24, opts.rate, true);
  v.setUint32(28, opts.rate * opts.channels * bps, true);
  v.setUint16(32, opts.channels * bps, true);
  v.setUint16(34, opts.bits, true);
  if (opts.extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, opts.bits, true);
    v.setUint32(40, 0, true);
    // KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: the format code, then a fixed suffix.
    v.setUint16(44, opts.format, true);
    [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71].forEach((b, i) =>
      v.setUint8(46 + i, b)
    );
  }
  const d = 20 + fmtSize;
  put(d, "data");
  v.setUint32(d + 4, opts.dataSizeOverride ?? dataBytes, true);
  let at = d + 8;
  for (const fr of opts.frames) {
    for (const x of fr) {
      if (opts.format === 3 && opts.bits === 32) v.setFloat32(at, x, true);
      else if (opts.format === 3) v.setFloat64(at, x, true);
      else if (opts.bits === 8) v.setUint8(at, x);
      else if (opts.bits === 16) v.setInt16(at, x, true);
      else if (opts.bits === 24) {
        v.setUint8(at, x & 0xff);
        v.setUint8(at + 1, (x >> 8) & 0xff);
        v.setInt8(at + 2, x >> 16);
      } else v.setInt32(at, x, true);
      at += bps;
    }
  }
  return out;
}

function dataError(fn: () => unknown, pattern: RegExp) {
  throws(fn, (e: unknown) => {
    ok(e instanceof DataError, `expected DataError, got ${e}`);
    ok(pattern.test(e.message), `message '${e.message}' does not match ${pattern}`);
    ok(!e.message.includes("\n"), "message is one line");
    return true;
  });
}

Deno.test("WAV: every PCM width, float 32/64 and extensible decode to the same mono values", () => {
  // Two channels: c0 = +x, c1 = x/2 -> mono = 0.75 x; x at a few exact levels.
  const levels = [0, 0.5, -0.5, 0.25];
  const mono = levels.map((x) => 0.75 * x);
  const cases: { format: number; bits: number; enc: (x: number) => number }[] = [
    { format: 1, bits: 8, enc: (x) => Math.round(x * 128) + 128 },
    { format: 1, bits: 16, enc: (x) => Math.round(x * 32768) },
    { format: 1, bits: 24, enc: (x) => Math.round(x * 8388608) },
    { format: 1, bits: 32, enc: (x) => Math.round(x * 2147483648) },
    { format: 3, bits: 32, enc: (x) => x },
    { format: 3, bits: 64, enc: (x) => x },
  ];
  for (const c of cases) {
    for (const extensible of [false, true]) {
      const bytes = rawWav({
        format: c.format,
        bits: c.bits,
        channels: 2,
        rate: 22050,
        extensible,
        frames: levels.map((x) => [c.enc(x), c.enc(x / 2)]),
      });
      const a = decodeWav(bytes, { path: "t.wav" });
      equal(a.sampleRate, 22050);
      const tol = c.bits === 8 ? 1 / 128 : 1e-6;
      a.samples.forEach((s, i) =>
        ok(Math.abs(s - mono[i]!) <= tol, `${c.format}/${c.bits}/${extensible}: ${s} vs ${mono[i]}`)
      );
    }
  }
  // Six channels mix to their mean.
  const six = decodeWav(
    rawWav({ format: 1, bits: 16, channels: 6, rate: 8000, frames: [[6000, 0, 0, 0, 0, 0]] }),
  );
  ok(Math.abs(six.samples[0]! - 1000 / 32768) < 1e-7);
});

Deno.test("WAV: odd-sized chunks are followed by their pad byte", () => {
  // RIFF, fmt (8-bit mono), an odd 3-byte 'LIST' chunk + pad, then 3 samples of 8-bit data.
  const fmt = new Uint8Array(24);
  const f = new DataView(fmt.buffer);
  fmt.set(new TextEncoder().encode("fmt "), 0);
  f.setUint32(4, 16, true);
  f.setUint16(8, 1, true);
  f.setUint16(10, 1, true);
  f.setUint32(12, 8000, true);
  f.setUint32(16, 8000, true);
  f.setUint16(20, 1, true);
  f.setUint16(22, 8, true);
  const list = Uint8Array.from(
    [..."LIST"].map((c) => c.charCodeAt(0)).concat([3, 0, 0, 0, 7, 7, 7, 0]),
  );
  const data = Uint8Array.from(
    [..."data"].map((c) => c.charCodeAt(0)).concat([3, 0, 0, 0, 192, 64, 128, 0]),
  );
  const body = [...new TextEncoder().encode("WAVE"), ...fmt, ...list, ...data];
  const head = [..."RIFF"].map((c) => c.charCodeAt(0));
  const size = new Uint8Array(4);
  new DataView(size.buffer).setUint32(0, body.length, true);
  const a = decodeWav(Uint8Array.from([...head, ...size, ...body]));
  equal([...a.samples].join(), "0.5,-0.5,0");
});

Deno.test("WAV: writing pcm16 and float32 round-trips; files are written atomically", async () => {
  const samples = Float32Array.from({ length: 1000 }, (_, i) => 0.9 * Math.sin(i / 13));
  const pcm = decodeWav(encodeWav({ samples, sampleRate: 16000 }));
  samples.forEach((s, i) => ok(Math.abs(pcm.samples[i]! - s) <= 0.5 / 32768));
  const flt = decodeWav(encodeWav({ samples, sampleRate: 44100 }, { encoding: "float32" }));
  deepEqual(flt.samples, samples);
  equal(flt.sampleRate, 44100);
  const dir = await Deno.makeTempDir();
  try {
    await writeWavFile(`${dir}/a.wav`, { samples, sampleRate: 16000 });
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.wav"]);
    equal((await readAudioFile(`${dir}/a.wav`)).samples.length, 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  throws(() => encodeWav({ samples, sampleRate: 0 }), RangeError);
});

Deno.test("WAV: corrupt, truncated, empty, non-WAV and unsupported files give one-line DataErrors", async () => {
  const good = rawWav({
    format: 1,
    bits: 16,
    channels: 1,
    rate: 16000,
    frames: [[1], [2], [3], [4]],
  });
  dataError(
    () => decodeWav(new Uint8Array(0), { path: "e.wav" }),
    /^Cannot read WAV file 'e\.wav': the file is empty$/,
  );
  const id3 = new TextEncoder().encode("ID3\x04\x00\x00\x00\x00\x00\x00rest of an mp3");
  dataError(() => decodeWav(id3, { path: "s.mp3" }), /expected 'RIFF' header, found 'ID3\\x04'/);
  dataError(
    () => decodeWav(good.slice(0, 30), { path: "t.wav" }),
    /'t\.wav': the 'fmt ' chunk is truncated/,
  );
  const truncated = rawWav({
    format: 1,
    bits: 16,
    channels: 1,
    rate: 16000,
    frames: [[1], [2]],
    dataSizeOverride: 4000,
  });
  dataError(
    () => decodeWav(truncated, { path: "t.wav" }),
    /data chunk is truncated: header says 4000 bytes, file holds 4/,
  );
  const alaw = rawWav({ format: 6, bits: 8, channels: 1, rate: 8000, frames: [[1]] });
  dataError(() => decodeWav(alaw, { path: "a.wav" }), /unsupported encoding format 6 8-bit/);
  // Ambisonic B-format: an extensible GUID that starts with 1 like PCM but is not plain PCM.
  const bformat = rawWav({
    format: 1,
    bits: 16,
    channels: 4,
    rate: 8000,
    frames: [[1, 2, 3, 4]],
    extensible: true,
  });
  new Uint8Array(bformat.buffer, 46, 14).set(
    [0, 0, 0x21, 0x07, 0xd3, 0x11, 0x86, 0x44, 0xc8, 0xc1, 0xca, 0, 0, 0],
  );
  dataError(
    () => decodeWav(bformat, { path: "amb.wav" }),
    /unsupported encoding: extensible sub-format GUID 00000001-0721-11d3-8644-c8c1ca000000$/,
  );
  const pcm12 = rawWav({ format: 1, bits: 16, channels: 1, rate: 8000, frames: [[1]] });
  new DataView(pcm12.buffer).setUint16(34, 12, true);
  dataError(() => decodeWav(pcm12, { path: "b.wav" }), /unsupported encoding PCM 12-bit/);
  const nan = rawWav({ format: 3, bits: 32, channels: 1, rate: 8000, frames: [[0], [NaN], [0]] });
  await rejects(
    decodeAudio(nan, { path: "n.wav" }),
    /^DataError: Cannot read audio file 'n\.wav': sample 1 is NaN/,
  );
  await rejects(
    decodeAudio(new TextEncoder().encode("hello world"), { path: "x.txt" }),
    /unrecognised format/,
  );
  await rejects(
    readAudioFile("/nonexistent/x.wav"),
    /Cannot read audio file '\/nonexistent\/x\.wav': the file does not exist/,
  );
});

Deno.test("FLAC: decodes the fixture to the samples its formula gives (stereo mixed to mono)", async () => {
  const audio = await readAudioFile(fixture);
  equal(audio.sampleRate, 44100);
  equal(audio.samples.length, 44100 / 4);
  let maxErr = 0;
  audio.samples.forEach((s, i) => {
    const l = Math.round(16384 * Math.sin((2 * Math.PI * 440 * i) / 44100)) / 32768;
    const r = Math.round(8192 * Math.sin((2 * Math.PI * 660 * i) / 44100)) / 32768;
    maxErr = Math.max(maxErr, Math.abs(s - (l + r) / 2));
  });
  ok(maxErr < 1e-6, `max error ${maxErr}`);
  const bytes = await Deno.readFile(fixture);
  const corrupt = bytes.slice(0, 4096);
  corrupt.fill(0x55, 200, 4096);
  await rejects(decodeAudio(corrupt, { path: "c.flac" }), (e: unknown) => {
    ok(e instanceof DataError && /^Cannot read FLAC file 'c\.flac': /.test(e.message), String(e));
    return true;
  });
});

/** Amplitude of the `f` Hz component (least-squares projection away from the edges). */
function amplitude(a: Audio, f: number): number {
  let c = 0, s = 0;
  const lo = 2000, hi = a.samples.length - 2000;
  for (let i = lo; i < hi; i++) {
    c += a.samples[i]! * Math.cos((2 * Math.PI * f * i) / a.sampleRate);
    s += a.samples[i]! * Math.sin((2 * Math.PI * f * i) / a.sampleRate);
  }
  return (2 * Math.hypot(c, s)) / (hi - lo);
}

Deno.test("MP3 and Ogg Vorbis: the fixture's tones come out at their levels (lossy, within 8%)", async () => {
  for (const ext of ["mp3", "ogg"]) {
    const audio = await readAudioFile(fixture.replace(/flac$/, ext));
    equal(audio.sampleRate, 44100);
    ok(Math.abs(audio.samples.length - 11025) < 2000, `${ext}: ${audio.samples.length} samples`);
    // Mono = (0.5 sin 440 + 0.25 sin 660) / 2.
    ok(
      Math.abs(amplitude(audio, 440) / 0.25 - 1) < 0.08,
      `${ext}: 440 Hz at ${amplitude(audio, 440)}`,
    );
    ok(
      Math.abs(amplitude(audio, 660) / 0.125 - 1) < 0.08,
      `${ext}: 660 Hz at ${amplitude(audio, 660)}`,
    );
    ok(amplitude(audio, 1500) < 0.01);
  }
  const junk = new Uint8Array(2000).fill(0x5a);
  junk.set([0xff, 0xfb, 0x90, 0x64]);
  await rejects(decodeAudio(junk, { path: "j.mp3" }), (e: unknown) => {
    ok(e instanceof DataError && /^Cannot read MP3 file 'j\.mp3': /.test(e.message), String(e));
    return true;
  });
});

function tone(f: number, rate: number, n: number): Audio {
  return {
    samples: Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / rate)),
    sampleRate: rate,
  };
}

/** RMS level in dB relative to a full-scale sine, away from the edges. */
function levelDb(x: Float32Array): number {
  let s = 0;
  for (let i = 2000; i < x.length - 2000; i++) s += x[i]! * x[i]!;
  return 10 * Math.log10((2 * s) / (x.length - 4000));
}

Deno.test("resample: passes the band, stops what would alias (22.05 -> 16 kHz), all qualities", async () => {
  const qualities: ResampleQuality[] = ["sinc", "src-medium", "src-fastest", "src-best"];
  for (const quality of qualities) {
    const pass = await resample(tone(1000, 22050, 22050), 16000, { quality });
    equal(pass.samples.length, 16000);
    equal(pass.sampleRate, 16000);
    ok(Math.abs(levelDb(pass.samples)) < 0.1, `${quality}: 1 kHz level ${levelDb(pass.samples)}`);
    // 9 kHz and 10 kHz are above the new 8 kHz Nyquist: without a filter they
    // would fold to 7 and 6 kHz at full level.
    for (const f of [8400, 9000, 10000]) {
      const y = await resample(tone(f, 22050, 22050), 16000, { quality });
      ok(
        levelDb(y.samples) < -80,
        `${quality}: ${f} Hz leaks at ${levelDb(y.samples).toFixed(1)} dB`,
      );
    }
  }
  // The sinc resampler's passband: flat to 6 kHz.
  ok(Math.abs(levelDb((await resample(tone(6000, 22050, 22050), 16000)).samples)) < 0.1);
});

Deno.test("resample: 'sinc' agrees with libsamplerate and with the analytic signal when upsampling", async () => {
  const x = tone(1000, 22050, 22050);
  const a = (await resample(x, 16000)).samples;
  const b = (await resample(x, 16000, { quality: "src-best" })).samples;
  let e = 0, n = 0;
  for (let i = 1000; i < 15000; i++) {
    e += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  ok(Math.sqrt(e / n) < 1e-4, `relative difference ${Math.sqrt(e / n)}`);
  const up = (await resample(tone(1000, 16000, 16000), 48000)).samples;
  equal(up.length, 48000);
  const ref = tone(1000, 48000, 48000).samples;
  e = 0, n = 0;
  for (let i = 2000; i < 46000; i++) {
    e += (up[i]! - ref[i]!) ** 2;
    n += ref[i]! ** 2;
  }
  ok(Math.sqrt(e / n) < 1e-4, `relative error ${Math.sqrt(e / n)}`);
  await rejects(resample(x, 0), RangeError);
  await rejects(resample(x, 16000, { quality: "bogus" as ResampleQuality }), RangeError);
});
