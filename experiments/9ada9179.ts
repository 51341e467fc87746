/**
 * Experiment 9ada9179: 47c97768 without the identity-mapping loss.
 *
 * StarGAN によって声質変換を試みる。
 *
 * これまでの実験では、CycleGAN に倣って Identity Mapping Loss が導入されていたが、
 * これがどのように働いているか不明なため、いちど取り除いて実験する。
 *
 * 入力データ等は以前の実験 (47c97768) と同じ。
 *
 * (Voice conversion with StarGAN. Earlier experiments, following CycleGAN, used an
 * identity-mapping loss; since it is unclear what it does, this experiment removes it.
 * Data, discriminator and its training are the same as in 47c97768.)
 *
 * @module
 */
import { without } from "../lib/experiment/compose.ts";
import base from "./47c97768.ts";

export default without(base, "identity", {
  changes: {
    meta: {
      id: "9ada9179",
      title: "47c97768 without the identity-mapping loss",
      note: "Earlier experiments, following CycleGAN, used an identity-mapping loss; since it " +
        "is unclear what it does, this experiment removes it. Everything else is 47c97768.",
    },
  },
});
