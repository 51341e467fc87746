/**
 * Mermaid diagrams for run records, in the seed's style: the generator and
 * discriminator drawn from the model's own `describe()` listing, and the
 * training graphs drawn from the experiment's loss wiring (only the terms it
 * has, with their weights).
 *
 * @module
 */
import type { LossSpec, TermSpec } from "../experiment/types.ts";

/** One layer of a model's `describe()` listing (as `lib/model` returns it). */
export interface LayerInfo {
  /** Stage name, e.g. `down2`, `res3`, `labels`, `adv`. */
  name: string;
  /** The stage in the seed's notation, e.g. `conv n64 k4 s2 p1, BN, ReLU`. */
  op: string;
  /** Per-sample output shape `[H, W, C]`. */
  outputShape: [number, number, number];
  /** Trainable scalars. */
  params: number;
}

/** `C x H x W`, the seed's way of writing a shape. */
function chw(shape: readonly number[]): string {
  const [h, w, c] = shape;
  return `${c} x ${h} x ${w}`;
}

const OP_NAMES: Record<string, string> = {
  conv: "Convolution",
  deconv: "Deconvolution",
  ResBlock: "ResBlock",
};

/**
 * A layer's node text in the seed's form, e.g.
 * `Convolution<br/>n: 32, k: 7, stride: 1, pad: 3<br/>BatchNormalization<br/>ReLU`.
 *
 * @example
 * ```ts
 * import { layerLabel } from "./mermaid.ts";
 * console.assert(layerLabel("deconv n1 k7 s1 p3, sigmoid") ===
 *   "Deconvolution<br/>n: 1, k: 7, stride: 1, pad: 3<br/>sigmoid");
 * ```
 */
export function layerLabel(op: string): string {
  const [head = "", ...rest] = op.split(",").map((s) => s.trim());
  const m = head.match(/^(conv|deconv|ResBlock) n(\d+) k([\d×]+) s(\d+) p(\d+)$/);
  const first = m
    ? `${OP_NAMES[m[1]!]}<br/>n: ${m[2]}, k: ${m[3]}, stride: ${m[4]}, pad: ${m[5]}`
    : head;
  const tail = rest.map((s) => (s === "BN" ? "BatchNormalization" : s));
  return [first, ...tail].join("<br/>").replaceAll('"', "'");
}

const GROUPS: [RegExp, string][] = [
  [/^down\d+$/, "Downsampling"],
  [/^res\d+$/, "Bottleneck"],
  [/^up\d+$/, "Upsampling"],
  [/^conv\d+$/, "Convolutions"],
];

function groupOf(name: string): string | null {
  for (const [re, group] of GROUPS) if (re.test(name)) return group;
  return null;
}

/** Emit nodes, wrapping consecutive members of a group in a subgraph. */
function nodes(layers: LayerInfo[], node: (l: LayerInfo) => string): string[] {
  const out: string[] = [];
  let open: string | null = null;
  for (const l of layers) {
    const group = groupOf(l.name);
    if (group !== open) {
      if (open) out.push("end", "");
      if (group) out.push(`subgraph ${group}`);
      open = group;
    }
    out.push(open ? `    ${node(l)}` : node(l));
  }
  if (open) out.push("end");
  return out;
}

/**
 * The generator as a mermaid `graph TD`, from its `describe()` listing: the
 * inputs, each stage with its operation, the label tiling and concatenation,
 * and every edge labelled with the shape that flows along it.
 *
 * @example
 * ```ts
 * import { generatorDiagram } from "./mermaid.ts";
 * const text = generatorDiagram([
 *   { name: "input", op: "spectrogram", outputShape: [8, 8, 1], params: 0 },
 *   { name: "down1", op: "conv n4 k3 s2 p1, BN, ReLU", outputShape: [4, 4, 4], params: 44 },
 *   { name: "labels", op: "tile, concat", outputShape: [4, 4, 7], params: 0 },
 *   { name: "up1", op: "deconv n1 k4 s2 p1, sigmoid", outputShape: [8, 8, 1], params: 113 },
 * ], { nIn: 3 });
 * console.assert(text.includes("concat --> | 7 x 4 x 4 | up1"));
 * ```
 */
export function generatorDiagram(layers: LayerInfo[], labels: { nIn: number }): string {
  const input = layers.find((l) => l.name === "input");
  const stages = layers.filter((l) => l.name !== "input");
  const last = stages.at(-1);
  if (!input || !last) throw new RangeError("Cannot draw the generator: its listing has no stages");
  const lines = ["graph TD", "", "subgraph Input"];
  lines.push(
    `    input-spectrogram("&laquo;Input&raquo;<br/>Spectrogram<br/>${
      chw(input.outputShape)
    }<br/>[0, 1]")`,
    `    input-labels("&laquo;Input&raquo;<br/>Labels<sub>input</sub><br/>${labels.nIn}<br/>{0, 1}")`,
    "end",
    "",
  );
  const edges: string[] = [];
  let prev = "input-spectrogram";
  let prevShape: readonly number[] | null = null;
  const link = (to: string) => {
    edges.push(prevShape ? `${prev} --> | ${chw(prevShape)} | ${to}` : `${prev} --> ${to}`);
  };
  lines.push(
    ...nodes(stages, (l) => {
      if (l.name === "labels") {
        const [h, w] = l.outputShape;
        return `repeat((repeat<br/>${h} x ${w}))\nconcat((concat))`;
      }
      return `${l.name}[${layerLabel(l.op)}]`;
    }),
  );
  for (const l of stages) {
    if (l.name === "labels") {
      link("concat");
      const [h, w] = l.outputShape;
      edges.push(
        "",
        "input-labels --> repeat",
        `repeat --> | ${labels.nIn} x ${h} x ${w} | concat`,
      );
      prev = "concat";
    } else {
      link(l.name);
      prev = l.name;
    }
    prevShape = l.outputShape;
  }
  lines.push(
    "",
    `output("&laquo;Output&raquo;<br/>Spectrogram<br/>${chw(last.outputShape)}<br/>(0, 1)")`,
    "",
  );
  edges.push(`${prev} --> output`);
  return [...lines, ...edges].join("\n");
}

/**
 * The discriminator as a mermaid `graph TD`, from its `describe()` listing:
 * the convolution trunk, the adversarial and classification heads, and the
 * feature map used for feature matching.
 */
export function discriminatorDiagram(layers: LayerInfo[]): string {
  const input = layers.find((l) => l.name === "input");
  const trunk = layers.filter((l) => /^conv\d+$/.test(l.name));
  const heads = layers.filter((l) => l.name === "adv" || l.name === "cls");
  if (!input || trunk.length === 0) {
    throw new RangeError("Cannot draw the discriminator: its listing has no convolutions");
  }
  const lines = [
    "graph TD",
    "",
    `input-spectrogram("&laquo;Input&raquo;<br/>Spectrogram<br/>${
      chw(input.outputShape)
    }<br/>[0, 1]")`,
    "",
    ...nodes(trunk, (l) => `${l.name}[${layerLabel(l.op.replace(/ \(features\)$/, ""))}]`),
    "",
  ];
  const edges: string[] = [];
  let prev = "input-spectrogram";
  let prevShape: readonly number[] | null = null;
  for (const l of trunk) {
    edges.push(prevShape ? `${prev} --> | ${chw(prevShape)} | ${l.name}` : `${prev} --> ${l.name}`);
    prev = l.name;
    prevShape = l.outputShape;
    if (l.op.endsWith("(features)")) {
      lines.push(`features("&laquo;Output&raquo;<br/>Features<br/>${chw(l.outputShape)}")`);
      edges.push(`${l.name} --> | ${chw(l.outputShape)} | features`);
    }
  }
  for (const h of heads) {
    const head = h.name === "adv" ? "adv-head" : "cls-head";
    lines.push(`${head}[${layerLabel(h.op)}]`);
    edges.push(`${prev} --> | ${chw(prevShape!)} | ${head}`);
    if (h.name === "adv") {
      lines.push(`adv-out("&laquo;Output&raquo;<br/>Adversarial<br/>1 per sample")`);
      edges.push(`${head} --> adv-out`);
    } else {
      lines.push(
        `cls-out("&laquo;Output&raquo;<br/>Classification<br/>${h.outputShape[2]} logits")`,
      );
      edges.push(`${head} --> cls-out`);
    }
  }
  return [...lines, "", ...edges].join("\n");
}

/** Sizes the training diagrams print. */
export interface DiagramSizes {
  /** Input spectrogram `[H, W, C]`. */
  input: readonly number[];
  /** Input label count. */
  nIn: number;
  /** Output label count. */
  nOut: number;
}

/** Collects nodes and edges once each, in order of first use. */
class Graph {
  nodes = new Map<string, string>();
  groups = new Map<string, string[]>();
  edges: string[] = [];
  node(id: string, text: string, group?: string): string {
    if (!this.nodes.has(id)) {
      this.nodes.set(id, text);
      if (group) this.groups.set(group, [...(this.groups.get(group) ?? []), id]);
    }
    return id;
  }
  edge(text: string): void {
    if (!this.edges.includes(text)) this.edges.push(text);
  }
  render(direction: string, groupOrder: string[]): string {
    const grouped = new Set([...this.groups.values()].flat());
    const out = [`graph ${direction}`, ""];
    for (const g of groupOrder) {
      const ids = this.groups.get(g);
      if (!ids) continue;
      out.push(`subgraph ${g}`, ...ids.map((id) => `    ${id}${this.nodes.get(id)}`), "end", "");
    }
    for (const [id, text] of this.nodes) if (!grouped.has(id)) out.push(`${id}${text}`);
    return [...out, "", ...this.edges].join("\n");
  }
}

function weightOf(term: TermSpec | undefined): number | null {
  return term ? term.weight : null;
}

function scaled(g: Graph, from: string, id: string, weight: number, to: string): void {
  if (weight === 1) {
    g.edge(`${from} --> ${to}`);
  } else {
    const w = g.node(`x${id}`, `((x${weight}))`);
    g.edge(`${from} --> ${w}`);
    g.edge(`${w} --> ${to}`);
  }
}

const LOSS_NAMES: Record<string, string> = {
  adversarial: "Adversarial Loss",
  classification: "Domain Classification Loss",
  reconstruction: "Reconstruction Loss",
  featureMatching: "Feature Matching Loss",
  meanFeatureMatching: "Mean Feature Matching Loss",
  identity: "Identity Mapping Loss",
  reconstructionL1: "Reconstruction Loss (L1)",
  identityL1: "Identity Mapping Loss (L1)",
  gradientPenalty: "Gradient Penalty",
};

/** The distance a reconstruction-like term uses: the `…L1` terms are L1. */
function distanceName(term: string): string {
  return term.endsWith("L1") ? "Mean Absolute Error" : "Mean Squared Error";
}

/** The inputs of the seed's training diagrams, created on first use. */
function inputs(g: Graph, sizes: DiagramSizes) {
  const spec = `${chw(sizes.input)}<br/>[0, 1]`;
  return {
    xA: () => g.node("x-real", `("«Input»<br/>Spectrogram<br/>${spec}")`, "Input A"),
    cA: () =>
      g.node(
        "label-real-in",
        `("«Input»<br/>Labels<sub>input</sub><br/>${sizes.nIn}<br/>{0, 1}")`,
        "Input A",
      ),
    xB: () => g.node("x-orig", `("«Input»<br/>Spectrogram<br/>${spec}")`, "Input B"),
    cB: () =>
      g.node(
        "label-fake-in",
        `("«Input»<br/>Labels<sub>input</sub><br/>${sizes.nIn}<br/>{0, 1}")`,
        "Input B",
      ),
    yB: () =>
      g.node(
        "label-fake-out",
        `("«Input»<br/>Labels<sub>output</sub><br/>${sizes.nOut}<br/>{-1, 0, 1}")`,
        "Input B",
      ),
  };
}

function fake(g: Graph, sizes: DiagramSizes, io: ReturnType<typeof inputs>): string {
  const gen = g.node("gen1", "[Generator]");
  g.edge(`${io.xA()} --> ${gen}`);
  g.edge(`${io.cB()} --> ${gen}`);
  const x = g.node("x-fake", `("Fake<br/>${chw(sizes.input)}<br/>[0, 1]")`);
  g.edge(`${gen} --> ${x}`);
  return x;
}

/**
 * The generator's training graph (the seed's "Generator の学習"), drawn from
 * the experiment's generator terms: a removed term and everything only it
 * used are absent; weights other than 1 appear as `(xW)` nodes.
 */
export function generatorTrainingDiagram(losses: LossSpec, sizes: DiagramSizes): string {
  const g = new Graph();
  const io = inputs(g, sizes);
  const t = losses.generator;
  const xFake = () => fake(g, sizes, io);
  const dFake = () => {
    const d = g.node("dis-fake", "[Discriminator]");
    g.edge(`${xFake()} --> ${d}`);
    return d;
  };
  const loss = (name: string) => g.node(name, `(${LOSS_NAMES[name] ?? name})`, "Loss");
  for (const [name, spec] of Object.entries(t)) {
    const w = weightOf(spec)!;
    switch (name) {
      case "adversarial": {
        const op = losses.adversarial === "wgan" ? g.node("minus", `(("-"))`) : g.node(
          "adv-op",
          losses.adversarial === "lsgan" ? "[Squared Error to 1]" : "[Sigmoid Cross Entropy to 1]",
        );
        g.edge(`${dFake()} --> | Adversarial | ${op}`);
        scaled(g, op, "adv", w, loss(name));
        break;
      }
      case "classification": {
        const sce = g.node("sce", "[Sigmoid Cross Entropy]");
        g.edge(`${dFake()} --> | Classification | ${sce}`);
        g.edge(`${io.yB()} --> ${sce}`);
        scaled(g, sce, "cls", w, loss(name));
        break;
      }
      case "reconstruction":
      case "reconstructionL1": {
        const gen = g.node("gen2", "[Generator]");
        g.edge(`${xFake()} --> ${gen}`);
        g.edge(`${io.cA()} --> ${gen}`);
        const dist = g.node("recon-mse", `[${distanceName(name)}]`);
        g.edge(`${gen} --> ${dist}`);
        g.edge(`${io.xA()} --> ${dist}`);
        scaled(g, dist, "recon", w, loss(name));
        break;
      }
      case "featureMatching": {
        const dOrig = g.node("dis-orig", "[Discriminator]");
        g.edge(`${io.xB()} --> ${dOrig}`);
        const mse = g.node("feat-mse", "[Mean Squared Error]");
        g.edge(`${dFake()} --> | Feature | ${mse}`);
        g.edge(`${dOrig} --> | Feature | ${mse}`);
        scaled(g, mse, "feat", w, loss(name));
        break;
      }
      case "meanFeatureMatching": {
        const dOrig = g.node("dis-orig", "[Discriminator]");
        g.edge(`${io.xB()} --> ${dOrig}`);
        const mse = g.node("mfeat-mse", "[Mean Squared Error<br/>of batch-mean features]");
        g.edge(`${dFake()} --> | Feature | ${mse}`);
        g.edge(`${dOrig} --> | Feature | ${mse}`);
        scaled(g, mse, "mfeat", w, loss(name));
        break;
      }
      case "identity":
      case "identityL1": {
        const gen = g.node("gen-id", "[Generator]");
        g.edge(`${io.xA()} --> ${gen}`);
        g.edge(`${io.cA()} --> ${gen}`);
        const dist = g.node("id-mse", `[${distanceName(name)}]`);
        g.edge(`${gen} --> ${dist}`);
        g.edge(`${io.xA()} --> ${dist}`);
        scaled(g, dist, "id", w, loss(name));
        break;
      }
      default:
        scaled(g, xFake(), name, w, loss(name));
    }
  }
  return g.render("LR", ["Input A", "Input B", "Loss"]);
}

/**
 * The discriminator's training graph, drawn from the experiment's critic
 * terms the same way as {@linkcode generatorTrainingDiagram}.
 */
export function criticTrainingDiagram(losses: LossSpec, sizes: DiagramSizes): string {
  const g = new Graph();
  const io = inputs(g, sizes);
  const loss = (name: string) => g.node(name, `(${LOSS_NAMES[name] ?? name})`, "Loss");
  const dReal = () => {
    const d = g.node("dis-real", "[Discriminator]");
    g.edge(`${io.xB()} --> ${d}`);
    return d;
  };
  for (const [name, spec] of Object.entries(losses.critic)) {
    const w = weightOf(spec)!;
    switch (name) {
      case "adversarial": {
        const dFake = g.node("dis-fake", "[Discriminator]");
        g.edge(`${fake(g, sizes, io)} --> ${dFake}`);
        const op = g.node(
          "critic-op",
          losses.adversarial === "wgan"
            ? `["D(fake) − D(real)"]`
            : `["${losses.adversarial.toUpperCase()} real/fake"]`,
        );
        g.edge(`${dReal()} --> | Adversarial | ${op}`);
        g.edge(`${dFake} --> | Adversarial | ${op}`);
        scaled(g, op, "adv", w, loss(name));
        break;
      }
      case "gradientPenalty": {
        const mix = g.node("interp", `(("interpolate<br/>ε ~ U(0, 1)"))`);
        g.edge(`${io.xB()} --> ${mix}`);
        g.edge(`${fake(g, sizes, io)} --> ${mix}`);
        const d = g.node("dis-interp", "[Discriminator]");
        g.edge(`${mix} --> ${d}`);
        const pen = g.node("gp-op", `["(‖∇D‖ − 1)²"]`);
        g.edge(`${d} --> | Adversarial | ${pen}`);
        scaled(g, pen, "gp", w, loss(name));
        break;
      }
      case "classification": {
        const sce = g.node("sce", "[Sigmoid Cross Entropy]");
        g.edge(`${dReal()} --> | Classification | ${sce}`);
        g.edge(`${io.yB()} --> ${sce}`);
        scaled(g, sce, "cls", w, loss(name));
        break;
      }
      default:
        scaled(g, dReal(), name, w, loss(name));
    }
  }
  return g.render("LR", ["Input A", "Input B", "Loss"]);
}
