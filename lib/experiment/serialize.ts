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

/** Parse and validate an experiment from YAML (as written by {@linkcode experimentToYaml}). */
export function experimentFromYaml(text: string): Experiment {
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (e) {
    throw new TypeError(
      `Cannot parse experiment YAML: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return validateExperiment(value);
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
