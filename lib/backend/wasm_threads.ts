/**
 * Multithreaded tfjs-backend-wasm under Deno, set up from outside the package.
 *
 * Out of the box tfjs-backend-wasm 4.22 computes on one thread under Deno. Five things get in the
 * way; each is worked around here without touching the installed package:
 *
 * 1. Its `WASM_HAS_MULTITHREAD_SUPPORT` flag is false whenever `process.versions.node` exists, so
 *    its own factory always picks the single-threaded binary. We register our own factory for
 *    backend `wasm` that builds the threaded module itself and wraps it in the package's exported
 *    `BackendWasm` (so every registered wasm kernel, and `getThreadsCount`, work as usual).
 * 2. Its factory hands `node:worker_threads` `blob:` URLs (the worker script, and the main script
 *    as a `Blob`), which Deno refuses. We write the emscripten glue and the worker script as real
 *    `.cjs` files and point `locateFile` and `mainScriptUrlOrBlob` at them.
 * 3. The `Blob` main script is the bundle's inlined glue, whose source uses names internal to the
 *    bundle. We use the package's standalone glue `wasm-out/tfjs-backend-wasm-threaded-simd.js`,
 *    which defines the `WasmBackendModuleThreadedSimd` name the worker calls.
 * 4. The worker script assigns the global `location`, which is getter-only in Deno: the assignment
 *    is removed (the glue only reads it in browsers).
 * 5. The C++ side caps the pool at half of the logical core count (`os.cpus()`), so a 2-core
 *    machine gets 1 thread. The glue's core count is made to report twice the requested threads,
 *    so the requested count is what the pool gets (tfjs caps it at {@linkcode MAX_WASM_THREADS}).
 *
 * Generated files are written once per content (see `write_once.ts`): rewriting them for each
 * start hung about 1 start in 40 on a truncated file.
 *
 * Pool workers never keep the process alive: the glue `ref()`s a worker while a pthread runs on it,
 * and pool threads run for the life of the process, so our worker class ignores `ref()` once the
 * worker has loaded. A worker error or exit while the module starts rejects the start instead of
 * throwing from an event handler, so the caller can fall back to one thread.
 *
 * The thread count is fixed when the wasm backend first initialises in a process: tfjs keeps one
 * wasm backend per process, and its pool cannot be resized. A different count needs a new process.
 *
 * @module
 */

import { createRequire } from "node:module";
import { Worker as NodeWorker } from "node:worker_threads";
import { tf, tfWasm } from "../deps.ts";
import { errorText } from "./backend_error.ts";
import { voxlabCacheDir, writeOnce } from "./write_once.ts";

/** The most threads tfjs-backend-wasm's pool accepts (its C++ `max_num_threads`). */
export const MAX_WASM_THREADS = 8;

/** How long the threaded module may take to start before we fall back to one thread. */
const START_TIMEOUT_MS = 60_000;

/** A CommonJS `require` for the package's and our generated files; made on first use, so that
 * importing voxlab never fails where `createRequire` cannot work (e.g. a remote import). */
let requireCache: NodeJS.Require | undefined;
function nodeRequire(): NodeJS.Require {
  return requireCache ??= createRequire(import.meta.url);
}

// Per-worker state lives outside the class: the base constructor may call methods before
// subclass fields exist.
const loaded = new WeakSet<NodeWorker>();
const errorHandlers = new WeakMap<NodeWorker, (error: unknown) => void>();

/** Paths of the files the threaded module is started from. */
interface ThreadedWasmFiles {
  /** Generated emscripten glue (`.cjs`); also the script every worker imports. */
  glue: string;
  /** Generated worker script (`.cjs`). */
  worker: string;
  /** The package's threaded SIMD binary. */
  wasm: string;
}

/** Replace the one occurrence of `find` in `text`, or fail naming what was expected. */
function replaceOnce(text: string, find: string, replacement: string, what: string): string {
  const at = text.indexOf(find);
  if (at < 0 || text.indexOf(find, at + 1) >= 0) {
    throw new Error(
      `Cannot adapt tfjs-backend-wasm ${tfWasm.version_wasm} ${what}: expected '${find}' once`,
    );
  }
  return text.slice(0, at) + replacement + text.slice(at + find.length);
}

/** The dir of the tfjs-backend-wasm package Deno resolved (no file access, no permission). */
export function resolveWasmPackageDir(): string {
  return nodeRequire().resolve("@tensorflow/tfjs-backend-wasm").replace(
    /[\\/]dist[\\/][^\\/]+$/,
    "",
  );
}

/**
 * The dir of the tfjs-backend-wasm package Deno resolved, checked against the version deps.ts
 * imports.
 */
export function wasmPackageDir(): string {
  const dir = resolveWasmPackageDir();
  const pkg = JSON.parse(Deno.readTextFileSync(`${dir}/package.json`)) as { version?: string };
  if (pkg.version !== tfWasm.version_wasm) {
    throw new Error(
      `Cannot find tfjs-backend-wasm ${tfWasm.version_wasm}: '${dir}' holds ${pkg.version}`,
    );
  }
  return dir;
}

/** Emscripten glue that runs under Deno's `node:worker_threads` (workarounds 2, 3 and 5). */
function adaptGlue(glue: string): string {
  // Keep the worker class local to the module (the glue would overwrite Deno's global `Worker`)
  // and let the caller supply it.
  glue = replaceOnce(
    glue,
    "var Module=typeof WasmBackendModuleThreadedSimd",
    "var Worker;var Module=typeof WasmBackendModuleThreadedSimd",
    "glue",
  );
  glue = replaceOnce(
    glue,
    "global.Worker=nodeWorkerThreads.Worker",
    'Worker=Module["voxlabWorkerClass"]||nodeWorkerThreads.Worker',
    "glue",
  );
  // The C++ pool size is min(requested, logical cores / 2): report the cores we are told to.
  glue = replaceOnce(
    glue,
    "function _emscripten_num_logical_cores(){",
    'function _emscripten_num_logical_cores(){if(Module["voxlabLogicalCores"])' +
      'return Module["voxlabLogicalCores"];',
    "glue",
  );
  // Start only the workers the pool needs instead of 8.
  glue = replaceOnce(
    glue,
    "pthreadPoolSize=8",
    'pthreadPoolSize=Module["voxlabPoolSize"]||8',
    "glue",
  );
  return glue;
}

/** Worker script without the `location` assignment Deno refuses (workaround 4). */
function adaptWorker(contents: string): string {
  // The package module holds the script as a template string whose `\n` escapes became newlines;
  // the package itself re-escapes them the same way before making its Blob.
  const script = contents.replace(/\n/g, "\\n");
  return replaceOnce(script, "location:{href:__filename},", "", "worker script");
}

let filesPromise: Promise<ThreadedWasmFiles> | undefined;

/** Write (once) and return the files the threaded module starts from. */
function threadedWasmFiles(): Promise<ThreadedWasmFiles> {
  filesPromise ??= (async () => {
    const pkg = wasmPackageDir();
    const glueSource = await Deno.readTextFile(
      `${pkg}/wasm-out/tfjs-backend-wasm-threaded-simd.js`,
    );
    const workerModule = nodeRequire()(
      `${pkg}/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`,
    ) as {
      wasmWorkerContents?: unknown;
    };
    if (typeof workerModule.wasmWorkerContents !== "string") {
      throw new Error(
        `Cannot adapt tfjs-backend-wasm ${tfWasm.version_wasm} worker script: ` +
          "wasmWorkerContents is missing",
      );
    }
    const glueText = adaptGlue(glueSource);
    const workerText = adaptWorker(workerModule.wasmWorkerContents);
    const dir = `${voxlabCacheDir()}/tfjs-backend-wasm-${tfWasm.version_wasm}`;
    try {
      const glue = await writeOnce(dir, "threaded-simd-glue", ".cjs", glueText);
      const worker = await writeOnce(dir, "threaded-simd-worker", ".cjs", workerText);
      return { glue, worker, wasm: `${pkg}/dist/tfjs-backend-wasm-threaded-simd.wasm` };
    } catch (error) {
      throw new Error(`cannot write the worker files: ${errorText(error)}`);
    }
  })();
  // A failed attempt (e.g. an unwritable cache dir) is not cached: the next process may succeed.
  filesPromise.catch(() => filesPromise = undefined);
  return filesPromise;
}

/** The emscripten module object, as far as voxlab touches it. */
interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): unknown;
  tfjs?: unknown;
  PThread?: { terminateAllThreads(): void };
}

type WasmFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/** The cwrapped entry points `BackendWasm` expects on `module.tfjs` (as the package's own init). */
function attachTfjsApi(module: EmscriptenModule): void {
  module.tfjs = {
    init: module.cwrap("init", null, []),
    initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: module.cwrap("get_threads_count", "number", []),
    registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: module.cwrap("dispose_data", null, ["number"]),
    dispose: module.cwrap("dispose", null, []),
  };
}

/**
 * Start the threaded wasm module with `threads` threads and wrap it in a `BackendWasm`.
 *
 * @throws {Error} when threads cannot start (no SharedArrayBuffer, unwritable cache dir, a
 *   worker failing or not starting within a minute); all started workers are terminated first
 */
export async function createThreadedWasmBackend(threads: number): Promise<tf.KernelBackend> {
  if (typeof SharedArrayBuffer !== "function") {
    throw new Error("SharedArrayBuffer is not available");
  }
  const files = await threadedWasmFiles();
  const factory = nodeRequire()(files.glue) as WasmFactory;

  let starting = true;
  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => fail = reject);
  const workers: NodeWorker[] = [];

  /** Pool worker: errors while starting reject the start; never keeps the process alive. */
  class PoolWorker extends NodeWorker {
    constructor(filename: string | URL, options?: ConstructorParameters<typeof NodeWorker>[1]) {
      super(filename, options);
      workers.push(this);
      this.once("exit", (code: number) => {
        if (starting) fail(new Error(`a wasm worker exited with code ${code} while starting`));
      });
    }
    /** Set by the glue; it throws, which would crash the process from an event handler. */
    get onerror(): (error: unknown) => void {
      return (error: unknown) => starting ? fail(error) : errorHandlers.get(this)?.(error);
    }
    set onerror(handler: (error: unknown) => void) {
      errorHandlers.set(this, handler);
    }
    override unref(): void {
      loaded.add(this); // the glue unrefs a worker once it has loaded the module
      super.unref();
    }
    override ref(): void {
      if (!loaded.has(this)) super.ref();
    }
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`wasm workers did not start within ${START_TIMEOUT_MS / 1000} s`)),
      START_TIMEOUT_MS,
    );
  });
  const config: Record<string, unknown> = {
    locateFile: (path: string, prefix: string) =>
      path.endsWith(".worker.js")
        ? files.worker
        : path.endsWith(".wasm")
        ? files.wasm
        : prefix + path,
    mainScriptUrlOrBlob: files.glue,
    voxlabWorkerClass: PoolWorker,
    voxlabLogicalCores: 2 * threads,
    voxlabPoolSize: threads,
    onAbort: (what: unknown) => fail(new Error(`the wasm module aborted: ${errorText(what)}`)),
  };
  try {
    const module = await Promise.race([factory(config), failed, timeout]);
    attachTfjsApi(module);
    tfWasm.setThreadsCount(threads);
    // The constructor creates the thread pool, which starts its threads on the workers.
    const backend = new tfWasm.BackendWasm(
      module as ConstructorParameters<typeof tfWasm.BackendWasm>[0],
    );
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    return backend;
  } catch (error) {
    // The glue keeps its state on the config object it was given.
    (config as Partial<EmscriptenModule>).PThread?.terminateAllThreads();
    for (const worker of workers) worker.terminate();
    throw error;
  } finally {
    starting = false;
    clearTimeout(timer);
    failed.catch(() => {});
    timeout.catch(() => {});
  }
}
