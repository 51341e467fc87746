/**
 * Checkpoints: named tensors plus JSON state in one file, written atomically.
 *
 * A checkpoint file is written to `<path>.tmp`, flushed to disk, then renamed
 * over `<path>`: a crash or a kill mid-write leaves the previous checkpoint
 * intact. The format is a small header and raw little-endian data:
 *
 * ```
 * "VXCK" u8 version=1 u8[3] 0  u32 header bytes  header JSON (UTF-8)  pad to 8
 * tensor data, float32 or int32, in header order
 * ```
 *
 * The header holds the `state` (epoch, iteration, RNG state, config hash, …)
 * and, per tensor, its name, dtype, shape and byte offset.
 *
 * @module
 */
import { tf } from "../deps.ts";

const MAGIC = [0x56, 0x58, 0x43, 0x4b]; // "VXCK"
const VERSION = 1;

/** A tensor as stored in a checkpoint: plain data, independent of any backend. */
export interface SavedTensor {
  /** Data type. */
  dtype: "float32" | "int32";
  /** Shape. */
  shape: number[];
  /** Values in row-major order. */
  data: Float32Array | Int32Array;
}

/** The contents of a checkpoint. */
export interface CheckpointContents<S = Record<string, unknown>> {
  /** JSON-serializable state (epoch, iteration, RNG state, config hash, …). */
  state: S;
  /** Named tensors, e.g. `G/down1/conv/kernel`, `optD/…`. */
  tensors: Record<string, SavedTensor>;
}

/** A checkpoint that cannot be read or written; the message is one line for the user. */
export class CheckpointError extends Error {
  /** The error class name. */
  override name = "CheckpointError";
}

/**
 * Copy a tensor's values out into a {@linkcode SavedTensor}.
 *
 * @example
 * ```ts
 * import { toSaved } from "./checkpoint.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const t = tf.tensor2d([[1, 2], [3, 4]]);
 * console.assert(toSaved(t).shape.join() === "2,2");
 * ```
 */
export function toSaved(t: tf.Tensor): SavedTensor {
  if (t.dtype !== "float32" && t.dtype !== "int32") {
    throw new TypeError(`Cannot save a tensor of dtype '${t.dtype}': expected float32 or int32`);
  }
  const data = t.dataSync() as Float32Array | Int32Array;
  return { dtype: t.dtype, shape: [...t.shape], data: data.slice() };
}

/** Make a tensor from a {@linkcode SavedTensor}. */
export function fromSaved(saved: SavedTensor): tf.Tensor {
  return tf.tensor(saved.data, saved.shape, saved.dtype);
}

/**
 * Write a checkpoint atomically: to `<path>.tmp`, synced, then renamed over `path`.
 *
 * @example Round trip
 * ```ts
 * import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
 * const path = (await Deno.makeTempDir()) + "/c.vxck";
 * await writeCheckpoint(path, {
 *   state: { iteration: 3 },
 *   tensors: { w: { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) } },
 * });
 * const back = await readCheckpoint(path);
 * console.assert(back.state.iteration === 3 && back.tensors.w!.data[1] === 2);
 * ```
 */
export async function writeCheckpoint(
  path: string,
  contents: CheckpointContents<object>,
): Promise<void> {
  const entries: { name: string; dtype: string; shape: number[]; offset: number; bytes: number }[] =
    [];
  let offset = 0;
  for (const [name, t] of Object.entries(contents.tensors)) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new CheckpointError(
        `Cannot write checkpoint '${path}': tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`,
      );
    }
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset, bytes: t.data.byteLength });
    offset += t.data.byteLength;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ state: contents.state, tensors: entries }),
  );
  const dataStart = Math.ceil((12 + header.length) / 8) * 8;
  const prefix = new Uint8Array(dataStart);
  prefix.set(MAGIC, 0);
  prefix[4] = VERSION;
  new DataView(prefix.buffer).setUint32(8, header.length, true);
  prefix.set(header, 12);

  const tmp = `${path}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    const writeAll = async (bytes: Uint8Array) => {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    };
    await writeAll(prefix);
    for (const t of Object.values(contents.tensors)) {
      await writeAll(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
}

/** Read a checkpoint written by {@linkcode writeCheckpoint}. */
export async function readCheckpoint<S = Record<string, unknown>>(
  path: string,
): Promise<CheckpointContents<S>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new CheckpointError(
      `Cannot read checkpoint '${path}': ${
        e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message
      }`,
    );
  }
  if (bytes.length < 12 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new CheckpointError(`Cannot read checkpoint '${path}': not a voxlab checkpoint`);
  }
  if (bytes[4] !== VERSION) {
    throw new CheckpointError(`Cannot read checkpoint '${path}': unsupported version ${bytes[4]}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  let header: {
    state: S;
    tensors: {
      name: string;
      dtype: "float32" | "int32";
      shape: number[];
      offset: number;
      bytes: number;
    }[];
  };
  const corrupt = () =>
    new CheckpointError(`Cannot read checkpoint '${path}': the header is corrupt`);
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
  } catch {
    throw corrupt();
  }
  if (typeof header !== "object" || header === null || !Array.isArray(header.tensors)) {
    throw corrupt();
  }
  const dataStart = Math.ceil((12 + headerLength) / 8) * 8;
  const tensors: Record<string, SavedTensor> = {};
  for (const e of header.tensors) {
    const start = dataStart + e.offset;
    if (start + e.bytes > bytes.length) {
      throw new CheckpointError(`Cannot read checkpoint '${path}': the file is truncated`);
    }
    // Copy into an aligned buffer of its own.
    const raw = bytes.slice(start, start + e.bytes).buffer;
    const data = e.dtype === "int32" ? new Int32Array(raw) : new Float32Array(raw);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { state: header.state, tensors };
}
