import { deepEqual, equal, throws } from "node:assert/strict";
import { LabelError, LabelSchema } from "../mod.ts";

Deno.test("labels: the seed's sizes, 1479 input and 1476 output labels", () => {
  // 1470 speakers + 2 genders + 4 accents are classified (1476); 3 microphones
  // are condition-only, so they add to the input labels only (1479).
  const speakers = Array.from({ length: 1470 }, (_, i) => `s${i}`);
  const schema = new LabelSchema([
    { name: "speaker", values: speakers },
    { name: "gender", values: ["F", "M"] },
    { name: "accent", values: ["a", "b", "c", "d"] },
    { name: "mic", values: ["m1", "m2", "m3"], classified: false },
  ]);
  const d = schema.describe();
  equal(d.nIn, 1479);
  equal(d.nOut, 1476);
  deepEqual(d.attributes.map((a) => [a.name, a.size, a.inOffset, a.outOffset]), [
    ["speaker", 1470, 0, 0],
    ["gender", 2, 1470, 1470],
    ["accent", 4, 1472, 1472],
    ["mic", 3, 1476, -1],
  ]);
  const c = schema.encodeInput({ speaker: "s7", gender: "M", accent: null, mic: "m2" });
  equal(c.length, 1479);
  equal(c.reduce((s, v) => s + v, 0), 3);
  equal(c[7], 1);
  equal(c[1471], 1);
  equal(c[1477], 1);
  const y = schema.encodeOutput({ speaker: "s7", gender: "M", accent: null, mic: "m2" });
  equal(y.length, 1476);
  equal(y[7], 1);
  equal(y[8], 0);
  equal(y[1471], 1);
  deepEqual([...y.subarray(1472)], [-1, -1, -1, -1]);
  deepEqual(schema.decodeInput(c), { speaker: "s7", gender: "M", accent: null, mic: "m2" });
  deepEqual(schema.decodeOutput(y), { speaker: "s7", gender: "M", accent: null });
});

Deno.test("labels: multi-hot values, unknown values, inference and JSON round trip", () => {
  const schema = LabelSchema.infer([
    { speaker: "p226", gender: "M", accent: ["Scottish", "English"] },
    { speaker: "p225", gender: "F", accent: null },
    { speaker: "p10", gender: null },
  ], { conditionOnly: ["accent"] });
  deepEqual(schema.attributes.map((a) => [a.name, a.values.join(), a.classified]), [
    ["speaker", "p10,p225,p226", true],
    ["gender", "F,M", true],
    ["accent", "English,Scottish", false],
  ]);
  deepEqual([...schema.encodeInput({ speaker: "p226", accent: ["Scottish", "English"] })], [
    0,
    0,
    1,
    0,
    0,
    1,
    1,
  ]);
  deepEqual([...schema.encodeOutput({ speaker: "p226" })], [0, 0, 1, -1, -1]);
  const copy = LabelSchema.fromJSON(JSON.parse(JSON.stringify(schema)));
  deepEqual(copy.describe(), schema.describe());
});

Deno.test("labels: validation errors name the attribute and the value", () => {
  const schema = new LabelSchema([{ name: "speaker", values: ["a", "b"] }, {
    name: "gender",
    values: ["F", "M"],
  }]);
  throws(
    () => schema.encodeInput({ speaker: "zed" }),
    (e: unknown) =>
      e instanceof LabelError &&
      e.message === "Cannot encode labels: unknown value 'zed' for attribute 'speaker'",
  );
  throws(
    () => schema.encodeOutput({ age: "40" }),
    /unknown attribute 'age' \(schema has speaker, gender\)/,
  );
  throws(
    () => new LabelSchema([{ name: "x", values: ["a", "a"] }]),
    /attribute 'x' lists value 'a' twice/,
  );
  throws(() => new LabelSchema([{ name: "x", values: [] }]), /attribute 'x' has no values/);
  throws(() => schema.decodeInput([1, 0]), RangeError);
});
