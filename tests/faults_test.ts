/**
 * Fault injection: each failure of the reliability review (issue 12),
 * reproduced at tiny size, and the behaviour voxlab promises instead.
 *
 * @module
 */
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { initBackend } from "../mod.ts";
import { readCheckpoint, writeCheckpoint } from "../lib/train/checkpoint.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { readManifest } from "../lib/data/source.ts";
import { DataError } from "../lib/data/errors.ts";
import { applyOverrides } from "../lib/experiment/overrides.ts";
import { main as dataMain } from "../tasks/data.ts";
import ablation from "../experiments/9ada9179.ts";
import { captured } from "./capture.ts";
import { writeTinyCorpus } from "./tiny_corpus.ts";

await initBackend({ backend: "cpu", quiet: true });

const manifest = await writeTinyCorpus(6);
const corpusDir = manifest.slice(0, manifest.lastIndexOf("/"));

/** A bitwise CRC-32 (IEEE), independent of zlib's table-driven one. */
function crc32Bitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A small checkpoint's contents: two float tensors and an int tensor. */
function smallContents() {
  return {
    state: { iteration: 4, epoch: 1, elapsed: 2.5 },
    tensors: {
      "G/w": {
        dtype: "float32" as const,
        shape: [2, 3],
        data: new Float32Array([1, 2, 3, 4, 5, 6]),
      },
      "G/b": { dtype: "float32" as const, shape: [3], data: new Float32Array([0.5, -1, 2]) },
      "n": { dtype: "int32" as const, shape: [2], data: new Int32Array([7, -8]) },
    },
  };
}

/**
 * A version-1 checkpoint (no checksum) built byte by byte the way voxlab
 * wrote them before the checksum: "VXCK" 1 0 0 0, u32 header bytes, header
 * JSON, pad to 8, data.
 */
function versionOneBytes(
  state: object,
  tensors: Record<string, { dtype: string; shape: number[]; data: Float32Array | Int32Array }>,
  edit: (entries: { offset: number }[]) => void = () => {},
): Uint8Array {
  const entries: { name: string; dtype: string; shape: number[]; offset: number; bytes: number }[] =
    [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset, bytes: t.data.byteLength });
    offset += t.data.byteLength;
  }
  edit(entries);
  const header = new TextEncoder().encode(JSON.stringify({ state, tensors: entries }));
  const dataStart = Math.ceil((12 + header.length) / 8) * 8;
  const out = new Uint8Array(dataStart + offset);
  out.set([0x56, 0x58, 0x43, 0x4b, 1, 0, 0, 0]);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(header, 12);
  let at = dataStart;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** A version-2 file with its header JSON edited, the stored checksum left as it was. */
function editHeader(
  bytes: Uint8Array,
  edit: (header: { tensors: { offset: number }[] }) => void,
): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const length = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length)));
  edit(header);
  const data = bytes.subarray(Math.ceil((16 + length) / 8) * 8);
  const text = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((16 + text.length) / 8) * 8;
  const out = new Uint8Array(start + data.length);
  out.set(bytes.subarray(0, 16));
  new DataView(out.buffer).setUint32(8, text.length, true);
  out.set(text, 16);
  out.set(data, start);
  return out;
}

async function withTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-faults-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// --- 4. Damaged checkpoints -------------------------------------------------------------------

Deno.test("faults/checkpoint: the checksum is the CRC-32 of every byte but its own", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/c.vxck`;
    await writeCheckpoint(path, smallContents());
    const bytes = await Deno.readFile(path);
    equal(bytes[4], 2);
    const stored = new DataView(bytes.buffer).getUint32(12, true);
    const rest = new Uint8Array(bytes.length - 4);
    rest.set(bytes.subarray(0, 12));
    rest.set(bytes.subarray(16), 12);
    equal(stored, crc32Bitwise(rest));
    equal(crc32Bitwise(new TextEncoder().encode("123456789")), 0xcbf43926); // the standard check value
    const back = await readCheckpoint(path);
    ok(back.verified);
    deepEqual([...back.tensors["G/b"]!.data], [0.5, -1, 2]);
    deepEqual([...back.tensors.n!.data], [7, -8]);
  });
});

Deno.test("faults/checkpoint: 64 bytes flipped mid-file are refused in one line", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/c.vxck`;
    const big = smallContents();
    big.tensors["G/w"] = {
      dtype: "float32",
      shape: [64, 8],
      data: new Float32Array(512).map((_, i) => Math.sin(i)),
    };
    await writeCheckpoint(path, big);
    const bytes = await Deno.readFile(path);
    const mid = Math.floor(bytes.length / 2);
    for (let i = mid; i < mid + 64; i++) bytes[i] = bytes[i]! ^ 0x5a;
    await Deno.writeFile(path, bytes);
    await rejects(
      readCheckpoint(path),
      (e: Error) => {
        equal(e.name, "CheckpointError");
        match(
          e.message,
          /^Cannot read checkpoint '.*c\.vxck': checksum mismatch \(stored [0-9a-f]{8}, computed [0-9a-f]{8}\): the file is damaged$/,
        );
        return true;
      },
    );
  });
});

Deno.test("faults/checkpoint: a tensor offset of -100 is refused (checksummed and old files)", async () => {
  await withTempDir(async (dir) => {
    // Version 2: the edited header no longer matches the checksum.
    const path = `${dir}/c.vxck`;
    await writeCheckpoint(path, smallContents());
    await Deno.writeFile(
      path,
      editHeader(await Deno.readFile(path), (h) => void (h.tensors[0]!.offset = -100)),
    );
    await rejects(readCheckpoint(path), /checksum mismatch/);
    // Version 1 (no checksum): the entry itself is checked.
    const old = `${dir}/old.vxck`;
    const c = smallContents();
    await Deno.writeFile(
      old,
      versionOneBytes(c.state, c.tensors, (entries) => void (entries[0]!.offset = -100)),
    );
    await rejects(
      readCheckpoint(old),
      /^CheckpointError: Cannot read checkpoint '.*old\.vxck': tensor 'G\/w' has an invalid offset -100 or size 24$/,
    );
  });
});

Deno.test("faults/checkpoint: NaN weights are refused on load, naming the tensor", async () => {
  await withTempDir(async (dir) => {
    const c = smallContents();
    c.tensors["G/b"].data[1] = NaN;
    // Written by hand as an old file (voxlab's writer never writes NaN weights).
    const path = `${dir}/nan.vxck`;
    await Deno.writeFile(path, versionOneBytes(c.state, c.tensors));
    await rejects(
      readCheckpoint(path),
      /^CheckpointError: Cannot read checkpoint '.*nan\.vxck': tensor 'G\/b' has a non-finite value \(NaN at index 1\)$/,
    );
    // The same with a valid checksum: a writer that did not check.
    c.tensors["G/b"].data[1] = -Infinity;
    const v2 = `${dir}/inf.vxck`;
    await writeCheckpoint(v2, c);
    await rejects(
      readCheckpoint(v2),
      /tensor 'G\/b' has a non-finite value \(-Infinity at index 1\)/,
    );
  });
});

Deno.test("faults/checkpoint: an old (version 1) checkpoint still loads, marked unverified", async () => {
  await withTempDir(async (dir) => {
    const c = smallContents();
    const path = `${dir}/old.vxck`;
    await Deno.writeFile(path, versionOneBytes(c.state, c.tensors));
    const back = await readCheckpoint(path);
    equal(back.version, 1);
    equal(back.verified, false);
    deepEqual(back.state, c.state);
    deepEqual([...back.tensors["G/w"]!.data], [1, 2, 3, 4, 5, 6]);
  });
});

Deno.test("faults/checkpoint: header entries that do not add up are one line", async () => {
  await withTempDir(async (dir) => {
    const c = smallContents();
    const cases: [string, (e: Record<string, unknown>[]) => void, RegExp][] = [
      [
        "bytes",
        (e) => void (e[0]!.bytes = 10),
        /tensor 'G\/w' has 10 bytes for shape \[2,3\] \(expected 24\)/,
      ],
      ["dtype", (e) => void (e[0]!.dtype = "float64"), /tensor 'G\/w' has unknown dtype "float64"/],
      ["shape", (e) => void (e[0]!.shape = [2, -3]), /tensor 'G\/w' has an invalid shape \[2,-3\]/],
      ["offset", (e) => void (e[2]!.offset = 1e6), /the file is truncated/],
    ];
    for (const [name, edit, expected] of cases) {
      const path = `${dir}/${name}.vxck`;
      await Deno.writeFile(
        path,
        versionOneBytes(c.state, c.tensors, (e) => edit(e as unknown as Record<string, unknown>[])),
      );
      await rejects(readCheckpoint(path), (e: Error) => {
        equal(e.name, "CheckpointError", name);
        match(e.message, expected);
        ok(!e.message.includes("\n"));
        return true;
      });
    }
  });
});

// --- 6. Ids that become paths --------------------------------------------------------------------

Deno.test("faults/ids: path-like and empty experiment ids are refused", () => {
  for (const id of ["../../../elsewhere", "", "a/b", "..", ".hidden", "a\\b", "x".repeat(101)]) {
    throws(
      () => applyOverrides(ablation, [`meta.id=${id}`]),
      (e: Error) => {
        match(e.message, /Invalid experiment field 'meta\.id': /);
        ok(!e.message.includes("\n"));
        return true;
      },
      `id ${JSON.stringify(id)} was accepted`,
    );
  }
  equal(applyOverrides(ablation, ["meta.id=nofm-2.b"]).meta.id, "nofm-2.b");
});

// --- 9. Data gaps ------------------------------------------------------------------------------

Deno.test("faults/data: duplicate manifest rows are skipped with a reason, or refused with strict", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/dup.csv`;
    await Deno.writeTextFile(
      path,
      `path,speaker\n${corpusDir}/u0.wav,s1\n${corpusDir}/u1.wav,s2\n${corpusDir}/./u0.wav,s1\n${corpusDir}/u1.wav,s3\n`,
    );
    const src = await readManifest(path);
    equal(src.entries.length, 2);
    deepEqual(src.skipped.map((s) => s.path), [`${path}:4`, `${path}:5`]);
    match(src.skipped[0]!.problem, /is listed again \(first at .*dup\.csv:2\)$/);
    match(src.skipped[1]!.problem, /is listed again \(first at .*dup\.csv:3, with other labels\)$/);
    await rejects(
      readManifest(path, { strict: true }),
      (e: Error) =>
        e instanceof DataError &&
        /^Cannot use dataset entry '.*dup\.csv:4': audio file/.test(e.message),
    );
  });
});

Deno.test("faults/data: an empty manifest is an error with --strict and a warning otherwise", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/empty.csv`;
    await Deno.writeTextFile(path, "path,speaker\n");
    const strict = await captured(() =>
      dataMain(["prepare", path, "--strict", "--quiet", "--cache-dir", `${dir}/cache`])
    );
    equal(strict.value, 1);
    match(strict.err, /^Cannot use dataset '.*empty\.csv': it has no usable utterances$/m);
    const lenient = await captured(() =>
      dataMain(["prepare", path, "--quiet", "--cache-dir", `${dir}/cache`])
    );
    equal(lenient.value, 0);
    match(
      lenient.err,
      /^Warning: '.*empty\.csv' has no usable utterances; training on it will be refused/m,
    );
    const ds = await loadDataset(path, { cacheDir: null, progress: false });
    equal(ds.size, 0);
  });
});
