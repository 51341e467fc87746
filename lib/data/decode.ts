/**
 * Decoding audio files of any supported container to mono float samples.
 *
 * WAV is decoded in TypeScript ({@linkcode decodeWav}); FLAC (VCTK 0.92 ships
 * FLAC), MP3 and Ogg Vorbis through the pure-wasm decoders of the
 * wasm-audio-decoders project (`@wasm-audio-decoders/flac`, `mpg123-decoder`,
 * `@wasm-audio-decoders/ogg-vorbis`). MP3 and Vorbis are lossy: their
 * decoders' priming delay is trimmed where the stream says so (LAME's gapless
 * header), not otherwise.
 *
 * @module
 */

import { FLACDecoder, MPEGDecoder, OggVorbisDecoder } from "../deps.ts";
import { DataError } from "./errors.ts";
import { type Audio, decodeWav } from "./wav.ts";

/** Options for {@linkcode decodeAudio} and {@linkcode readAudioFile}. */
export interface DecodeAudioOptions {
  /**
   * The file name used in error messages.
   * @default {"<memory>"}
   */
  path?: string;
}

/** File names {@linkcode decodeAudio} can read, by extension (case-insensitive). */
export const AUDIO_FILE_PATTERN: RegExp = /\.(wav|flac|mp3|ogg)$/i;

/** Container formats {@linkcode decodeAudio} recognises. */
export type AudioContainer = "wav" | "flac" | "mp3" | "ogg-vorbis";

function id3Size(bytes: Uint8Array): number {
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 3)) !== "ID3") return 0;
  return 10 + (((bytes[6]! & 0x7f) << 21) | ((bytes[7]! & 0x7f) << 14) |
    ((bytes[8]! & 0x7f) << 7) | (bytes[9]! & 0x7f));
}

/** Tell the container from a file's first bytes, or `null` when unknown. */
export function sniffContainer(bytes: Uint8Array): AudioContainer | null {
  const tag = String.fromCharCode(...bytes.subarray(0, 4));
  if (tag === "RIFF") return "wav";
  if (tag === "fLaC") return "flac";
  if (tag === "OggS") {
    // The first page carries the codec's identification header.
    const head = String.fromCharCode(...bytes.subarray(28, 35));
    return head === "\x01vorbis" ? "ogg-vorbis" : null;
  }
  // An ID3v2 tag may precede FLAC or MP3 data: look past it.
  const skip = id3Size(bytes);
  const rest = bytes.subarray(skip);
  if (skip > 0 && String.fromCharCode(...rest.subarray(0, 4)) === "fLaC") return "flac";
  // An MPEG audio frame header: 11 sync bits, layer III (MP3).
  if (
    rest.length > 4 && rest[0] === 0xff && (rest[1]! & 0xe0) === 0xe0 && (rest[1]! & 0x06) === 0x02
  ) {
    return "mp3";
  }
  return null;
}

/** Mix a decoder's channels to mono, rescaling by `scale`. */
function mixDown(channelData: Float32Array[], samples: number, scale: number): Float32Array {
  const out = new Float32Array(samples);
  const k = scale / channelData.length;
  for (const ch of channelData) {
    for (let i = 0; i < samples; i++) out[i]! += ch[i]! * k;
  }
  return out;
}

async function decodeLossy(
  bytes: Uint8Array,
  path: string,
  kind: "mp3" | "ogg-vorbis",
): Promise<Audio> {
  const label = kind === "mp3" ? "MP3" : "Ogg Vorbis";
  const fail = (problem: string): never => {
    throw new DataError(`Cannot read ${label} file`, path, problem);
  };
  const decoder = kind === "mp3" ? new MPEGDecoder() : new OggVorbisDecoder();
  try {
    await decoder.ready;
    const result = decoder instanceof MPEGDecoder
      ? decoder.decode(bytes)
      : await decoder.decodeFile(bytes);
    if (result.errors.length > 0) fail(`corrupt stream (${String(result.errors[0]!.message)})`);
    if (result.samplesDecoded === 0 || result.channelData.length === 0) {
      fail("the stream holds no samples");
    }
    return {
      samples: mixDown(result.channelData, result.samplesDecoded, 1),
      sampleRate: result.sampleRate,
    };
  } catch (e) {
    if (e instanceof DataError) throw e;
    return fail(`corrupt stream (${e instanceof Error ? e.message : String(e)})`);
  } finally {
    decoder.free();
  }
}

async function decodeFlac(bytes: Uint8Array, path: string): Promise<Audio> {
  const fail = (problem: string): never => {
    throw new DataError("Cannot read FLAC file", path, problem);
  };
  const decoder = new FLACDecoder();
  try {
    await decoder.ready;
    const result = await decoder.decodeFile(bytes);
    const { channelData, samplesDecoded, sampleRate, bitDepth } = result;
    // The decoder scales integers by 1 / (2^(bits-1) - 1); rescale to
    // 1 / 2^(bits-1) so FLAC and WAV of the same samples decode alike.
    const full = 2 ** ((bitDepth || 16) - 1);
    const scale = (full - 1) / full;
    if (result.errors.length > 0) {
      fail(`corrupt stream (${String(result.errors[0]!.message)})`);
    }
    if (samplesDecoded === 0 || channelData.length === 0) fail("the stream holds no samples");
    return { samples: mixDown(channelData, samplesDecoded, scale), sampleRate };
  } catch (e) {
    if (e instanceof DataError) throw e;
    return fail(`corrupt stream (${e instanceof Error ? e.message : String(e)})`);
  } finally {
    decoder.free();
  }
}

/**
 * Decode WAV, FLAC, MP3 or Ogg Vorbis bytes to mono samples, and check they are usable:
 * non-empty and free of NaN or infinite values.
 *
 * @throws {DataError} naming the file and the problem.
 * @example
 * ```ts
 * import { decodeAudio, encodeWav } from "./mod.ts";
 * const wav = encodeWav({ samples: new Float32Array(100), sampleRate: 16000 });
 * const audio = await decodeAudio(wav, { path: "silence.wav" });
 * console.assert(audio.samples.length === 100);
 * ```
 */
export async function decodeAudio(
  bytes: Uint8Array,
  options: DecodeAudioOptions = {},
): Promise<Audio> {
  const path = options.path ?? "<memory>";
  if (bytes.length === 0) throw new DataError("Cannot read audio file", path, "the file is empty");
  const kind = sniffContainer(bytes);
  let audio: Audio;
  if (kind === "wav") audio = decodeWav(bytes, { path });
  else if (kind === "flac") audio = await decodeFlac(bytes, path);
  else if (kind === "mp3" || kind === "ogg-vorbis") audio = await decodeLossy(bytes, path, kind);
  else {
    const head = Array.from(
      bytes.subarray(0, 4),
      (b) => b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`,
    ).join("");
    throw new DataError(
      "Cannot read audio file",
      path,
      `unrecognised format: expected WAV, FLAC, MP3 or Ogg Vorbis, found a file starting '${head}'`,
    );
  }
  const s = audio.samples;
  for (let i = 0; i < s.length; i++) {
    if (!Number.isFinite(s[i]!)) {
      throw new DataError(
        "Cannot read audio file",
        path,
        `sample ${i} is ${s[i]} (expected finite values)`,
      );
    }
  }
  return audio;
}

/**
 * Read and decode an audio file (WAV, FLAC, MP3, Ogg Vorbis) to mono samples.
 *
 * @throws {DataError} when the file is missing, unreadable or undecodable.
 * @example
 * ```ts
 * import { readAudioFile, writeWavFile } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await writeWavFile(`${dir}/a.wav`, { samples: new Float32Array(10), sampleRate: 8000 });
 * const audio = await readAudioFile(`${dir}/a.wav`);
 * console.assert(audio.sampleRate === 8000);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readAudioFile(path: string): Promise<Audio> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    const problem = e instanceof Deno.errors.NotFound
      ? "the file does not exist"
      : e instanceof Error
      ? e.message
      : String(e);
    throw new DataError("Cannot read audio file", path, problem);
  }
  return await decodeAudio(bytes, { path });
}
