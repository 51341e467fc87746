/**
 * The safetensors format (Hugging Face), so that PyTorch, JAX or NumPy can
 * open voxlab's weights: a u64 little-endian header length `N`, `N` bytes of
 * JSON, then the raw little-endian tensor data.
 *
 * ```
 * u64 N | {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [..],
 *          "data_offsets": [begin, end]}, ...} padded with spaces to 8 bytes | data
 * ```
 *
 * Offsets are relative to the start of the data; the tensors cover the data
 * without holes or overlaps. The writer pads the header with spaces so the
 * data starts 8-byte aligned, and orders tensors by element size (largest
 * first, otherwise as given) so every tensor is aligned to its element size,
 * as the reference writer does. Files are written atomically (`<path>.tmp`,
 * synced, renamed).
 *
 * @module
 */

/** The dtypes voxlab reads and writes, by their safetensors names. */
export type SafetensorsDtype = "F64" | "F32" | "I64" | "I32" | "I16" | "I8" | "U8";

/** A typed array matching a {@linkcode SafetensorsDtype}. */
export type SafetensorsData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** One tensor: dtype, shape and row-major values. */
export interface SafetensorsTensor {
  /** Element type. */
  dtype: SafetensorsDtype;
  /** Shape; `[]` is a scalar. */
  shape: number[];
  /** Values in row-major order. */
  data: SafetensorsData;
}

/** The contents of a safetensors file. */
export interface SafetensorsContents {
  /** Tensors by name, in file order. */
  tensors: Record<string, SafetensorsTensor>;
  /** The free-form `__metadata__`: string keys and string values. */
  metadata: Record<string, string>;
}

/** A file or buffer that is not valid safetensors; the message is one line for the user. */
export class SafetensorsError extends Error {
  /** The error class name. */
  override name = "SafetensorsError";
}

const ARRAYS = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
} as const;

/** Largest header the reader accepts (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Encode tensors and metadata as safetensors bytes.
 *
 * @throws {SafetensorsError} when a tensor's values do not match its shape or dtype.
 * @example One tensor
 * ```ts
 * import { encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({
 *   tensors: { w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } },
 *   metadata: {},
 * });
 * console.assert((bytes.length - 8) % 8 === 0);
 * ```
 */
export function encodeSafetensors(contents: SafetensorsContents): Uint8Array {
  if (!littleEndian()) {
    throw new SafetensorsError("Cannot write safetensors: this machine is not little-endian");
  }
  const entries = Object.entries(contents.tensors).map(([name, t], index) => {
    const kind = ARRAYS[t.dtype];
    if (!kind) {
      throw new SafetensorsError(
        `Cannot write safetensors: tensor '${name}' has dtype '${t.dtype}'`,
      );
    }
    if (!(t.data instanceof kind)) {
      throw new SafetensorsError(
        `Cannot write safetensors: tensor '${name}' is ${t.dtype} but its data is a ${t.data.constructor.name}`,
      );
    }
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(t.shape) !== t.data.length) {
      throw new SafetensorsError(
        `Cannot write safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`,
      );
    }
    return { name, t, index, itemSize: kind.BYTES_PER_ELEMENT };
  });
  // Larger elements first (stable), so each tensor starts aligned to its element size.
  entries.sort((a, b) => b.itemSize - a.itemSize || a.index - b.index);
  const header: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(contents.metadata)) {
    if (typeof value !== "string") {
      throw new SafetensorsError(
        `Cannot write safetensors: metadata '${key}' is a ${typeof value}, not a string`,
      );
    }
  }
  if (Object.keys(contents.metadata).length > 0) header.__metadata__ = contents.metadata;
  let offset = 0;
  for (const { name, t } of entries) {
    if (name === "__metadata__") {
      throw new SafetensorsError("Cannot write safetensors: '__metadata__' is not a tensor name");
    }
    header[name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { t } of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Decode safetensors bytes. Every tensor's values are copied into an array
 * of its own. `source` names the file in error messages.
 *
 * @throws {SafetensorsError} when the bytes are not valid safetensors or use a dtype voxlab does not read.
 * @example Round trip
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";
 * const bytes = encodeSafetensors({
 *   tensors: { w: { dtype: "I32", shape: [1, 2], data: new Int32Array([3, 4]) } },
 *   metadata: { note: "hi" },
 * });
 * const back = decodeSafetensors(bytes);
 * console.assert(back.tensors.w!.data[1] === 4 && back.metadata.note === "hi");
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "safetensors data",
): SafetensorsContents {
  const fail = (why: string) => new SafetensorsError(`Cannot read '${source}': ${why}`);
  if (!littleEndian()) throw fail("this machine is not little-endian");
  if (bytes.length < 8) throw fail(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    throw fail(`header length ${n} exceeds the file's ${bytes.length - 8} bytes after it`);
  }
  const headerLength = Number(n);
  if (bytes[8] !== 0x7b) throw fail("the header does not start with '{' (not safetensors?)");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    ));
  } catch (e) {
    throw fail(`the header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw fail("the header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: {
    name: string;
    begin: number;
    end: number;
    dtype: SafetensorsDtype;
    shape: number[];
  }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        throw fail("__metadata__ is not an object");
      }
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") throw fail(`metadata '${key}' is not a string`);
        metadata[key] = value;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw fail(`tensor '${name}' has no entry object`);
    if (typeof e.dtype !== "string" || !(e.dtype in ARRAYS)) {
      throw fail(
        `tensor '${name}' has dtype ${JSON.stringify(e.dtype)}, expected one of ${
          Object.keys(ARRAYS).join(", ")
        }`,
      );
    }
    const shape = e.shape, offsets = e.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw fail(`tensor '${name}' has shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0)
    ) {
      throw fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}`);
    }
    const dtype = e.dtype as SafetensorsDtype;
    const [begin, end] = offsets as [number, number];
    const bytesNeeded = sizeOf(shape) * ARRAYS[dtype].BYTES_PER_ELEMENT;
    if (end < begin || end - begin !== bytesNeeded) {
      throw fail(
        `tensor '${name}' has data_offsets [${begin}, ${end}] for ${bytesNeeded} bytes (${dtype} [${shape}])`,
      );
    }
    if (end > dataLength) {
      throw fail(`tensor '${name}' ends at byte ${end} of ${dataLength} (the file is truncated)`);
    }
    spans.push({ name, begin, end, dtype, shape: shape as number[] });
  }
  // The tensors must cover the data exactly: no holes, no overlaps.
  let covered = 0;
  for (const s of [...spans].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (s.begin !== covered) {
      throw fail(`tensor '${s.name}' starts at byte ${s.begin}, expected ${covered}`);
    }
    covered = s.end;
  }
  if (covered !== dataLength) {
    throw fail(`the tensors cover ${covered} of the ${dataLength} data bytes`);
  }
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const { name, begin, end, dtype, shape } of spans) {
    // A copy in a buffer of its own: aligned, and independent of `bytes`.
    const raw = bytes.slice(dataStart + begin, dataStart + end).buffer;
    tensors[name] = { dtype, shape, data: new ARRAYS[dtype](raw) };
  }
  return { tensors, metadata };
}

/**
 * Write a safetensors file atomically: to `<path>.tmp`, synced, then renamed over `path`.
 *
 * @throws {SafetensorsError} when the contents cannot be encoded or the file cannot be written.
 * @example
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 * const path = (await Deno.makeTempDir()) + "/w.safetensors";
 * await writeSafetensors(path, {
 *   tensors: { b: { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) } },
 *   metadata: { format: "demo" },
 * });
 * console.assert((await readSafetensors(path)).tensors.b!.data[2] === 3);
 * ```
 */
export async function writeSafetensors(path: string, contents: SafetensorsContents): Promise<void> {
  const bytes = encodeSafetensors(contents);
  const tmp = `${path}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    throw new SafetensorsError(`Cannot write '${path}': ${(e as Error).message}`);
  }
}

/**
 * Read a safetensors file.
 *
 * @throws {SafetensorsError} when the file cannot be read or is not valid safetensors.
 */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new SafetensorsError(
      `Cannot read '${path}': ${
        e instanceof Deno.errors.NotFound ? "file not found" : (e as Error).message
      }`,
    );
  }
  return decodeSafetensors(bytes, path);
}
