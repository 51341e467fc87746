/**
 * The optional `webgpu` backend: Deno's WebGPU with `@tensorflow/tfjs-backend-webgpu`.
 *
 * It is used only when asked for, and only with a hardware adapter: a software (fallback) adapter
 * such as Mesa's llvmpipe computes on the CPU, far slower than the wasm backend, so it is refused
 * with an error instead of silently training at a crawl.
 *
 * @module
 */

import { OPTIONAL_SPECIFIERS } from "../deps.ts";
import { BackendError, errorText } from "./backend_error.ts";

/** Adapter facts voxlab reads; `isFallbackAdapter` moved from the adapter to its info. */
interface AdapterFacts {
  info?: { description?: string; vendor?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}

/**
 * Check that a hardware WebGPU adapter exists, then import tfjs-backend-webgpu (which registers
 * backend `webgpu`).
 *
 * @returns a short description of the adapter
 * @throws {BackendError} when Deno has no WebGPU, no adapter, only a software adapter, or the
 *   package fails to load
 */
export async function loadWebgpu(): Promise<string> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (!gpu) {
    throw new BackendError("Cannot use backend 'webgpu': this Deno has no WebGPU (navigator.gpu)");
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (error) {
    throw new BackendError(
      `Cannot use backend 'webgpu': requesting an adapter failed: ${errorText(error)}`,
    );
  }
  if (!adapter) throw new BackendError("Cannot use backend 'webgpu': no WebGPU adapter found");
  const facts = adapter as unknown as AdapterFacts;
  const description = facts.info?.description || facts.info?.vendor || "unnamed adapter";
  if (facts.info?.isFallbackAdapter || facts.isFallbackAdapter) {
    throw new BackendError(
      `Cannot use backend 'webgpu': only a software WebGPU adapter is available (${description}); ` +
        "use backend 'wasm'",
    );
  }
  try {
    await import(OPTIONAL_SPECIFIERS.tfjsWebgpu);
  } catch (error) {
    throw new BackendError(
      `Cannot use backend 'webgpu': @tensorflow/tfjs-backend-webgpu failed to load: ${
        errorText(error)
      }`,
    );
  }
  return description;
}
