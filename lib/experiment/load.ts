/**
 * Loading an experiment file.
 *
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Experiment } from "./types.ts";
import { validateExperiment } from "./validate.ts";

/** An experiment file that cannot be loaded; the message is one line for the user. */
export class ExperimentLoadError extends Error {
  /** The error class name. */
  override name = "ExperimentLoadError";
}

/**
 * Import an experiment file (a module whose default export is an
 * {@linkcode Experiment}) and validate it. Relative paths resolve against the
 * current directory.
 *
 * @example
 * ```ts
 * import { loadExperiment } from "./load.ts";
 * const exp = await loadExperiment(new URL("../../experiments/9ada9179.ts", import.meta.url).pathname);
 * console.assert(exp.meta.id === "9ada9179");
 * ```
 */
export async function loadExperiment(path: string): Promise<Experiment> {
  const file = resolve(path);
  try {
    await Deno.stat(file);
  } catch {
    throw new ExperimentLoadError(`Cannot load experiment '${path}': file not found`);
  }
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    throw new ExperimentLoadError(
      `Cannot load experiment '${path}': ${(e as Error).message.split("\n")[0]}`,
    );
  }
  if (mod.default === undefined) {
    throw new ExperimentLoadError(`Cannot load experiment '${path}': it has no default export`);
  }
  try {
    return validateExperiment(structuredClone(mod.default));
  } catch (e) {
    throw new ExperimentLoadError(`Cannot load experiment '${path}': ${(e as Error).message}`);
  }
}
