/**
 * Runs: what happens to a run on disk and across runs. Training a run
 * (`train.ts`, with the {@linkcode Trainer} and the specs turned into
 * primitives), the training job of the command line and of a child process
 * (`train_main.ts`), the run directory, its report and mermaid diagrams,
 * loading a run's generator, comparing runs and sweeps; one writer per run
 * (`run_lock.ts`) and a forced resume's pending config (`forced_config.ts`).
 *
 * @module
 */
export * from "./primitives.ts";
export * from "./trainer.ts";
export * from "./samples.ts";
export * from "./summary.ts";
export * from "./train.ts";
export * from "./train_main.ts";
export * from "./run_dir.ts";
export * from "./run_lock.ts";
export * from "./forced_config.ts";
export * from "./outcome.ts";
export * from "./report.ts";
export * from "./mermaid.ts";
export * from "./load_run.ts";
export * from "./export_run.ts";
export * from "./compare.ts";
export * from "./sweep.ts";
