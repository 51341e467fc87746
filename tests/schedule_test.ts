import { equal, throws } from "node:assert/strict";
import {
  constantSchedule,
  criticSteps,
  linearDecay,
  piecewiseConstant,
  stepDecay,
  weightFrom,
  weightUntil,
} from "../lib/schedule/mod.ts";

function close(a: number, b: number): void {
  equal(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), true, `${a} vs ${b}`);
}

Deno.test("step decay: the seed's 1e-5 × 10^−0.5 every 100 epochs", () => {
  const lr = stepDecay();
  close(lr(0), 1e-5);
  close(lr(99), 1e-5);
  close(lr(100), 1e-5 / Math.sqrt(10));
  close(lr(250), 1e-6);
  close(lr(999), 1e-5 * 10 ** -4.5);
  close(stepDecay({ initial: 1, factor: 0.5, every: 2 })(5), 0.25);
  throws(() => stepDecay({ every: 0 }), /every must be a finite number > 0, got 0/);
  throws(() => lr(-1), /counter must be a finite number >= 0, got -1/);
});

Deno.test("constant and linear decay", () => {
  equal(constantSchedule(3e-4)(0), 3e-4);
  equal(constantSchedule(3e-4)(1e6), 3e-4);
  const lr = linearDecay({ initial: 2e-4, final: 0, start: 100, end: 300 });
  equal(lr(0), 2e-4);
  equal(lr(100), 2e-4);
  close(lr(150), 1.5e-4);
  close(lr(200), 1e-4);
  equal(lr(300), 0);
  equal(lr(1000), 0);
  close(linearDecay({ initial: 1, final: 3, end: 4 })(1), 1.5);
  throws(() => linearDecay({ start: 5, end: 5 }), /end \(5\) must exceed start \(5\)/);
});

Deno.test("term weights: on for the first N iterations, from N on, piecewise", () => {
  const id = weightUntil(10_000, 5);
  equal(id(0), 5);
  equal(id(9_999), 5);
  equal(id(10_000), 0);
  const late = weightFrom(3, 10);
  equal(late(2), 0);
  equal(late(3), 10);
  const pw = piecewiseConstant({ boundaries: [10, 20], values: [1, 0.5, 0] });
  equal(pw(9), 1);
  equal(pw(10), 0.5);
  equal(pw(19.5), 0.5);
  equal(pw(20), 0);
  throws(
    () => piecewiseConstant({ boundaries: [1], values: [1] }),
    /1 boundaries need 2 values, got 1/,
  );
  throws(() => piecewiseConstant({ boundaries: [2, 1], values: [1, 2, 3] }), /must increase/);
  throws(() => weightUntil(-1, 1), /integer >= 0, got -1/);
});

Deno.test("critic steps: the seed's 5:1, optional warm-up", () => {
  equal(criticSteps()(0), 5);
  equal(criticSteps()(12345), 5);
  equal(criticSteps({ steps: 1 })(7), 1);
  const warm = criticSteps({ warmupIterations: 25, warmupSteps: 100 });
  equal(warm(0), 100);
  equal(warm(24), 100);
  equal(warm(25), 5);
  throws(() => criticSteps({ steps: 0 }), /steps must be an integer >= 1, got 0/);
  throws(() => criticSteps({ steps: 2.5 }), /got 2.5/);
});
