/**
 * Web worker that preprocesses audio files for {@linkcode ./dataset.ts}
 * (decode, resample, spectrogram, cache write). Internal; not part of the
 * public API.
 *
 * Message in: `{ id, path, features, cacheRoot }`. Message out:
 * `{ id, key, cached, seconds, bins, frames, data? }` (the data only without a
 * cache), `{ id, skip: { path, problem } }` for bad input, or
 * `{ id, fatal: message }`.
 *
 * @module
 */

import { SpectrogramCache } from "./cache.ts";
import { prepareFile } from "./dataset.ts";
import { DataError } from "./errors.ts";
import type { FeatureConfig } from "./spectrogram.ts";

interface Job {
  id: number;
  path: string;
  features: FeatureConfig;
  cacheRoot: string | null;
}

// deno-lint-ignore no-explicit-any
const scope = self as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && self instanceof scope.WorkerGlobalScope) {
  let cache: SpectrogramCache | null = null;
  let cacheFor = "";
  scope.onmessage = async (event: MessageEvent<Job>) => {
    const { id, path, features, cacheRoot } = event.data;
    try {
      const tag = `${cacheRoot}|${JSON.stringify(features)}`;
      if (cacheRoot !== null && tag !== cacheFor) {
        cache = await SpectrogramCache.open(cacheRoot, features);
        cacheFor = tag;
      }
      const p = await prepareFile(path, { features, cache: cacheRoot === null ? null : cache });
      const s = p.spectrogram;
      if (p.key === null) {
        scope.postMessage(
          {
            id,
            key: null,
            cached: false,
            seconds: s.seconds,
            bins: s.bins,
            frames: s.frames,
            data: s.data,
          },
          [s.data.buffer],
        );
      } else {
        scope.postMessage({
          id,
          key: p.key,
          cached: p.cached,
          seconds: s.seconds,
          bins: s.bins,
          frames: s.frames,
        });
      }
    } catch (e) {
      if (e instanceof DataError) {
        scope.postMessage({ id, skip: { path: e.path, problem: e.problem } });
      } else scope.postMessage({ id, fatal: e instanceof Error ? e.message : String(e) });
    }
  };
}
