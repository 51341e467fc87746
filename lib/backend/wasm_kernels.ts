/**
 * The kernels voxlab adds to tfjs's wasm backend, registered in one place.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`, and its
 * `Conv2DBackpropInput`, transposed matMul and `Tile` are one to two orders of
 * magnitude slower than its forward convolution. voxlab's replacements are
 * compositions of the package's own fast kernels (see `kernels/`).
 *
 * They are registered when this module is imported (importing voxlab's
 * `mod.ts` does it), so code that calls `tf.setBackend("wasm")` itself gets
 * them too; `initBackend` registers them again, which is a no-op unless
 * something replaced them.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { registerGradients } from "./gradients.ts";
import { batchMatMulConfig, fusedMatMulConfig } from "./kernels/batch_mat_mul.ts";
import { conv2dBackpropFilterConfig } from "./kernels/conv2d_backprop_filter.ts";
import { conv2dBackpropInputConfig } from "./kernels/conv2d_backprop_input.ts";
import { tileConfig } from "./kernels/tile.ts";
import { keepPackageKernel } from "./kernels/wasm_call.ts";

/** Every kernel voxlab registers for the wasm backend. */
export const WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  batchMatMulConfig,
  fusedMatMulConfig,
  tileConfig,
];

/** Whether `config` is the kernel registered for its name on wasm. */
function isRegistered(config: tf.KernelConfig): boolean {
  return tf.getKernel(config.kernelName, "wasm")?.kernelFunc === config.kernelFunc;
}

/**
 * Register voxlab's wasm kernels, replacing the package's slow ones (and the
 * comparison gradients of `gradients.ts`, which every backend needs for the
 * gradient penalty). Idempotent; call it after the wasm backend is chosen
 * (initBackend does).
 *
 * @example Filter gradients on wasm
 * ```ts
 * import { registerWasmKernels } from "./wasm_kernels.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("wasm");
 * registerWasmKernels();
 * const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
 * const loss = (w: tf.Tensor) => tf.conv2d(x, w as tf.Tensor4D, 1, "same").sum();
 * const dw = tf.grad(loss)(tf.ones([3, 3, 1, 1]));
 * console.assert(dw.shape.join() === "3,3,1,1");
 * ```
 */
export function registerWasmKernels(): void {
  registerGradients();
  for (const config of WASM_KERNELS) {
    if (isRegistered(config)) continue;
    const own = tf.getKernel(config.kernelName, "wasm");
    if (own !== undefined) {
      keepPackageKernel(own);
      tf.unregisterKernel(config.kernelName, "wasm");
    }
    // The package's setup (its cwrap of the C++ function) still runs when the
    // backend initialises after this call: voxlab kernels may delegate to it.
    tf.registerKernel(
      own?.setupFunc === undefined ? config : { ...config, setupFunc: own.setupFunc },
    );
  }
}

/** Whether every voxlab wasm kernel is registered. */
export function wasmKernelsRegistered(): boolean {
  return WASM_KERNELS.every(isRegistered);
}

registerWasmKernels();
