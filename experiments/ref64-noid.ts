/**
 * Experiment ref64-noid: the reference recipe without the identity-mapping
 * loss — the seed's question (9ada9179 against 47c97768) asked of a recipe
 * that converts. Compare with `deno task ablate experiments/ref64.ts
 * experiments/ref64-noid.ts --seeds 3`.
 *
 * @module
 */
import { without } from "../lib/experiment/compose.ts";
import base from "./ref64.ts";

export default without(base, "identity", {
  changes: {
    meta: {
      id: "ref64-noid",
      title: "ref64 without the identity-mapping loss",
      note: "The reference recipe without its identity-mapping loss, as 9ada9179 is 47c97768 " +
        "without it. Everything else is ref64.",
    },
  },
});
