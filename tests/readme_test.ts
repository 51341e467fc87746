/**
 * The README's code as a reader would copy it: every `ts` block runs (those
 * marked `<!-- test: NAME -->` in the test named after them, the rest here,
 * as scripts outside the repository), and every `deno task` command in a
 * `sh` block names a task of deno.json and only flags its `--help` lists.
 */
import { equal, ok } from "node:assert/strict";
import { captured } from "./capture.ts";

const repo = new URL("../", import.meta.url);
const readme = await Deno.readTextFile(new URL("README.md", repo));

/** A fenced code block of the README. */
interface Block {
  lang: string;
  code: string;
  /** The name in a `<!-- test: NAME -->` line just before it, if any. */
  test: string | null;
  /** 1-based line of the opening fence. */
  line: number;
}

function blocks(text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i]!.match(/^```(\w*)$/);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    let j = start - 1;
    while (j >= 0 && lines[j]!.trim() === "") j--;
    const marker = j >= 0 ? lines[j]!.match(/^<!-- test: ([\w-]+) -->$/) : null;
    out.push({ lang: open[1]!, code: body.join("\n"), test: marker?.[1] ?? null, line: start + 1 });
  }
  return out;
}

/** Blocks marked for a test elsewhere, and where that test is. */
const ELSEWHERE: Record<string, string> = {
  ablation: "tests/train_test.ts",
  adhoc: "tests/train_test.ts",
};

Deno.test("README: every ts block is run by a test", async () => {
  const ts = blocks(readme).filter((b) => b.lang === "ts");
  ok(ts.length >= 4, `only ${ts.length} ts blocks found`);
  const dir = await Deno.makeTempDir({ prefix: "voxlab-readme-" });
  try {
    for (const block of ts) {
      if (block.test !== null) {
        const file = ELSEWHERE[block.test];
        ok(file, `README line ${block.line}: no test is named '${block.test}'`);
        const source = await Deno.readTextFile(new URL(file, repo));
        ok(
          source.includes(`readmeBlock("${block.test}")`),
          `${file} does not run the README's '${block.test}' block`,
        );
        continue;
      }
      // A script anywhere imports voxlab by path, as the README says.
      const code = block.code.replaceAll(
        '"./mod.ts"',
        JSON.stringify(new URL("mod.ts", repo).href),
      );
      await Deno.writeTextFile(`${dir}/block.ts`, code);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", "--quiet", "block.ts"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      equal(out.code, 0, `README line ${block.line}: the block fails:\n${err}`);
      ok(!/\n\s+at /.test(err), `README line ${block.line}: a stack trace:\n${err}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README: every deno task command names a task and flags its --help lists", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", repo)));
  const tasks = new Set(Object.keys(config.tasks));
  const usage = new Map<string, string>();
  let checked = 0;
  for (const block of blocks(readme).filter((b) => b.lang === "sh")) {
    for (const raw of block.code.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "");
      const m = line.match(/^\s*deno task ([\w:-]+)(.*)$/);
      if (!m) continue;
      const [, name, rest] = m as unknown as [string, string, string];
      ok(tasks.has(name), `README line ${block.line}: 'deno task ${name}' is not in deno.json`);
      const flags = [...rest.matchAll(/(?:^|\s)(--[\w-]+)/g)].map((f) => f[1]!);
      if (flags.length === 0) continue;
      if (!usage.has(name)) {
        const file = new URL(`tasks/${name}.ts`, repo);
        const { main } = await import(file.href);
        const help = await captured(() => main(["--help"]));
        usage.set(name, help.out + help.err);
      }
      for (const flag of flags) {
        ok(
          new RegExp(`${flag}(?![\\w-])`).test(usage.get(name)!),
          `README line ${block.line}: 'deno task ${name}' has no flag ${flag}`,
        );
        checked++;
      }
    }
  }
  ok(checked >= 10, `only ${checked} flags checked`);
});
