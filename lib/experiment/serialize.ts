/**
 * Experiments as YAML, and the config hash that ties a checkpoint to the
 * configuration it was trained with.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { YAML } from "../deps.ts";
import type { Experiment } from "./types.ts";
import { validateExperiment } from "./validate.ts";

/**
 * Serialize an experiment to YAML (keys in the experiment's own order).
 *
 * @example Round trip
 * ```ts
 * import { experimentFromYaml, experimentToYaml } from "./serialize.ts";
 * import base from "../../experiments/47c97768.ts";
 * const back = experimentFromYaml(experimentToYaml(base));
 * console.assert(back.trainer.nCritic === base.trainer.nCritic);
 * ```
 */
export function experimentToYaml(exp: Experiment): string {
  return YAML.stringify(exp, { lineWidth: 0 });
}

/**
 * Fill in fields added after a config was written, with the meaning the run
 * had then: no held-out split (`data.split.heldOut` 0), B drawn from any
 * other utterance (`data.pairs.differentAttribute` null), and learning-rate
 * schedules counted in epochs. Other values are left for the validator.
 */
export function upgradeExperiment(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const v = value as Record<string, Record<string, unknown> | undefined>;
  const data = v.data;
  if (data && typeof data === "object") {
    data.split ??= { heldOut: 0, seed: 0 };
    data.pairs ??= { differentAttribute: null };
  }
  const optimizers = v.optimizers;
  if (optimizers && typeof optimizers === "object") {
    for (const o of Object.values(optimizers)) {
      const schedule = (o as Record<string, unknown> | null)?.schedule as
        | Record<string, unknown>
        | undefined;
      if (schedule && (schedule.kind === "step" || schedule.kind === "linear")) {
        schedule.unit ??= "epochs";
      }
    }
  }
  return value;
}

/**
 * Parse and validate an experiment from YAML (as written by
 * {@linkcode experimentToYaml}); configs written before a field existed are
 * upgraded first ({@linkcode upgradeExperiment}).
 */
export function experimentFromYaml(text: string): Experiment {
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (e) {
    throw new TypeError(
      `Cannot parse experiment YAML: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return validateExperiment(upgradeExperiment(value));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * A 16-hex-digit SHA-256 prefix of everything but `meta`, with keys sorted:
 * two experiments that compute the same thing have the same hash.
 *
 * @example
 * ```ts
 * import { configHash } from "./serialize.ts";
 * import base from "../../experiments/47c97768.ts";
 * console.assert(/^[0-9a-f]{16}$/.test(configHash(base)));
 * ```
 */
export function configHash(exp: Experiment): string {
  const { meta: _meta, ...rest } = exp;
  return createHash("sha256").update(JSON.stringify(canonical(rest))).digest("hex").slice(0, 16);
}
