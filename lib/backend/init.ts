/**
 * Choosing and preparing the tfjs backend.
 *
 * @module
 */

// Importing deps.ts evaluates the cpu and wasm backend packages, which registers them.
import { tf } from "../deps.ts";

/** Backends voxlab can run on. */
export type BackendName = "auto" | "wasm" | "cpu" | "tensorflow" | "webgpu";

/** The backend names accepted by {@linkcode initBackend}. */
export const BACKEND_NAMES: readonly BackendName[] = [
  "auto",
  "wasm",
  "cpu",
  "tensorflow",
  "webgpu",
];

/** Options for {@linkcode initBackend}. */
export interface InitBackendOptions {
  /**
   * Which backend to use. `auto` picks tensorflow when `@tensorflow/tfjs-node(-gpu)`
   * is installed, otherwise wasm.
   * @default {"auto"}
   */
  backend?: BackendName;
  /**
   * Threads for the wasm backend; 0 means one per core.
   * @default {0}
   */
  threads?: number;
  /**
   * Do not print the one-line backend summary.
   * @default {false}
   */
  quiet?: boolean;
}

/** What {@linkcode initBackend} chose. */
export interface BackendInfo {
  /** The tfjs backend name in use (`wasm`, `cpu`, `tensorflow`, `webgpu`). */
  name: string;
  /** Threads the backend computes with (1 for cpu). */
  threads: number;
}

/** A backend could not be prepared; the message is one line meant for the user. */
export class BackendError extends Error {
  override name = "BackendError";
}

/**
 * Choose, initialise and announce the tfjs backend.
 *
 * @example Use the cpu reference backend
 * ```ts
 * import { initBackend } from "./init.ts";
 * const info = await initBackend({ backend: "cpu", quiet: true });
 * console.assert(info.name === "cpu");
 * ```
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const backend = options.backend ?? "auto";
  if (!BACKEND_NAMES.includes(backend)) {
    throw new RangeError(
      `Cannot initialise backend '${backend}': expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  const name = backend === "auto" ? "wasm" : backend;
  if (!(await tf.setBackend(name))) {
    throw new BackendError(`Cannot initialise backend '${name}'`);
  }
  await tf.ready();
  const info: BackendInfo = { name, threads: 1 };
  if (!options.quiet) console.log(`voxlab: backend ${info.name}, ${info.threads} thread(s)`);
  return info;
}
