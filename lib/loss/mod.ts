/**
 * Loss functions: pure functions over tensors, each with a `Formula:` line.
 *
 * @module
 */
export * from "./wgan.ts";
export * from "./gradient_penalty.ts";
export * from "./lsgan.ts";
export * from "./non_saturating.ts";
export * from "./sigmoid_cross_entropy.ts";
export * from "./reconstruction.ts";
export * from "./feature_matching.ts";
export * from "./identity.ts";
