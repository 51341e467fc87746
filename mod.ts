/**
 * voxlab: composable primitives for GAN voice-conversion research in the
 * StarGAN-VC family, on TensorFlow.js.
 *
 * @example Pick a backend and run an op
 * ```ts
 * import { initBackend, tf } from "./mod.ts";
 * await initBackend({ backend: "cpu", quiet: true });
 * tf.tidy(() => tf.add(1, 2).dataSync());
 * ```
 *
 * @module
 */
export { tf } from "./lib/deps.ts";
export * from "./lib/random.ts";
export * from "./lib/backend/mod.ts";
export * from "./lib/experiment/mod.ts";
export * from "./lib/eval/mod.ts";
export * from "./lib/runs/mod.ts";
export * from "./lib/model/mod.ts";
export * from "./lib/loss/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/schedule/mod.ts";
export * from "./lib/train/mod.ts";
