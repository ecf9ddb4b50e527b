import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../test/fakes/common.js";
import { RATE_MARGIN_MS, rateGate } from "./rate-gate.js";

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
  it("lets calls through (1000 + margin)/rate ms apart, scheduled from the previous slot", async () => {
    const c = clock();
    const gate = rateGate(50, c.now, c.sleep);
    const at: number[] = [];
    for (let i = 0; i < 5; i++) {
      await gate.acquire();
      at.push(c.now());
    }
    const interval = (1000 + RATE_MARGIN_MS) / 50;
    expect(at.map((t) => t - at[0]!)).toEqual([0, 1, 2, 3, 4].map((i) => i * interval));
  });

  it("never exceeds the rate in any window, also with concurrent waiters", async () => {
    const c = clock();
    const gate = rateGate(10, c.now, c.sleep);
    const slots: number[] = [];
    // Ten callers ask at the same instant: each is let through at its own slot.
    const t0 = c.now();
    const s = scheduler();
    const g2 = rateGate(
      10,
      s.now,
      s.sleep(() => 0),
    );
    const granted: number[] = [];
    const s0 = s.now();
    for (let i = 0; i < 10; i++) void g2.take().then(() => granted.push(s.now() - s0));
    await s.drain();
    const interval = (1000 + RATE_MARGIN_MS) / 10;
    expect(granted).toEqual(Array.from({ length: 10 }, (_, i) => i * interval));
    // An idle gate grants the next call at once; it does not bank unused slots as a burst.
    c.advance(10_000);
    for (let i = 0; i < 3; i++) {
      await gate.take();
      slots.push(c.now() - t0);
    }
    expect(slots[1]! - slots[0]!).toBe(interval);
    expect(slots[2]! - slots[1]!).toBe(interval);
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

  it("never lets more than the rate through in any one-second window, for random rates, arrivals and timer lateness", async () => {
    const rnd = mulberry32(15);
    for (let trial = 0; trial < 150; trial++) {
      const s = scheduler();
      // Integer and fractional rates from 1 to 600 calls per second.
      const rate = rnd() < 0.5 ? 1 + Math.floor(rnd() * 600) : 1 + rnd() * 600;
      // Timers fire up to 300 ms late (a busy event loop): the bound holds on when calls actually leave.
      const gate = rateGate(
        rate,
        s.now,
        s.sleep(() => (rnd() < 0.2 ? Math.floor(rnd() * 300) : 0)),
      );
      const grants: number[] = [];
      // Arrivals: bursts at one instant, steady streams, idle gaps longer than a second.
      let t = s.now();
      const calls = 50 + Math.floor(rnd() * 700);
      for (let i = 0; i < calls; i++) {
        const r = rnd();
        t += r < 0.4 ? 0 : r < 0.8 ? rnd() * (2000 / rate) : r < 0.95 ? rnd() * 300 : 1000 + rnd() * 2000;
        s.at(t, () => void (rnd() < 0.5 ? gate.take() : gate.acquire()).then(() => grants.push(s.now())));
      }
      await s.drain();
      expect(grants.length).toBe(calls);
      const n = Math.floor(rate);
      grants.sort((a, b) => a - b);
      // The call n places after another leaves a whole window (1000 ms and the margin) or more after it.
      for (let i = 0; i + n < grants.length; i++)
        expect(grants[i + n]! - grants[i]!, `rate ${rate}, grants ${i}..${i + n}`).toBeGreaterThanOrEqual(1000 + RATE_MARGIN_MS);
    }
  });

  it("lets through at least 95 % of what its window allows while calls wait, also when timers fire a little late", async () => {
    const rnd = mulberry32(99);
    for (let trial = 0; trial < 40; trial++) {
      const s = scheduler();
      const rate = rnd() < 0.5 ? 1 + Math.floor(rnd() * 400) : 1 + rnd() * 400;
      const gate = rateGate(
        rate,
        s.now,
        s.sleep(() => (rnd() < 0.2 ? rnd() * 2 : 0)),
      );
      const n = Math.floor(rate);
      const t0 = s.now();
      const grants: number[] = [];
      // More callers than 12 seconds can serve, all waiting from the start: count what 10 seconds let through.
      for (let i = 0; i < n * 12; i++) void gate.take().then(() => grants.push(s.now()));
      await s.drain();
      const inTen = grants.filter((t) => t < t0 + 10_000).length;
      // n calls per window of 1000 ms and the margin.
      expect(inTen, `rate ${rate}`).toBeGreaterThanOrEqual((0.95 * n * 10_000) / (1000 + RATE_MARGIN_MS));
      expect(inTen, `rate ${rate}`).toBeLessThanOrEqual(n * 10);
    }
  });
});

/**
 * A fake timer: sleepers and scheduled callbacks run in time order, the clock jumping to each; `lateness()` makes a
 * sleeper wake that many ms after it asked to (a busy event loop).
 */
function scheduler() {
  let t = 1_000_000;
  let seq = 0;
  const timers: { at: number; seq: number; run: () => void }[] = [];
  const at = (when: number, run: () => void) => void timers.push({ at: when, seq: seq++, run });
  return {
    now: () => t,
    at,
    sleep: (lateness: () => number) => (ms: number) => new Promise<void>((resolve) => at(t + ms + lateness(), resolve)),
    async drain() {
      for (;;) {
        await new Promise((r) => setImmediate(r));
        if (!timers.length) return;
        let k = 0;
        for (let i = 1; i < timers.length; i++)
          if (timers[i]!.at < timers[k]!.at || (timers[i]!.at === timers[k]!.at && timers[i]!.seq < timers[k]!.seq)) k = i;
        const [next] = timers.splice(k, 1);
        t = Math.max(t, next!.at);
        next!.run();
      }
    },
  };
}
