/**
 * Spectrogram datasets: audio files plus labels, preprocessed (decode,
 * resample, spectrogram) through the on-disk cache.
 *
 * @module
 */

import { type CachedSpectrogram, contentKey, SpectrogramCache, userCacheDir } from "./cache.ts";
import { decodeAudio } from "./decode.ts";
import { buildDemoCorpus, type DemoCorpusOptions } from "./demo_corpus.ts";
import { DataError, type SkippedInput } from "./errors.ts";
import type { LabelSchema, LabelValues } from "./labels.ts";
import { Progress } from "./progress.ts";
import { resample } from "./resample.ts";
import {
  type DatasetSource,
  readManifest,
  scanSpeakerFolders,
  type SourceEntry,
  type SpeakerFolderOptions,
} from "./source.ts";
import {
  type FeatureConfig,
  frameLength,
  resolveFeatures,
  type Spectrogram,
  toSpectrogram,
} from "./spectrogram.ts";

/** Bytes of spectrograms kept in memory by default (2 GiB). */
const MEMORY_BUDGET = 2 * 2 ** 30;

/** One preprocessed utterance. */
export interface DatasetItem {
  /** The audio file. */
  path: string;
  /** Its attribute values (`null` = unknown). */
  values: LabelValues;
  /** Input labels `c` (length `schema.nIn`, {0,1}). */
  input: Float32Array;
  /** Output labels `y` (length `schema.nOut`, {-1,0,1}). */
  output: Float32Array;
  /** Spectrogram frames. */
  frames: number;
  /** Seconds of source audio. */
  seconds: number;
  /** The [0,1] spectrogram `[bins x frames]` (read from the cache when not kept in memory). */
  spectrogram(): Spectrogram;
}

/**
 * A labelled set of spectrograms; see {@linkcode loadDataset}.
 */
export class SpectrogramDataset {
  /** A short name (the source path, or `demo`). */
  readonly name: string;
  /** The usable utterances. */
  readonly items: readonly DatasetItem[];
  /** The label schema. */
  readonly schema: LabelSchema;
  /** The feature config the spectrograms were made with. */
  readonly features: FeatureConfig;
  /** Inputs that were skipped, with the reason. */
  readonly skipped: readonly SkippedInput[];
  /** How loading went: files seen, computed, read from the cache, wall time. */
  readonly preparation: PreparationStats;

  /** Assemble a dataset (normally done by {@linkcode loadDataset}). */
  constructor(
    name: string,
    items: readonly DatasetItem[],
    schema: LabelSchema,
    features: FeatureConfig,
    skipped: readonly SkippedInput[] = [],
    preparation: PreparationStats = { files: items.length, computed: 0, cached: 0, seconds: 0 },
  ) {
    this.preparation = preparation;
    this.name = name;
    this.items = items;
    this.schema = schema;
    this.features = features;
    this.skipped = skipped;
  }

  /** Number of utterances. */
  get size(): number {
    return this.items.length;
  }

  /** Total seconds of audio. */
  get seconds(): number {
    return this.items.reduce((s, i) => s + i.seconds, 0);
  }

  /** The distinct values of an attribute present in the items, sorted. */
  valuesOf(attribute: string): string[] {
    const set = new Set<string>();
    for (const item of this.items) {
      const v = item.values[attribute];
      if (typeof v === "string") set.add(v);
      else if (Array.isArray(v)) v.forEach((x) => set.add(x));
    }
    return [...set].sort();
  }

  /** A one-line summary, e.g. `demo: 160 utterances, 7.1 min, nIn 12, nOut 12, 0 skipped`. */
  summary(): string {
    return `${this.name}: ${this.size} utterances, ${
      (this.seconds / 60).toFixed(1)
    } min, nIn ${this.schema.nIn}, nOut ${this.schema.nOut}, ${this.skipped.length} skipped`;
  }
}

/** How {@linkcode loadDataset} prepared a dataset. */
export interface PreparationStats {
  /** Usable source entries (before audio problems were found). */
  files: number;
  /** Files decoded and transformed in this call. */
  computed: number;
  /** Files whose spectrogram came from the cache. */
  cached: number;
  /** Wall-clock seconds of the preparation. */
  seconds: number;
}

/** Options for {@linkcode loadDataset}. */
export interface LoadDatasetOptions extends SpeakerFolderOptions {
  /**
   * Feature overrides on top of {@linkcode DEFAULT_FEATURES}.
   * @default {{}}
   */
  features?: Partial<FeatureConfig>;
  /**
   * Root of the spectrogram cache; `null` disables it (spectrograms are kept in memory).
   * @default {userCacheDir() + "/spectrograms"}
   */
  cacheDir?: string | null;
  /**
   * Show a progress bar on stderr when more than a few files are processed.
   * @default {true}
   */
  progress?: boolean;
  /**
   * Keep spectrograms in memory; when false, each access reads the cache
   * file. By default they are kept while they total at most 2 GiB (VCTK's
   * 44 hours take about 20 GiB), and read from the cache beyond that.
   * @default {undefined (automatic)}
   */
  keepInMemory?: boolean;
  /**
   * Parallel preprocessing workers; 1 processes in this thread. Small jobs
   * (at most 16 files to compute) always run in this thread.
   * @default {navigator.hardwareConcurrency, at most 4}
   */
  workers?: number;
  /**
   * Options for the built-in demo corpus, when it is the source.
   * @default {{}}
   */
  demo?: DemoCorpusOptions;
}

/** The result of preprocessing one file. */
export interface PreparedFile {
  /** The spectrogram with the source duration. */
  spectrogram: CachedSpectrogram;
  /** The cache key (hash of the file's bytes), or `null` without a cache. */
  key: string | null;
  /** Whether it came from the cache. */
  cached: boolean;
}

/**
 * Preprocess one audio file: read, decode, check, resample, spectrogram;
 * through the cache when one is given.
 *
 * @throws {DataError} for a missing, corrupt, NaN-holding or too-short file.
 */
export async function prepareFile(
  path: string,
  options: { features: FeatureConfig; cache?: SpectrogramCache | null },
): Promise<PreparedFile> {
  const { features } = options;
  const cache = options.cache ?? null;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new DataError(
      "Cannot read audio file",
      path,
      e instanceof Deno.errors.NotFound ? "the file does not exist" : String(e),
    );
  }
  const key = cache ? await contentKey(bytes) : null;
  if (cache && key) {
    const hit = cache.read(key);
    if (hit && hit.bins === features.bins) return { spectrogram: hit, key, cached: true };
  }
  const audio = await decodeAudio(bytes, { path });
  const seconds = audio.samples.length / audio.sampleRate;
  const frame = frameLength(features);
  const tooShort = () =>
    new DataError(
      "Cannot use audio file",
      path,
      `the clip is shorter than one frame (${
        seconds.toFixed(4)
      } s < ${frame} samples at ${features.sampleRate} Hz)`,
    );
  if (seconds * features.sampleRate < frame) throw tooShort();
  const wave = await resample(audio, features.sampleRate, { quality: features.resampleQuality });
  if (wave.samples.length < frame) throw tooShort();
  const spec = toSpectrogram(wave.samples, features);
  const spectrogram = { ...spec, seconds };
  if (cache && key) await cache.write(key, spectrogram);
  return { spectrogram, key, cached: false };
}

/** A cache hit for a file, without decoding it; `null` on a miss or a read error. */
async function cachedEntry(
  path: string,
  cache: SpectrogramCache,
  features: FeatureConfig,
): Promise<PreparedFile | null> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    return null; // prepareFile reports it
  }
  const key = await contentKey(bytes);
  const head = cache.readHeader(key);
  if (!head || head.bins !== features.bins) return null;
  return { spectrogram: { ...head, data: new Float32Array(0) }, key, cached: true };
}

interface WorkerReply {
  id: number;
  key?: string | null;
  cached?: boolean;
  seconds?: number;
  bins?: number;
  frames?: number;
  data?: Float32Array;
  skip?: SkippedInput;
  fatal?: string;
}

/** Run `prepareFile` over jobs in a pool of workers; results arrive through `onResult`. */
function prepareInWorkers(
  jobs: { i: number; path: string }[],
  options: {
    features: FeatureConfig;
    cacheRoot: string | null;
    workers: number;
    onResult: (i: number, r: PreparedFile | SkippedInput) => void;
  },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const pool: Worker[] = [];
    let next = 0, pending = jobs.length, failed = false;
    const stop = (e: unknown) => {
      if (failed) return;
      failed = true;
      pool.forEach((w) => w.terminate());
      reject(e);
    };
    const feed = (w: Worker) => {
      if (next >= jobs.length) return;
      const job = jobs[next]!;
      w.postMessage({
        id: next++,
        path: job.path,
        features: options.features,
        cacheRoot: options.cacheRoot,
      });
    };
    for (let k = 0; k < options.workers; k++) {
      const w = new Worker(new URL("./prepare_worker.ts", import.meta.url), { type: "module" });
      pool.push(w);
      w.onmessage = (ev: MessageEvent<WorkerReply>) => {
        if (failed) return;
        const r = ev.data;
        const job = jobs[r.id]!;
        try {
          if (r.fatal !== undefined) throw new Error(`Cannot prepare '${job.path}': ${r.fatal}`);
          if (r.skip) options.onResult(job.i, r.skip);
          else {
            options.onResult(job.i, {
              key: r.key ?? null,
              cached: r.cached ?? false,
              spectrogram: {
                data: r.data ?? new Float32Array(0),
                bins: r.bins!,
                frames: r.frames!,
                seconds: r.seconds!,
              },
            });
          }
        } catch (e) {
          stop(e);
          return;
        }
        if (--pending === 0) {
          pool.forEach((x) => x.terminate());
          resolve();
        } else feed(w);
      };
      w.onerror = (ev) => {
        ev.preventDefault();
        stop(new Error(`Cannot prepare files: a worker failed (${ev.message})`));
      };
      feed(w);
    }
  });
}

async function resolveSource(
  source: string | DatasetSource | undefined,
  options: LoadDatasetOptions,
): Promise<DatasetSource> {
  if (source !== undefined && typeof source !== "string") return source;
  const sourceOptions = {
    ...(options.strict !== undefined ? { strict: options.strict } : {}),
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.conditionOnly ? { conditionOnly: options.conditionOnly } : {}),
  };
  if (source === undefined || source === "demo") {
    const demo = await buildDemoCorpus(options.demo ?? {});
    const src = await readManifest(demo.manifest, sourceOptions);
    return { ...src, name: "demo" };
  }
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(source);
  } catch {
    throw new DataError("Cannot load dataset", source, "no such file or folder");
  }
  if (stat.isDirectory) {
    for (const name of ["manifest.yaml", "manifest.yml", "manifest.csv"]) {
      try {
        if ((await Deno.stat(`${source}/${name}`)).isFile) {
          return await readManifest(`${source}/${name}`, sourceOptions);
        }
      } catch { /* try the next */ }
    }
    return await scanSpeakerFolders(source, {
      ...sourceOptions,
      ...(options.match ? { match: options.match } : {}),
      ...(options.speakerInfo ? { speakerInfo: options.speakerInfo } : {}),
    });
  }
  return await readManifest(source, sourceOptions);
}

/**
 * Load a dataset: resolve the source, preprocess every file through the
 * cache, and encode the labels.
 *
 * The source is `"demo"` or omitted (the built-in espeak-ng corpus, built on
 * first use), a manifest (`.csv`, `.yaml`), a folder holding
 * `manifest.yaml|yml|csv`, or a folder-per-speaker corpus (VCTK layout).
 * Bad inputs are skipped and listed in `dataset.skipped`; with `strict` the
 * first one throws a {@linkcode DataError} naming the file and the problem.
 *
 * @example The built-in corpus with tiny features
 * ```ts ignore
 * import { loadDataset } from "./mod.ts";
 * const ds = await loadDataset("demo", { features: { bins: 32, segmentFrames: 32 } });
 * console.log(ds.summary());
 * ```
 */
export async function loadDataset(
  source?: string | DatasetSource,
  options: LoadDatasetOptions = {},
): Promise<SpectrogramDataset> {
  const features = resolveFeatures(options.features ?? {});
  const src = await resolveSource(source, options);
  const cacheRoot = options.cacheDir === undefined
    ? `${userCacheDir()}/spectrograms`
    : options.cacheDir;
  const cache = cacheRoot === null ? null : await SpectrogramCache.open(cacheRoot, features);
  // Spectrograms stay in memory unless asked otherwise or past the budget
  // (only possible with a cache to read them back from).
  let keep = cache === null || options.keepInMemory !== false;
  const budget = cache !== null && options.keepInMemory === undefined ? MEMORY_BUDGET : Infinity;
  let keptBytes = 0;
  const skipped: SkippedInput[] = [...src.skipped];
  const items: DatasetItem[] = [];
  const bar = new Progress(`prepare ${src.name}`, src.entries.length, {
    ...(options.progress === false ? { output: null } : {}),
  });
  const makeItem = (e: SourceEntry, p: PreparedFile): DatasetItem => {
    const s = p.spectrogram;
    const key = p.key;
    const read = (): Spectrogram => {
      const hit = key && cache ? cache.read(key) : null;
      if (!hit) {
        throw new DataError(
          "Cannot read cached spectrogram",
          e.path,
          "the cache entry disappeared",
        );
      }
      return { data: hit.data, bins: hit.bins, frames: hit.frames };
    };
    const inMemory = keep || !cache || !key;
    const spec: Spectrogram | null = inMemory
      ? { data: s.data.length > 0 ? s.data : read().data, bins: s.bins, frames: s.frames }
      : null;
    return {
      path: e.path,
      values: e.values,
      input: src.schema.encodeInput(e.values),
      output: src.schema.encodeOutput(e.values),
      frames: s.frames,
      seconds: s.seconds,
      spectrogram: spec ? () => spec : read,
    };
  };
  const start = performance.now();
  const results: (PreparedFile | null)[] = new Array(src.entries.length).fill(null);
  const onResult = (i: number, r: PreparedFile | SkippedInput) => {
    if ("spectrogram" in r) {
      results[i] = r;
      keptBytes += 4 * r.spectrogram.bins * r.spectrogram.frames;
      if (keep && keptBytes > budget) {
        // Past the budget: drop what is held; items will read the cache.
        keep = false;
        for (const x of results) if (x && x.key !== null) x.spectrogram.data = new Float32Array(0);
      } else if (!keep && r.key !== null) r.spectrogram.data = new Float32Array(0);
    } else {
      if (options.strict) throw new DataError("Cannot use audio file", r.path, r.problem);
      skipped.push(r);
    }
    bar.tick();
  };
  // Files already in the cache are read here; the rest are computed, in
  // parallel workers when there are enough of them.
  const todo: number[] = [];
  for (let i = 0; i < src.entries.length; i++) {
    const e = src.entries[i]!;
    if (cache) {
      const hit = await cachedEntry(e.path, cache, features);
      if (hit) {
        onResult(i, hit);
        continue;
      }
    }
    todo.push(i);
  }
  const nWorkers = Math.max(
    1,
    Math.min(options.workers ?? Math.min(4, navigator.hardwareConcurrency || 1), todo.length),
  );
  if (nWorkers <= 1 || todo.length <= 16) {
    for (const i of todo) {
      const e = src.entries[i]!;
      try {
        onResult(i, await prepareFile(e.path, { features, cache }));
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        onResult(i, { path: err.path, problem: err.problem });
      }
    }
  } else {
    await prepareInWorkers(todo.map((i) => ({ i, path: src.entries[i]!.path })), {
      features,
      cacheRoot: cache ? cacheRoot : null,
      workers: nWorkers,
      onResult,
    });
  }
  bar.done();
  const computed = todo.length;
  src.entries.forEach((e, i) => {
    const r = results[i];
    if (r) items.push(makeItem(e, r));
  });
  const preparation: PreparationStats = {
    files: src.entries.length,
    computed,
    cached: src.entries.length - computed,
    seconds: (performance.now() - start) / 1000,
  };
  const dataset = new SpectrogramDataset(
    src.name,
    items,
    src.schema,
    features,
    skipped,
    preparation,
  );
  if (options.strict) requireItems(dataset);
  return dataset;
}

/**
 * Refuse a dataset with no usable utterance: there is nothing to train on,
 * and its label schema may be empty too.
 *
 * @throws {DataError} `Cannot use dataset '<name>': it has no usable utterances (3 skipped)`
 *
 * @example
 * ```ts
 * import { DataError, LabelSchema, requireItems, resolveFeatures, SpectrogramDataset } from "./mod.ts";
 * const empty = new SpectrogramDataset("m.csv", [], new LabelSchema([]), resolveFeatures({}));
 * try {
 *   requireItems(empty);
 * } catch (e) {
 *   console.assert(e instanceof DataError);
 * }
 * ```
 */
export function requireItems(dataset: SpectrogramDataset): void {
  if (dataset.size > 0) return;
  const skipped = dataset.skipped.length;
  throw new DataError(
    "Cannot use dataset",
    dataset.name,
    `it has no usable utterances${
      skipped
        ? ` (${skipped} skipped, e.g. ${dataset.skipped[0]!.path}: ${dataset.skipped[0]!.problem})`
        : ""
    }`,
  );
}

/**
 * The built-in demo corpus as a dataset, built on first use (see
 * {@linkcode buildDemoCorpus}). This is the dataset of an experiment that names no data.
 *
 * @example
 * ```ts ignore
 * import { loadDemoCorpus } from "./mod.ts";
 * const ds = await loadDemoCorpus({ features: { bins: 32, segmentFrames: 32 } });
 * console.log(ds.schema.describe());
 * ```
 */
export async function loadDemoCorpus(
  options: LoadDatasetOptions = {},
): Promise<SpectrogramDataset> {
  return await loadDataset("demo", options);
}
