// Backend choice: wasm threads (in fresh processes, since the thread count is fixed per process),
// fallback to one thread, the optional tensorflow and webgpu backends' error paths, option
// validation, the once-per-process summary, and the write-once generated files.

import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { BackendError, initBackend } from "../mod.ts";
import { findTensorflowPackage } from "../lib/backend/tensorflow.ts";
import { writeOnce } from "../lib/backend/write_once.ts";

const repo = new URL("../", import.meta.url);
const modUrl = new URL("mod.ts", repo).href;
const config = new URL("deno.json", repo).pathname;

/** A child script: `run(mode)` prints one JSON line on stdout; modes below. */
const CHILD = `
import { BackendError, initBackend, Rng, tf } from ${JSON.stringify(modUrl)};

// conv2d on the active backend, from seeded inputs; stride 1 'same' and stride 2 'valid'.
function convs() {
  const rng = new Rng(11);
  const x = tf.tensor4d(rng.normalArray(2 * 17 * 17 * 24), [2, 17, 17, 24]);
  const w = tf.tensor4d(rng.normalArray(3 * 3 * 24 * 40, 0.1), [3, 3, 24, 40]);
  const a = tf.conv2d(x, w, 1, "same"), b = tf.conv2d(x, w, 2, "valid");
  const out = [a.dataSync().slice(), b.dataSync().slice()];
  tf.dispose([x, w, a, b]);
  return out;
}

function maxDiff(p, q) {
  let m = 0;
  for (let k = 0; k < p.length; k++) {
    for (let i = 0; i < p[k].length; i++) m = Math.max(m, Math.abs(p[k][i] - q[k][i]));
  }
  return m;
}

const [mode, arg] = Deno.args;
const result = {};
if (mode === "wasm") {
  result.info = await initBackend({ backend: "wasm", threads: Number(arg) });
  const wasm = convs();
  await initBackend({ backend: "cpu", quiet: true });
  result.maxDiff = maxDiff(wasm, convs());
  try {
    await initBackend({ backend: "wasm", threads: Number(arg) + 1 });
  } catch (error) {
    result.resize = (error instanceof BackendError) + " " + error.message;
  }
  result.again = await initBackend({ backend: "wasm", threads: Number(arg) });
  // Threads of wasm workers in this process (Deno names them worker-N), once all have started.
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (Deno.build.os === "linux") {
    result.workerThreads = [...Deno.readDirSync("/proc/self/task")]
      .filter((task) => Deno.readTextFileSync("/proc/self/task/" + task.name + "/comm").startsWith("worker-"))
      .length;
  }
} else if (mode === "direct") {
  // tfjs used directly, before initBackend: the default wasm factory still uses every core.
  await tf.setBackend("wasm");
  await tf.ready();
  result.info = await initBackend({ backend: "wasm", quiet: true });
} else if (mode === "auto") {
  result.info = await initBackend();
  await initBackend();
  result.backend = tf.getBackend();
} else if (mode === "permissions") {
  try {
    result.info = await initBackend({ backend: "wasm", threads: 2, quiet: true });
  } catch (error) {
    result.error = error.name + ": " + error.message;
  }
} else if (mode === "summary") {
  await initBackend({ backend: "cpu", quiet: true });
  for (let i = 0; i < 3; i++) await initBackend({ backend: "cpu" });
  await initBackend({ backend: "wasm", threads: 1 });
  await initBackend({ backend: "wasm", threads: 1 });
}
console.log(JSON.stringify(result));
`;

interface ChildRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function runDeno(args: string[], env: Record<string, string> = {}): Promise<ChildRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    // A hang (a worker keeping the process alive) fails the test instead of stalling it.
    signal: AbortSignal.timeout(45_000),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function runChild(
  args: string[],
  options: { env?: Record<string, string>; v8Flags?: string; permissions?: string[] } = {},
): Promise<ChildRun & { result: Record<string, unknown> }> {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-backend-" });
  try {
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(script, CHILD);
    const flags = options.v8Flags ? [`--v8-flags=${options.v8Flags}`] : [];
    const run = await runDeno(
      [
        "run",
        ...(options.permissions ?? ["-A"]),
        "--no-prompt",
        "--quiet",
        "--no-check",
        "--config",
        config,
        ...flags,
        script,
        ...args,
      ],
      options.env,
    );
    equal(run.code, 0, run.stderr);
    const last = run.stdout.trim().split("\n").at(-1) ?? "";
    return { ...run, result: JSON.parse(last) as Record<string, unknown> };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The lines of stderr that voxlab printed. */
function voxlabLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("voxlab: "));
}

/** Deno's own cache dir, so a child given another XDG_CACHE_HOME still finds its npm packages. */
async function denoDir(): Promise<string> {
  const run = await runDeno(["info", "--json"]);
  return (JSON.parse(run.stdout) as { denoDir: string }).denoDir;
}

Deno.test("wasm with 2 threads: runs 2 threads, matches cpu on conv2d, exits, cannot resize", async () => {
  const { result, stderr } = await runChild(["wasm", "2"]);
  deepEqual(result.info, { name: "wasm", threads: 2, detail: "threaded SIMD" });
  ok(
    typeof result.maxDiff === "number" && result.maxDiff < 1e-4,
    `max |wasm - cpu| ${result.maxDiff}`,
  );
  equal(
    result.resize,
    "true Cannot use 3 wasm thread(s): the wasm backend already started with 2 in this " +
      "process and cannot be resized; start a new process",
  );
  deepEqual(result.again, { name: "wasm", threads: 2, detail: "threaded SIMD" });
  // One worker per pool thread, and no second module started in the background.
  if (Deno.build.os === "linux") equal(result.workerThreads, 2);
  deepEqual(voxlabLines(stderr), ["voxlab: backend wasm (threaded SIMD), 2 threads"]);
});

Deno.test("tf.setBackend('wasm') after importing voxlab also uses every core", async () => {
  const { result } = await runChild(["direct"]);
  const cores = Math.min(navigator.hardwareConcurrency, 8);
  deepEqual(result.info, {
    name: "wasm",
    threads: cores,
    detail: cores > 1 ? "threaded SIMD" : "SIMD",
  });
});

Deno.test({
  name: "auto picks tensorflow when it is installed and says so once",
  ignore: findTensorflowPackage() === undefined &&
    Deno.env.get("VOXLAB_REQUIRE_TENSORFLOW") !== "1",
  fn: async () => {
    const { result, stderr } = await runChild(["auto"]);
    equal(result.backend, "tensorflow");
    deepEqual(result.info, {
      name: "tensorflow",
      threads: navigator.hardwareConcurrency,
      detail: findTensorflowPackage()?.name,
    });
    const n = navigator.hardwareConcurrency;
    deepEqual(voxlabLines(stderr), [
      `voxlab: backend tensorflow (${findTensorflowPackage()?.name}), ${n} thread${
        n === 1 ? "" : "s"
      }`,
    ]);
  },
});

Deno.test("wasm with 1 thread: the package's own SIMD module, matches cpu", async () => {
  const { result, stderr } = await runChild(["wasm", "1"]);
  deepEqual(result.info, { name: "wasm", threads: 1, detail: "SIMD" });
  ok(
    typeof result.maxDiff === "number" && result.maxDiff < 1e-4,
    `max |wasm - cpu| ${result.maxDiff}`,
  );
  match(String(result.resize), /^true Cannot use 2 wasm thread\(s\)/);
  if (Deno.build.os === "linux") equal(result.workerThreads, 0, "no worker threads");
  deepEqual(voxlabLines(stderr), ["voxlab: backend wasm (SIMD), 1 thread"]);
});

Deno.test("wasm threads fall back to 1 thread with a notice when the worker files cannot be written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-nocache-" });
  try {
    // A cache "dir" that is a file: the generated worker files cannot be written.
    const blocker = `${dir}/not-a-dir`;
    await Deno.writeTextFile(blocker, "");
    const { result, stderr } = await runChild(["wasm", "2"], {
      env: { XDG_CACHE_HOME: blocker, DENO_DIR: await denoDir() },
    });
    const info = result.info as Record<string, unknown>;
    equal(info.threads, 1);
    equal(info.detail, "SIMD");
    match(String(info.fallback), /^cannot write the worker files: .*not-a-dir\/voxlab\//);
    ok(typeof result.maxDiff === "number" && result.maxDiff < 1e-4);
    const lines = voxlabLines(stderr);
    equal(lines.length, 2, stderr);
    match(
      lines[0] ?? "",
      /^voxlab: cannot start wasm threads \(cannot write .*\); using 1 thread$/,
    );
    equal(lines[1], "voxlab: backend wasm (SIMD), 1 thread");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wasm threads fall back to 1 thread when SharedArrayBuffer is missing", async () => {
  // With this V8 flag, Deno's context has no SharedArrayBuffer constructor.
  const { result, stderr } = await runChild(["wasm", "2"], {
    v8Flags: "--enable-sharedarraybuffer-per-context",
  });
  const info = result.info as Record<string, unknown>;
  deepEqual(info, {
    name: "wasm",
    threads: 1,
    detail: "SIMD",
    fallback: "SharedArrayBuffer is not available",
  });
  deepEqual(voxlabLines(stderr), [
    "voxlab: cannot start wasm threads (SharedArrayBuffer is not available); using 1 thread",
    "voxlab: backend wasm (SIMD), 1 thread",
  ]);
});

Deno.test("missing permissions: threads fall back without prompting; no read access is an error", async () => {
  const readOnly = await runChild(["permissions"], { permissions: ["--allow-read"] });
  deepEqual(readOnly.result.info, {
    name: "wasm",
    threads: 1,
    detail: "SIMD",
    fallback: "finding the cache dir needs --allow-env=XDG_CACHE_HOME,HOME",
  });
  const none = await runChild(["permissions"], { permissions: [] });
  match(
    String(none.result.error),
    /^BackendError: Cannot use backend 'wasm': it needs read access to '.*tfjs-backend-wasm.*' \(run deno with --allow-read\)$/,
  );
});

Deno.test("the summary line is printed once per choice, never when quiet", async () => {
  const { stderr } = await runChild(["summary"]);
  deepEqual(voxlabLines(stderr), [
    "voxlab: backend cpu (JavaScript), 1 thread",
    "voxlab: backend wasm (SIMD), 1 thread",
  ]);
});

Deno.test("a deno test that starts wasm threads passes the sanitizers and exits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-sanitize-" });
  try {
    const file = `${dir}/threads_test.ts`;
    await Deno.writeTextFile(
      file,
      `import { initBackend, tf } from ${JSON.stringify(modUrl)};
Deno.test("threads", async () => {
  const info = await initBackend({ backend: "wasm", threads: 2, quiet: true });
  if (info.threads !== 2) throw new Error("expected 2 threads, got " + info.threads);
  tf.tidy(() => tf.conv2d(tf.ones([1, 9, 9, 8]), tf.ones([3, 3, 8, 8]), 1, "same").dataSync());
});
`,
    );
    const run = await runDeno(["test", "-A", "--no-check", "--config", config, file]);
    equal(run.code, 0, run.stdout + run.stderr);
    match(run.stdout, /ok \| 1 passed \| 0 failed/);
    ok(!/leak/i.test(run.stdout + run.stderr), run.stdout + run.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("invalid options give a one-line RangeError or TypeError", async () => {
  const cases: [unknown, ErrorConstructor, RegExp][] = [
    [
      { backend: "gpu" },
      RangeError,
      /^Cannot initialise backend 'gpu': expected one of auto, wasm, cpu, tensorflow, webgpu$/,
    ],
    [
      { backend: 3 },
      TypeError,
      /^Cannot initialise backend: 'backend' must be a string, got number$/,
    ],
    [
      { threads: -1 },
      RangeError,
      /^Cannot initialise backend: 'threads' must be an integer from 0 to 8 \(0 = one per core\), got -1$/,
    ],
    [{ threads: 1.5 }, RangeError, /got 1\.5$/],
    [{ threads: NaN }, RangeError, /got NaN$/],
    [{ threads: 9 }, RangeError, /from 0 to 8/],
    [
      { threads: "2" },
      TypeError,
      /^Cannot initialise backend: 'threads' must be a number, got string$/,
    ],
    [{ quiet: "yes" }, TypeError, /'quiet' must be a boolean/],
    [
      { thread: 2 },
      TypeError,
      /^Cannot initialise backend: unknown option 'thread', expected one of backend, threads, quiet$/,
    ],
    [null, TypeError, /expected an options object, got null/],
  ];
  for (const [options, kind, message] of cases) {
    await rejects(
      () => initBackend(options as Parameters<typeof initBackend>[0]),
      (error: Error) => {
        equal(error.constructor, kind, `${JSON.stringify(options)}: ${error.message}`);
        match(error.message, message);
        ok(!error.message.includes("\n"));
        return true;
      },
    );
  }
});

Deno.test({
  name: "tensorflow when not installed: a one-line BackendError saying how to install it",
  ignore: findTensorflowPackage() !== undefined,
  fn: async () => {
    await rejects(() => initBackend({ backend: "tensorflow", quiet: true }), (error: Error) => {
      ok(error instanceof BackendError);
      match(
        error.message,
        /^Cannot use backend 'tensorflow': neither @tensorflow\/tfjs-node-gpu nor @tensorflow\/tfjs-node 4\.22\.0 is installed; run 'deno task setup tensorflow' in voxlab \(--gpu for CUDA/,
      );
      ok(!error.message.includes("\n"));
      return true;
    });
  },
});

Deno.test("findTensorflowPackage: the install rule, on fake package layouts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-tfnode-" });
  const fakePackage = async (path: string, version: string, binding: boolean) => {
    await Deno.mkdir(`${path}/lib/napi-v8`, { recursive: true });
    await Deno.writeTextFile(`${path}/package.json`, JSON.stringify({ version }));
    if (binding) await Deno.writeTextFile(`${path}/lib/napi-v8/tfjs_binding.node`, "");
  };
  try {
    const store = `${dir}/npm/registry.npmjs.org/@tensorflow`;
    const wasmPackageDir = `${store}/tfjs-backend-wasm/4.22.0`;
    const project = `${dir}/project/sub`;
    await Deno.mkdir(project, { recursive: true });
    const find = () => findTensorflowPackage({ wasmPackageDir, cwd: project });

    equal(find(), undefined);
    // Downloaded without its install script (no native binding): not installed.
    await fakePackage(`${store}/tfjs-node/4.22.0`, "4.22.0", false);
    equal(find(), undefined);
    // Another version in node_modules of a parent dir: not ours.
    await fakePackage(`${dir}/project/node_modules/@tensorflow/tfjs-node`, "4.21.0", true);
    equal(find(), undefined);
    // Deno-managed node_modules in a parent dir, with the binding: found.
    const managed =
      `${dir}/project/node_modules/.deno/@tensorflow+tfjs-node@4.22.0/node_modules/@tensorflow/tfjs-node`;
    await fakePackage(managed, "4.22.0", true);
    deepEqual(find(), {
      name: "@tensorflow/tfjs-node",
      specifier: "npm:@tensorflow/tfjs-node@4.22.0",
      dir: managed,
    });
    // The gpu package in the npm store this process uses is preferred.
    await fakePackage(`${store}/tfjs-node-gpu/4.22.0`, "4.22.0", true);
    deepEqual(find(), {
      name: "@tensorflow/tfjs-node-gpu",
      specifier: "npm:@tensorflow/tfjs-node-gpu@4.22.0",
      dir: `${store}/tfjs-node-gpu/4.22.0`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Replace `navigator.gpu` for the duration of `fn`. */
async function withGpu(gpu: unknown, fn: () => Promise<void>): Promise<void> {
  Object.defineProperty(navigator, "gpu", { value: gpu, configurable: true });
  try {
    await fn();
  } finally {
    delete (navigator as unknown as Record<string, unknown>).gpu;
  }
}

Deno.test("webgpu without a usable adapter: a one-line BackendError", async () => {
  const expectError = (message: string) =>
    rejects(() => initBackend({ backend: "webgpu", quiet: true }), (error: Error) => {
      ok(error instanceof BackendError);
      equal(error.message, message);
      return true;
    });
  await withGpu(
    { requestAdapter: () => Promise.resolve(null) },
    () => expectError("Cannot use backend 'webgpu': no WebGPU adapter found"),
  );
  await withGpu(
    undefined,
    () => expectError("Cannot use backend 'webgpu': this Deno has no WebGPU (navigator.gpu)"),
  );
  const software = {
    info: { description: "llvmpipe (LLVM 15.0.6, 256 bits)", isFallbackAdapter: true },
  };
  await withGpu({ requestAdapter: () => Promise.resolve(software) }, () =>
    expectError(
      "Cannot use backend 'webgpu': only a software WebGPU adapter is available " +
        "(llvmpipe (LLVM 15.0.6, 256 bits)); use backend 'wasm'",
    ));
  ok(typeof navigator.gpu === "object", "navigator.gpu restored");
});

Deno.test("writeOnce: content-hashed name, written once, atomically replaced when corrupt", async () => {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-once-" });
  try {
    const a = await writeOnce(`${dir}/sub`, "glue", ".cjs", "module.exports = 1;\n");
    match(a, /\/sub\/glue-[0-9a-f]{16}\.cjs$/);
    const before = await Deno.stat(a);
    await new Promise((resolve) => setTimeout(resolve, 20));
    equal(await writeOnce(`${dir}/sub`, "glue", ".cjs", "module.exports = 1;\n"), a);
    equal((await Deno.stat(a)).mtime?.getTime(), before.mtime?.getTime(), "not rewritten");
    const b = await writeOnce(`${dir}/sub`, "glue", ".cjs", "module.exports = 2;\n");
    ok(a !== b);
    await Deno.writeTextFile(a, "module.exp"); // a truncated file from elsewhere
    equal(await writeOnce(`${dir}/sub`, "glue", ".cjs", "module.exports = 1;\n"), a);
    equal(await Deno.readTextFile(a), "module.exports = 1;\n");
    const names = [...Deno.readDirSync(`${dir}/sub`)].map((entry) => entry.name).sort();
    equal(names.length, 2, `no temporary files left: ${names}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
