/**
 * Installing the native `tensorflow` backend: `@tensorflow/tfjs-node` (or `-gpu`) 4.22.0 in Deno's
 * npm store, with a native binding that loads. Used by `deno task setup tensorflow`.
 *
 * Two routes give the binding:
 *
 * - **download** (no `libtensorflow` given): what the package's own install script does. It
 *   downloads libtensorflow 2.9.1 (`cpu` or `gpu`, Linux x86-64) from storage.googleapis.com into
 *   the package's `deps/`, then the prebuilt binding for Node-API 8; when that is not published it
 *   builds the binding against `deps/` instead. The package's script cannot run under Deno's
 *   global npm store (Deno runs no lifecycle scripts there), so it is re-done here, honouring its
 *   `TFJS_NODE_CDN_STORAGE` and `TFJS_NODE_BASE_URI` variables.
 * - **build** (`libtensorflow` given): compile the binding's two C++ files (in the package) against
 *   the TensorFlow C library named: a TensorFlow wheel (`pip download --no-deps
 *   tensorflow-cpu==2.21.0` gives one whose `libtensorflow_cc.so.2` exports the C API), a
 *   libtensorflow tarball, or an unpacked directory of either. The Node-API headers come from the
 *   npm package `node-api-headers`, so no Node installation is needed, only a C++ compiler.
 *
 * The unpacked library and the compiled binding are cached under voxlab's cache dir
 * (`tensorflow/`), keyed by the source, so a second run copies instead of compiling. The binding is
 * named `tfjs_binding.node` in the package's `lib/napi-v8/` (what its loader looks for under
 * Deno, whose Node-API version is at least 8), and finds the library by an absolute rpath.
 *
 * Every failure is a {@linkcode SetupError} whose message is one line saying what to do.
 *
 * @module
 */

import { OPTIONAL_SPECIFIERS, tf } from "../deps.ts";
import { errorText } from "./backend_error.ts";
import { initBackend } from "./init.ts";
import { isInstalledAt, npmStorePackageDir, TENSORFLOW_PACKAGES } from "./tensorflow.ts";
import { sha256Hex, voxlabCacheDir } from "./write_once.ts";

/** A setup step failed; the message is one line that says what to do. */
export class SetupError extends Error {
  /** The class name, shown before the message in a stack trace. */
  override name = "SetupError";
}

/** The Node-API version the binding is built for (the package's highest; Deno has at least it). */
const NAPI_VERSION = 8;
/** The libtensorflow the package's own install downloads. */
const DOWNLOAD_LIBTENSORFLOW_VERSION = "2.9.1";
/** The wheel the offline route was checked with (`pip download --no-deps …`). */
const OFFLINE_WHEEL = "tensorflow-cpu==2.21.0";

/** Options for {@linkcode setupTensorflow}. */
export interface SetupTensorflowOptions {
  /**
   * Install `@tensorflow/tfjs-node-gpu` (CUDA) instead of `@tensorflow/tfjs-node`.
   * @default {false}
   */
  gpu?: boolean;
  /**
   * A TensorFlow wheel, libtensorflow tarball or unpacked directory to build the binding against;
   * without it the package's download route is taken.
   */
  libtensorflow?: string;
  /**
   * Rebuild and reinstall the binding even when a working one is installed.
   * @default {false}
   */
  force?: boolean;
  /**
   * Where progress lines go.
   * @default {console.log}
   */
  log?: (line: string) => void;
}

/** What {@linkcode setupTensorflow} did. */
export interface SetupTensorflowResult {
  /** The package installed, e.g. `@tensorflow/tfjs-node`. */
  name: string;
  /** Its directory in Deno's npm store. */
  dir: string;
  /** How the binding was obtained. */
  route: "already installed" | "download" | "prebuilt download" | "build" | "build (cached)";
  /** The smoke test's largest difference from cpu, relative to the largest value. */
  smokeError: number;
}

/** Run a program; returns its exit code and output, or `undefined` when it is not installed. */
async function run(
  program: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  try {
    const out = await new Deno.Command(program, {
      args,
      stdout: "piped",
      stderr: "piped",
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.timeoutMs === undefined
        ? {}
        : { signal: AbortSignal.timeout(options.timeoutMs) }),
    }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Fetch the pinned package (and node-api-headers) into Deno's npm store, without running it. */
async function fetchPackage(specifier: string): Promise<void> {
  const out = await run(Deno.execPath(), ["cache", "--quiet", specifier], { timeoutMs: 600_000 });
  if (out === undefined || out.code !== 0) {
    throw new SetupError(
      `Cannot fetch ${specifier} from the npm registry: ${
        errorText(out?.stderr.trim() || "deno cache failed")
      }`,
    );
  }
}

/** The TensorFlow C library to build against: its two shared libraries and the headers. */
interface CLibrary {
  /** The library exporting the C API (`libtensorflow.so.2` or `libtensorflow_cc.so.2`). */
  lib: string;
  /** `libtensorflow_framework.so.2`, when separate. */
  framework?: string;
  /** The dir holding `tensorflow/c/c_api.h`. */
  include: string;
}

/** Find the C library in an unpacked wheel, tarball or TensorFlow install directory. */
function findCLibrary(root: string, source: string): CLibrary {
  for (const base of [root, `${root}/tensorflow`]) {
    for (const libDir of [base, `${base}/lib`]) {
      for (const name of ["libtensorflow.so.2", "libtensorflow_cc.so.2"]) {
        const lib = `${libDir}/${name}`;
        if (!exists(lib)) continue;
        const include = [`${base}/include`, `${root}/include`].find((dir) =>
          exists(`${dir}/tensorflow/c/c_api.h`) && exists(`${dir}/tensorflow/c/eager/c_api.h`)
        );
        if (include === undefined) {
          throw new SetupError(
            `Cannot build against '${source}': it has ${name} but no C API headers ` +
              "(include/tensorflow/c/c_api.h); give a TensorFlow wheel, a libtensorflow tarball or " +
              "a directory with both",
          );
        }
        const framework = `${libDir}/libtensorflow_framework.so.2`;
        return exists(framework) ? { lib, framework, include } : { lib, include };
      }
    }
  }
  throw new SetupError(
    `Cannot build against '${source}': no libtensorflow.so.2 or libtensorflow_cc.so.2 in it; ` +
      `give a TensorFlow wheel (pip download --no-deps ${OFFLINE_WHEEL}), a libtensorflow ` +
      "tarball or a directory with lib/ and include/",
  );
}

/** Members of a TensorFlow wheel the build needs. */
const WHEEL_MEMBERS = [
  "tensorflow/libtensorflow_cc.so.2",
  "tensorflow/libtensorflow_framework.so.2",
  "tensorflow/libtensorflow.so.2",
  "tensorflow/include/tensorflow/c/*",
  "tensorflow/include/tensorflow/core/platform/ctstring*",
  "tensorflow/include/tsl/*",
  "tensorflow/include/xla/tsl/*",
];

/** Unpack the parts of a wheel the build needs into `dest`. */
async function unpackWheel(wheel: string, dest: string): Promise<void> {
  const unzip = await run("unzip", ["-q", "-o", wheel, ...WHEEL_MEMBERS, "-d", dest]);
  // unzip exits 11 when a pattern matched nothing (a wheel has either libtensorflow_cc or not).
  if (unzip !== undefined && (unzip.code === 0 || unzip.code === 11)) return;
  const script = [
    "import fnmatch, sys, zipfile",
    "z = zipfile.ZipFile(sys.argv[1])",
    "pats = sys.argv[3:]",
    "z.extractall(sys.argv[2], [n for n in z.namelist() if any(fnmatch.fnmatch(n, p) for p in pats)])",
  ].join("\n");
  const py = await run("python3", ["-c", script, wheel, dest, ...WHEEL_MEMBERS]);
  if (py?.code === 0) return;
  throw new SetupError(
    `Cannot unpack the wheel '${wheel}': ${
      unzip === undefined && py === undefined
        ? "neither unzip nor python3 is installed (apt-get install unzip)"
        : errorText((unzip ?? py)!.stderr || "not a zip file")
    }`,
  );
}

/** Unpack a `.tar.gz` into `dest`. */
async function untar(tarball: string, dest: string, extra: string[] = []): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  const out = await run("tar", ["-xzf", tarball, "-C", dest, ...extra]);
  if (out === undefined) throw new SetupError("Cannot unpack a tarball: 'tar' is not installed");
  if (out.code !== 0) {
    throw new SetupError(`Cannot unpack '${tarball}': ${errorText(out.stderr || "tar failed")}`);
  }
}

/**
 * The C library named by `--libtensorflow`, unpacked into the cache when it is an archive, and a
 * cache dir for the binding built against it.
 */
async function prepareSource(
  source: string,
  cache: string,
  log: (line: string) => void,
): Promise<{ library: CLibrary; buildDir: string }> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(source);
  } catch (error) {
    throw new SetupError(`Cannot read --libtensorflow '${source}': ${errorText(error)}`);
  }
  const abs = await Deno.realPath(source);
  const key = (await sha256Hex(`${abs}\n${stat.size}\n${stat.mtime?.getTime()}`)).slice(0, 12);
  const buildDir = `${cache}/build-${key}`;
  if (stat.isDirectory) return { library: findCLibrary(abs, source), buildDir };
  const wheel = /\.whl$/i.test(source);
  if (!wheel && !/\.(tar\.gz|tgz)$/i.test(source)) {
    throw new SetupError(
      `Cannot use --libtensorflow '${source}': expected a wheel (.whl), a tarball (.tar.gz) ` +
        "or a directory",
    );
  }
  const unpacked = `${cache}/unpacked-${key}`;
  const done = `${unpacked}/.voxlab-unpacked`;
  if (!exists(done)) {
    await Deno.remove(unpacked, { recursive: true }).catch(() => {});
    await Deno.mkdir(unpacked, { recursive: true });
    if (wheel) {
      log(`  unpacking the C library and headers from ${source} (about 1 GB)`);
      await unpackWheel(abs, unpacked);
    } else {
      log(`  unpacking ${source}`);
      await untar(abs, unpacked);
    }
    await Deno.writeTextFile(done, `${abs}\n`);
  } else {
    log(`  using the unpacked copy in ${unpacked}`);
  }
  return { library: findCLibrary(unpacked, source), buildDir };
}

/** Names of the TensorFlow C API functions the binding's sources call. */
async function bindingSymbols(packageDir: string): Promise<Set<string>> {
  const names = new Set<string>();
  for (const file of ["tfjs_backend.cc", "tfjs_binding.cc"]) {
    const text = await Deno.readTextFile(`${packageDir}/binding/${file}`);
    for (const m of text.matchAll(/\b(TFE?_[A-Z][A-Za-z0-9]*)\s*\(/g)) names.add(m[1]!);
  }
  return names;
}

/** Check that the library exports every C API function the binding calls (when `nm` exists). */
async function checkCApi(library: CLibrary, packageDir: string, source: string): Promise<void> {
  const exported = new Set<string>();
  for (const lib of [library.lib, library.framework]) {
    if (lib === undefined) continue;
    const out = await run("nm", ["-D", "--defined-only", lib]);
    if (out === undefined || out.code !== 0) return; // no nm: the link or the load will tell
    for (const line of out.stdout.split("\n")) {
      const name = line.trim().split(/\s+/)[2]?.replace(/@.*$/, ""); // drop a version tag
      if (name !== undefined) exported.add(name);
    }
  }
  const missing = [...await bindingSymbols(packageDir)].filter((s) => !exported.has(s));
  if (missing.length > 0) {
    throw new SetupError(
      `Cannot build against '${source}': its library does not export the TensorFlow C API ` +
        `(${missing.length} functions missing, e.g. ${missing.slice(0, 3).join(", ")}); use ` +
        `a TensorFlow wheel from 2.16 on (pip download --no-deps ${OFFLINE_WHEEL}) or a libtensorflow tarball`,
    );
  }
}

/** A C++ compiler: `$CXX`, else the first of g++, c++, clang++ that runs. */
async function findCompiler(): Promise<string> {
  const wanted = Deno.env.get("CXX");
  for (const cxx of wanted ? [wanted] : ["g++", "c++", "clang++"]) {
    if ((await run(cxx, ["--version"]))?.code === 0) return cxx;
  }
  throw new SetupError(
    `Cannot build the tfjs-node binding: no C++ compiler (${
      wanted ? `CXX='${wanted}' does not run` : "none of g++, c++, clang++ found"
    }); install one (e.g. apt-get install g++) or set CXX`,
  );
}

/** The Node-API headers of the npm package `node-api-headers`. */
async function nodeApiInclude(): Promise<string> {
  await fetchPackage(OPTIONAL_SPECIFIERS.nodeApiHeaders);
  const mod = await import(OPTIONAL_SPECIFIERS.nodeApiHeaders) as {
    default?: { include_dir?: string };
  };
  const dir = mod.default?.include_dir;
  if (dir === undefined || !exists(`${dir}/node_api.h`)) {
    throw new SetupError(
      `Cannot build the tfjs-node binding: ${OPTIONAL_SPECIFIERS.nodeApiHeaders} has no node_api.h`,
    );
  }
  return dir;
}

/** Compile the binding against `library` into `out`. */
async function compileBinding(
  packageDir: string,
  library: CLibrary,
  out: string,
  log: (line: string) => void,
): Promise<void> {
  const cxx = await findCompiler();
  const napi = await nodeApiInclude();
  const libDir = library.lib.slice(0, library.lib.lastIndexOf("/"));
  const libName = library.lib.slice(libDir.length + 1);
  const args = [
    "-shared",
    "-fPIC",
    "-O2",
    "-std=c++17",
    `-DNAPI_VERSION=${NAPI_VERSION}`,
    "-I",
    packageDir,
    "-I",
    library.include,
    "-I",
    napi,
    `${packageDir}/binding/tfjs_backend.cc`,
    `${packageDir}/binding/tfjs_binding.cc`,
    `-L${libDir}`,
    `-l:${libName}`,
    ...(library.framework ? ["-l:libtensorflow_framework.so.2"] : []),
    `-Wl,-rpath,${libDir}`,
    "-o",
    `${out}.tmp`,
  ];
  log(`  compiling the binding with ${cxx} (about 20 s)`);
  const result = await run(cxx, args);
  if (result?.code !== 0) {
    const firstError = result?.stderr.split("\n").find((line) => /error/.test(line));
    throw new SetupError(
      `Cannot build the tfjs-node binding: ${cxx} failed: ${
        errorText(firstError ?? result?.stderr ?? "no output")
      }`,
    );
  }
  await Deno.rename(`${out}.tmp`, out);
}

/** Copy a built binding to where the package's loader looks for it. */
async function installBinding(binding: string, packageDir: string): Promise<string> {
  const dir = `${packageDir}/lib/napi-v${NAPI_VERSION}`;
  await Deno.mkdir(dir, { recursive: true });
  const target = `${dir}/tfjs_binding.node`;
  await Deno.copyFile(binding, `${target}.tmp`);
  await Deno.rename(`${target}.tmp`, target);
  return target;
}

/** Download `url` to `path` (skipped when `path` exists), showing progress. */
async function download(url: string, path: string, log: (line: string) => void): Promise<void> {
  if (exists(path)) return log(`  cached ${path}`);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new SetupError(`cannot reach ${new URL(url).host} (${errorText(error)})`);
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new SetupError(`${url} answered ${response.status}`);
  }
  const total = Number(response.headers.get("content-length") ?? 0);
  const file = await Deno.open(`${path}.part`, { write: true, create: true, truncate: true });
  let got = 0, shown = 0;
  try {
    for await (const chunk of response.body) {
      await file.write(chunk);
      got += chunk.length;
      if (got - shown > 50e6) {
        shown = got;
        log(`  ${(got / 1e6).toFixed(0)}${total ? ` / ${(total / 1e6).toFixed(0)}` : ""} MB`);
      }
    }
  } finally {
    file.close();
  }
  await Deno.rename(`${path}.part`, path);
}

/** The package's own route: download libtensorflow into `deps/`, then a prebuilt binding. */
async function downloadRoute(
  packageDir: string,
  gpu: boolean,
  cache: string,
  log: (line: string) => void,
): Promise<SetupTensorflowResult["route"]> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new SetupError(
      `Cannot set up tensorflow on ${Deno.build.os}-${Deno.build.arch}: this route covers Linux ` +
        "x86-64; elsewhere install with 'deno install --allow-scripts=npm:@tensorflow/tfjs-node " +
        "npm:@tensorflow/tfjs-node@4.22.0' in a project with nodeModulesDir",
    );
  }
  const host = Deno.env.get("TFJS_NODE_CDN_STORAGE") ?? "https://storage.googleapis.com/";
  const base = Deno.env.get("TFJS_NODE_BASE_URI") ??
    `${host}tensorflow/libtensorflow/libtensorflow-`;
  const type = gpu ? "gpu" : "cpu";
  const tarName = `libtensorflow-${type}-linux-x86_64-${DOWNLOAD_LIBTENSORFLOW_VERSION}.tar.gz`;
  const tarball = `${cache}/${tarName}`;
  log(`  downloading ${base}${type}-linux-x86_64-${DOWNLOAD_LIBTENSORFLOW_VERSION}.tar.gz`);
  try {
    await download(
      `${base}${type}-linux-x86_64-${DOWNLOAD_LIBTENSORFLOW_VERSION}.tar.gz`,
      tarball,
      log,
    );
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    throw new SetupError(
      `Cannot download libtensorflow: ${error.message}; ` +
        (gpu
          ? "build against a GPU build of TensorFlow's C library instead: deno task setup " +
            "tensorflow --gpu --libtensorflow <its wheel, tarball or dir>"
          : `build against a local TensorFlow instead: pip download --no-deps ${OFFLINE_WHEEL} ` +
            `-d ${cache} && deno task setup tensorflow --libtensorflow ${cache}/<the .whl>`),
    );
  }
  const deps = `${packageDir}/deps`;
  await untar(tarball, deps);
  const library = findCLibrary(deps, tarball);
  const addon = `${gpu ? "GPU" : "CPU"}-linux-${tf.version_core}.tar.gz`;
  const addonTar = `${cache}/tfjs-node-${addon}`;
  try {
    await download(
      `${host}tf-builds/pre-built-binary/napi-v${NAPI_VERSION}/${tf.version_core}/${addon}`,
      addonTar,
      log,
    );
    // node-pre-gyp's tarballs hold `napi-v8/tfjs_binding.node`; its rpath is ../../deps/lib.
    await untar(addonTar, `${packageDir}/lib/napi-v${NAPI_VERSION}`, ["--strip-components=1"]);
    return "prebuilt download";
  } catch (error) {
    if (!(error instanceof SetupError)) throw error;
    log(`  no prebuilt binding (${error.message}); building it`);
  }
  const out = `${cache}/tfjs_binding-${type}-${DOWNLOAD_LIBTENSORFLOW_VERSION}.node`;
  await compileBinding(packageDir, library, out, log);
  await installBinding(out, packageDir);
  return "download";
}

/**
 * The smoke test: a convolution with voxlab's padding and both its gradients on tensorflow,
 * against cpu. Returns the largest difference relative to the largest cpu value.
 */
export async function smokeTestTensorflow(): Promise<number> {
  const compute = () =>
    tf.tidy(() => {
      const x = tf.tensor4d(Array.from({ length: 2 * 9 * 9 * 3 }, (_, i) => Math.sin(i)), [
        2,
        9,
        9,
        3,
      ]);
      const w = tf.tensor4d(
        Array.from({ length: 4 * 4 * 3 * 5 }, (_, i) => Math.cos(i)),
        [4, 4, 3, 5],
      );
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1)));
      const [gx, gw] = tf.grads(f)([x, w]);
      return [tf.conv2d(x, w, 2, 1), gx!, gw!].map((t) => t.dataSync().slice());
    });
  const previous = tf.getBackend();
  await initBackend({ backend: "cpu", quiet: true });
  const expected = compute();
  try {
    await initBackend({ backend: "tensorflow", quiet: true });
  } catch (error) {
    throw new SetupError(`The installed backend does not load: ${errorText(error)}`);
  }
  const actual = compute();
  if (previous) await tf.setBackend(previous);
  let worst = 0;
  expected.forEach((e, k) => {
    let scale = 0, diff = 0;
    for (let i = 0; i < e.length; i++) {
      scale = Math.max(scale, Math.abs(e[i]!));
      diff = Math.max(diff, Math.abs(actual[k]![i]! - e[i]!));
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-12));
  });
  if (!(worst <= 1e-4)) {
    throw new SetupError(
      `The installed backend computes wrongly: a convolution and its gradients differ from cpu ` +
        `by ${worst.toExponential(2)} of their scale; rebuild with --force`,
    );
  }
  return worst;
}

/**
 * Install `@tensorflow/tfjs-node` (or `-gpu`) with a working binding where voxlab's `auto` finds
 * it, then smoke-test it against cpu. Safe to run twice: a working installation is kept unless
 * `force` or `libtensorflow` asks for a new binding.
 *
 * @throws {SetupError} with a one-line message saying what to do
 *
 * @example Set up the CPU backend from a downloaded wheel
 * ```ts ignore
 * import { setupTensorflow } from "./tensorflow_setup.ts";
 * await setupTensorflow({ libtensorflow: "tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl" });
 * ```
 */
export async function setupTensorflow(
  options: SetupTensorflowOptions = {},
): Promise<SetupTensorflowResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const pkg = TENSORFLOW_PACKAGES[options.gpu ? 0 : 1];
  log(`[1/4] fetching ${pkg.specifier} from the npm registry`);
  await fetchPackage(pkg.specifier);
  const dir = npmStorePackageDir(pkg.name);
  if (!exists(`${dir}/package.json`) || !exists(`${dir}/binding/tfjs_binding.cc`)) {
    throw new SetupError(
      `Cannot find ${pkg.name} in Deno's npm store at '${dir}' after fetching it`,
    );
  }
  const cache = `${voxlabCacheDir()}/tensorflow`;
  await Deno.mkdir(cache, { recursive: true });
  let route: SetupTensorflowResult["route"];
  const installed = isInstalledAt(dir);
  if (installed && options.libtensorflow === undefined && !options.force) {
    log(`[2/4] ${pkg.name} already has a binding in ${dir}/lib; keeping it (--force rebuilds)`);
    route = "already installed";
  } else if (options.libtensorflow !== undefined) {
    log(`[2/4] preparing the TensorFlow C library from ${options.libtensorflow}`);
    const { library, buildDir } = await prepareSource(options.libtensorflow, cache, log);
    await checkCApi(library, dir, options.libtensorflow);
    log(`[3/4] building the binding against ${library.lib}`);
    const out = `${buildDir}/tfjs_binding-${pkg.name.slice(12)}-${tf.version_core}.node`;
    if (exists(out) && !options.force) {
      log(`  using the binding built before: ${out}`);
      route = "build (cached)";
    } else {
      await Deno.mkdir(buildDir, { recursive: true });
      await compileBinding(dir, library, out, log);
      route = "build";
    }
    log(`  installed ${await installBinding(out, dir)}`);
  } else {
    log(`[2/4] downloading libtensorflow ${DOWNLOAD_LIBTENSORFLOW_VERSION} (the package's route)`);
    route = await downloadRoute(dir, options.gpu ?? false, cache, log);
  }
  log(`[4/4] smoke test: a convolution and its gradients on tensorflow against cpu`);
  const smokeError = await smokeTestTensorflow();
  log(
    `tensorflow is set up: ${pkg.name} in ${dir} (${route}); the conv and its gradients match ` +
      `cpu within ${smokeError.toExponential(1)} of their scale`,
  );
  return { name: pkg.name, dir, route, smokeError };
}
