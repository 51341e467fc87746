/**
 * Calling the wasm backend's own kernels from inside a voxlab kernel.
 *
 * voxlab's wasm kernels are compositions of the package's fast kernels
 * (Conv2D, BatchMatMul, Transpose, PadV2, Slice, Concat, …). They run them
 * directly through the backend, below the engine, so no tensors are tracked
 * and every intermediate must be freed with {@linkcode free}.
 *
 * @module
 */

import { tf } from "../../deps.ts";

/** The part of tfjs-backend-wasm's `BackendWasm` these kernels use. */
export interface WasmBackend {
  /** Drop one reference to a buffer; frees it when none remain. */
  disposeData(dataId: object, force?: boolean): boolean;
  /** Allocate an output buffer (uninitialised). */
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A typed-array view of a buffer on the wasm heap; invalid after the heap grows. */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** The package's kernels that voxlab replaces, kept so that voxlab kernels can delegate. */
const replaced = new Map<string, tf.KernelConfig>();

/** Remember the package's own kernel for `name` before voxlab replaces it. */
export function keepPackageKernel(config: tf.KernelConfig): void {
  replaced.set(config.kernelName, config);
}

/** The wasm package's own kernel `name`, also when voxlab has replaced it. */
export function packageKernel(name: string): tf.KernelConfig {
  const config = replaced.get(name) ?? tf.getKernel(name, "wasm");
  if (config === undefined) {
    throw new Error(`Cannot run wasm kernel '${name}': it is not registered`);
  }
  return config;
}

/** Run the wasm package's own kernel `name` and return its single output. */
export function runWasm(
  backend: WasmBackend,
  name: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const out = packageKernel(name).kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) {
    throw new Error(`Cannot run wasm kernel '${name}': expected one output, got ${out.length}`);
  }
  return out;
}

/** Free intermediates produced by {@linkcode runWasm}. */
export function free(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/**
 * The same buffer seen with another shape of equal size. Ownership moves to
 * the result: free the result, not the argument.
 */
export function view(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  const from = tf.util.sizeFromShape(info.shape);
  const to = tf.util.sizeFromShape(shape);
  if (from !== to) {
    throw new Error(
      `Cannot view shape [${info.shape}] as [${shape}]: sizes ${from} and ${to} differ`,
    );
  }
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** The input named `name`, or a TypeError naming the kernel. */
export function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const info = inputs[name];
  if (info === undefined) {
    throw new TypeError(`Cannot run kernel '${kernel}': input '${name}' is missing`);
  }
  return info;
}
