/**
 * Rendering a run's probe audio, run by the board in a child process (so the
 * server stays responsive and a crash stays contained): for each held-out
 * utterance the diagnostics probe uses (`probeSelection`, the same choice as
 * training), the input, its Griffin-Lim resynthesis (the ceiling of what any
 * conversion can sound like) and its conversion to each probe target, from
 * the run's checkpoint, as 16-bit WAVs plus a `manifest.json`.
 *
 * Progress goes to stdout as one JSON object per line
 * (`{"done":3,"total":12,"step":"u1 to speaker=s2"}`); the last error to
 * stderr as one line.
 *
 * @module
 */

import { join } from "node:path";
import { initBackend } from "../backend/init.ts";
import type { BackendName } from "../backend/init.ts";
import { readAudioFile } from "../data/decode.ts";
import { toWaveform } from "../data/griffin_lim.ts";
import { resample } from "../data/resample.ts";
import { writeWavFile } from "../data/wav.ts";
import { convertUtterance } from "../eval/convert.ts";
import type { GeneratorFn } from "../eval/diagnostics/measures.ts";
import { loadRunGenerator } from "../runs/load_run.ts";
import { probeSelection } from "../eval/diagnostics/probe.ts";
import { loadExperimentData } from "../runs/trainer.ts";

/** One utterance of a rendered `manifest.json`. */
export interface AudioUtterance {
  /** The utterance's source attribute, e.g. `speaker=s1`. */
  source: string;
  /** The audio file's name in the corpus. */
  file: string;
  /** The input, resampled to the run's rate. */
  input: string;
  /** Its Griffin-Lim resynthesis (no generator). */
  griffinLim: string;
  /** Each target's conversion. */
  conversions: { target: string; file: string }[];
}

/** What `manifest.json` in a rendered audio folder holds. */
export interface AudioManifest {
  /** The checkpoint's iteration. */
  iteration: number;
  /** Sample rate of the WAVs. */
  sampleRate: number;
  /** Griffin-Lim iterations used. */
  griffinLimIterations: number;
  /** The utterances. */
  utterances: AudioUtterance[];
}

/** Options for {@linkcode renderProbeAudio}. */
export interface RenderProbeAudioOptions {
  /**
   * Griffin-Lim iterations.
   * @default {60}
   */
  iterations?: number;
  /** Called after each file with the count done, the total and what was done. */
  onProgress?: (done: number, total: number, step: string) => void;
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._=-]+/g, "_");

/**
 * Render the probe audio of the run in `runDir` into `outDir` (created);
 * `manifest.json` is written last. Needs an initialized tfjs backend.
 */
export async function renderProbeAudio(
  runDir: string,
  outDir: string,
  options: RenderProbeAudioOptions = {},
): Promise<AudioManifest> {
  options.onProgress?.(0, 0, "loading the checkpoint and the data");
  const run = await loadRunGenerator(runDir, { progress: false, log: () => {} });
  try {
    const { features } = run;
    const dataset = await loadExperimentData(run.experiment, { progress: false });
    const probe = probeSelection(dataset);
    const total = probe.held.length * (2 + probe.targetValues.length);
    let done = 0;
    const tick = (step: string) => options.onProgress?.(++done, total, step);
    options.onProgress?.(0, total, "loaded the checkpoint and the probe");
    await Deno.mkdir(outDir, { recursive: true });
    const iterations = options.iterations ?? 60;
    const generator: GeneratorFn = (x, c) => run.generator.apply(x, c, { training: false });
    const utterances: AudioUtterance[] = [];
    for (const [i, item] of probe.held.entries()) {
      const source = `${probe.attribute}=${item.values[probe.attribute]}`;
      const u = `u${i}_${safe(String(item.values[probe.attribute]))}`;
      let audio = await readAudioFile(item.path);
      if (audio.sampleRate !== features.sampleRate) {
        audio = await resample(audio, features.sampleRate, { quality: features.resampleQuality });
      }
      const input = `${u}_input.wav`;
      await writeWavFile(join(outDir, input), audio);
      tick(`${u} input`);
      const spec = item.spectrogram();
      const griffinLim = `${u}_griffinlim.wav`;
      const length = audio.samples.length;
      await writeWavFile(join(outDir, griffinLim), {
        samples: toWaveform(spec, features, { iterations, length }),
        sampleRate: features.sampleRate,
      });
      tick(`${u} Griffin-Lim`);
      const conversions: AudioUtterance["conversions"] = [];
      for (const [t, value] of probe.targetValues.entries()) {
        const converted = convertUtterance(
          generator,
          { spectrogram: spec, labels: probe.targetLabels[t]! },
          { width: features.segmentFrames },
        );
        const file = `${u}_to_${safe(value)}.wav`;
        await writeWavFile(join(outDir, file), {
          samples: toWaveform(converted, features, { iterations, length }),
          sampleRate: features.sampleRate,
        });
        conversions.push({ target: `${probe.attribute}=${value}`, file });
        tick(`${u} to ${probe.attribute}=${value}`);
      }
      utterances.push({
        source,
        file: item.path.split(/[\\/]/).pop()!,
        input,
        griffinLim,
        conversions,
      });
    }
    const manifest: AudioManifest = {
      iteration: run.iteration,
      sampleRate: features.sampleRate,
      griffinLimIterations: iterations,
      utterances,
    };
    await Deno.writeTextFile(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    run.generator.dispose();
  }
}

if (import.meta.main) {
  const [runDir, outDir, backend = "auto"] = Deno.args;
  if (!runDir || !outDir) {
    console.error("usage: render_audio.ts <run dir> <out dir> [backend]");
    Deno.exit(2);
  }
  try {
    await initBackend({ backend: backend as BackendName, quiet: true });
    await renderProbeAudio(runDir, outDir, {
      onProgress: (done, total, step) => console.log(JSON.stringify({ done, total, step })),
    });
  } catch (e) {
    console.error((e instanceof Error ? e.message : String(e)).split("\n")[0]);
    Deno.exit(1);
  }
}
