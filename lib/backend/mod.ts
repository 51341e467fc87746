/**
 * Backend selection, wasm threading and the kernels voxlab adds to tfjs.
 *
 * @module
 */
export * from "./init.ts";
export * from "./wasm_kernels.ts";
export * from "./gradients.ts";
export * from "./tensorflow_kernels.ts";
