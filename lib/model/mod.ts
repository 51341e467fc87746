/**
 * Models: the seed's generator, the reconstructed 47c97768 discriminator, and
 * the blocks they are built from (conv-BN-activation, ResBlock,
 * deconv-BN-activation, label tiling), written with `tf.variable` and ops.
 *
 * @module
 */
export * from "./params.ts";
export * from "./batch_norm.ts";
export * from "./blocks.ts";
export * from "./generator.ts";
export * from "./discriminator.ts";
