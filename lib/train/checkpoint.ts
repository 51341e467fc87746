/**
 * Checkpoints: named tensors plus JSON state in one file, written atomically
 * and checked when read.
 *
 * A checkpoint is written to a unique temporary sibling, synced, renamed over
 * `<path>`, and the folder is synced ({@linkcode writeFileAtomic}): a crash or
 * a kill mid-write leaves the previous checkpoint intact, and a failed write
 * (a full disk) removes its partial file. The format (version 2) is a small
 * header and raw little-endian data:
 *
 * ```
 * "VXCK" u8 version=2 u8[3] 0  u32 header bytes  u32 CRC-32  header JSON (UTF-8)  pad to 8
 * tensor data, float32 or int32, in header order
 * ```
 *
 * The CRC-32 (IEEE, as zlib and PNG) covers every byte of the file except
 * its own four. The header holds the `state` (epoch, iteration, RNG state,
 * config hash, …) and, per tensor, its name, dtype, shape and byte offset.
 *
 * {@linkcode readCheckpoint} accepts a file only when its checksum matches,
 * every header entry is consistent (known dtype, whole non-negative shape,
 * byte count equal to the shape's, data inside the file) and every float
 * value is finite; each failure is one {@linkcode CheckpointError} line
 * naming the file and the problem. Version 1 files (written before the
 * checksum) still load, values checked the same way, with `verified: false`:
 * voxlab then prints a one-line notice and never calls such a checkpoint
 * "good"; the next checkpoint of the run is written as version 2.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import { tf } from "../deps.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { indexOfNonFinite } from "./non_finite.ts";

const MAGIC = [0x56, 0x58, 0x43, 0x4b]; // "VXCK"
/** The format version {@linkcode writeCheckpoint} writes. */
export const CHECKPOINT_VERSION = 2;
/** Bytes before the header JSON, by version. */
const PREFIX_BYTES: Record<number, number> = { 1: 12, 2: 16 };

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

/** One tensor's entry in the header. */
interface TensorEntry {
  name: string;
  dtype: "float32" | "int32";
  shape: number[];
  offset: number;
  bytes: number;
}

/** The CRC-32 of `chunks` in order. */
function crcOf(chunks: Iterable<Uint8Array>): number {
  let crc = 0;
  for (const c of chunks) crc = crc32(c, crc);
  return crc >>> 0;
}

function bytesOf(t: SavedTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/**
 * Write a checkpoint atomically: to a unique temporary file, synced, then
 * renamed over `path`, and the folder synced.
 *
 * @throws {CheckpointError} when a tensor's values do not fill its shape
 * @throws {IoError} when the file system refuses (a full disk, …); the
 *   temporary file is removed and the previous checkpoint kept
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
 * console.assert(back.state.iteration === 3 && back.tensors.w!.data[1] === 2 && back.verified);
 * ```
 */
export async function writeCheckpoint(
  path: string,
  contents: CheckpointContents<object>,
): Promise<void> {
  const entries: TensorEntry[] = [];
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
  const start = PREFIX_BYTES[CHECKPOINT_VERSION]!;
  const dataStart = Math.ceil((start + header.length) / 8) * 8;
  const prefix = new Uint8Array(dataStart);
  prefix.set(MAGIC, 0);
  prefix[4] = CHECKPOINT_VERSION;
  const view = new DataView(prefix.buffer);
  view.setUint32(8, header.length, true);
  prefix.set(header, start);
  const data = Object.values(contents.tensors).map(bytesOf);
  view.setUint32(12, crcOf([prefix.subarray(0, 12), prefix.subarray(16), ...data]), true);
  await writeFileAtomic(path, [prefix, ...data]);
}

/** What {@linkcode readCheckpoint} returns. */
export interface ReadCheckpointResult<S> extends CheckpointContents<S> {
  /** The file's format version. */
  version: number;
  /** Whether a checksum was checked (false for version 1 files, which have none). */
  verified: boolean;
}

/** Whether `v` is a whole number ≥ 0. */
function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Read a checkpoint written by {@linkcode writeCheckpoint} and check it: the
 * checksum, every header entry, and that every float value is finite.
 *
 * @throws {CheckpointError} one line naming the file and what is wrong
 */
export async function readCheckpoint<S = Record<string, unknown>>(
  path: string,
): Promise<ReadCheckpointResult<S>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new CheckpointError(
      `Cannot read checkpoint '${path}': ${
        e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message.split(":")[0]
      }`,
    );
  }
  const fail = (problem: string) =>
    new CheckpointError(`Cannot read checkpoint '${path}': ${problem}`);
  if (bytes.length < 12 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw fail("not a voxlab checkpoint");
  }
  const version = bytes[4]!;
  const start = PREFIX_BYTES[version];
  if (start === undefined || bytes.length < start) {
    throw fail(`unsupported version ${version}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (start + headerLength > bytes.length) throw fail("the file is truncated");
  let header: { state: S; tensors: TensorEntry[] } | null = null;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + headerLength)));
  } catch { /* reported below, after the checksum */ }
  const wellFormed = typeof header === "object" && header !== null &&
    Array.isArray(header.tensors) && typeof header.state === "object" && header.state !== null &&
    !Array.isArray(header.state);
  const dataStart = Math.ceil((start + headerLength) / 8) * 8;
  // A file cut short (a full disk, a copy interrupted) says so rather than failing its checksum.
  if (wellFormed) {
    const end = header!.tensors.reduce(
      (m, e) => isCount(e?.offset) && isCount(e?.bytes) ? Math.max(m, e.offset + e.bytes) : m,
      0,
    );
    if (dataStart + end > bytes.length) throw fail("the file is truncated");
  }
  if (version >= 2) {
    const stored = view.getUint32(12, true);
    const actual = crcOf([bytes.subarray(0, 12), bytes.subarray(16)]);
    if (stored !== actual) {
      throw fail(
        `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)}): the file is damaged`,
      );
    }
  }
  if (!wellFormed) throw fail("the header is corrupt");
  const { state, tensors: entries } = header!;
  const tensors: Record<string, SavedTensor> = {};
  for (const [i, e] of entries.entries()) {
    const name = typeof e?.name === "string" ? `'${e.name}'` : `#${i}`;
    const bad = (problem: string) => fail(`tensor ${name} ${problem}`);
    if (typeof e?.name !== "string" || e.name in tensors) {
      throw bad("has a missing or repeated name");
    }
    if (e.dtype !== "float32" && e.dtype !== "int32") {
      throw bad(`has unknown dtype ${JSON.stringify(e.dtype)}`);
    }
    if (!Array.isArray(e.shape) || !e.shape.every(isCount)) {
      throw bad(`has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    if (!isCount(e.offset) || !isCount(e.bytes) || e.offset % 4 !== 0) {
      throw bad(`has an invalid offset ${e.offset} or size ${e.bytes}`);
    }
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.bytes !== size * 4) {
      throw bad(`has ${e.bytes} bytes for shape [${e.shape}] (expected ${size * 4})`);
    }
    const from = dataStart + e.offset;
    if (from + e.bytes > bytes.length) throw fail("the file is truncated");
    // Copy into an aligned buffer of its own.
    const raw = bytes.slice(from, from + e.bytes).buffer;
    const data = e.dtype === "int32" ? new Int32Array(raw) : new Float32Array(raw);
    if (data instanceof Float32Array) {
      const j = indexOfNonFinite(data);
      if (j >= 0) throw bad(`has a non-finite value (${data[j]} at index ${j})`);
    }
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { state, tensors, version, verified: version >= 2 };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/**
 * Check that the tensors under `prefix/` are exactly the `expected` names,
 * each with the expected shape.
 *
 * @throws {CheckpointError} naming the file, the first tensor that is
 *   missing, unexpected or of another shape, and both shapes
 *
 * @example
 * ```ts
 * import { checkTensorShapes } from "./checkpoint.ts";
 * const tensors = { "G/w": { dtype: "float32" as const, shape: [2, 3], data: new Float32Array(6) } };
 * checkTensorShapes("c.vxck", tensors, "G", { w: [2, 3] });
 * ```
 */
export function checkTensorShapes(
  path: string,
  tensors: Record<string, SavedTensor>,
  prefix: string,
  expected: Record<string, readonly number[]>,
): void {
  const fail = (problem: string) =>
    new CheckpointError(`Cannot load checkpoint '${path}': ${problem}`);
  for (const [name, shape] of Object.entries(expected)) {
    const t = tensors[`${prefix}/${name}`];
    if (!t) throw fail(`tensor '${prefix}/${name}' is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw fail(`tensor '${prefix}/${name}' has shape [${t.shape}], expected [${shape}]`);
    }
  }
  for (const name of Object.keys(tensors)) {
    if (name.startsWith(`${prefix}/`) && !(name.slice(prefix.length + 1) in expected)) {
      throw fail(`tensor '${name}' is not part of this model`);
    }
  }
}

/**
 * The float32 data of every tensor named `<prefix>/<name>`, keyed by `<name>`:
 * one network's weights (`G`, `D`) or one optimizer's slots (`optG`, `optD`).
 *
 * @example
 * ```ts
 * import { tensorsUnder } from "./checkpoint.ts";
 * const t = (n: number) => ({ dtype: "float32" as const, shape: [1], data: new Float32Array([n]) });
 * const weights = tensorsUnder({ "G/w": t(1), "GD/w": t(2), "D/w": t(3) }, "G");
 * console.assert(Object.keys(weights).join() === "w" && weights.w![0] === 1);
 * ```
 */
export function tensorsUnder(
  tensors: Record<string, SavedTensor>,
  prefix: string,
): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name.startsWith(`${prefix}/`)) out[name.slice(prefix.length + 1)] = t.data as Float32Array;
  }
  return out;
}
