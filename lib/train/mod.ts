/**
 * Training: optimizers, the GAN step and its loss terms, the loop,
 * checkpoints, metrics and progress.
 *
 * @module
 */
export * from "./optimizers.ts";
export * from "./step.ts";
export * from "./terms.ts";
export * from "./loop.ts";
export * from "./checkpoint.ts";
export * from "./safetensors.ts";
export * from "./export_weights.ts";
export * from "./metrics.ts";
export * from "./progress.ts";
export * from "./lean_grads.ts";
export * from "./non_finite.ts";
export * from "./checkpoint_state.ts";
