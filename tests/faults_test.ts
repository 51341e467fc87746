/**
 * Fault injection: each failure of the reliability review (issue 12),
 * reproduced at tiny size, and the behaviour voxlab promises instead.
 *
 * @module
 */
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { initBackend } from "../mod.ts";
import { readCheckpoint, writeCheckpoint } from "../lib/train/checkpoint.ts";
import { removeStaleTemps, tempPathFor, writeFileAtomic } from "../lib/io/atomic.ts";
import { IoError } from "../lib/io/io_error.ts";
import { runLoop } from "../lib/train/loop.ts";
import { NonFiniteError } from "../lib/train/non_finite.ts";
import { lockDir, LockedError } from "../lib/io/lock.ts";
import { loadDataset } from "../lib/data/dataset.ts";
import { readManifest } from "../lib/data/source.ts";
import { DataError } from "../lib/data/errors.ts";
import { applyOverrides } from "../lib/experiment/overrides.ts";
import { main as dataMain } from "../tasks/data.ts";
import { main as trainMain } from "../tasks/train.ts";
import ablation from "../experiments/9ada9179.ts";
import { captured } from "./capture.ts";
import { tinyTrainArgs, writeTinyCorpus } from "./tiny_corpus.ts";

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

// --- 1, 2, 10. Writers, full disks, durability --------------------------------------------------

/** The `*.tmp` files in a folder. */
function temps(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp"));
}

/**
 * A fresh tmpfs of `size` (e.g. `"1m"`) mounted on a new folder, or `null`
 * when this process may not mount (not root, or no CAP_SYS_ADMIN).
 */
async function mountTmpfs(size: string): Promise<{ dir: string; unmount(): Promise<void> } | null> {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return null;
  const dir = await Deno.makeTempDir({ prefix: "voxlab-tmpfs-" });
  const run = (cmd: string, args: string[]) =>
    new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output().catch(() => ({
      success: false,
    }));
  if (!(await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir])).success) {
    await Deno.remove(dir);
    return null;
  }
  return {
    dir,
    unmount: async () => {
      await run("umount", [dir]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Float tensors of about `bytes` bytes in total. */
function tensorsOfSize(bytes: number) {
  const n = Math.ceil(bytes / 4);
  return {
    state: { iteration: 1, epoch: 0, elapsed: 1 },
    tensors: { w: { dtype: "float32" as const, shape: [n], data: new Float32Array(n).fill(0.25) } },
  };
}

Deno.test("faults/io: two writers of one checkpoint never share a temporary file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/checkpoint.vxck`;
    // Before: both wrote `checkpoint.vxck.tmp`; one renamed it away and the other failed with
    // `NotFound: … rename '…/checkpoint.vxck.tmp'`.
    await Promise.all([
      writeCheckpoint(path, tensorsOfSize(400_000)),
      writeCheckpoint(path, tensorsOfSize(200_000)),
      writeCheckpoint(path, tensorsOfSize(300_000)),
    ]);
    ok((await readCheckpoint(path)).verified);
    deepEqual(temps(dir), []);
    const a = tempPathFor(path), b = tempPathFor(path);
    ok(a !== b && a.includes(`.${Deno.pid}.`));
  });
});

Deno.test("faults/io: a write that fails midway removes its temporary file and keeps the old file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/run.json`;
    await writeFileAtomic(path, "old\n");
    // An injected failure after the first chunk, as a full disk gives it.
    function* failing() {
      yield new TextEncoder().encode("new, partial");
      throw new Error("No space left on device (os error 28)");
    }
    await rejects(writeFileAtomic(path, failing()), (e: Error) => {
      ok(e instanceof IoError);
      equal(e.message, `Cannot write '${path}': No space left on device (os error 28)`);
      return true;
    });
    equal(await Deno.readTextFile(path), "old\n");
    deepEqual(temps(dir), []);
  });
});

const tmpfsProbe = await mountTmpfs("64k");
await tmpfsProbe?.unmount();

Deno.test({
  name: "faults/io: ENOSPC on a full tmpfs: one line, no partial file, the old checkpoint kept",
  ignore: tmpfsProbe === null,
  fn: async () => {
    const fs = (await mountTmpfs("1m"))!;
    try {
      const path = `${fs.dir}/checkpoint.vxck`;
      await writeCheckpoint(path, tensorsOfSize(300_000));
      const before = await Deno.readFile(path);
      await rejects(writeCheckpoint(path, tensorsOfSize(900_000)), (e: Error) => {
        ok(e instanceof IoError, String(e));
        equal(e.message, `Cannot write '${path}': No space left on device (os error 28)`);
        return true;
      });
      deepEqual(temps(fs.dir), []);
      deepEqual(await Deno.readFile(path), before);
      // The space is free again: a smaller checkpoint fits.
      await writeCheckpoint(path, tensorsOfSize(500_000));
      equal((await readCheckpoint(path)).tensors.w!.data.length, 125_000);
    } finally {
      await fs.unmount();
    }
  },
});

Deno.test("faults/io: the file and its folder are synced after the rename", async () => {
  await withTempDir(async (dir) => {
    const events: string[] = [];
    const open = Deno.open, rename = Deno.rename, sync = Deno.FsFile.prototype.sync;
    const paths = new WeakMap<Deno.FsFile, string>();
    // deno-lint-ignore no-explicit-any
    const deno = Deno as any;
    deno.open = async (path: string, options?: Deno.OpenOptions) => {
      const file = await open(path, options);
      paths.set(file, String(path));
      return file;
    };
    deno.rename = async (from: string, to: string) => {
      await rename(from, to);
      events.push(`rename ${to.slice(dir.length + 1)}`);
    };
    Deno.FsFile.prototype.sync = async function (this: Deno.FsFile) {
      await sync.call(this);
      const p = paths.get(this) ?? "?";
      events.push(`sync ${p === dir ? "<dir>" : p.endsWith(".tmp") ? "<tmp>" : p}`);
    };
    try {
      await writeCheckpoint(`${dir}/c.vxck`, smallContents());
      await writeFileAtomic(`${dir}/run.json`, "{}");
    } finally {
      deno.open = open;
      deno.rename = rename;
      Deno.FsFile.prototype.sync = sync;
    }
    deepEqual(events, [
      "sync <tmp>",
      "rename c.vxck",
      "sync <dir>",
      "sync <tmp>",
      "rename run.json",
      "sync <dir>",
    ]);
  });
});

Deno.test("faults/io: temporary files of a killed writer are found and removed", async () => {
  await withTempDir(async (dir) => {
    const dead = 2 ** 22 + 12345; // above Linux's default pid_max of 2^22: never a live process
    await Deno.writeTextFile(`${dir}/checkpoint.vxck.${dead}.0123abcd.tmp`, "x".repeat(1000));
    await Deno.writeTextFile(`${dir}/run.json.${Deno.pid}.89abcdef.tmp`, "mine, in progress");
    await Deno.writeTextFile(`${dir}/checkpoint.vxck.tmp`, "old-style name");
    const removed = await removeStaleTemps(dir);
    deepEqual(removed.map((r) => r.bytes), [1000]);
    deepEqual(temps(dir).sort(), ["checkpoint.vxck.tmp", `run.json.${Deno.pid}.89abcdef.tmp`]);
    // Holding the folder's lock, every temporary file is stale.
    const all = await removeStaleTemps(dir, { all: true });
    equal(all.length, 2);
    deepEqual(temps(dir), []);
  });
});

Deno.test("faults/lock: a second writer is refused naming the holder; the lock dies with its process", async () => {
  await withTempDir(async (dir) => {
    const script = `
      import { lockDir } from ${JSON.stringify(new URL("../lib/io/lock.ts", import.meta.url).href)};
      await lockDir(${JSON.stringify(dir)}, { purpose: "train --resume" });
      console.log("locked");
      setTimeout(() => {}, 1e9);
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = await reader.read();
    equal(new TextDecoder().decode(first.value).trim(), "locked");
    await rejects(lockDir(dir, { action: `resume run '${dir}'` }), (e: Error) => {
      ok(e instanceof LockedError);
      equal(e.holder?.pid, child.pid);
      match(
        e.message,
        new RegExp(
          `^Cannot resume run '.*': it is in use by process ${child.pid} \\(train --resume, since \\d{4}-`,
        ),
      );
      return true;
    });
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    const lock = await lockDir(dir);
    ok(lock.held);
    lock.release();
  });
});

// --- 3. Weights that go NaN while the loss is finite ---------------------------------------------

/** A loop task whose one weight turns NaN in iteration `nanAt` (1-based) while its loss stays 1. */
function nanWeightTask(nanAt: number) {
  let w = 1;
  let steps = 0;
  return {
    itersPerEpoch: 10,
    epochs: 1,
    step: () => {
      steps++;
      if (steps === nanAt) w = NaN;
      return { terms: { "G.total": 1 }, lr: {} };
    },
    save: () => ({
      state: {},
      tensors: { "G/w": { dtype: "float32" as const, shape: [1], data: new Float32Array([w]) } },
    }),
    nonFiniteWeight: () => (Number.isFinite(w) ? null : { name: "G/w", value: w }),
    get weight() {
      return w;
    },
  };
}

Deno.test("faults/non-finite: NaN weights with a finite loss stop the run before any hook reads them", async () => {
  await withTempDir(async (dir) => {
    const task = nanWeightTask(3);
    const seen: number[] = [];
    const result = await runLoop(task, {
      checkpointPath: `${dir}/c.vxck`,
      checkpointMinutes: 0,
      hooks: {
        // Like the collapse detector: it cannot work on NaN weights.
        onStepEnd: ({ iteration }) => {
          if (!Number.isFinite(task.weight)) {
            throw new Error("Cannot update collapse detector: label sensitivity is NaN");
          }
          seen.push(iteration + 1);
        },
      },
    });
    equal(result.reason, "non-finite");
    deepEqual(result.badWeight, { name: "G/w", value: NaN });
    equal(result.badTerm, undefined);
    deepEqual(seen, [1, 2]);
    equal(result.iteration, 2);
    equal(result.lastCheckpoint, 2);
    const kept = await readCheckpoint(`${dir}/c.vxck`);
    equal(kept.state.iteration, 2);
    deepEqual([...kept.tensors["G/w"]!.data], [1]);
  });
});

Deno.test("faults/non-finite: a hook's non-finite measure stops the run like a loss", async () => {
  await withTempDir(async (dir) => {
    const result = await runLoop({
      itersPerEpoch: 10,
      epochs: 1,
      step: () => ({ terms: { "G.total": 1 }, lr: {} }),
      save: () => ({ state: {}, tensors: {} }),
    }, {
      checkpointPath: `${dir}/c.vxck`,
      checkpointMinutes: 0,
      hooks: {
        onStepEnd: ({ iteration }) => {
          if (iteration === 3) throw new NonFiniteError("diagnostics.labelSensitivity", NaN);
        },
      },
    });
    equal(result.reason, "non-finite");
    deepEqual(result.badMeasure, { name: "diagnostics.labelSensitivity", value: NaN });
    equal(result.iteration, 4);
    equal(result.lastCheckpoint, 3);
  });
});

// --- Training runs: the same faults through `deno task train` --------------------------------------

const repo = new URL("../", import.meta.url);
const train = (args: string[]) => captured(() => trainMain(tinyTrainArgs(manifest, args)));

/** The only run directory under `root`. */
function onlyRun(root: string, id = "9ada9179"): string {
  const dirs = [...Deno.readDirSync(`${root}/${id}`)].map((e) => e.name);
  equal(dirs.length, 1);
  return `${root}/${id}/${dirs[0]}`;
}

/** Iterations recorded in a JSONL file of a run. */
async function iterationsIn(path: string): Promise<number[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).iteration);
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("faults/train: a second resume of a running run is refused naming the holder", async () => {
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "2"])).value, 0);
    const dir = onlyRun(root);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("tasks/train.ts", repo).pathname,
        ...tinyTrainArgs(manifest, ["--resume", dir, "--max-steps", "12"]),
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Wait until the child holds the run.
    const holder = async () => {
      try {
        return JSON.parse(await Deno.readTextFile(`${dir}/run.lock`)).pid;
      } catch {
        return null;
      }
    };
    const deadline = Date.now() + 60_000;
    while ((await holder()) !== child.pid && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = await train(["--resume", dir, "--max-steps", "5"]);
    const status = await child.status;
    const childErr = new TextDecoder().decode(
      await new Response(child.stderr).arrayBuffer(),
    );
    equal(status.code, 0, childErr);
    equal(second.value, 1);
    match(
      second.err,
      new RegExp(
        `^Cannot resume run '${dir}': it is in use by process ${child.pid} \\(train --resume, since \\d{4}-`,
      ),
    );
    equal(second.err.trim().split("\n").length, 1);
    // One writer: the checkpoint and metrics.jsonl agree, with no gap and no repeat.
    equal((await readCheckpoint(`${dir}/checkpoint.vxck`)).state.iteration, 14);
    deepEqual(await iterationsIn(`${dir}/metrics.jsonl`), range(1, 14));
    const later = await train(["--resume", dir, "--max-steps", "1"]);
    equal(later.value, 0, later.err);
    deepEqual(await iterationsIn(`${dir}/metrics.jsonl`), range(1, 15));
  });
});

Deno.test("faults/train: a damaged checkpoint is refused on resume in one line", async () => {
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "1"])).value, 0);
    const dir = onlyRun(root);
    const path = `${dir}/checkpoint.vxck`;
    const good = await Deno.readFile(path);
    const flipped = good.slice();
    const mid = Math.floor(good.length / 2);
    for (let i = mid; i < mid + 64; i++) flipped[i] = flipped[i]! ^ 0xff;
    await Deno.writeFile(path, flipped);
    const r = await train(["--resume", dir, "--max-steps", "1"]);
    equal(r.value, 1);
    match(
      r.err.trim(),
      /^Cannot resume run '.*': Cannot read checkpoint '.*': checksum mismatch .*damaged$/,
    );
    equal(r.err.trim().split("\n").length, 1);
    // Bad state fields, with a valid checksum (as a buggy writer would leave them).
    for (
      const [field, value, expected] of [
        ["sampler", null, /state field 'sampler' is null, expected an object$/],
        ["iteration", "abc", /state field 'iteration' is "abc", expected a whole number ≥ 0$/],
      ] as const
    ) {
      await Deno.writeFile(path, good);
      const contents = await readCheckpoint(path);
      (contents.state as Record<string, unknown>)[field] = value;
      await writeCheckpoint(path, contents);
      const bad = await train(["--resume", dir, "--max-steps", "1"]);
      equal(bad.value, 1, field);
      match(bad.err, /^Cannot resume run '.*': Cannot load checkpoint '.*checkpoint\.vxck': /);
      match(bad.err.trim(), expected);
      equal(bad.err.trim().split("\n").length, 1);
      await Deno.writeFile(path, flipped);
    }
  });
});

Deno.test("faults/train: NaN weights with a finite loss stop the run the documented way", async () => {
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "2"])).value, 0);
    const dir = onlyRun(root);
    const before = await Deno.readFile(`${dir}/checkpoint.vxck`);
    // The generator's update comes last in an iteration: a learning rate past float32's range
    // makes G's weights non-finite while every loss of that iteration was finite. Diagnostics
    // run after every iteration, so they would be the first to read the weights.
    const r = await train([
      "--resume",
      dir,
      "--force",
      "--max-steps",
      "5",
      "--set",
      "optimizers.generator.lr=1e39",
      "--set",
      "trainer.sampleEvery=1",
    ]);
    equal(r.value, 1, r.err);
    // Before: `Cannot update collapse detector: label sensitivity is NaN`, run.json `running`.
    equal(r.err, "");
    match(
      r.out,
      /^Training stopped: weight 'G\/[\w/]+' is (NaN|-?Infinity) after iteration 3; the last good checkpoint \(iteration 2\) is kept in /m,
    );
    deepEqual(await Deno.readFile(`${dir}/checkpoint.vxck`), before);
    const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    equal(info.status, "non-finite");
    match(info.statusMessage, /^Training stopped: weight 'G\//);
    match(await Deno.readTextFile(`${dir}/report.md`), /Training stopped: weight 'G\//);
    deepEqual(await iterationsIn(`${dir}/metrics.jsonl`), range(1, 2));
    // The run as it was can continue: the forced config never had a checkpoint.
    const plain = await train(["--resume", dir, "--max-steps", "1"]);
    equal(plain.value, 0, plain.err);
  });
});

Deno.test("faults/train: --force keeps the old config until a checkpoint is written under the new one", async () => {
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "2"])).value, 0);
    const dir = onlyRun(root);
    const oldConfig = await Deno.readTextFile(`${dir}/config.yaml`);
    const diverged = await train([
      "--resume",
      dir,
      "--force",
      "--set",
      "optimizers.discriminator.lr=1e6",
      "--set",
      "optimizers.generator.lr=1e6",
    ]);
    equal(diverged.value, 1);
    equal(await Deno.readTextFile(`${dir}/config.yaml`), oldConfig);
    // Before: `its checkpoint was written with config …, this config is …`.
    const plain = await train(["--resume", dir, "--max-steps", "1"]);
    equal(plain.value, 0, plain.err);
    deepEqual(await iterationsIn(`${dir}/metrics.jsonl`), range(1, 3));
    // A forced resume that writes a checkpoint makes the new config the run's.
    const forced = await train([
      "--resume",
      dir,
      "--force",
      "--max-steps",
      "1",
      "--set",
      "trainer.seed=7",
    ]);
    equal(forced.value, 0, forced.err);
    match(await Deno.readTextFile(`${dir}/config.yaml`), /^ {2}seed: 7$/m);
    const again = await train(["--resume", dir, "--max-steps", "1"]);
    equal(again.value, 0, again.err);
    deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("config")),
      ["config.yaml"],
    );
  });
});

Deno.test("faults/train: a path-like id never leaves --out", async () => {
  await withTempDir(async (root) => {
    const out = `${root}/runs`;
    const r = await train([
      "experiments/9ada9179.ts",
      "--out",
      out,
      "--max-steps",
      "1",
      "--set",
      "meta.id=../../escaped",
    ]);
    equal(r.value, 1);
    match(r.err, /Invalid experiment field 'meta\.id': "\.\.\/\.\.\/escaped": it contains "\/"/);
    deepEqual([...Deno.readDirSync(root)].map((e) => e.name), []);
  });
});

Deno.test("faults/train: an empty dataset is refused before any model is built", async () => {
  await withTempDir(async (root) => {
    const empty = `${root}/empty.csv`;
    await Deno.writeTextFile(empty, "path,speaker\n");
    const r = await captured(() =>
      trainMain(
        tinyTrainArgs(empty, [
          "experiments/9ada9179.ts",
          "--out",
          `${root}/runs`,
          "--max-steps",
          "1",
        ]),
      )
    );
    equal(r.value, 1);
    equal(r.err.trim(), `Cannot use dataset '${empty}': it has no usable utterances`);
    ok(!r.err.includes("nIn"));
  });
});

Deno.test("faults/train: diagnostics.jsonl is trimmed on resume like metrics.jsonl", async () => {
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "2"])).value, 0);
    const dir = onlyRun(root);
    // A resume that "dies" while showing iteration 7, its last checkpoint still at 2.
    const write = (text: string) => {
      if (text.includes(" it 7/")) throw new Error("killed");
    };
    const { runExperimentConfig, trainExperiment } = await import("../lib/runs/train.ts");
    const exp = await runExperimentConfig(dir);
    await rejects(
      trainExperiment(exp, {
        resume: dir,
        maxSteps: 10,
        log: () => {},
        progress: { write, inPlace: false, intervalMs: 0 },
      }),
      /killed/,
    );
    deepEqual(await iterationsIn(`${dir}/metrics.jsonl`), range(1, 7));
    deepEqual(await iterationsIn(`${dir}/diagnostics.jsonl`), [1, 2, 4, 6]);
    const r = await train(["--resume", dir, "--max-steps", "4"]);
    equal(r.value, 0, r.err);
    deepEqual(await iterationsIn(`${dir}/metrics.jsonl`), range(1, 6));
    deepEqual(await iterationsIn(`${dir}/diagnostics.jsonl`), [1, 2, 4, 6]);
  });
});

/**
 * Make writes of checkpoint temporary files fail after half their first
 * chunk, as a full disk does; returns the function that undoes it. Used
 * where no tmpfs can be mounted.
 */
function injectCheckpointNoSpace(): () => void {
  const open = Deno.open;
  // deno-lint-ignore no-explicit-any
  const deno = Deno as any;
  deno.open = async (path: string | URL, options?: Deno.OpenOptions) => {
    const file = await open(path, options);
    if (/checkpoint\.vxck\.\d+\.[0-9a-f]{8}\.tmp$/.test(String(path))) {
      const write = file.write.bind(file);
      let calls = 0;
      file.write = async (bytes: Uint8Array) => {
        if (calls++ > 0) throw new Error("No space left on device (os error 28)");
        return await write(bytes.subarray(0, Math.ceil(bytes.length / 2)));
      };
    }
    return file;
  };
  return () => void (deno.open = open);
}

Deno.test("faults/train: a full disk is one line, exit 1, no partial file, run.json failed; resume works after", async () => {
  const fs = await mountTmpfs("8m");
  const root = fs?.dir ?? await Deno.makeTempDir({ prefix: "voxlab-faults-" });
  // A checkpoint large beside the other files, so that it is the write that fails.
  const big = ["--set", "model.generator.widths=[16, 32, 32]", "--set", "trainer.sampleEvery=0"];
  try {
    const first = await train([
      "experiments/9ada9179.ts",
      "--out",
      root,
      "--max-steps",
      "1",
      ...big,
    ]);
    equal(first.value, 0, first.err);
    const dir = onlyRun(root);
    const checkpoint = `${dir}/checkpoint.vxck`;
    const before = await Deno.readFile(checkpoint);
    const filler = `${root}/filler`;
    let undo = () => {};
    if (fs) {
      // Fill the disk, then leave room for the small files but not for a new checkpoint.
      const f = await Deno.open(filler, { write: true, create: true });
      const chunk = new Uint8Array(64 * 1024);
      try {
        while (true) await f.write(chunk);
      } catch { /* full */ }
      f.close();
      const { size } = await Deno.stat(filler);
      await Deno.truncate(filler, size - Math.floor(before.length / 2) - 128 * 1024);
    } else {
      undo = injectCheckpointNoSpace();
    }
    let r;
    try {
      r = await train(["--resume", dir, "--max-steps", "1", ...big]);
    } finally {
      undo();
    }
    equal(r.value, 1);
    equal(r.err.trim(), `Cannot write '${checkpoint}': No space left on device (os error 28)`);
    deepEqual(temps(dir), []);
    deepEqual(await Deno.readFile(checkpoint), before);
    const info = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    equal(info.status, "failed");
    equal(info.statusMessage, r.err.trim());
    equal(info.iteration, 1);
    match(await Deno.readTextFile(`${dir}/report.md`), /No space left on device/);
    // Space freed: the run resumes from its last checkpoint, metrics without a gap or repeat.
    await Deno.remove(filler).catch(() => {});
    const again = await train(["--resume", dir, "--max-steps", "2", ...big]);
    equal(again.value, 0, again.err);
    deepEqual(await iterationsIn(`${dir}/metrics.jsonl`), range(1, 3));
  } finally {
    if (fs) await fs.unmount();
    else await Deno.remove(root, { recursive: true });
  }
});

Deno.test("faults/train: temporary files left by a killed writer are removed on the next start", async () => {
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "1"])).value, 0);
    const dir = onlyRun(root);
    // What kill -9 during a write leaves: the old fixed name, and a unique name of a dead process.
    await Deno.writeFile(`${dir}/checkpoint.vxck.tmp`, new Uint8Array(2_400_000));
    await Deno.writeFile(`${dir}/run.json.${2 ** 22 + 7}.0badf00d.tmp`, new Uint8Array(10));
    const r = await train(["--resume", dir, "--max-steps", "1"]);
    equal(r.value, 0, r.err);
    match(r.out, /^voxlab: removed 2 temporary file\(s\) left by a killed writer \(2\.4 MB\): /m);
    deepEqual(temps(dir), []);
  });
});

Deno.test("faults/train: an old checkpoint without a checksum resumes with a notice and is never called good", async () => {
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "2"])).value, 0);
    const dir = onlyRun(root);
    const path = `${dir}/checkpoint.vxck`;
    const current = await readCheckpoint(path);
    await Deno.writeFile(path, versionOneBytes(current.state, current.tensors));
    const r = await train([
      "--resume",
      dir,
      "--force",
      "--max-steps",
      "3",
      "--set",
      "optimizers.generator.lr=1e39",
    ]);
    equal(r.value, 1, r.err);
    match(r.out, /^voxlab: checkpoint '.*checkpoint\.vxck' has no checksum \(format 1\); /m);
    match(
      r.out,
      /; the last checkpoint \(iteration 2, an old one without a checksum\) is kept in /,
    );
    ok(!/last good checkpoint/.test(r.out));
    const plain = await train(["--resume", dir, "--max-steps", "1"]);
    equal(plain.value, 0, plain.err);
    equal((await Deno.readFile(path))[4], 2);
    ok((await readCheckpoint(path)).verified);
  });
});

Deno.test("faults/convert: a checkpoint with NaN weights or a damaged state is refused in one line", async () => {
  const { main: convertMain } = await import("../tasks/convert.ts");
  await withTempDir(async (root) => {
    equal((await train(["experiments/9ada9179.ts", "--out", root, "--max-steps", "1"])).value, 0);
    const dir = onlyRun(root);
    const path = `${dir}/checkpoint.vxck`;
    const good = await readCheckpoint(path);
    const convert = () =>
      captured(() =>
        convertMain([
          dir,
          "--input",
          `${corpusDir}/u0.wav`,
          "--target",
          "speaker=s2",
          "--out",
          `${root}/converted`,
          "--backend",
          "cpu",
          "--iterations",
          "2",
        ])
      );
    // Before: a silent WAV and exit 0 for NaN weights, `iteration NaN` for a damaged state.
    const nan = structuredClone(good);
    const first = Object.keys(nan.tensors).find((n) => n.startsWith("G/"))!;
    nan.tensors[first]!.data[0] = NaN;
    await Deno.writeFile(path, versionOneBytes(nan.state, nan.tensors));
    const r1 = await convert();
    equal(r1.value, 1);
    match(
      r1.err.trim(),
      /^(convert: )?Cannot load run '.*': Cannot read checkpoint '.*': tensor 'G\/.*' has a non-finite value \(NaN at index 0\)$/,
    );
    const bad = structuredClone(good);
    (bad.state as Record<string, unknown>).iteration = "abc";
    await writeCheckpoint(path, bad);
    const r2 = await convert();
    equal(r2.value, 1);
    match(
      r2.err.trim(),
      /^(convert: )?Cannot load run '.*': Cannot load checkpoint '.*': state field 'iteration' is "abc", expected a whole number ≥ 0$/,
    );
    ok(!(await Deno.stat(`${root}/converted`).then(() => true, () => false)));
  });
});
