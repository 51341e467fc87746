/**
 * Data: audio in and out, spectrograms, Griffin-Lim, label schemas,
 * datasets with a preprocessing cache, training batches, and the built-in
 * espeak-ng demo corpus.
 *
 * @example From the demo corpus to a batch and back to audio
 * ```ts ignore
 * import { loadDemoCorpus, PairSampler, toWaveform, tf } from "./mod.ts";
 * const ds = await loadDemoCorpus();
 * const batch = new PairSampler(ds, { batchSize: 2, seed: 0 }).next(); // xA: [2, 256, 256, 1]
 * const wave = toWaveform(ds.items[0]!.spectrogram(), ds.features, { iterations: 60 });
 * tf.dispose(batch);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./wav.ts";
export * from "./decode.ts";
export * from "./resample.ts";
export * from "./spectrogram.ts";
export * from "./fft.ts";
export * from "./griffin_lim.ts";
export * from "./segments.ts";
export * from "./tensors.ts";
export * from "./labels.ts";
export * from "./source.ts";
export * from "./cache.ts";
export * from "./progress.ts";
export * from "./dataset.ts";
export * from "./batches.ts";
export * from "./demo_corpus.ts";
