/**
 * The resolved config of a run in a few lines, printed once before training.
 *
 * @module
 */
import { configHash } from "../experiment/serialize.ts";
import type { Experiment, OptimizerSpec, TermSpec } from "../experiment/types.ts";
import { termRange } from "./report.ts";
import type { Trainer } from "./trainer.ts";

/** The resolved config in a few lines, printed once before training. */
export function summarize(
  exp: Experiment,
  trainer: Trainer,
  extra: { runDir: string; overrides: string[]; budget: string },
): string[] {
  const terms = (r: Record<string, TermSpec>) =>
    Object.entries(r).map(([k, v]) => `${k} ×${v.weight}${termRange(v)}`).join(", ") || "(none)";
  const g = exp.model.generator, d = exp.model.discriminator;
  const opt = (o: OptimizerSpec) =>
    `${o.kind} lr ${o.lr}, ${
      o.schedule.kind === "step"
        ? `×${Number(o.schedule.factor.toPrecision(4))} every ${o.schedule.every} epochs`
        : o.schedule.kind
    }`;
  const f = trainer.dataset.features;
  return [
    `voxlab: experiment ${exp.meta.id}: ${exp.meta.title}` +
    (exp.meta.base ? ` (base ${exp.meta.base})` : ""),
    `  config     hash ${configHash(exp)}` +
    (extra.overrides.length ? `; --set ${extra.overrides.join(" ")}` : ""),
    `  data       ${trainer.dataset.summary()}; ${f.bins}×${f.segmentFrames} spectrograms`,
    `  generator  widths [${g.widths}], ${g.resBlocks} res blocks, ` +
    `${trainer.generator.params.countTrainable().toLocaleString("en-US")} params`,
    `  critic     widths [${d.widths}], features at conv${d.featureLayer}, ` +
    `${trainer.discriminator.params.countTrainable().toLocaleString("en-US")} params`,
    `  G terms    ${terms(exp.losses.generator)} (${exp.losses.adversarial})`,
    `  D terms    ${terms(exp.losses.critic)}`,
    `  optimizers G ${opt(exp.optimizers.generator)}; D ${opt(exp.optimizers.discriminator)}`,
    `  trainer    batch ${exp.trainer.batchSize}, ${exp.trainer.epochs} epochs × ${trainer.itersPerEpoch} ` +
    `iterations, nCritic ${exp.trainer.nCritic}, seed ${exp.trainer.seed}; ${extra.budget}`,
    `  run        ${extra.runDir}`,
  ];
}
