/**
 * The JSON state of a training checkpoint, checked field by field when read,
 * so that a damaged field (`sampler: null`, `iteration: "abc"`) is one line
 * naming the file and the field instead of a JavaScript error deep in a
 * restore.
 *
 * @module
 */
import type { RngState } from "../random.ts";
import type { PairSamplerState } from "../data/batches.ts";
import { CheckpointError } from "./checkpoint.ts";
import type { OptimizerState } from "./optimizers.ts";

/** What the loop adds to every checkpoint's state. */
export interface LoopState {
  /** Iterations completed. */
  iteration: number;
  /** Epoch of the next iteration (0-based). */
  epoch: number;
  /** Training seconds so far. */
  elapsed: number;
}

/** A voxlab training checkpoint's state: the trainer's part plus the loop's. */
export interface TrainerState extends LoopState, Record<string, unknown> {
  /** Hash of the config the checkpoint was written under. */
  configHash: string;
  /** The experiment id. */
  experiment: string;
  /** The batch sampler. */
  sampler: PairSamplerState;
  /** Randomness of the loss terms. */
  termRng: RngState;
  /** The two optimizers' configs (their slots are tensors). */
  optimizers: { generator: OptimizerState["config"]; discriminator: OptimizerState["config"] };
}

/** A field check: `null` when fine, else the sub-path (`""` for the value itself) and what was expected. */
type Check = (value: unknown) => { at: string; expected: string } | null;

const is = (ok: (v: unknown) => boolean, expected: string): Check => (v) =>
  ok(v) ? null : { at: "", expected };
const isCount = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isFinite = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const count = is(isCount, "a whole number ≥ 0");
const seconds = is((v) => isFinite(v) && (v as number) >= 0, "a finite number ≥ 0");
const finite = is(isFinite, "a finite number");
const text = is((v) => typeof v === "string" && v !== "", "a non-empty string");
const rng = is(
  (v) =>
    Array.isArray(v) && (v.length === 4 || v.length === 5) &&
    v.slice(0, 4).every((x) => Number.isInteger(x)) && (v.length === 4 || isFinite(v[4])),
  "4 integers and an optional finite number",
);
const indices = is((v) => Array.isArray(v) && v.every(isCount), "a list of whole numbers ≥ 0");
const finiteValues = is(
  (v) =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every(isFinite),
  "an object of finite numbers",
);
const record = (fields: Record<string, Check>): Check => (v) => {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return { at: "", expected: "an object" };
  }
  for (const [k, check] of Object.entries(fields)) {
    const problem = check((v as Record<string, unknown>)[k]);
    if (problem) return { at: `.${k}${problem.at}`, expected: problem.expected };
  }
  return null;
};
const optimizer = record({
  kind: text,
  learningRate: finite,
  iterations: count,
  hyper: finiteValues,
});

/** Each field of {@linkcode TrainerState} and its check. */
const TRAINER_STATE = record({
  iteration: count,
  epoch: count,
  elapsed: seconds,
  configHash: text,
  experiment: text,
  sampler: record({ rng, epoch: count, position: count, order: indices }),
  termRng: rng,
  optimizers: record({ generator: optimizer, discriminator: optimizer }),
});

/**
 * Check a training checkpoint's state, field by field.
 *
 * @throws {CheckpointError} `Cannot load checkpoint '<path>': state field
 *   'sampler' is null, expected an object`
 *
 * @example
 * ```ts
 * import { checkTrainerState } from "./checkpoint_state.ts";
 * try {
 *   checkTrainerState({ iteration: "abc" }, "c.vxck");
 * } catch (e) {
 *   console.assert((e as Error).message.includes("state field 'iteration'"));
 * }
 * ```
 */
export function checkTrainerState(state: Record<string, unknown>, path: string): TrainerState {
  const problem = TRAINER_STATE(state);
  if (problem) {
    const field = problem.at.slice(1);
    throw new CheckpointError(
      `Cannot load checkpoint '${path}': state field '${field}' is ${
        describe(dig(state, field))
      }, expected ${problem.expected}`,
    );
  }
  return state as TrainerState;
}

/** The value at a `.a.b` path inside `value`. */
function dig(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split(".").filter(Boolean)) {
    v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  const json = JSON.stringify(v) ?? String(v);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}
