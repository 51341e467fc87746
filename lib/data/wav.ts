/**
 * Reading and writing RIFF/WAVE audio.
 *
 * Reads PCM 8/16/24/32-bit integer, IEEE float 32/64, plain or
 * `WAVE_FORMAT_EXTENSIBLE`, any number of channels (mixed down to mono).
 * Writes 16-bit PCM or 32-bit float, mono.
 *
 * @module
 */

import { writeFileAtomic as writeAtomic } from "../io/atomic.ts";
import { DataError } from "./errors.ts";

/** Mono audio: samples in [-1, 1] (floats may exceed it) at a sample rate. */
export interface Audio {
  /** Mono samples. */
  samples: Float32Array;
  /** Samples per second. */
  sampleRate: number;
}

/** Options for {@linkcode decodeWav}. */
export interface DecodeWavOptions {
  /**
   * The file name used in error messages.
   * @default {"<memory>"}
   */
  path?: string;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Bytes 4..15 of every KSDATAFORMAT_SUBTYPE GUID (`xxxxxxxx-0000-0010-8000-00aa00389b71`). */
const SUBTYPE_SUFFIX = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** A GUID's bytes (little-endian first three fields) in the usual text form. */
function guidText(g: Uint8Array): string {
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = Array.from(g.subarray(from, to), (b) => b.toString(16).padStart(2, "0"));
    return (reverse ? part.reverse() : part).join("");
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${
    hex(10, 16, false)
  }`;
}

function fourcc(view: DataView, at: number): string {
  let s = "";
  for (let i = 0; i < 4; i++) {
    const c = view.getUint8(at + i);
    s += c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return s;
}

/**
 * Decode a WAV file's bytes to mono float samples (channels are averaged).
 *
 * @throws {DataError} for a corrupt, truncated, empty or non-WAV file, or an unsupported encoding.
 * @example Round-trip a tone
 * ```ts
 * import { decodeWav, encodeWav } from "./wav.ts";
 * const tone = Float32Array.from({ length: 800 }, (_, i) => 0.5 * Math.sin(i / 5));
 * const back = decodeWav(encodeWav({ samples: tone, sampleRate: 8000 }));
 * console.assert(back.sampleRate === 8000 && back.samples.length === 800);
 * ```
 */
export function decodeWav(bytes: Uint8Array, options: DecodeWavOptions = {}): Audio {
  const path = options.path ?? "<memory>";
  const fail = (problem: string): never => {
    throw new DataError("Cannot read WAV file", path, problem);
  };
  if (bytes.length === 0) fail("the file is empty");
  if (bytes.length < 12) fail(`the file is too short for a WAV header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riff = fourcc(view, 0);
  if (riff !== "RIFF") fail(`expected 'RIFF' header, found '${riff}'`);
  const wave = fourcc(view, 8);
  if (wave !== "WAVE") fail(`expected 'WAVE' form type, found '${wave}'`);

  let format = -1, channels = 0, sampleRate = 0, bits = 0, blockAlign = 0;
  let dataStart = -1, dataLength = 0;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = fourcc(view, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) fail("the 'fmt ' chunk is truncated");
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      blockAlign = view.getUint16(body + 12, true);
      bits = view.getUint16(body + 14, true);
      if (format === FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 40 > bytes.length) fail("the extensible 'fmt ' chunk is truncated");
        // The sub-format GUID is the plain format code (its first 4 bytes) followed by
        // the KSDATAFORMAT_SUBTYPE suffix; any other GUID (e.g. ambisonic B-format) is
        // not plain PCM or float.
        const guid = bytes.subarray(body + 24, body + 40);
        const standard = view.getUint16(body + 26, true) === 0 &&
          SUBTYPE_SUFFIX.every((b, i) => guid[4 + i] === b);
        if (!standard) fail(`unsupported encoding: extensible sub-format GUID ${guidText(guid)}`);
        format = view.getUint16(body + 24, true);
      }
    } else if (id === "data") {
      dataStart = body;
      dataLength = size;
      // Streaming writers leave the size at 0 or 0xffffffff: take the rest.
      if (size === 0 || size === 0xffffffff) dataLength = bytes.length - body;
      break;
    }
    at = body + size + (size & 1);
  }
  if (format === -1) fail("no 'fmt ' chunk");
  if (dataStart < 0) fail("no 'data' chunk");
  if (channels < 1) fail("the header declares 0 channels");
  if (sampleRate < 1) fail("the header declares a sample rate of 0");
  const bytesPerSample = bits / 8;
  const supported = (format === FORMAT_PCM && [8, 16, 24, 32].includes(bits)) ||
    (format === FORMAT_FLOAT && (bits === 32 || bits === 64));
  if (!supported) {
    const kind = format === FORMAT_PCM
      ? "PCM"
      : format === FORMAT_FLOAT
      ? "float"
      : `format ${format}`;
    fail(`unsupported encoding ${kind} ${bits}-bit`);
  }
  if (blockAlign !== bytesPerSample * channels) {
    fail(`block align ${blockAlign} does not match ${channels} channel(s) of ${bits} bits`);
  }
  if (dataStart + dataLength > bytes.length) {
    fail(
      `the data chunk is truncated: header says ${dataLength} bytes, file holds ${
        bytes.length - dataStart
      }`,
    );
  }
  const frames = Math.floor(dataLength / blockAlign);
  if (frames === 0) fail("the data chunk holds no samples");
  const out = new Float32Array(frames);
  const read = sampleReader(view, format, bits);
  const scale = 1 / channels;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    const base = dataStart + f * blockAlign;
    for (let c = 0; c < channels; c++) sum += read(base + c * bytesPerSample);
    out[f] = sum * scale;
  }
  return { samples: out, sampleRate };
}

function sampleReader(view: DataView, format: number, bits: number): (at: number) => number {
  if (format === FORMAT_FLOAT) {
    return bits === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  }
  switch (bits) {
    case 8:
      return (at) => (view.getUint8(at) - 128) / 128;
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => {
        const v = view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16);
        return v / 8388608;
      };
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

/** Sample encodings {@linkcode encodeWav} can write. */
export type WavEncoding = "pcm16" | "float32";

/** Options for {@linkcode encodeWav}. */
export interface EncodeWavOptions {
  /**
   * The sample encoding. `pcm16` clips to [-1, 1].
   * @default {"pcm16"}
   */
  encoding?: WavEncoding;
}

/**
 * Encode mono audio as a WAV file (16-bit PCM or 32-bit float).
 *
 * @example Write a second of silence
 * ```ts
 * import { encodeWav } from "./wav.ts";
 * const bytes = encodeWav({ samples: new Float32Array(16000), sampleRate: 16000 });
 * console.assert(bytes.length === 44 + 32000);
 * ```
 */
export function encodeWav(audio: Audio, options: EncodeWavOptions = {}): Uint8Array {
  const encoding = options.encoding ?? "pcm16";
  if (encoding !== "pcm16" && encoding !== "float32") {
    throw new RangeError(`Cannot encode WAV: unknown encoding '${encoding}'`);
  }
  if (!Number.isInteger(audio.sampleRate) || audio.sampleRate < 1) {
    throw new RangeError(`Cannot encode WAV: invalid sample rate ${audio.sampleRate}`);
  }
  const bytesPerSample = encoding === "pcm16" ? 2 : 4;
  const n = audio.samples.length;
  const dataBytes = n * bytesPerSample;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) view.setUint8(at + i, s.charCodeAt(i));
  };
  put(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  put(8, "WAVE");
  put(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, encoding === "pcm16" ? FORMAT_PCM : FORMAT_FLOAT, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * bytesPerSample, true);
  view.setUint16(32, bytesPerSample, true);
  view.setUint16(34, bytesPerSample * 8, true);
  put(36, "data");
  view.setUint32(40, dataBytes, true);
  if (encoding === "pcm16") {
    for (let i = 0; i < n; i++) {
      const v = Math.max(-1, Math.min(1, audio.samples[i]!));
      view.setInt16(44 + 2 * i, Math.min(32767, Math.round(v * 32768)), true);
    }
  } else {
    for (let i = 0; i < n; i++) view.setFloat32(44 + 4 * i, audio.samples[i]!, true);
  }
  return out;
}

/**
 * Write bytes to a file atomically: to a unique temporary sibling, then
 * renamed (see {@linkcode writeAtomic}, which this is); a failed write
 * removes its temporary file and throws an `IoError` naming the path.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./wav.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/x.bin`, new Uint8Array([1, 2]));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeAtomic(path, bytes, { sync: false });
}

/**
 * Write mono audio to a WAV file, atomically.
 *
 * @example
 * ```ts
 * import { writeWavFile } from "./wav.ts";
 * const dir = await Deno.makeTempDir();
 * await writeWavFile(`${dir}/a.wav`, { samples: new Float32Array(10), sampleRate: 16000 });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeWavFile(
  path: string,
  audio: Audio,
  options: EncodeWavOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeWav(audio, options));
}
