import { equal, match } from "node:assert/strict";
import { npmWrapperAncestor, npmWrapperNotice } from "../tasks/npm_wrapper.ts";

/** A fake /proc: pid → [parent pid, argv]. */
async function fakeProc(tree: Record<number, [number, string[]]>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "voxlab-proc-" });
  for (const [pid, [ppid, argv]] of Object.entries(tree)) {
    await Deno.mkdir(`${root}/${pid}`);
    await Deno.writeTextFile(`${root}/${pid}/cmdline`, argv.join("\0") + "\0");
    await Deno.writeTextFile(`${root}/${pid}/stat`, `${pid} (a (b) c) S ${ppid} ${pid} 0 0`);
  }
  return root;
}

Deno.test("npmWrapperAncestor: finds node running deno/bin.cjs among the ancestors, and only that", async () => {
  const root = await fakeProc({
    30: [20, ["/usr/bin/deno", "task", "train"]],
    20: [10, ["node", "/usr/lib/node_modules/deno/bin.cjs", "task", "train"]],
    10: [1, ["-bash"]],
    31: [21, ["/usr/bin/deno", "task", "train"]],
    21: [11, ["/usr/bin/node", "/srv/app/server.js"]],
    11: [1, ["bash"]],
    32: [22, ["deno", "task", "train"]],
    22: [1, ["/opt/node/bin/node", "--no-warnings", "./node_modules/deno/bin.cjs"]],
  });
  try {
    equal(npmWrapperAncestor({ procRoot: root, pid: 30 }), "/usr/lib/node_modules/deno/bin.cjs");
    equal(npmWrapperAncestor({ procRoot: root, pid: 31 }), null);
    equal(npmWrapperAncestor({ procRoot: root, pid: 32 }), "./node_modules/deno/bin.cjs");
    equal(npmWrapperAncestor({ procRoot: root, pid: 30, depth: 1 }), null);
    equal(npmWrapperAncestor({ procRoot: root, pid: 99 }), null);
    match(
      npmWrapperNotice({ procRoot: root, pid: 30 })!,
      /^voxlab: note: deno runs through npm's Node wrapper \(\/usr\/lib\/node_modules\/deno\/bin\.cjs\), so Ctrl-C .*'npm rebuild deno'/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

const node = await new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" })
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "npmWrapperNotice: a real node wrapper two generations up is found through /proc",
  ignore: !node || Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "voxlab-npmwrap-" });
    try {
      // The npm package's bin.cjs, reduced to what matters: spawnSync, stdio inherited.
      await Deno.mkdir(`${dir}/node_modules/deno`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/node_modules/deno/bin.cjs`,
        `const r = require("child_process").spawnSync(${JSON.stringify(Deno.execPath())}, ` +
          `process.argv.slice(2), { stdio: "inherit" }); process.exit(r.status ?? 1);`,
      );
      await Deno.writeTextFile(
        `${dir}/probe.ts`,
        `import { npmWrapperNotice } from ${
          JSON.stringify(new URL("../tasks/npm_wrapper.ts", import.meta.url).href)
        };\nconsole.log(npmWrapperNotice() ?? "none");\n`,
      );
      // node → deno (as `deno task` would be) → sh → deno running the probe.
      const out = await new Deno.Command("node", {
        args: [
          `${dir}/node_modules/deno/bin.cjs`,
          "eval",
          `await new Deno.Command("sh", { args: ["-c", ${
            JSON.stringify(`'${Deno.execPath()}' run -A --no-config ${dir}/probe.ts`)
          }], stdout: "inherit" }).output();`,
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      match(
        text,
        /deno runs through npm's Node wrapper \(.*node_modules\/deno\/bin\.cjs\)/,
        new TextDecoder().decode(out.stderr),
      );
      const direct = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", `${dir}/probe.ts`],
        stdout: "piped",
      }).output();
      equal(new TextDecoder().decode(direct.stdout), "none\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
