/**
 * `deno task data`: prepare a dataset's spectrogram cache, or build the
 * built-in demo corpus.
 *
 * @module
 */

import {
  buildDemoCorpus,
  DataError,
  type FeatureConfig,
  LabelError,
  loadDataset,
  type LoadDatasetOptions,
} from "../lib/data/mod.ts";
import { intFlag, parseTaskArgs, runKnown, userPath } from "./cli.ts";

const USAGE = `Usage:
  deno task data prepare [<dataset>] [options]
  deno task data demo [--dir DIR] [--workers N]

prepare  decode, resample and transform every file of a dataset into the
         spectrogram cache, and report skipped inputs. <dataset> is 'demo'
         (the default), a manifest (.csv, .yaml), a folder holding
         manifest.yaml/.csv, or a folder-per-speaker corpus (VCTK layout).
demo     build the built-in espeak-ng corpus into the cache folder.

Options:
  --strict              stop at the first bad input with a one-line error
  --cache-dir DIR       spectrogram cache root (default: the user cache dir)
  --workers N           parallel workers (default: one per core, at most 4)
  --sample-rate HZ      feature sample rate (default 16000)
  --hop N               hop in samples (default 128)
  --bins N              frequency bins, frame = 2 x bins (default 256)
  --match REGEX         folder layout: keep only files whose path matches
  --speaker-info FILE   folder layout: speaker-info table
  --dir DIR             demo: corpus folder (default: the user cache dir)
  --quiet               no progress bar
  --help                show this help`;

/** Read an optional positive-integer flag. */
function optionalInt(flag: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : intFlag(flag, text);
}

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseTaskArgs(args, {
    name: "data",
    usage: USAGE,
    options: {
      strict: { type: "boolean", default: false },
      "cache-dir": { type: "string" },
      workers: { type: "string" },
      "sample-rate": { type: "string" },
      hop: { type: "string" },
      bins: { type: "string" },
      match: { type: "string" },
      "speaker-info": { type: "string" },
      dir: { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  if (typeof parsed === "number") return parsed;
  const v = parsed.values;
  const [command, source, ...extra] = parsed.positionals;
  return await runKnown([DataError, LabelError, RangeError], async () => {
    const workers = optionalInt("--workers", v.workers);
    if (command === "demo") {
      if (source !== undefined) throw new RangeError(`Unexpected argument '${source}' for 'demo'`);
      const corpus = await buildDemoCorpus({
        ...(v.dir ? { dir: userPath(v.dir) } : {}),
        ...(workers ? { workers } : {}),
        progress: !v.quiet,
      });
      console.log(
        corpus.built
          ? `Built the demo corpus in ${corpus.seconds.toFixed(1)} s: ${corpus.manifest}`
          : `The demo corpus is already built: ${corpus.manifest}`,
      );
      return 0;
    }
    if (command !== "prepare") {
      throw new RangeError(
        command === undefined
          ? "Missing command: expected 'prepare' or 'demo'"
          : `Unknown command '${command}': expected 'prepare' or 'demo'`,
      );
    }
    if (extra.length > 0) throw new RangeError(`Unexpected arguments: ${extra.join(" ")}`);
    const features: Partial<FeatureConfig> = {};
    const sr = optionalInt("--sample-rate", v["sample-rate"]);
    const hop = optionalInt("--hop", v.hop), bins = optionalInt("--bins", v.bins);
    if (sr) features.sampleRate = sr;
    if (hop) features.hop = hop;
    if (bins) features.bins = bins;
    let match: RegExp | undefined;
    if (v.match !== undefined) {
      try {
        match = new RegExp(v.match);
      } catch (e) {
        throw new RangeError(`Invalid --match '${v.match}': ${(e as Error).message}`);
      }
    }
    const options: LoadDatasetOptions = {
      features,
      strict: v.strict,
      progress: !v.quiet,
      ...(v["cache-dir"] ? { cacheDir: v["cache-dir"] } : {}),
      ...(workers ? { workers } : {}),
      ...(match ? { match } : {}),
      ...(v["speaker-info"] ? { speakerInfo: v["speaker-info"] } : {}),
      demo: { progress: !v.quiet },
    };
    const ds = await loadDataset(
      source === undefined || source === "demo" ? "demo" : userPath(source),
      options,
    );
    const p = ds.preparation;
    console.log(ds.summary());
    console.log(
      `Prepared ${p.files} files in ${
        p.seconds.toFixed(2)
      } s (${p.computed} computed, ${p.cached} from the cache); ${
        (ds.seconds / Math.max(p.seconds, 1e-9)).toFixed(0)
      }x real time`,
    );
    if (ds.skipped.length > 0) {
      console.log(`Skipped ${ds.skipped.length} input(s):`);
      for (const s of ds.skipped.slice(0, 20)) console.log(`  ${s.path}: ${s.problem}`);
      if (ds.skipped.length > 20) console.log(`  … and ${ds.skipped.length - 20} more`);
    }
    if (ds.size === 0) {
      console.error(
        `Warning: '${ds.name}' has no usable utterances; training on it will be refused ` +
          `(--strict makes this an error)`,
      );
    }
    return 0;
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
