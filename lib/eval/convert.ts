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
import { type Level, measureLevel, normalizeLevel, type NormalizeMode } from "./levels.ts";

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
  // Values may themselves contain commas ("smith, j."), so a value is matched
  // against the attribute's known values (longest first) rather than cut at the
  // next comma; only an unknown value is cut there, for the error message.
  let rest = text.replace(/^[\s,]+/, "");
  while (rest) {
    const eq = rest.indexOf("=");
    const comma = rest.indexOf(",");
    if (eq <= 0 || (comma >= 0 && comma < eq)) {
      throw new ConvertError(
        `Cannot parse target '${text}': expected attribute=value[,attribute=value], e.g. ${
          names[0] ?? "speaker"
        }=${schema.attributes[0]?.values[0] ?? "id"}`,
      );
    }
    const name = rest.slice(0, eq).trim();
    const attr = schema.attributes.find((a) => a.name === name);
    if (!attr) {
      throw new ConvertError(
        `Cannot use target '${text}': unknown attribute '${name}'; valid attributes: ${
          names.join(", ")
        }`,
      );
    }
    const after = rest.slice(eq + 1).trimStart();
    const value = [...attr.values].sort((a, b) => b.length - a.length)
      .find((v) => after.startsWith(v) && /^\s*(,|$)/.test(after.slice(v.length)));
    if (value === undefined) {
      const cut = after.indexOf(",");
      throw new ConvertError(
        `Cannot use target '${text}': unknown ${name} '${
          (cut < 0 ? after : after.slice(0, cut)).trim()
        }'; valid values: ${attr.values.join(", ")}`,
      );
    }
    out[name] = value;
    rest = after.slice(value.length).replace(/^[\s,]+/, "");
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
   * Suffix of the converted outputs' names: `<input name><suffix>.wav`.
   * @default {"_converted"}
   */
  suffix?: string;
  /**
   * The output level (see `levels.ts`): `input` (the input's RMS, peak under
   * -1 dBFS), `peak` (peak at -1 dBFS) or `off`.
   * @default {"input"}
   */
  normalize?: NormalizeMode;
  /**
   * Also write `<input name>_resynth.wav`: the input's own spectrogram through
   * the same Griffin-Lim, so the vocoder's artefacts can be told from the
   * conversion's.
   * @default {false}
   */
  resynth?: boolean;
  /**
   * Replace outputs that exist; otherwise nothing is converted when one does.
   * @default {false}
   */
  overwrite?: boolean;
  /**
   * Show a progress bar (for more than one file).
   * @default {true}
   */
  progress?: boolean;
}

/** One written WAV file. */
export interface WrittenFile {
  /** Its path. */
  path: string;
  /** A conversion, or the Griffin-Lim resynthesis of the input. */
  kind: "converted" | "resynth";
  /** Its level as written. */
  level: Level;
  /** The level Griffin-Lim gave it, before normalising. */
  raw: Level;
  /** The gain applied, in dB. */
  gainDb: number;
  /** The input utterance's level. */
  input: Level;
}

/** What {@linkcode convertFiles} did. */
export interface ConvertFilesResult {
  /** Written WAV files. */
  written: WrittenFile[];
  /** Inputs that could not be read, with the reason. */
  skipped: { path: string; problem: string }[];
}

/**
 * The suffix of converted files for a target: `_to_` and its values joined
 * by `_`. Letters and digits of any script are kept (NFC); other characters
 * become `-`, and a value that had to change gets a short hash of its
 * original text, so different targets never share a file name.
 *
 * @example
 * ```ts
 * import { targetSuffix } from "./convert.ts";
 * console.assert(targetSuffix({ speaker: "f1" }) === "_to_f1");
 * console.assert(targetSuffix({ speaker: "山田" }) === "_to_山田");
 * console.assert(targetSuffix({ speaker: "a b" }) !== targetSuffix({ speaker: "a/b" }));
 * ```
 */
export function targetSuffix(target: Record<string, string>): string {
  const parts = Object.values(target).map((raw) => {
    const value = raw.normalize("NFC");
    const clean = value.replace(/[^\p{L}\p{M}\p{N}._-]+/gu, "-");
    if (clean === value) return value;
    let h = 0x811c9dc5; // FNV-1a over the UTF-16 code units
    for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193);
    return `${clean}~${(h >>> 0).toString(16).padStart(8, "0").slice(0, 6)}`;
  });
  return "_to_" + parts.join("_");
}

/** One line for a failed write: the path and the cause. */
function writeProblem(path: string, e: unknown): ConvertError {
  const why = e instanceof Deno.errors.PermissionDenied
    ? "permission denied"
    : e instanceof Deno.errors.NotADirectory || e instanceof Deno.errors.AlreadyExists
    ? "a file is in the way where a folder is needed"
    : e instanceof Deno.errors.NotFound
    ? "its folder does not exist"
    : (e as Error).message.replace(/\s*\(os error \d+\).*$/, "").replace(/:.*$/, "");
  return new ConvertError(`Cannot write '${path}': ${why}`);
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
 * {@linkcode convertUtterance}, Griffin-Lim, set the level, write 16-bit WAV
 * into `outDir` (in the inputs' subfolders below their common folder, so
 * equal file names in different folders stay apart). With a `null`
 * generator only the resyntheses are written. An unreadable input is
 * skipped and reported.
 *
 * @throws {ConvertError} before converting anything when an output exists
 *   (unless `overwrite`), and for a folder or file that cannot be written.
 */
export async function convertFiles(
  generator: GeneratorFn | null,
  job: { inputs: readonly string[]; labels: Float32Array; outDir: string },
  options: ConvertFilesOptions,
): Promise<ConvertFilesResult> {
  const { features } = options;
  const normalize = options.normalize ?? "input";
  // Outputs mirror the inputs' folders below their common folder, so that
  // `spk1/001.wav` and `spk2/001.wav` do not overwrite each other.
  const dirsOf = job.inputs.map((p) => p.split("/").slice(0, -1));
  let common = dirsOf[0]?.length ?? 0;
  for (const d of dirsOf) {
    let i = 0;
    while (i < common && i < d.length && d[i] === dirsOf[0]![i]) i++;
    common = i;
  }
  const outputs = job.inputs.map((path, index) => {
    const name = path.split("/").pop()!.replace(/\.[^.]+$/, "");
    const dir = [job.outDir, ...dirsOf[index]!.slice(common)].join("/");
    return {
      dir,
      converted: generator ? `${dir}/${name}${options.suffix ?? "_converted"}.wav` : null,
      resynth: options.resynth ? `${dir}/${name}_resynth.wav` : null,
    };
  });
  if (!options.overwrite) {
    const existing: string[] = [];
    for (const o of outputs) {
      for (const p of [o.converted, o.resynth]) {
        if (p && await Deno.lstat(p).then(() => true, () => false)) existing.push(p);
      }
    }
    if (existing.length > 0) {
      throw new ConvertError(
        `Cannot convert: ${existing.length} output file(s) exist already (${
          existing.slice(0, 2).join(", ")
        }${
          existing.length > 2 ? ", …" : ""
        }); pass --overwrite to replace them or choose another --out`,
      );
    }
  }
  const mkdir = async (dir: string) => {
    try {
      await Deno.mkdir(dir, { recursive: true });
    } catch (e) {
      throw writeProblem(dir, e);
    }
  };
  await mkdir(job.outDir);
  const bar = new Progress("convert", job.inputs.length, {
    minItems: 1,
    unit: "files",
    ...(options.progress === false ? { output: null } : {}),
  });
  const result: ConvertFilesResult = { written: [], skipped: [] };
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
    const input = measureLevel(audio.samples);
    const spec = toSpectrogram(audio.samples, features);
    const out = outputs[index]!;
    if (out.dir !== job.outDir) await mkdir(out.dir);
    const write = async (file: string, kind: WrittenFile["kind"], s: Spectrogram) => {
      const wave = toWaveform(s, features, {
        iterations: options.iterations ?? 60,
        length: audio.samples.length,
      });
      const n = normalizeLevel(wave, normalize, audio.samples);
      try {
        await writeWavFile(file, { samples: n.samples, sampleRate: features.sampleRate });
      } catch (e) {
        throw writeProblem(file, e);
      }
      result.written.push({
        path: file,
        kind,
        level: n.after,
        raw: n.before,
        gainDb: n.gainDb,
        input,
      });
    };
    if (out.converted && generator) {
      const converted = convertUtterance(
        generator,
        { spectrogram: spec, labels: job.labels },
        { ...options, width: options.width ?? features.segmentFrames },
      );
      await write(out.converted, "converted", converted);
    }
    if (out.resynth) await write(out.resynth, "resynth", spec);
    bar.tick();
  }
  bar.done();
  return result;
}
