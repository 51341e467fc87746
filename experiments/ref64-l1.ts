/**
 * Experiment ref64-l1: the reference recipe with CycleGAN-VC's L1 cycle and
 * identity losses in place of the seed's mean squared errors (same weights,
 * ×10 and ×5).
 *
 * Why: at 2,000 iterations the reference recipe's generator reproduces its own
 * input, G(x, c_x) against x, only to about 11.8 dB MCD, where the same
 * generator trained on the cycle and identity terms alone reaches 6.9 dB
 * (README, "What limits it"). On [0, 1] spectrograms the errors are around
 * 0.1–0.2, where a squared error and its gradient are small beside the
 * adversarial and classification terms; an absolute error pulls harder.
 * Compare with `deno task ablate experiments/ref64.ts experiments/ref64-l1.ts --seeds 3`.
 *
 * @module
 */
import { extend, without } from "../lib/experiment/compose.ts";
import base from "./ref64.ts";

export default extend(without(without(base, "reconstruction"), "identity"), {
  meta: {
    id: "ref64-l1",
    title: "ref64 with L1 cycle and identity losses",
    note: "The reference recipe with reconstructionL1 ×10 and identityL1 ×5 in place of the " +
      "seed's MSE reconstruction ×10 and identity ×5. Everything else is ref64.",
  },
  losses: { generator: { reconstructionL1: { weight: 10 }, identityL1: { weight: 5 } } },
});
