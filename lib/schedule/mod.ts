/**
 * Schedules as pure functions of the epoch or iteration: learning rates,
 * per-term loss weights, and the critic:generator update ratio.
 *
 * @module
 */
export * from "./schedule.ts";
export * from "./learning_rate.ts";
export * from "./term_weight.ts";
export * from "./critic_ratio.ts";
