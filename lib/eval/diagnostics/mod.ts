/**
 * Diagnostics during training, one job a file: the measures
 * (`measures.ts`), the probe they run on (`probe.ts`), one evaluation
 * (`evaluate.ts`), the monitor that evaluates every N iterations
 * (`monitor.ts`), its records (`records.ts`), their report section and plot
 * (`report.ts`), and the start for a training run (`start.ts`).
 *
 * @module
 */
export * from "./measures.ts";
export * from "./probe.ts";
export * from "./evaluate.ts";
export * from "./monitor.ts";
export * from "./records.ts";
export * from "./report.ts";
export * from "./start.ts";
