/**
 * Run records: `report.md` in the seed's form (YAML front matter, the model
 * and training graphs as mermaid diagrams, the parameters, the training time,
 * the final metrics and sample images), rendered from a run directory.
 *
 * @module
 */
import { YAML } from "../deps.ts";
import {
  criticTrainingDiagram,
  discriminatorDiagram,
  generatorDiagram,
  generatorTrainingDiagram,
  type LayerInfo,
} from "./mermaid.ts";
import type { Experiment, OptimizerSpec, ScheduleSpec, TermSpec } from "../experiment/types.ts";
import type { MetricsRecord } from "../train/metrics.ts";
import { liveStatus } from "./live_status.ts";

/** The run's status: still running, or why it stopped. */
export type RunStatus =
  | "running"
  | "completed"
  | "max-steps"
  | "max-time"
  | "signal"
  | "non-finite"
  | "failed";

/** A run's status now: `run.json`'s, or `dead` for a `running` run whose process is gone (`liveStatus`). */
export type LiveStatus = RunStatus | "dead";

/** What `run.json` in a run directory holds. */
export interface RunInfo {
  /** Experiment id. */
  experiment: string;
  /** Config hash of the resolved experiment (see `configHash`). */
  configHash: string;
  /** Status. */
  status: RunStatus;
  /** One line on how it ended (e.g. which term went NaN), or `""`. */
  statusMessage: string;
  /** Start time, ISO 8601. */
  started: string;
  /** End time of the last invocation, ISO 8601, or `null` while running. */
  ended: string | null;
  /** Iterations done. */
  iteration: number;
  /** Iterations of the full run. */
  totalIterations: number;
  /** Iterations per epoch. */
  itersPerEpoch: number;
  /** Training seconds (across resumes). */
  elapsedSeconds: number;
  /** tfjs backend and threads. */
  backend: { name: string; threads: number };
  /** The data as the run saw it. */
  data: {
    summary: string;
    nIn: number;
    nOut: number;
    height: number;
    width: number;
    /**
     * The split by sentence (`data.split`): held-out sentence keys and the
     * utterances on each side; absent in runs from before the split.
     */
    split?: { heldOut: number; seed: number; keys: string[]; train: number; test: number };
    /** `data.pairs.differentAttribute` (absent in runs from before the field). */
    pairsDifferIn?: string | null;
  };
  /** How often the run was resumed. */
  resumes: number;
  /** Trainable parameters of each model. */
  params: { generator: number; discriminator: number };
  /** The training process's id (absent in runs written before it was recorded). */
  pid?: number;
  /** The host it runs on (with `pid`, tells a live run from a dead one). */
  host?: string;
}

/** Everything {@linkcode renderReport} draws on. */
export interface ReportInput {
  /** The resolved experiment (`config.yaml`). */
  experiment: Experiment;
  /** The run's `run.json`. */
  info: RunInfo;
  /** The generator's `describe()` listing. */
  generator: LayerInfo[];
  /** The discriminator's `describe()` listing. */
  discriminator: LayerInfo[];
  /** Records of `metrics.jsonl`. */
  metrics: MetricsRecord[];
  /** Images to embed, paths relative to the run directory, with captions. */
  images: { path: string; caption: string }[];
  /**
   * Further Markdown sections (e.g. diagnostics), placed after the results
   * and before the configuration.
   * @default {[]}
   */
  sections?: string[];
}

/** ` (iterations a–b)` for a term that is on only part of the time, else `""`. */
export function termRange(t: TermSpec): string {
  if (t.from === undefined && t.until === undefined) return "";
  return ` (iterations ${t.from ?? 0}–${t.until ?? "end"})`;
}

function day(iso: string | null): string | null {
  return iso ? iso.slice(0, 10) : null;
}

/** A factor like 0.316… written as `10<sup>-0.5</sup>` when it is a round power of ten. */
function factorText(f: number): string {
  const e = Math.log10(f);
  const r = Math.round(e * 100) / 100;
  return Math.abs(e - r) < 1e-9 && !Number.isInteger(f) ? `10<sup>${r}</sup>` : String(f);
}

function scheduleText(s: ScheduleSpec): string {
  switch (s.kind) {
    case "constant":
      return "constant";
    case "step":
      return `multiplied by ${factorText(s.factor)} every ${s.every} ${s.unit}`;
    case "linear":
      return `linear from ${s.unit} ${s.start} to ${s.end}, down to ×${s.final}`;
  }
}

function optimizerText(o: OptimizerSpec): string {
  return o.kind === "rmsprop"
    ? `RMSprop (alpha ${o.alpha}, eps ${o.eps})`
    : `Adam (beta1 ${o.beta1}, beta2 ${o.alpha}, eps ${o.eps})`;
}

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) {
    return v.toExponential(3).replace(/\.?0+e/, "e").replace("e+", "e");
  }
  return String(Number(v.toPrecision(4)));
}

/** Final value and mean of the last tenth (1…100 iterations) of each term. */
export function finalMetrics(
  metrics: MetricsRecord[],
): { term: string; last: number; mean: number; window: number }[] {
  if (metrics.length === 0) return [];
  const window = Math.max(1, Math.min(100, Math.round(metrics.length / 10)));
  const tail = metrics.slice(-window);
  const last = metrics.at(-1)!;
  const names = [...new Set(metrics.flatMap((m) => Object.keys(m.terms)))];
  return names.map((term) => {
    const values = tail.map((m) => m.terms[term]).filter((v): v is number => v !== undefined);
    const mean = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
    return { term, last: last.terms[term] ?? NaN, mean, window };
  });
}

const STATUS_TEXT: Record<LiveStatus, string> = {
  running: "running",
  dead: "dead: its process ended without recording how (killed, or its terminal closed); " +
    "--resume continues from the last checkpoint",
  completed: "completed",
  "max-steps": "stopped at --max-steps",
  "max-time": "stopped at --max-time",
  signal: "stopped by a signal",
  "non-finite": "stopped: a loss was not finite",
  failed: "failed (the last checkpoint is kept; resume once the cause is fixed)",
};

/**
 * Render `report.md` in the seed's form.
 *
 * Sections: front matter (title, date, closed_at, tags, experiment, base,
 * config hash), the note, the models (mermaid from `describe()`), the
 * training (mermaid from the loss wiring), the parameters, the results
 * (training time, final metrics, images) and the resolved configuration.
 */
export function renderReport(input: ReportInput): string {
  const { experiment: exp, info } = input;
  const status = liveStatus(info);
  const closed = status !== "running" && status !== "dead";
  const front = YAML.stringify({
    title: `Experiment record ${exp.meta.id}`,
    date: day(info.started),
    closed_at: closed ? day(info.ended) : null,
    tags: [...new Set([...exp.meta.tags, closed ? "closed" : status, status])],
    experiment: exp.meta.id,
    base: exp.meta.base,
    config_hash: info.configHash,
  }, { lineWidth: 0 }).trimEnd();
  const sizes = {
    input: [info.data.height, info.data.width, 1],
    nIn: info.data.nIn,
    nOut: info.data.nOut,
  };
  const g = exp.optimizers.generator, d = exp.optimizers.discriminator;
  const sameOpt = JSON.stringify(g) === JSON.stringify(d);
  const optLines = sameOpt
    ? [
      `*   optimizer: ${optimizerText(g)}`,
      "",
      `*   learning rate: ${num(g.lr)}`,
      "",
      `    *   ${scheduleText(g.schedule)}.`,
    ]
    : [
      `*   generator optimizer: ${optimizerText(g)}, learning rate ${num(g.lr)}, ${
        scheduleText(g.schedule)
      }`,
      "",
      `*   discriminator optimizer: ${optimizerText(d)}, learning rate ${num(d.lr)}, ${
        scheduleText(d.schedule)
      }`,
    ];
  const terms = (rec: Record<string, TermSpec>) =>
    Object.entries(rec).map(([k, v]) => `${k} ×${v.weight}${termRange(v)}`).join(", ") ||
    "(none)";
  // metrics.jsonl is written every iteration, run.json at each checkpoint:
  // a run killed between them has done more than run.json says.
  const done = Math.max(info.iteration, input.metrics.at(-1)?.iteration ?? 0);
  const hours = Math.max(info.elapsedSeconds, input.metrics.at(-1)?.elapsed ?? 0) / 3600;
  const final = finalMetrics(input.metrics);
  const lines = [
    "---",
    front,
    "---",
    "",
    `# ${exp.meta.title}`,
    "",
    exp.meta.note,
    "",
    exp.meta.base ? `Derived from experiment ${exp.meta.base}.` : "",
    "",
    "## Model",
    "",
    "### Discriminator",
    "",
    "```mermaid",
    discriminatorDiagram(input.discriminator),
    "```",
    "",
    `Trainable parameters: ${info.params.discriminator.toLocaleString("en-US")}.`,
    "",
    "### Generator",
    "",
    "```mermaid",
    generatorDiagram(input.generator, { nIn: info.data.nIn }),
    "```",
    "",
    `Trainable parameters: ${info.params.generator.toLocaleString("en-US")}.`,
    "",
    "## Training",
    "",
    `One iteration is ${exp.trainer.nCritic} discriminator updates followed by 1 generator update.`,
    "",
    "### Discriminator training",
    "",
    `Terms: ${terms(exp.losses.critic)}.`,
    "",
    "```mermaid",
    criticTrainingDiagram(exp.losses, sizes),
    "```",
    "",
    "### Generator training",
    "",
    `Terms: ${terms(exp.losses.generator)}.`,
    "",
    "```mermaid",
    generatorTrainingDiagram(exp.losses, sizes),
    "```",
    "",
    "## Parameters",
    "",
    ...optLines,
    "",
    `*   minibatch size: ${exp.trainer.batchSize}`,
    "",
    `*   epoch: ${exp.trainer.epochs} (${info.itersPerEpoch} iterations each)`,
    "",
    `*   adversarial objective: ${exp.losses.adversarial}`,
    "",
    `*   seed: ${exp.trainer.seed}`,
    "",
    `*   data: ${info.data.summary}; spectrograms ${info.data.height} × ${info.data.width}, ` +
    `${info.data.nIn} input labels, ${info.data.nOut} output labels`,
    "",
    `*   held-out sentences (data.split ${exp.data.split.heldOut}, seed ${exp.data.split.seed}): ${
      info.data.split
        ? `${
          info.data.split.keys.join(", ") || "none"
        } (${info.data.split.train} training, ${info.data.split.test} held-out utterances)`
        : "not recorded (a run from before the split)"
    }`,
    "",
    `*   pairs: ${
      exp.data.pairs.differentAttribute === null
        ? "B is any other utterance"
        : `B always differs from A in ${exp.data.pairs.differentAttribute}`
    } (data.pairs.differentAttribute)`,
    "",
    "## Results",
    "",
    `Training time: ${hours.toFixed(2)} hours (${Math.round(hours * 3600)} s) on ` +
    `${info.backend.name} with ${info.backend.threads} thread(s).`,
    "",
    `Iterations: ${done} of ${info.totalIterations} (${
      Math.floor(done / info.itersPerEpoch)
    } of ${exp.trainer.epochs} epochs completed${
      done > info.iteration
        ? info.iteration > 0
          ? `; the last checkpoint is at iteration ${info.iteration}`
          : "; no checkpoint was written"
        : ""
    }); ${STATUS_TEXT[status]}` +
    (info.statusMessage ? `: ${info.statusMessage}` : "") +
    (info.resumes ? `; resumed ${info.resumes} time(s)` : "") + ".",
    "",
  ];
  if (final.length > 0) {
    lines.push(
      `### Final metrics`,
      "",
      `| term | last | mean of the last ${final[0]!.window} |`,
      "|---|---|---|",
      ...final.map((m) => `| ${m.term} | ${num(m.last)} | ${num(m.mean)} |`),
      "",
    );
  }
  if (input.images.length > 0) {
    lines.push("### Images", "");
    for (const img of input.images) {
      lines.push(`![${img.caption}](${img.path})`, "", img.caption, "");
    }
  }
  for (const section of input.sections ?? []) lines.push(section.trim(), "");
  lines.push(
    "## Configuration",
    "",
    "<details><summary>config.yaml</summary>",
    "",
    "```yaml",
    YAML.stringify(exp, { lineWidth: 0 }).trimEnd(),
    "```",
    "",
    "</details>",
    "",
  );
  return lines.join("\n").replace(/\n{3,}/g, "\n\n");
}
