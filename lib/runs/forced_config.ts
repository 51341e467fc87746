/**
 * A forced resume's config (`--force`), kept beside the run's own until the
 * first checkpoint under it is written.
 *
 * `config.yaml` always describes the run's checkpoint. A forced resume
 * writes its config to `config.pending.yaml`; the first checkpoint written
 * under it renames it over `config.yaml`. So a forced resume that fails
 * before any checkpoint (a diverging learning rate, a full disk) leaves the
 * run as it was, and a plain `--resume` continues it without `--force`.
 *
 * @module
 */
import { join } from "node:path";
import { syncDir, writeFileAtomic } from "../io/atomic.ts";
import { IoError } from "../io/io_error.ts";
import { configHash, experimentFromYaml, experimentToYaml } from "../experiment/serialize.ts";
import type { Experiment } from "../experiment/types.ts";
import { RUN_FILES } from "./run_dir.ts";

/** Write a forced resume's config as `config.pending.yaml` beside `config.yaml`. */
export async function writePendingConfig(dir: string, exp: Experiment): Promise<void> {
  await writeFileAtomic(join(dir, RUN_FILES.pendingConfig), experimentToYaml(exp));
}

/**
 * Make the pending config the run's (`config.pending.yaml` renamed over
 * `config.yaml`), once a checkpoint under it exists. Returns whether there
 * was one.
 *
 * @throws {IoError} when the rename fails
 */
export async function promotePendingConfig(dir: string): Promise<boolean> {
  const pending = join(dir, RUN_FILES.pendingConfig);
  try {
    await Deno.rename(pending, join(dir, RUN_FILES.config));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw IoError.from("rename", pending, e);
  }
  await syncDir(dir);
  return true;
}

/**
 * Settle a pending config left by an earlier forced resume, before a new
 * start reads `config.yaml`: when the checkpoint was written under it (its
 * config hash is `checkpointHash`; the process ended between the checkpoint
 * and the rename) it becomes the run's config, otherwise it is removed.
 * Returns a notice line, or `""` when there was none.
 *
 * @example
 * ```ts
 * import { settlePendingConfig } from "./forced_config.ts";
 * const dir = await Deno.makeTempDir();
 * console.assert((await settlePendingConfig(dir, "0123")) === "");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function settlePendingConfig(dir: string, checkpointHash: string): Promise<string> {
  const pending = join(dir, RUN_FILES.pendingConfig);
  let text: string;
  try {
    text = await Deno.readTextFile(pending);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw IoError.from("read", pending, e);
  }
  let hash = "";
  try {
    hash = configHash(experimentFromYaml(text));
  } catch { /* unreadable: it was never the checkpoint's */ }
  if (hash === checkpointHash) {
    await promotePendingConfig(dir);
    return `voxlab: the checkpoint was written under the forced config; ${RUN_FILES.pendingConfig} is now ${RUN_FILES.config}`;
  }
  try {
    await Deno.remove(pending);
  } catch (e) {
    throw IoError.from("remove", pending, e);
  }
  return `voxlab: removed ${RUN_FILES.pendingConfig} of an earlier forced resume that wrote no checkpoint`;
}
