/**
 * The kernels voxlab replaces in the native `tensorflow` backend, registered in one place.
 *
 * tfjs-node 4.22 refuses numeric padding in all three convolution kernels and explicit padding in
 * both convolution gradients; voxlab's (`kernels/tensorflow_conv.ts`) pass it to TensorFlow as
 * `EXPLICIT` padding. voxlab's BatchNorm runs as TensorFlow's fused training kernels
 * (`kernels/tensorflow_batch_norm.ts`). `tests/backend_test.ts` checks them, and every other
 * kernel voxlab's nets use, against cpu when the backend is installed.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { registerGradients } from "./gradients.ts";
export { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from "./kernels/tensorflow_batch_norm.ts";
import {
  tensorflowBatchNormTrainConfig,
  tensorflowBatchNormTrainGradConfig,
} from "./kernels/tensorflow_batch_norm.ts";
import {
  tensorflowConv2DBackpropFilterConfig,
  tensorflowConv2DBackpropInputConfig,
  tensorflowConv2DConfig,
} from "./kernels/tensorflow_conv.ts";

/** Every kernel voxlab registers for the tensorflow backend. */
export const TENSORFLOW_KERNELS: readonly tf.KernelConfig[] = [
  tensorflowConv2DConfig,
  tensorflowConv2DBackpropInputConfig,
  tensorflowConv2DBackpropFilterConfig,
  tensorflowBatchNormTrainConfig,
  tensorflowBatchNormTrainGradConfig,
];

function isRegistered(config: tf.KernelConfig): boolean {
  return tf.getKernel(config.kernelName, "tensorflow")?.kernelFunc === config.kernelFunc;
}

/**
 * Register voxlab's tensorflow kernels in place of the package's (and the comparison gradients
 * every backend needs for the gradient penalty). Call it after the package is imported, since the
 * import registers the package's own kernels; `initBackend` does. Idempotent.
 *
 * @example Registering without the package installed only records the kernels
 * ```ts
 * import { registerTensorflowKernels, tensorflowKernelsRegistered } from "./tensorflow_kernels.ts";
 * registerTensorflowKernels();
 * console.assert(tensorflowKernelsRegistered());
 * ```
 */
export function registerTensorflowKernels(): void {
  registerGradients();
  for (const config of TENSORFLOW_KERNELS) {
    if (isRegistered(config)) continue;
    if (tf.getKernel(config.kernelName, "tensorflow") !== undefined) {
      tf.unregisterKernel(config.kernelName, "tensorflow");
    }
    tf.registerKernel(config);
  }
}

/** Whether every voxlab tensorflow kernel is registered. */
export function tensorflowKernelsRegistered(): boolean {
  return TENSORFLOW_KERNELS.every(isRegistered);
}
