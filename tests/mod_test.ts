import { deepEqual, equal, match } from "node:assert/strict";
import { Rng } from "../mod.ts";

const repo = new URL("../", import.meta.url);

/**
 * Run a script in a fresh temp dir with no deno.json, so voxlab's import map
 * cannot apply: only the pinned npm: specifiers in lib/deps.ts can work.
 * Returns its stdout; a failure shows its stderr.
 */
async function runOutside(prefix: string, source: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    const script = `${dir}/script.ts`;
    await Deno.writeTextFile(script, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "--quiet", script],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mod.ts works from an ad-hoc script outside the repository", async () => {
  const modUrl = new URL("mod.ts", repo).href;
  const stdout = await runOutside(
    "voxlab-adhoc-",
    `import { initBackend, tf } from ${JSON.stringify(modUrl)};
const info = await initBackend({ backend: "cpu", quiet: true });
console.log(info.name, tf.add(tf.tensor1d([1, 2]), 3).arraySync().join(","));
`,
  );
  match(stdout, /^cpu 4,5$/m);
});

Deno.test("every deno.json export loads from a script outside the repository", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", repo)));
  const exports = config.exports as Record<string, string>;
  deepEqual(Object.keys(exports).slice(0, 1), ["."]);
  const lines = Object.entries(exports).map(([subpath, file], i) =>
    `import * as m${i} from ${JSON.stringify(new URL(file, repo).href)};\n` +
    `console.log(${JSON.stringify(subpath)}, Object.keys(m${i}).length);`
  );
  const stdout = await runOutside("voxlab-exports-", lines.join("\n") + "\n");
  const counts = new Map(
    stdout.trim().split("\n").map((l) => {
      const [name, n] = l.split(" ");
      return [name!, Number(n)] as const;
    }),
  );
  deepEqual([...counts.keys()], Object.keys(exports));
  // Each subpath is a part of the whole: non-empty and smaller than mod.ts.
  for (const [name, n] of counts) {
    if (name !== ".") match(`${name} ${n}`, /^\.\/\w+ [1-9]\d*$/);
    if (name !== ".") equal(n < counts.get(".")!, true, `${name} exports ${n} names`);
  }
});

Deno.test("Rng: same seed gives the same stream; state round-trips", () => {
  const a = new Rng(7), b = new Rng(7);
  for (let i = 0; i < 10; i++) equal(a.nextUint32(), b.nextUint32());
  const state = a.getState();
  const expected = [a.uniform(), a.normal(), a.int(10)];
  const c = new Rng(123);
  c.setState(state);
  equal(JSON.stringify([c.uniform(), c.normal(), c.int(10)]), JSON.stringify(expected));
  const d = new Rng(8);
  equal(d.nextUint32() === new Rng(7).nextUint32(), false);
  // Between the two normals of a pair: reading the state (a checkpoint) does
  // not change the stream, and a restored generator continues it.
  const e = new Rng(5), f = new Rng(5);
  e.normal(), f.normal();
  const mid = f.getState();
  const g = new Rng(0);
  g.setState(JSON.parse(JSON.stringify(mid)));
  const next = [e.normal(), e.normal()];
  deepEqual([f.normal(), f.normal()], next);
  deepEqual([g.normal(), g.normal()], next);
});

Deno.test("Rng: shuffle is a seeded permutation", () => {
  const s1 = new Rng(3).shuffle([...Array(20).keys()]);
  const s2 = new Rng(3).shuffle([...Array(20).keys()]);
  equal(s1.join(), s2.join());
  equal([...s1].sort((x, y) => x - y).join(), [...Array(20).keys()].join());
});
