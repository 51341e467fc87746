/**
 * `deno task setup tensorflow [--gpu] [--libtensorflow <wheel | tarball | dir>]`: install the
 * native tensorflow backend where voxlab's `auto` finds it, with a working binding, and smoke-test
 * it against cpu (see `lib/backend/tensorflow_setup.ts`).
 *
 * @module
 */
import { SetupError, setupTensorflow } from "../lib/backend/tensorflow_setup.ts";
import { BackendError } from "../lib/backend/mod.ts";
import { parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";

const USAGE =
  `Usage: deno task setup tensorflow [--gpu] [--libtensorflow <wheel | tarball | dir>] [--force]

Install @tensorflow/tfjs-node 4.22.0 (or -gpu) in Deno's npm store with a native
binding, then check a convolution and its gradients on it against cpu. Safe to
run twice; afterwards voxlab's default backend 'auto' uses it.

Without --libtensorflow it takes the package's own route: download libtensorflow
2.9.1 and the prebuilt binding from storage.googleapis.com. With it, the binding
is compiled (a C++ compiler is needed) against the TensorFlow C library given:
a TensorFlow wheel, e.g. from 'pip download --no-deps tensorflow-cpu==2.21.0',
a libtensorflow tarball, or an unpacked directory of either. Unpacked libraries
and built bindings are cached in ~/.cache/voxlab/tensorflow.

Options:
  --gpu                 install @tensorflow/tfjs-node-gpu (CUDA) instead
  --libtensorflow PATH  build the binding against this TensorFlow C library
  --force               rebuild and reinstall even when a working binding is installed
  --help                show this help`;

const OPTIONS = {
  gpu: { type: "boolean", default: false },
  libtensorflow: { type: "string" },
  force: { type: "boolean", default: false },
} as const;

/** Run the task with command-line arguments; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = { name: "setup", usage: USAGE, options: OPTIONS, prefix: "setup: " };
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  const [target, ...rest] = parsed.positionals;
  if (target !== "tensorflow" || rest.length > 0) {
    return usageError(
      cli,
      target === undefined
        ? "Cannot set up: name what to set up ('tensorflow')"
        : `Cannot set up '${[target, ...rest].join(" ")}': the only target is 'tensorflow'`,
    );
  }
  const { gpu, force, libtensorflow } = parsed.values;
  return await runKnown([SetupError, BackendError], async () => {
    await setupTensorflow({
      gpu,
      force,
      ...(libtensorflow === undefined ? {} : { libtensorflow: userPath(libtensorflow) }),
    });
    return 0;
  }, { prefix: "setup: " });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
