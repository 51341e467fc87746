/**
 * The optional native `tensorflow` backend (`@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`).
 *
 * Its install downloads libtensorflow from outside the npm registry (`deno task setup tensorflow`
 * does it, or builds the binding offline; see `tensorflow_setup.ts`), so it is never a required
 * import: it is imported only when asked for, or when `auto` finds it installed. Under Deno 2 it
 * is imported with the `node:util` functions it needs supplied to its files only, and voxlab's
 * kernels replace the ones it gets wrong (`tensorflow_kernels.ts`).
 *
 * "Installed" is decided from the file system only, so that looking never downloads or installs
 * anything. A package counts as installed when a directory `@tensorflow/<name>` holding
 * `package.json` with version 4.22.0 and its native binding `lib/napi-v<N>/tfjs_binding.node`
 * (written by the package's install script or by `deno task setup tensorflow`, without which it
 * cannot load) exists in one of:
 *
 * 1. the npm store this process already uses, i.e. next to the tfjs-backend-wasm package Deno
 *    resolved (Deno's global npm cache, or `node_modules/.deno/` with `"nodeModulesDir": "auto"`,
 *    or `node_modules/` with `"nodeModulesDir": "manual"`);
 * 2. `node_modules/@tensorflow/<name>` or `node_modules/.deno/@tensorflow+<name>@4.22.0/…` in the
 *    current directory or one of its parents.
 *
 * `@tensorflow/tfjs-node-gpu` is preferred over `@tensorflow/tfjs-node`.
 *
 * @module
 */

import Module from "node:module";
import util from "node:util";
import { OPTIONAL_SPECIFIERS, tf } from "../deps.ts";
import { BackendError, errorText } from "./backend_error.ts";
import { registerTensorflowKernels } from "./tensorflow_kernels.ts";
import { wasmPackageDir } from "./wasm_threads.ts";

/** The tfjs version every voxlab package is pinned to. */
const TFJS_VERSION = tf.version_core;

/** The tensorflow packages, in order of preference, with their pinned specifiers. */
export const TENSORFLOW_PACKAGES = [
  { name: "@tensorflow/tfjs-node-gpu", specifier: OPTIONAL_SPECIFIERS.tfjsNodeGpu },
  { name: "@tensorflow/tfjs-node", specifier: OPTIONAL_SPECIFIERS.tfjsNode },
] as const;

/** How to install the backend, for error messages. */
export const TENSORFLOW_INSTALL_HINT =
  "run 'deno task setup tensorflow' in voxlab (--gpu for CUDA; --libtensorflow <wheel> without " +
  "internet access to storage.googleapis.com)";

/** A tensorflow package found on disk. */
export interface TensorflowPackage {
  /** npm name, e.g. `@tensorflow/tfjs-node`. */
  name: string;
  /** Pinned `npm:` specifier voxlab imports it by. */
  specifier: string;
  /** Where it was found. */
  dir: string;
}

/** Options for {@linkcode findTensorflowPackage}. */
export interface FindTensorflowOptions {
  /**
   * Package dir of tfjs-backend-wasm; the npm store it sits in is searched (rule 1).
   * @default {the dir Deno resolves `@tensorflow/tfjs-backend-wasm` to}
   */
  wasmPackageDir?: string;
  /**
   * Directory whose `node_modules`, and its parents', are searched (rule 2).
   * @default {Deno.cwd()}
   */
  cwd?: string;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false; // missing, or no read permission: not installed as far as we can tell
  }
}

/** Whether `dir` holds the pinned package with a native binding (see the module doc). */
export function isInstalledAt(dir: string): boolean {
  try {
    const pkg = JSON.parse(Deno.readTextFileSync(`${dir}/package.json`)) as { version?: string };
    if (pkg.version !== TFJS_VERSION) return false;
    for (const entry of Deno.readDirSync(`${dir}/lib`)) {
      if (/^napi-v\d+$/.test(entry.name) && isFile(`${dir}/lib/${entry.name}/tfjs_binding.node`)) {
        return true;
      }
    }
  } catch {
    // no package.json or no lib/: not installed
  }
  return false;
}

function defaultWasmPackageDir(): string | undefined {
  try {
    return wasmPackageDir();
  } catch {
    return undefined;
  }
}

/**
 * Where Deno's npm store keeps `name` (a tensorflow package) for this process: rule 1 of the
 * module doc. `deno task setup tensorflow` installs the binding there.
 *
 * @throws {Error} when the tfjs-backend-wasm package cannot be found
 */
export function npmStorePackageDir(name: string): string {
  return wasmPackageDir().replaceAll("tfjs-backend-wasm", name.slice("@tensorflow/".length));
}

/** Candidate dirs for one package, per the rules in the module doc. */
function candidateDirs(name: string, options: FindTensorflowOptions): string[] {
  const dirs: string[] = [];
  const wasmDir = options.wasmPackageDir ?? defaultWasmPackageDir();
  const bare = name.slice("@tensorflow/".length);
  // The three npm store layouts all name the package the same way in the path, so the sibling
  // package is the wasm package's path with the name swapped.
  if (wasmDir) dirs.push(wasmDir.replaceAll("tfjs-backend-wasm", bare));
  let dir = options.cwd ?? Deno.cwd();
  for (;;) {
    dirs.push(`${dir}/node_modules/${name}`);
    dirs.push(
      `${dir}/node_modules/.deno/@tensorflow+${bare}@${TFJS_VERSION}/node_modules/${name}`,
    );
    const parent = dir.replace(/[\\/][^\\/]*$/, "");
    if (parent === dir || parent === "") break;
    dir = parent;
  }
  return dirs;
}

/**
 * The installed tensorflow package voxlab would use, or `undefined` (see the module doc for the
 * rule). Looks at the file system only; never downloads.
 *
 * @example Is the native backend available?
 * ```ts
 * import { findTensorflowPackage } from "./tensorflow.ts";
 * const found = findTensorflowPackage();
 * console.log(found ? `tensorflow: ${found.name}` : "tensorflow: not installed");
 * ```
 */
export function findTensorflowPackage(
  options: FindTensorflowOptions = {},
): TensorflowPackage | undefined {
  for (const pkg of TENSORFLOW_PACKAGES) {
    for (const dir of candidateDirs(pkg.name, options)) {
      if (isInstalledAt(dir)) return { name: pkg.name, specifier: pkg.specifier, dir };
    }
  }
  return undefined;
}

/** `node:util` functions tfjs-node 4.22 calls that Deno 2 (like Node >= 23) no longer has. */
const REMOVED_UTIL_FUNCTIONS = {
  isNullOrUndefined: (value: unknown): boolean => value === null || value === undefined,
  isArray: Array.isArray,
};

/** A file of tfjs-node or tfjs-node-gpu. */
const TFJS_NODE_FILE = /[\\/]@tensorflow[\\/]tfjs-node(-gpu)?[\\/]/;

/** Node's CommonJS loader hook, as Deno's `node:module` exposes it. */
type LoadFunction = (
  request: string,
  parent: { filename?: string } | null,
  isMain: boolean,
) => unknown;

/**
 * Import `specifier` with the `node:util` functions of {@linkcode REMOVED_UTIL_FUNCTIONS} supplied
 * to tfjs-node's own files only: while it loads, a `require("util")` from a tfjs-node file gets a
 * copy of `node:util` with them added, and everyone else the real `node:util`. tfjs-node binds
 * `util` once per file at load time, so the hook is removed afterwards.
 */
async function importWithUtilShim(specifier: string): Promise<void> {
  const loader = Module as unknown as { _load?: LoadFunction };
  const load = loader._load;
  if (typeof load !== "function") {
    throw new Error("node:module has no _load hook to supply node:util to tfjs-node");
  }
  const patched = { ...util, ...REMOVED_UTIL_FUNCTIONS };
  loader._load = function (request, parent, isMain) {
    if (
      (request === "util" || request === "node:util") && TFJS_NODE_FILE.test(parent?.filename ?? "")
    ) {
      return patched;
    }
    return load.call(this, request, parent, isMain);
  };
  try {
    await import(specifier);
  } finally {
    loader._load = load;
  }
}

/**
 * Import the installed tensorflow package (which registers backend `tensorflow`) under Deno 2,
 * then replace the kernels it gets wrong (`tensorflow_kernels.ts`).
 *
 * @returns the package used
 * @throws {BackendError} when none is installed or it fails to load
 */
export async function loadTensorflow(): Promise<TensorflowPackage> {
  const found = findTensorflowPackage();
  if (!found) {
    throw new BackendError(
      `Cannot use backend 'tensorflow': neither @tensorflow/tfjs-node-gpu nor ` +
        `@tensorflow/tfjs-node ${TFJS_VERSION} is installed; ${TENSORFLOW_INSTALL_HINT}`,
    );
  }
  try {
    await importWithUtilShim(found.specifier);
    registerTensorflowKernels();
  } catch (error) {
    throw new BackendError(
      `Cannot use backend 'tensorflow': ${found.name} found at '${found.dir}' failed to load: ` +
        errorText(error),
    );
  }
  return found;
}
