/**
 * Choosing and preparing the tfjs backend.
 *
 * - `wasm` (the default): tfjs-backend-wasm on every core (see `wasm_threads.ts` for how threads
 *   are made to work under Deno). The thread count is fixed by the first wasm initialisation in a
 *   process; a different count needs a new process.
 * - `cpu`: tfjs's pure-JavaScript reference backend, used by the tests to check the others.
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`, imported only when
 *   asked for or when `auto` finds one installed (the rule is in `tensorflow.ts`).
 * - `webgpu`: Deno's WebGPU with `@tensorflow/tfjs-backend-webgpu`, on a hardware adapter only.
 * - `auto`: `tensorflow` when installed, otherwise `wasm`.
 *
 * The choice is announced on stderr in one line, once per process for each distinct choice.
 *
 * @module
 */

// Importing deps.ts evaluates the cpu and wasm backend packages, which registers them.
import { tf } from "../deps.ts";
import { BackendError, errorText } from "./backend_error.ts";
import { findTensorflowPackage, loadTensorflow } from "./tensorflow.ts";
import { defaultWasmThreads, initWasm } from "./wasm.ts";
import { registerWasmKernels } from "./wasm_kernels.ts";
import { MAX_WASM_THREADS } from "./wasm_threads.ts";
import { loadWebgpu } from "./webgpu.ts";

export { BackendError } from "./backend_error.ts";
export { MAX_WASM_THREADS } from "./wasm_threads.ts";

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
   * Which backend to use. `auto` picks tensorflow when `@tensorflow/tfjs-node(-gpu)` is
   * installed, otherwise wasm.
   * @default {"auto"}
   */
  backend?: BackendName;
  /**
   * Threads for the wasm backend, an integer from 0 to {@linkcode MAX_WASM_THREADS}; 0 means one
   * per logical core (`navigator.hardwareConcurrency`, at most 8). The first wasm initialisation
   * in a process fixes the count. Other backends ignore it: cpu and webgpu compute on one thread,
   * tensorflow manages its own threads.
   * @default {0}
   */
  threads?: number;
  /**
   * Do not print the one-line backend summary. Notices about a degraded choice (wasm falling back
   * to one thread, `auto` unable to load tensorflow) are printed anyway.
   * @default {false}
   */
  quiet?: boolean;
}

/** What {@linkcode initBackend} chose. */
export interface BackendInfo {
  /** The tfjs backend name in use (`wasm`, `cpu`, `tensorflow`, `webgpu`). */
  name: string;
  /** Threads the backend computes with: the wasm pool size, 1 for cpu and webgpu, and
   * `navigator.hardwareConcurrency` for tensorflow (TensorFlow's own default). */
  threads: number;
  /** What runs it: `threaded SIMD` or `SIMD` for wasm, the package for tensorflow, the adapter for
   * webgpu, `JavaScript` for cpu. */
  detail: string;
  /** Set when the wanted setup could not start and a slower one is used; says why. */
  fallback?: string;
}

const OPTION_KEYS = new Set(["backend", "threads", "quiet"]);

/** Lines already printed in this process. */
const printed = new Set<string>();

function announce(line: string): void {
  if (printed.has(line)) return;
  printed.add(line);
  console.error(line);
}

/** Logical cores, as Deno reports them. */
function logicalCores(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** Validate the options; returns the backend and the resolved wasm thread count. */
function parseOptions(options: InitBackendOptions): { backend: BackendName; threads: number } {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `Cannot initialise backend: expected an options object, got ${
        options === null ? "null" : typeof options
      }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(
        `Cannot initialise backend: unknown option '${key}', expected one of ${
          [...OPTION_KEYS].join(", ")
        }`,
      );
    }
  }
  const backend: unknown = options.backend ?? "auto";
  if (typeof backend !== "string") {
    throw new TypeError(
      `Cannot initialise backend: 'backend' must be a string, got ${typeof backend}`,
    );
  }
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new RangeError(
      `Cannot initialise backend '${backend}': expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  const threads: unknown = options.threads ?? 0;
  if (typeof threads !== "number") {
    throw new TypeError(
      `Cannot initialise backend: 'threads' must be a number, got ${typeof threads}`,
    );
  }
  if (!Number.isInteger(threads) || threads < 0 || threads > MAX_WASM_THREADS) {
    throw new RangeError(
      `Cannot initialise backend: 'threads' must be an integer from 0 to ${MAX_WASM_THREADS} (0 = one per core), got ${threads}`,
    );
  }
  if (options.quiet !== undefined && typeof options.quiet !== "boolean") {
    throw new TypeError(
      `Cannot initialise backend: 'quiet' must be a boolean, got ${typeof options.quiet}`,
    );
  }
  return {
    backend: backend as BackendName,
    threads: threads === 0 ? defaultWasmThreads() : threads,
  };
}

async function setBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) {
    throw new BackendError(`Cannot use backend '${name}': tfjs failed to initialise it`);
  }
  await tf.ready();
}

async function initWasmBackend(threads: number): Promise<BackendInfo> {
  const start = await initWasm(threads);
  registerWasmKernels();
  const info: BackendInfo = {
    name: "wasm",
    threads: start.threads,
    detail: start.threads > 1 ? "threaded SIMD" : "SIMD",
  };
  if (start.fallback !== undefined) {
    info.fallback = start.fallback;
    announce(`voxlab: cannot start wasm threads (${start.fallback}); using 1 thread`);
  }
  return info;
}

/**
 * Choose, initialise and announce the tfjs backend.
 *
 * Prints one line such as `voxlab: backend wasm (threaded SIMD), 2 threads` on stderr the first
 * time a choice is made in the process, unless `quiet`.
 *
 * @throws {TypeError} for options of the wrong kind or unknown options
 * @throws {RangeError} for an unknown backend or a thread count out of range
 * @throws {BackendError} when the backend cannot be used (one line that says why and what to do)
 *
 * @example Use the cpu reference backend
 * ```ts
 * import { initBackend } from "./init.ts";
 * const info = await initBackend({ backend: "cpu", quiet: true });
 * console.assert(info.name === "cpu");
 * ```
 *
 * @example Train on wasm with every core
 * ```ts ignore
 * import { initBackend } from "./init.ts";
 * await initBackend(); // voxlab: backend wasm (threaded SIMD), 2 threads
 * ```
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const { backend, threads } = parseOptions(options);
  let info: BackendInfo;
  switch (backend) {
    case "cpu":
      await setBackend("cpu");
      // Its first tensor would print a boxed "Hi, looks like you are running
      // TensorFlow.js in Node.js … install our node backend" on every run;
      // voxlab's own backend line already says which backend computes.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      info = { name: "cpu", threads: 1, detail: "JavaScript" };
      break;
    case "wasm":
      info = await initWasmBackend(threads);
      break;
    case "tensorflow": {
      const pkg = await loadTensorflow();
      await setBackend("tensorflow");
      info = { name: "tensorflow", threads: logicalCores(), detail: pkg.name };
      break;
    }
    case "webgpu": {
      const adapter = await loadWebgpu();
      await setBackend("webgpu");
      info = { name: "webgpu", threads: 1, detail: adapter };
      break;
    }
    case "auto": {
      if (findTensorflowPackage()) {
        try {
          return await initBackend({ ...options, backend: "tensorflow" });
        } catch (error) {
          if (!(error instanceof BackendError)) throw error;
          announce(`voxlab: ${errorText(error)}; using wasm`);
        }
      }
      info = await initWasmBackend(threads);
      break;
    }
  }
  if (!options.quiet) {
    const threadText = `${info.threads} thread${info.threads === 1 ? "" : "s"}`;
    announce(`voxlab: backend ${info.name} (${info.detail}), ${threadText}`);
  }
  return info;
}
