/**
 * Training-mode batch normalisation as one TensorFlow kernel each way, for the native
 * `tensorflow` backend: `FusedBatchNormV3` (batch statistics) and `FusedBatchNormGradV3`.
 *
 * voxlab's BatchNorm (`lib/model/batch_norm.ts`) composes about eight element-wise passes over the
 * activations forward and eight backward; on tensorflow each is a separate native call over
 * tensors of up to 4M values, and together they took about 15% of a GAN iteration (with the
 * optimizer's passes; `deno task bench --backend tensorflow --only model`). When the running
 * backend has {@linkcode BATCH_NORM_TRAIN} registered, BatchNorm uses these two kernels instead;
 * other backends keep the composed form.
 *
 * @module
 */

import { tf } from "../../deps.ts";
import type { NodeBackend, OpAttr } from "./tensorflow_conv.ts";

/** Kernel: `{x [B,H,W,C], scale [C], offset [C]}`, `{epsilon}` → `[y, mean, variance, r1, r2, r3]`. */
export const BATCH_NORM_TRAIN = "VoxlabBatchNormTrain";
/**
 * Kernel: `{dy, x, scale, r1, r2, r3}`, `{epsilon}` → `[dx, dScale, dOffset]`; `r1..r3` are the
 * forward kernel's reserve outputs.
 */
export const BATCH_NORM_TRAIN_GRAD = "VoxlabBatchNormTrainGrad";

function attrs(backend: NodeBackend, epsilon: number): OpAttr[] {
  const b = backend.binding;
  return [
    { name: "T", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: "U", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: "epsilon", type: b.TF_ATTR_FLOAT, value: epsilon },
    { name: "data_format", type: b.TF_ATTR_STRING, value: "NHWC" },
    { name: "is_training", type: b.TF_ATTR_BOOL, value: true },
  ];
}

/**
 * `FusedBatchNormV3` in training mode. Its `batch_variance` output is TensorFlow's unbiased
 * (Bessel-corrected) variance; the kernel returns the biased one, as voxlab's composed BatchNorm
 * does, so callers need not know which ran.
 */
export const tensorflowBatchNormTrainConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAIN,
  backendName: "tensorflow",
  kernelFunc: ({ inputs, backend, attrs: a }) => {
    const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
    const nb = backend as unknown as NodeBackend;
    const { epsilon } = a as unknown as { epsilon: number };
    const empty = tf.tensor1d([], "float32");
    try {
      const [y, mean, unbiased, r1, r2, r3] = nb.executeMultipleOutputs(
        "FusedBatchNormV3",
        [...attrs(nb, epsilon), {
          name: "exponential_avg_factor",
          type: nb.binding.TF_ATTR_FLOAT,
          value: 1,
        }],
        [x!, scale!, offset!, empty, empty],
        6,
      ) as tf.Tensor[];
      const m = x!.shape[0]! * x!.shape[1]! * x!.shape[2]!;
      const variance = tf.mul(unbiased!, (m - 1) / Math.max(m, 1));
      unbiased!.dispose();
      return [y!, mean!, variance, r1!, r2!, r3!];
    } finally {
      empty.dispose();
    }
  },
};

/** `FusedBatchNormGradV3` in training mode. */
export const tensorflowBatchNormTrainGradConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAIN_GRAD,
  backendName: "tensorflow",
  kernelFunc: ({ inputs, backend, attrs: a }) => {
    const { dy, x, scale, r1, r2, r3 } = inputs as Record<string, tf.TensorInfo>;
    const nb = backend as unknown as NodeBackend;
    const { epsilon } = a as unknown as { epsilon: number };
    const [dx, dScale, dOffset, r4, r5] = nb.executeMultipleOutputs(
      "FusedBatchNormGradV3",
      attrs(nb, epsilon),
      [dy!, x!, scale!, r1!, r2!, r3!],
      5,
    ) as tf.Tensor[];
    tf.dispose([r4!, r5!]);
    return [dx!, dScale!, dOffset!];
  },
};
