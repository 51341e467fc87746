/**
 * The built-in demo corpus: a small parallel speech corpus synthesized with
 * espeak-ng (compiled to wasm, npm `espeak-ng`), the default dataset when an
 * experiment names no data.
 *
 * Eight speakers (espeak voice variants x pitch x speed, four male, four
 * female) each say the same 20 Harvard sentences, so a conversion can be
 * scored against the target speaker's own rendition. Attributes: `speaker`,
 * `gender`, and `accent` (`us`/`gb`), which is deliberately left unknown for
 * two speakers (`m2`, `f2`) so that the -1 output labels are exercised.
 *
 * It is built on first use into the user's cache directory, in parallel
 * workers, and deterministically (same bytes every time); the build goes
 * into a temporary folder that is renamed into place, so an interrupted build
 * never leaves a partial corpus.
 *
 * @module
 */

import { userCacheDir } from "./cache.ts";
import { Progress } from "./progress.ts";
import { writeFileAtomic } from "./wav.ts";
import { YAML } from "../deps.ts";

/** One synthetic speaker of the demo corpus. */
export interface DemoSpeaker {
  /** Speaker id. */
  id: string;
  /** espeak-ng voice (`language+variant`). */
  voice: string;
  /** espeak-ng pitch, 0-99. */
  pitch: number;
  /** Speed in words per minute. */
  speed: number;
  /** `male` or `female`. */
  gender: string;
  /** The accent label, or `null` where it is deliberately unknown. */
  accent: string | null;
}

/**
 * The eight speakers, interleaved by gender so that any prefix (tests use the
 * first four) has both genders. Accent is unknown for `m2` and `f2`.
 */
export const DEMO_SPEAKERS: readonly DemoSpeaker[] = [
  { id: "m1", voice: "en-us+m1", pitch: 35, speed: 165, gender: "male", accent: "us" },
  { id: "f1", voice: "en-us+f3", pitch: 60, speed: 170, gender: "female", accent: "us" },
  { id: "m2", voice: "en-us+m7", pitch: 55, speed: 155, gender: "male", accent: null },
  { id: "f2", voice: "en-us+f4", pitch: 52, speed: 180, gender: "female", accent: null },
  { id: "m3", voice: "en-gb+m3", pitch: 45, speed: 175, gender: "male", accent: "gb" },
  { id: "f3", voice: "en-gb+f2", pitch: 70, speed: 160, gender: "female", accent: "gb" },
  { id: "m4", voice: "en-gb+m2", pitch: 28, speed: 170, gender: "male", accent: "gb" },
  { id: "f4", voice: "en-us+f5", pitch: 66, speed: 165, gender: "female", accent: "us" },
];

/** The 20 sentences (Harvard sentences, lists 1 and 2). */
export const DEMO_SENTENCES: readonly string[] = [
  "The birch canoe slid on the smooth planks.",
  "Glue the sheet to the dark blue background.",
  "It's easy to tell the depth of a well.",
  "These days a chicken leg is a rare dish.",
  "Rice is often served in round bowls.",
  "The juice of lemons makes fine punch.",
  "The box was thrown beside the parked truck.",
  "The hogs were fed chopped corn and garbage.",
  "Four hours of steady work faced us.",
  "A large size in stockings is hard to sell.",
  "The boy was there when the sun rose.",
  "A rod is used to catch pink salmon.",
  "The source of the huge river is the clear spring.",
  "Kick the ball straight and follow through.",
  "Help the woman get back to her feet.",
  "A pot of tea helps to pass the evening.",
  "Smoky fires lack flame and heat.",
  "The soft cushion broke the man's fall.",
  "The salt breeze came across from the sea.",
  "The girl at the booth sold fifty bonds.",
];

/** Version of the corpus recipe; part of the cache folder name. */
export const DEMO_CORPUS_VERSION = 2;

/** Options for {@linkcode buildDemoCorpus}. */
export interface DemoCorpusOptions {
  /**
   * Folder of the corpus.
   * @default {userCacheDir() + "/demo-corpus-v2" (with a "-<speakers>x<sentences>" suffix for subsets)}
   */
  dir?: string;
  /**
   * Use only the first N speakers (tests use a subset to stay fast).
   * @default {8}
   */
  speakers?: number;
  /**
   * Use only the first N sentences.
   * @default {20}
   */
  sentences?: number;
  /**
   * Parallel synthesis workers.
   * @default {navigator.hardwareConcurrency, at most 4}
   */
  workers?: number;
  /**
   * Show a progress bar on stderr while building.
   * @default {true}
   */
  progress?: boolean;
}

/** Where the corpus is and whether this call built it. */
export interface DemoCorpus {
  /** The corpus folder. */
  dir: string;
  /** Its manifest (YAML with a fixed schema). */
  manifest: string;
  /** True when this call synthesized it; false when it was already there. */
  built: boolean;
  /** Seconds spent building (0 when cached). */
  seconds: number;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Build the demo corpus if it is missing, and say where it is.
 *
 * @example
 * ```ts ignore
 * import { buildDemoCorpus, loadDataset } from "./mod.ts";
 * const corpus = await buildDemoCorpus();
 * const ds = await loadDataset(corpus.manifest);
 * ```
 */
export async function buildDemoCorpus(options: DemoCorpusOptions = {}): Promise<DemoCorpus> {
  const nSpk = options.speakers ?? DEMO_SPEAKERS.length;
  const nSen = options.sentences ?? DEMO_SENTENCES.length;
  if (!Number.isInteger(nSpk) || nSpk < 1 || nSpk > DEMO_SPEAKERS.length) {
    throw new RangeError(
      `Invalid demo corpus speakers ${nSpk}: expected 1..${DEMO_SPEAKERS.length}`,
    );
  }
  if (!Number.isInteger(nSen) || nSen < 1 || nSen > DEMO_SENTENCES.length) {
    throw new RangeError(
      `Invalid demo corpus sentences ${nSen}: expected 1..${DEMO_SENTENCES.length}`,
    );
  }
  const full = nSpk === DEMO_SPEAKERS.length && nSen === DEMO_SENTENCES.length;
  const dir = options.dir ??
    `${userCacheDir()}/demo-corpus-v${DEMO_CORPUS_VERSION}${full ? "" : `-${nSpk}x${nSen}`}`;
  const manifest = `${dir}/manifest.yaml`;
  if (exists(manifest)) return { dir, manifest, built: false, seconds: 0 };

  const start = performance.now();
  const parent = dir.slice(0, Math.max(1, dir.lastIndexOf("/")));
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: ".demo-corpus-build-" });
  try {
    const speakers = DEMO_SPEAKERS.slice(0, nSpk);
    const sentences = DEMO_SENTENCES.slice(0, nSen);
    const jobs: { args: string[]; out: string }[] = [];
    const items: Record<string, string | null>[] = [];
    for (const s of speakers) {
      await Deno.mkdir(`${tmp}/wav/${s.id}`, { recursive: true });
      sentences.forEach((text, i) => {
        const rel = `wav/${s.id}/${s.id}_${String(i + 1).padStart(3, "0")}.wav`;
        jobs.push({
          args: ["-v", s.voice, "-p", String(s.pitch), "-s", String(s.speed), text],
          out: `${tmp}/${rel}`,
        });
        items.push({ path: rel, speaker: s.id, gender: s.gender, accent: s.accent, text });
      });
    }
    const nWorkers = Math.max(
      1,
      Math.min(options.workers ?? Math.min(4, navigator.hardwareConcurrency || 2), jobs.length),
    );
    const bar = new Progress("build demo corpus", jobs.length, {
      unit: "utterances",
      ...(options.progress === false ? { output: null } : {}),
    });
    await Promise.all(
      Array.from(
        { length: nWorkers },
        (_, w) => runWorker(jobs.filter((_, j) => j % nWorkers === w), bar),
      ),
    );
    bar.done();
    const doc = {
      description:
        `voxlab demo corpus v${DEMO_CORPUS_VERSION}: espeak-ng, ${nSpk} speakers x ${nSen} sentences`,
      attributes: [
        { name: "speaker", values: speakers.map((s) => s.id), classified: true },
        { name: "gender", values: ["female", "male"], classified: true },
        { name: "accent", values: ["gb", "us"], classified: true },
      ],
      // `text` is not an attribute: it is kept for reference and ignored by the schema.
      items: items.map(({ text: _text, ...rest }) => rest),
      texts: Object.fromEntries(items.map((i) => [i.path, i.text])),
    };
    await writeFileAtomic(`${tmp}/manifest.yaml`, new TextEncoder().encode(YAML.stringify(doc)));
    try {
      await Deno.rename(tmp, dir);
    } catch (e) {
      // Another process finished first: use its corpus.
      if (!exists(manifest)) throw e;
      await Deno.remove(tmp, { recursive: true });
    }
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return { dir, manifest, built: true, seconds: (performance.now() - start) / 1000 };
}

function runWorker(jobs: { args: string[]; out: string }[], bar: Progress): Promise<void> {
  if (jobs.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./demo_worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e: MessageEvent<{ done?: number; finished?: boolean; error?: string }>) => {
      if (e.data.done) bar.tick(e.data.done);
      if (e.data.finished) {
        worker.terminate();
        resolve();
      }
      if (e.data.error) {
        worker.terminate();
        reject(new Error(`Cannot synthesize the demo corpus: ${e.data.error}`));
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(`Cannot synthesize the demo corpus: ${e.message}`));
    };
    worker.postMessage({ jobs });
  });
}
