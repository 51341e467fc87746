/**
 * End-to-end: the board in a real headless Chromium (Debian's `chromium`),
 * driven with playwright-core over a tiny trained run. Skipped without
 * chromium, unless VOXLAB_REQUIRE_CHROMIUM=1 (CI), where it fails instead.
 * Screenshots go to a temp dir, removed afterwards; with
 * VOXLAB_BOARD_SCREENSHOTS=docs the temp dir is kept (its path is printed) and
 * the run page's screenshot is copied to docs/board.png for the README.
 */
import { equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../mod.ts";
import { serveBoard } from "../lib/board/server.ts";
import { main as trainMain } from "../tasks/train.ts";
import { captured } from "./capture.ts";
import { chromium } from "./deps.ts";
import { tinyTrainArgs, writeTinyCorpus } from "./tiny_corpus.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});
const required = Deno.env.get("VOXLAB_REQUIRE_CHROMIUM") === "1";
if (!CHROMIUM && !required) {
  console.error(
    "board e2e: skipped: no chromium (apt-get install chromium; CI sets VOXLAB_REQUIRE_CHROMIUM=1)",
  );
}

Deno.test({
  name: "board e2e: runs list, curves, mermaid report and probe audio in headless Chromium",
  ignore: !CHROMIUM && !required,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    ok(CHROMIUM, "VOXLAB_REQUIRE_CHROMIUM=1 but no chromium at /usr/bin/chromium");
    const started = performance.now();
    const top = await Deno.makeTempDir({ prefix: "voxlab-board-e2e-" });
    const root = join(top, "runs");
    const shotsEnv = Deno.env.get("VOXLAB_BOARD_SCREENSHOTS");
    const shots = join(top, "screenshots");
    await Deno.mkdir(shots, { recursive: true });
    const manifest = await writeTinyCorpus();
    const stop = new AbortController();
    let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | null = null;
    try {
      await initBackend({ backend: "cpu", quiet: true });
      for (const exp of ["47c97768", "9ada9179"]) {
        const args = tinyTrainArgs(manifest, ["--out", root, "--max-steps", "6"]);
        const r = await captured(() => trainMain([`experiments/${exp}.ts`, ...args]));
        equal(r.value, 0, r.err);
      }
      console.error(`board e2e: trained in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      const runId = `9ada9179/${[...Deno.readDirSync(join(root, "9ada9179"))][0]!.name}`;
      const url = await new Promise<string>((resolve) => {
        serveBoard(root, {
          port: 0,
          cacheDir: join(top, "cache"),
          backend: "cpu",
          signal: stop.signal,
          onListen: resolve,
        });
      });
      const profile = await Deno.makeTempDir({ dir: top, prefix: "profile-" }); // empty --user-data-dir
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1360, height: 1000 },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-quic",
        ],
      });
      const page = context.pages()[0] ?? await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));

      // The runs list.
      await page.goto(url);
      await page.waitForSelector("tr.run-row >> nth=1");
      const rows = await page.$$eval("tr.run-row", (trs) => trs.map((tr) => tr.textContent ?? ""));
      equal(rows.length, 2);
      ok(
        rows.some((r) => r.includes("9ada9179") && r.includes("losses.generator.identity")),
        rows[1],
      );
      ok(rows.every((r) => r.includes("finished")), rows.join("\n"));
      await page.screenshot({ path: join(shots, "board-runs.png") });

      // A run's page: curves drawn, the threshold labelled, mermaid rendered.
      await page.goto(`${url}#/run/${encodeURIComponent(runId)}`);
      const gTotal = '#loss-charts svg path.line[data-series="G.total"]';
      await page.waitForSelector(gTotal, { state: "attached" });
      const curve = await page.$eval(gTotal, (p) => p.getAttribute("d") ?? "");
      ok(curve.split("L").length >= 6, `a loss curve with a point per iteration: ${curve}`);
      await page.waitForSelector("#diagnostics-charts svg path.line", { state: "attached" });
      const labels = await page.$$eval(
        "#diagnostics-charts text",
        (ts) => ts.map((t) => t.textContent),
      );
      ok(labels.some((t) => t?.startsWith("collapse threshold 0.1")), labels.join("|"));
      await page.waitForSelector("#report svg g.node", { timeout: 20000 });
      const diagrams = await page.$$eval("#report pre.mermaid svg", (s) => s.length);
      ok(diagrams >= 2, `mermaid diagrams rendered: ${diagrams}`);

      // Audio: render on request, with progress, then a playable WAV.
      await page.click("#render-audio");
      await page.waitForSelector("#audio-progress, #audio-table", { timeout: 20000 });
      const sawProgress = await page.$("#audio-progress") !== null;
      await page.waitForSelector("#audio-table audio", { timeout: 60000 });
      ok(sawProgress, "a progress bar while the audio renders");
      // (Browser code as strings: these run in the page, not in Deno.)
      // Polled from here: page.waitForFunction polls with eval inside the page, which the
      // board's Content-Security-Policy (script-src 'self') refuses whenever the first check
      // fails; page.evaluate goes through the DevTools protocol, which the policy allows.
      const loaded = `(() => { const a = document.querySelector("#audio-table audio");
        return a !== null && a.readyState >= 1 && a.duration > 0; })()`;
      const deadline = Date.now() + 10000;
      while (!(await page.evaluate(loaded))) {
        if (Date.now() > deadline) {
          throw new Error("the first <audio> did not load its WAV in 10 s");
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const audio = await page.evaluate(`(async () => {
        const a = document.querySelector("#audio-table audio");
        const res = await fetch(a.src);
        return { duration: a.duration, type: res.headers.get("content-type"),
          players: document.querySelectorAll("#audio-table audio").length };
      })()`) as { duration: number; type: string; players: number };
      equal(audio.type, "audio/wav");
      ok(audio.duration > 0.3 && audio.duration < 0.5, `input of 0.4 s: ${audio.duration}`);
      ok(
        audio.players >= 2 * 5,
        `input, Griffin-Lim and 3 targets per utterance: ${audio.players}`,
      );
      await page.waitForSelector("#sample-image");

      // The ablate page reads an ablate.json (format: lib/board/ablate.ts).
      const baseId = `47c97768/${[...Deno.readDirSync(join(root, "47c97768"))][0]!.name}`;
      await Deno.writeTextFile(
        join(root, "ablate.json"),
        JSON.stringify({
          format: "voxlab-ablate/1",
          base: "47c97768",
          ablation: "9ada9179",
          seeds: [{ seed: 0, base: baseId, ablation: runId }],
          differences: [{ metric: "labelSensitivity", mean: -0.1, low: -0.3, high: 0.1, n: 1 }],
        }),
      );
      await page.goto(`${url}#/ablate/ablate.json`);
      await page.waitForSelector("#ablate-forest svg rect.mean", { state: "attached" });
      await page.waitForSelector("#ablate-curves svg path.line", { state: "attached" });
      await page.screenshot({ path: join(shots, "board-ablate.png") });
      await page.goto(`${url}#/run/${encodeURIComponent(runId)}`);
      await page.waitForSelector("#audio-table audio");
      await page.evaluate("scrollTo(0, 0)");
      // The README's picture: the run's head, curves, diagnostics and audio.
      await page.screenshot({
        path: join(shots, "board.png"),
        fullPage: true,
        clip: { x: 0, y: 0, width: 1360, height: 1760 },
      });
      await page.screenshot({ path: join(shots, "board-run-full.png"), fullPage: true });
      await (await page.$("#audio"))!.screenshot({ path: join(shots, "board-audio.png") });
      await (await page.$("#report pre.mermaid"))!.screenshot({
        path: join(shots, "board-mermaid.png"),
      });
      equal(errors.length, 0, errors.join("\n"));
      if (shotsEnv) {
        // The README's copy: VOXLAB_BOARD_SCREENSHOTS=docs writes docs/board.png.
        const dir = new URL(`../${shotsEnv}/`, import.meta.url).pathname;
        await Deno.mkdir(dir, { recursive: true });
        await Deno.copyFile(join(shots, "board.png"), join(dir, "board.png"));
      }
      console.error(
        `board e2e: screenshots in ${shots}; ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
      );
    } finally {
      await context?.close();
      stop.abort();
      if (!shotsEnv) await Deno.remove(top, { recursive: true }).catch(() => {});
      await Deno.remove(manifest.slice(0, manifest.lastIndexOf("/")), { recursive: true });
    }
  },
});
