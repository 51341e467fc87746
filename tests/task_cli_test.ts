import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { choiceFlag, intFlag, parseTaskArgs, runKnown, usageError } from "../tasks/cli.ts";
import { main as bench } from "../tasks/bench.ts";
import { main as compare } from "../tasks/compare.ts";
import { main as convert } from "../tasks/convert.ts";
import { main as data } from "../tasks/data.ts";
import { main as diff } from "../tasks/diff.ts";
import { main as report } from "../tasks/report.ts";
import { main as sweep } from "../tasks/sweep.ts";
import { main as train } from "../tasks/train.ts";
import { captured } from "./capture.ts";

const cli = {
  name: "demo",
  usage: "Usage: deno task demo <file> [--out DIR] [--n N]\n\n  --out DIR\n  --n N\n  --help",
  prefix: "demo: ",
  options: { out: { type: "string", default: "runs" }, n: { type: "string" } },
} as const;

Deno.test("parseTaskArgs: values and positionals, --help prints the usage, a bad flag is one line", async () => {
  const parsed = parseTaskArgs(["a.ts", "--n", "3"], cli);
  ok(typeof parsed !== "number");
  deepEqual(parsed.positionals, ["a.ts"]);
  equal(parsed.values.out, "runs");
  equal(parsed.values.n, "3");
  const help = await captured(() => Promise.resolve(parseTaskArgs(["--help"], cli)));
  equal(help.value, 0);
  equal(help.out, cli.usage + "\n");
  for (
    const [args, expected] of [
      [["--bogus"], "demo: Cannot parse arguments: Unknown option '--bogus'"],
      [["--n"], "demo: Cannot parse arguments: Option '--n <value>' argument missing"],
    ] as const
  ) {
    const r = await captured(() => Promise.resolve(parseTaskArgs([...args], cli)));
    equal(r.value, 1);
    equal(r.err, `${expected}; see 'deno task demo --help'\n`);
  }
  throws(
    () => parseTaskArgs([], { ...cli, usage: "Usage: deno task demo [--out DIR] [--help]" }),
    /^Error: Cannot parse the arguments of task 'demo': its usage does not list --n$/,
  );
  throws(
    () => parseTaskArgs([], { ...cli, usage: "Usage: deno task demo [--output DIR] [--n N]" }),
    /its usage does not list --out, --help$/,
  );
  const u = await captured(() => Promise.resolve(usageError(cli, "Cannot demo: no file")));
  equal(u.value, 1);
  equal(u.err, "demo: Cannot demo: no file; see 'deno task demo --help'\n");
});

Deno.test("intFlag and choiceFlag: values in range pass, others are RangeErrors naming the flag", () => {
  equal(intFlag("--n", "4"), 4);
  equal(intFlag("--threads", "0", 0), 0);
  for (const text of ["0", "-1", "2.5", "x", "", " "]) {
    throws(
      () => intFlag("--n", text),
      (e: unknown) =>
        e instanceof RangeError && e.message === `Invalid --n '${text}': expected an integer >= 1`,
    );
  }
  equal(choiceFlag("--backend", "cpu", ["cpu", "wasm"]), "cpu");
  throws(
    () => choiceFlag("--backend", "gpu", ["cpu", "wasm"]),
    /^RangeError: Invalid --backend 'gpu': expected one of cpu, wasm$/,
  );
});

Deno.test("runKnown: a known error is one line and exit 1, an unknown one is rethrown", async () => {
  const known = await captured(() =>
    runKnown([RangeError], () => {
      throw new RangeError("Invalid --n 'x': expected an integer >= 1");
    }, { prefix: "demo: " })
  );
  equal(known.value, 1);
  equal(known.err, "demo: Invalid --n 'x': expected an integer >= 1\n");
  equal(await runKnown([RangeError], () => Promise.resolve(7)), 7);
  await rejects(
    runKnown([RangeError], () => {
      throw new TypeError("a bug");
    }),
    TypeError,
  );
});

Deno.test("every task: --help exits 0 with the usage, --bogus is one line and exit 1", async () => {
  const tasks = { bench, compare, convert, data, diff, report, sweep, train };
  for (const [name, main] of Object.entries(tasks)) {
    const help = await captured(() => main(["--help"]));
    equal(help.value, 0, name);
    match(help.out, /^Usage:/, name);
    match(help.out, /^ {2}--help +show this help$/m, name);
    const bad = await captured(() => main(["--bogus"]));
    equal(bad.value, 1, name);
    match(bad.err, /^[a-z]*:? ?Cannot parse arguments: Unknown option '--bogus'; see /, name);
    equal(bad.err.split("\n").length, 2, `${name}: ${bad.err}`);
  }
});

Deno.test("tasks run from a subdirectory take the user's paths from INIT_CWD", async () => {
  const saved = Deno.env.get("INIT_CWD");
  Deno.env.set("INIT_CWD", `${Deno.cwd()}/experiments`);
  try {
    // As `cd experiments && deno task diff 47c97768.ts 9ada9179.ts`.
    const out = await captured(() => diff(["47c97768.ts", "9ada9179.ts"]));
    equal(out.value, 0, out.err);
    match(out.out, /^losses\.generator\.identity: /);
    // The other tasks resolve what the user typed the same way.
    const here = `${Deno.cwd()}/experiments/no-such-run`;
    for (
      const [name, run] of [
        ["compare", () => compare(["no-such-run"])],
        ["convert", () => convert(["no-such-run", "--input", "no-such-run", "--target", "a=b"])],
        ["data", () => data(["prepare", "no-such-run"])],
      ] as const
    ) {
      const r = await captured(run);
      equal(r.value, 1, name);
      ok(r.err.includes(here), `${name}: ${r.err}`);
    }
  } finally {
    if (saved === undefined) Deno.env.delete("INIT_CWD");
    else Deno.env.set("INIT_CWD", saved);
  }
});
