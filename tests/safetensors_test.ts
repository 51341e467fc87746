import { deepEqual, equal, ok, throws } from "node:assert/strict";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type SafetensorsContents,
  SafetensorsError,
  writeSafetensors,
} from "../lib/train/safetensors.ts";

/** Bytes of a header JSON text plus data, framed as the format says (no padding added). */
function frame(json: string, data: number[] = []): Uint8Array {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

Deno.test("safetensors: the bytes of a small file, computed by hand", () => {
  const bytes = encodeSafetensors({
    tensors: {
      a: { dtype: "F32", shape: [2], data: new Float32Array([1, -2]) },
      b: { dtype: "I32", shape: [1, 1], data: new Int32Array([7]) },
    },
    metadata: { k: "v" },
  });
  // 135 bytes of JSON, padded with one space to 136 = 0x88, a multiple of 8.
  const json = '{"__metadata__":{"k":"v"},' +
    '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
    '"b":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}}';
  equal(json.length, 135);
  const expected = [
    ...[0x88, 0, 0, 0, 0, 0, 0, 0],
    ...new TextEncoder().encode(json),
    0x20,
    ...[0x00, 0x00, 0x80, 0x3f], // 1.0f
    ...[0x00, 0x00, 0x00, 0xc0], // -2.0f
    ...[0x07, 0x00, 0x00, 0x00], // 7
  ];
  equal(bytes.length, 156);
  deepEqual([...bytes], expected);
});

Deno.test("safetensors: round trip of every dtype; larger elements first keeps each aligned", async () => {
  const contents: SafetensorsContents = {
    tensors: {
      flags: { dtype: "U8", shape: [3], data: new Uint8Array([1, 0, 255]) },
      small: { dtype: "I8", shape: [1], data: new Int8Array([-5]) },
      half: { dtype: "I16", shape: [2], data: new Int16Array([-300, 300]) },
      w: { dtype: "F32", shape: [2, 3], data: new Float32Array([0.5, -1, 2, 3e-8, 1e30, -0]) },
      n: { dtype: "I32", shape: [], data: new Int32Array([42]) },
      d: { dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -1e-300]) },
      big: { dtype: "I64", shape: [1], data: new BigInt64Array([-(2n ** 62n)]) },
      empty: { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    },
    metadata: { config: JSON.stringify({ widths: [1, 2] }), note: "ünïcode" },
  };
  const bytes = encodeSafetensors(contents);
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  equal(headerLength % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  // File order: 8-byte, then 4-byte, 2-byte and 1-byte elements; given order within each.
  deepEqual(Object.keys(header), [
    "__metadata__",
    "d",
    "big",
    "w",
    "n",
    "empty",
    "half",
    "flags",
    "small",
  ]);
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { data_offsets: [begin], dtype } = e as { data_offsets: number[]; dtype: string };
    const size = { F64: 8, I64: 8, F32: 4, I32: 4, I16: 2, I8: 1, U8: 1 }[dtype]!;
    equal((8 + headerLength + begin!) % size, 0, `${name} is aligned`);
  }
  const back = decodeSafetensors(bytes);
  deepEqual(back, contents);
  // And through a file.
  const dir = await Deno.makeTempDir();
  try {
    await writeSafetensors(`${dir}/t.safetensors`, contents);
    deepEqual(await readSafetensors(`${dir}/t.safetensors`), contents);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: a file written by hand with unpadded header and no metadata reads", () => {
  const back = decodeSafetensors(
    frame('{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0x80, 0xbf]),
  );
  deepEqual(back, {
    tensors: { x: { dtype: "F32", shape: [1], data: new Float32Array([-1]) } },
    metadata: {},
  });
});

Deno.test("safetensors: bad input is a one-line error naming the file and the problem", async () => {
  const bad = (bytes: Uint8Array, pattern: RegExp) =>
    throws(() => decodeSafetensors(bytes, "w.safetensors"), (e: Error) => {
      ok(e instanceof SafetensorsError, String(e));
      ok(/^Cannot read 'w\.safetensors': /.test(e.message), e.message);
      ok(pattern.test(e.message), e.message);
      ok(!e.message.includes("\n"), e.message);
      return true;
    });
  const entry = (dtype: string, shape: string, offsets: string) =>
    `{"x":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offsets}}}`;
  bad(new Uint8Array(5), /shorter than the 8-byte header length/);
  bad(frame("{}").subarray(0, 9), /header length 2 exceeds/);
  bad(frame("[1,2]"), /does not start with '\{'/);
  bad(frame("{nope}"), /not JSON/);
  bad(frame(entry("F16", "[1]", "[0,2]"), [0, 0]), /dtype "F16"/);
  bad(frame(entry("F32", "[-1]", "[0,4]"), [0, 0, 0, 0]), /shape \[-1\]/);
  bad(frame(entry("F32", "[2]", "[0,4]"), [0, 0, 0, 0]), /for 8 bytes/);
  bad(frame(entry("F32", "[1]", "[0,4]"), [0, 0]), /truncated/);
  bad(
    frame(entry("F32", "[1]", "[4,8]"), [0, 0, 0, 0, 0, 0, 0, 0]),
    /starts at byte 4, expected 0/,
  );
  bad(frame(entry("F32", "[1]", "[0,4]"), [0, 0, 0, 0, 9]), /cover 4 of the 5 data bytes/);
  bad(frame('{"__metadata__":{"n":1}}'), /metadata 'n' is not a string/);
  const dir = await Deno.makeTempDir();
  try {
    await readSafetensors(`${dir}/missing`).then(
      () => ok(false),
      (e) => equal(e.message, `Cannot read '${dir}/missing': file not found`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: the writer refuses values that do not fit the shape or dtype", () => {
  throws(
    () =>
      encodeSafetensors({
        tensors: { w: { dtype: "F32", shape: [3], data: new Float32Array(2) } },
        metadata: {},
      }),
    /tensor 'w' has 2 values for shape \[3\]/,
  );
  throws(
    () =>
      encodeSafetensors({
        tensors: { w: { dtype: "I32", shape: [2], data: new Float32Array(2) } },
        metadata: {},
      }),
    /tensor 'w' is I32 but its data is a Float32Array/,
  );
  throws(
    () => encodeSafetensors({ tensors: {}, metadata: { n: 1 as unknown as string } }),
    /metadata 'n' is a number, not a string/,
  );
});
