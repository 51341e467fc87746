/**
 * The SLURM launcher: run a list of training points as one job array
 * (`runOnSlurm`), watch it again (`attachSlurm`), and the pieces they are made
 * of (options, the job script, point states, the scheduler commands).
 *
 * @module
 */
export * from "./options.ts";
export * from "./script.ts";
export * from "./state.ts";
export * from "./scheduler.ts";
export * from "./shared_fs.ts";
export * from "./watch.ts";
export * from "./launch.ts";
export * from "./sweep.ts";
