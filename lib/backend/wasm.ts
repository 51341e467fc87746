/**
 * Choosing the wasm backend with a thread count, once per process.
 *
 * With more than one thread the threaded module from `wasm_threads.ts` is started; if it cannot
 * start, the package's own single-threaded SIMD module is used and the reason is returned so the
 * caller can print a one-line notice. With one thread the package's own module is used directly
 * (no workers at all).
 *
 * voxlab registers this factory when it is imported, with the default count (one thread per
 * logical core), so `tf.setBackend("wasm")` and `tf.ready()` get every core too.
 *
 * tfjs keeps one wasm backend per process and its thread pool cannot be resized, so the first
 * initialisation fixes the count: asking for a different count later is an error that says to
 * start a new process.
 *
 * @module
 */

import { tf, tfWasm } from "../deps.ts";
import { BackendError, errorText } from "./backend_error.ts";
import {
  createThreadedWasmBackend,
  MAX_WASM_THREADS,
  resolveWasmPackageDir,
} from "./wasm_threads.ts";
import { granted } from "./write_once.ts";

/** tfjs-backend-wasm's registration priority. */
const WASM_PRIORITY = 2;

/** What {@linkcode initWasm} started. */
export interface WasmStart {
  /** Threads the backend computes with. */
  threads: number;
  /** Why threads could not start, when the backend fell back to one thread. */
  fallback?: string;
}

/** The thread count the wasm backend was first initialised with in this process, if any. */
let requestedThreads: number | undefined;
/** Why threads could not start in this process, if they could not. */
let fallbackReason: string | undefined;
/** The package's own factory, kept for the single-threaded path. */
let stockFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | undefined;

/** The default thread count: one per logical core, at most {@linkcode MAX_WASM_THREADS}. */
export function defaultWasmThreads(): number {
  return Math.min(Math.max(1, navigator.hardwareConcurrency || 1), MAX_WASM_THREADS);
}

/** Register our factory for backend `wasm`, to start `threads` threads when first used. */
function installFactory(threads: number): void {
  stockFactory ??= tf.findBackendFactory("wasm");
  const stock = stockFactory;
  if (!stock) throw new BackendError("Cannot use backend 'wasm': tfjs-backend-wasm is not loaded");
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", async () => {
    if (threads > 1) {
      try {
        return await createThreadedWasmBackend(threads);
      } catch (error) {
        fallbackReason = errorText(error);
      }
    }
    // The package's own path: single-threaded SIMD (its flag is off under Deno anyway).
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    tfWasm.setThreadsCount(1);
    return await stock();
  }, WASM_PRIORITY);
  requestedThreads = threads;
}

// From the moment voxlab is imported, wasm uses every core by default, also for code that calls
// `tf.setBackend("wasm")` or `tf.ready()` itself. Nothing starts until the backend is first used.
installFactory(defaultWasmThreads());

/**
 * Make `wasm` the active tfjs backend with `threads` threads (a count ≥ 1, already resolved).
 *
 * @throws {BackendError} when the wasm backend already runs in this process with another count,
 *   or cannot initialise at all
 */
export async function initWasm(threads: number): Promise<WasmStart> {
  // Not tf.findBackend("wasm"): it would start initialising the backend with the factory
  // registered so far.
  if (!("wasm" in tf.engine().registry)) {
    // Both modules read their .wasm file from the package; without access tfjs fails noisily.
    let dir: string | undefined;
    try {
      dir = resolveWasmPackageDir();
    } catch {
      // Not resolvable as a local package (e.g. voxlab imported remotely): tfjs finds its files.
    }
    if (dir !== undefined && !granted({ name: "read", path: dir })) {
      throw new BackendError(
        `Cannot use backend 'wasm': it needs read access to '${dir}' (run deno with --allow-read)`,
      );
    }
    installFactory(threads);
  } else {
    // Already initialised, by us or by someone calling tf.setBackend("wasm") directly.
    const first = requestedThreads ?? tfWasm.getThreadsCount();
    if (threads !== first) {
      throw new BackendError(
        `Cannot use ${threads} wasm thread(s): the wasm backend already started with ${first} ` +
          "in this process and cannot be resized; start a new process",
      );
    }
  }
  if (!(await tf.setBackend("wasm"))) {
    throw new BackendError("Cannot use backend 'wasm': tfjs failed to initialise it");
  }
  const start: WasmStart = { threads: tfWasm.getThreadsCount() };
  if (fallbackReason !== undefined) start.fallback = fallbackReason;
  return start;
}
