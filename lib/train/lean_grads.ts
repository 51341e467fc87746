/**
 * `tf.variableGrads` with a backward pass that frees memory as it goes.
 *
 * tfjs 4.22's backward pass keeps every intermediate gradient and every
 * tensor saved for backward until the whole pass ends, so its peak memory is
 * roughly all activations plus all their gradients. For the seed's GAN at
 * 256×256 that peak approaches the wasm backend's 4 GiB heap limit. This
 * version walks the same tape in the same order with the same gradient
 * functions, but disposes
 * - the saved tensors of nodes that are not on the path from the variables
 *   to the loss, before the backward pass starts;
 * - each node's saved tensors once its input gradients are computed;
 * - each node's output gradients once they are consumed (reference-counted,
 *   since a gradient function may pass its `dy` through unchanged).
 *
 * It relies on tfjs-core internals (`engine.state.activeTape`, the tape
 * node layout, `startTape`/`endTape`), which are stable within the pinned
 * 4.22 release; when they are absent, or when called inside another gradient
 * computation (where the outer tape still needs the saved tensors), it falls
 * back to `tf.variableGrads`. The tape filtering below follows tfjs's
 * `getFilteredNodesXToY` (Apache-2.0).
 *
 * @module
 */

import { tf } from "../deps.ts";

interface TapeNode {
  id: number;
  kernelName: string;
  outputs: tf.Tensor[];
  inputs: Record<string, tf.Tensor>;
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

function internals(): EngineInternals | null {
  const e = tf.engine() as unknown as Partial<EngineInternals>;
  const ok = typeof e.startTape === "function" && typeof e.endTape === "function" &&
    typeof e.scopedRun === "function" && typeof e.tidy === "function" &&
    typeof e.state === "object" && e.state !== null && "gradientDepth" in e.state;
  return ok ? e as EngineInternals : null;
}

/** The nodes on a path from `xs` to `y`, inputs pruned to those reached from `xs`. */
function filterTape(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name]!.id)) {
        for (const o of node.outputs) fromX.add(o.id);
        nodesFromX.add(node.id);
        break;
      }
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const name in node.inputs) toY.add(node.inputs[name]!.id);
      nodesToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs) {
      if (fromX.has(node.inputs[name]!.id)) inputs[name] = node.inputs[name]!;
    }
    out.push({ ...node, inputs });
  }
  return out;
}

/** Gradient map whose tensors are reference-counted by map entries. */
class GradientMap {
  #byId = new Map<number, tf.Tensor>();
  #refs = new Map<tf.Tensor, number>();

  get(id: number): tf.Tensor | undefined {
    return this.#byId.get(id);
  }

  #ref(t: tf.Tensor, delta: number): void {
    const n = (this.#refs.get(t) ?? 0) + delta;
    if (n <= 0) {
      this.#refs.delete(t);
      t.dispose();
    } else {
      this.#refs.set(t, n);
    }
  }

  accumulate(id: number, dx: tf.Tensor): void {
    const current = this.#byId.get(id);
    if (current === undefined) {
      this.#byId.set(id, dx);
      this.#ref(dx, 1);
      return;
    }
    const sum = tf.add(current, dx);
    this.#byId.set(id, sum);
    this.#ref(sum, 1);
    this.#ref(current, -1);
    if (!this.#refs.has(dx)) dx.dispose();
  }

  release(id: number): void {
    const t = this.#byId.get(id);
    if (t === undefined) return;
    this.#byId.delete(id);
    this.#ref(t, -1);
  }
}

/**
 * Like `tf.variableGrads(f, varList)`: the value of scalar `f()` and its
 * gradient for each variable of `varList` it depends on, keyed by the
 * variable's tfjs name, with a lower peak memory (see the module doc).
 *
 * @example Same result as tf.variableGrads
 * ```ts
 * import { leanVariableGrads } from "./lean_grads.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.tensor1d([1, 2]));
 * const { value, grads } = leanVariableGrads(() => tf.sum(tf.square(w)), [w]);
 * console.assert(value.dataSync()[0] === 5 && grads[w.name]!.dataSync().join() === "2,4");
 * ```
 */
export function leanVariableGrads(
  f: () => tf.Scalar,
  varList: tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = internals();
  if (engine === null || engine.state.gradientDepth > 0) return tf.variableGrads(f, varList);
  const xs = varList.filter((v) => v.trainable);
  let y: tf.Tensor;
  try {
    y = engine.scopedRun(
      () => engine.startTape(),
      () => engine.endTape(),
      () => engine.tidy("forward", f),
    );
  } catch (error) {
    // The forward pass failed: release what it saved for a backward pass.
    for (const node of engine.state.activeTape ?? []) tf.dispose(node.saved ?? []);
    engine.state.activeTape = null;
    throw error;
  }
  const tape = engine.state.activeTape ?? [];
  /** On failure: release every saved tensor (disposing twice is harmless) and the value. */
  const release = () => {
    for (const node of tape) tf.dispose(node.saved ?? []);
    engine.state.activeTape = null;
    if (y instanceof tf.Tensor) y.dispose();
  };
  if (!(y instanceof tf.Tensor) || y.rank !== 0) {
    release();
    throw new TypeError("Cannot compute gradients: the function must return a scalar tensor");
  }
  const filtered = filterTape(tape, xs, y);
  const onPath = new Set(filtered.map((n) => n.id));
  // Saved tensors of nodes off the path are never used: free them now.
  for (const node of tape) if (!onPath.has(node.id)) tf.dispose(node.saved ?? []);
  let grads: tf.NamedTensorMap;
  try {
    grads = backward(y, filtered, xs);
  } catch (error) {
    // A gradient function failed: its tidy freed the gradients, this frees the rest.
    release();
    throw error;
  }
  engine.state.activeTape = null;
  return { value: y as tf.Scalar, grads };
}

/** Walk `filtered` backwards from `y`, freeing as it goes; gradients of `xs` by tfjs name. */
function backward(y: tf.Tensor, filtered: TapeNode[], xs: tf.Variable[]): tf.NamedTensorMap {
  return tf.tidy(() => {
    const map = new GradientMap();
    map.accumulate(y.id, tf.onesLike(y));
    for (let i = filtered.length - 1; i >= 0; i--) {
      const node = filtered[i]!;
      if (node.gradient == null) {
        throw new Error(
          `Cannot compute gradient: gradient function not found for ${node.kernelName}`,
        );
      }
      const dys = node.outputs.map((o) => map.get(o.id) ?? null);
      const inputGradients = node.gradient(dys);
      for (const name in node.inputs) {
        const compute = inputGradients[name];
        if (compute === undefined) {
          throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}`);
        }
        const dx = tf.tidy(compute);
        const x = node.inputs[name]!;
        if (dx.shape.join() !== x.shape.join()) {
          throw new Error(
            `Cannot compute gradient: ${node.kernelName} gave [${dx.shape}] for input '${name}' [${x.shape}]`,
          );
        }
        map.accumulate(x.id, dx);
      }
      // This node's outputs are consumed and its saved tensors no longer needed.
      for (const o of node.outputs) map.release(o.id);
      tf.dispose(node.saved ?? []);
    }
    const out: tf.NamedTensorMap = {};
    for (const v of xs) {
      const g = map.get(v.id);
      if (g !== undefined) out[v.name] = g;
    }
    return out;
  });
}
