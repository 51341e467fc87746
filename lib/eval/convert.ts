/**
 * Converting whole utterances: a spectrogram of any length is cut into
 * overlapping windows of the generator's width (lib/data's `windows`), each
 * window is converted, and the results are cross-faded back together
 * (`stitch`); then, for audio, denormalized and inverted with Griffin-Lim.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { stitch, windows } from "../data/segments.ts";
import { spectrogramsToTensor, tensorToSpectrograms } from "../data/tensors.ts";
import {
  type FeatureConfig,
  frameLength,
  type Spectrogram,
  toSpectrogram,
} from "../data/spectrogram.ts";
import type { LabelSchema, LabelValues } from "../data/labels.ts";
import { AUDIO_FILE_PATTERN, readAudioFile } from "../data/decode.ts";
import { resample } from "../data/resample.ts";
import { toWaveform } from "../data/griffin_lim.ts";
import { writeWavFile } from "../data/wav.ts";
import { Progress } from "../data/progress.ts";
import type { GeneratorFn } from "./diagnostics/measures.ts";

/** Options for {@linkcode convertUtterance}. */
export interface ConvertUtteranceOptions {
  /**
   * Frames per window: the generator's input width.
   * @default {256}
   */
  width?: number;
  /**
   * Frames between window starts; overlaps are cross-faded.
   * @default {width / 2}
   */
  step?: number;
  /**
   * Windows per generator call.
   * @default {4}
   */
  batchSize?: number;
}

/**
 * Convert a whole utterance to the target `labels` with a generator that
 * works on `[B, bins, width, 1]` windows.
 *
 * @param generator the generator in inference mode
 * @param utterance the [0, 1] spectrogram `[bins x frames]` (any number of frames) and the
 *   target's input labels `[nIn]`
 *
 * @example The identity generator gives the utterance back
 * ```ts
 * import { initBackend } from "../backend/mod.ts";
 * import { convertUtterance } from "./convert.ts";
 * await initBackend({ backend: "cpu", quiet: true });
 * const spec = { data: Float32Array.from({ length: 4 * 50 }, (_, i) => (i % 9) / 9), bins: 4, frames: 50 };
 * const out = convertUtterance((x) => x, { spectrogram: spec, labels: new Float32Array([1, 0]) }, {
 *   width: 16,
 * });
 * console.assert(out.frames === 50 && out.data.every((v, i) => Math.abs(v - spec.data[i]!) < 1e-6));
 * ```
 */
export function convertUtterance(
  generator: GeneratorFn,
  utterance: { spectrogram: Spectrogram; labels: Float32Array },
  options: ConvertUtteranceOptions = {},
): Spectrogram {
  const { spectrogram: spec, labels } = utterance;
  const width = options.width ?? 256;
  const batchSize = options.batchSize ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot convert utterance: batchSize must be a positive integer, got ${batchSize}`,
    );
  }
  const w = windows(spec, width, options.step === undefined ? {} : { step: options.step });
  const converted: Spectrogram[] = [];
  for (let i = 0; i < w.windows.length; i += batchSize) {
    const chunk = w.windows.slice(i, i + batchSize);
    tf.tidy(() => {
      const x = spectrogramsToTensor(chunk); // [n, bins, width, 1]
      const c = tf.tile(tf.tensor2d(labels, [1, labels.length]), [chunk.length, 1]) as tf.Tensor2D;
      converted.push(...tensorToSpectrograms(generator(x, c)));
    });
  }
  return stitch(converted, w.starts, w.frames);
}

/** A conversion could not be set up or run; the message is one line meant for the user. */
export class ConvertError extends Error {
  /** The error class name. */
  override name = "ConvertError";
}

/**
 * Parse a target such as `speaker=f1` or `speaker=f1,gender=female` against a
 * label schema.
 *
 * @throws {ConvertError} naming the unknown attribute or value and listing the valid ones.
 * @example
 * ```ts
 * import { LabelSchema } from "../data/labels.ts";
 * import { parseTarget } from "./convert.ts";
 * const schema = new LabelSchema([{ name: "speaker", values: ["f1", "m1"] }]);
 * console.assert(parseTarget("speaker=m1", schema).speaker === "m1");
 * ```
 */
export function parseTarget(text: string, schema: LabelSchema): Record<string, string> {
  const out: Record<string, string> = {};
  const names = schema.attributes.map((a) => a.name);
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) {
      throw new ConvertError(
        `Cannot parse target '${text}': expected attribute=value[,attribute=value], e.g. ${
          names[0] ?? "speaker"
        }=${schema.attributes[0]?.values[0] ?? "id"}`,
      );
    }
    const name = part.slice(0, eq).trim(), value = part.slice(eq + 1).trim();
    const attr = schema.attributes.find((a) => a.name === name);
    if (!attr) {
      throw new ConvertError(
        `Cannot use target '${text}': unknown attribute '${name}'; valid attributes: ${
          names.join(", ")
        }`,
      );
    }
    if (!attr.values.includes(value)) {
      throw new ConvertError(
        `Cannot use target '${text}': unknown ${name} '${value}'; valid values: ${
          attr.values.join(", ")
        }`,
      );
    }
    out[name] = value;
  }
  if (Object.keys(out).length === 0) {
    throw new ConvertError(`Cannot parse target '${text}': no attribute=value given`);
  }
  return out;
}

/**
 * The input labels for a target, from the label schema and the run's saved
 * label combinations (`labels.json` `targets`) alone; no dataset needed.
 *
 * What a partial target means: an attribute the target names is set to that
 * value. An attribute it leaves out is filled in only when every saved
 * combination that agrees with the named attributes has the same known value
 * for it (so `speaker=f1` brings f1's gender, as in training); otherwise it is
 * unknown, which the schema encodes as zeros in the input labels (e.g.
 * `gender=male` alone leaves the speaker unknown rather than picking one).
 *
 * @example
 * ```ts
 * import { LabelSchema } from "../data/labels.ts";
 * import { targetLabels } from "./convert.ts";
 * const schema = new LabelSchema([
 *   { name: "speaker", values: ["f1", "m1"] },
 *   { name: "gender", values: ["female", "male"] },
 * ]);
 * const targets = [{ speaker: "f1", gender: "female" }, { speaker: "m1", gender: "male" }];
 * console.assert(targetLabels({ speaker: "m1" }, { schema, targets }).join() === "0,1,0,1");
 * console.assert(targetLabels({ gender: "male" }, { schema, targets }).join() === "0,1,0,1");
 * ```
 */
export function targetLabels(
  target: Record<string, string>,
  labels: { schema: LabelSchema; targets: readonly LabelValues[] },
): Float32Array {
  const matches = labels.targets.filter((t) =>
    Object.entries(target).every(([k, v]) => t[k] === v)
  );
  const values: LabelValues = { ...target };
  for (const attr of labels.schema.attributes) {
    if (attr.name in target || matches.length === 0) continue;
    const first = JSON.stringify(matches[0]![attr.name] ?? null);
    if (first !== "null" && matches.every((m) => JSON.stringify(m[attr.name] ?? null) === first)) {
      values[attr.name] = matches[0]![attr.name];
    }
  }
  return labels.schema.encodeInput(values);
}

/** Options for {@linkcode convertFiles}. */
export interface ConvertFilesOptions extends ConvertUtteranceOptions {
  /** The run's feature config (sample rate, hop, bins, dB range, segment frames). */
  features: FeatureConfig;
  /**
   * Frames per window: the generator's input width.
   * @default {features.segmentFrames}
   */
  width?: number;
  /**
   * Griffin-Lim iterations.
   * @default {60}
   */
  iterations?: number;
  /**
   * Suffix of the output names: `<input name><suffix>.wav`.
   * @default {"_converted"}
   */
  suffix?: string;
  /**
   * Show a progress bar (for more than one file).
   * @default {true}
   */
  progress?: boolean;
}

/** What {@linkcode convertFiles} did. */
export interface ConvertFilesResult {
  /** Written WAV files. */
  written: string[];
  /** Inputs that could not be read, with the reason. */
  skipped: { path: string; problem: string }[];
}

/** The audio files of a path: the file itself, or the `.wav`/`.flac`/`.mp3`/`.ogg` files under a folder (sorted). */
export async function listAudioInputs(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new ConvertError(`Cannot read input '${path}': no such file or folder`);
  }
  if (info.isFile) return [path];
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile && AUDIO_FILE_PATTERN.test(e.name)) out.push(p);
    }
  };
  await walk(path.replace(/\/+$/, ""));
  if (out.length === 0) {
    throw new ConvertError(
      `Cannot read input '${path}': no audio files (.wav, .flac, .mp3, .ogg) in it`,
    );
  }
  return out.sort();
}

/**
 * Convert audio files: read, resample to the run's rate, spectrogram,
 * {@linkcode convertUtterance}, Griffin-Lim, write 16-bit WAV into `outDir`
 * (in the inputs' subfolders below their common folder, so equal file names
 * in different folders stay apart). An unreadable input is skipped and reported.
 */
export async function convertFiles(
  generator: GeneratorFn,
  job: { inputs: readonly string[]; labels: Float32Array; outDir: string },
  options: ConvertFilesOptions,
): Promise<ConvertFilesResult> {
  const { features } = options;
  await Deno.mkdir(job.outDir, { recursive: true });
  const bar = new Progress("convert", job.inputs.length, {
    minItems: 1,
    unit: "files",
    ...(options.progress === false ? { output: null } : {}),
  });
  const result: ConvertFilesResult = { written: [], skipped: [] };
  // Outputs mirror the inputs' folders below their common folder, so that
  // `spk1/001.wav` and `spk2/001.wav` do not overwrite each other.
  const dirsOf = job.inputs.map((p) => p.split("/").slice(0, -1));
  let common = dirsOf[0]?.length ?? 0;
  for (const d of dirsOf) {
    let i = 0;
    while (i < common && i < d.length && d[i] === dirsOf[0]![i]) i++;
    common = i;
  }
  for (const [index, path] of job.inputs.entries()) {
    let audio;
    try {
      audio = await readAudioFile(path);
      if (audio.sampleRate !== features.sampleRate) {
        audio = await resample(audio, features.sampleRate, { quality: features.resampleQuality });
      }
      if (audio.samples.length < frameLength(features)) {
        throw new RangeError(`shorter than one frame (${frameLength(features)} samples)`);
      }
    } catch (e) {
      result.skipped.push({ path, problem: e instanceof Error ? e.message : String(e) });
      bar.tick();
      continue;
    }
    const spec = toSpectrogram(audio.samples, features);
    const converted = convertUtterance(
      generator,
      { spectrogram: spec, labels: job.labels },
      { ...options, width: options.width ?? features.segmentFrames },
    );
    const wave = toWaveform(converted, features, {
      iterations: options.iterations ?? 60,
      length: audio.samples.length,
    });
    const name = path.split("/").pop()!.replace(/\.[^.]+$/, "");
    const dir = [job.outDir, ...dirsOf[index]!.slice(common)].join("/");
    if (dir !== job.outDir) await Deno.mkdir(dir, { recursive: true });
    const out = `${dir}/${name}${options.suffix ?? "_converted"}.wav`;
    await writeWavFile(out, { samples: wave, sampleRate: features.sampleRate });
    result.written.push(out);
    bar.tick();
  }
  bar.done();
  return result;
}
