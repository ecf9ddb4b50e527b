import { describe, expect, it } from "vitest";
import { rateGate } from "./runner.js";

/** A manual clock whose sleep advances it: the times at which calls are let through, without real waiting. */
function clock() {
  let t = 1_000_000;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    advance: (ms: number) => (t += ms),
  };
}

describe("rateGate", () => {
  it("lets calls through 1000/rate ms apart, scheduled from the previous slot", async () => {
    const c = clock();
    const gate = rateGate(50, c.now, c.sleep);
    const at: number[] = [];
    for (let i = 0; i < 5; i++) {
      await gate.acquire();
      at.push(c.now());
    }
    expect(at.map((t) => t - at[0]!)).toEqual([0, 20, 40, 60, 80]);
  });

  it("never exceeds the rate in any window, also with concurrent waiters", async () => {
    const c = clock();
    const gate = rateGate(10, c.now, c.sleep);
    const slots: number[] = [];
    // Ten callers ask at the same instant: each sleeps until its own slot.
    const t0 = c.now();
    const waits: number[] = [];
    const sleeps: Promise<void>[] = [];
    const g2 = rateGate(10, c.now, async (ms) => {
      waits.push(ms);
    });
    for (let i = 0; i < 10; i++) sleeps.push(g2.take());
    await Promise.all(sleeps);
    expect(waits).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
    // An idle gate grants the next call at once; it does not bank unused slots as a burst.
    c.advance(10_000);
    for (let i = 0; i < 3; i++) {
      await gate.take();
      slots.push(c.now() - t0);
    }
    expect(slots[1]! - slots[0]!).toBe(100);
    expect(slots[2]! - slots[1]!).toBe(100);
  });

  it("is unlimited without a rate, and tells whether a driver used it", async () => {
    const c = clock();
    const gate = rateGate(undefined, c.now, c.sleep);
    expect(gate.hooked).toBe(false);
    for (let i = 0; i < 100; i++) await gate.take();
    expect(c.now()).toBe(1_000_000);
    expect(gate.hooked).toBe(false);
    await gate.acquire();
    expect(gate.hooked).toBe(true);
  });
});
