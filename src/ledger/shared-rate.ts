/**
 * A channel's rate gate shared by every worker of a PostgreSQL ledger: the same sliding window as one process's gate
 * (n calls per window W, spaced W / n apart), with the slots booked in the database (`PostgresLedger.bookRate`) so that
 * `rate_limit: 100` means 100 calls per second across all workers together. Slots are booked a few at a time and
 * translated from the database's clock to this process's by the round trip of the booking.
 */

import { gateOver, type RateGate } from "../dispatch/rate-gate.js";

export type SharedGate = RateGate;

/**
 * Slack added to the window of a shared budget: calls of several processes reach the provider with the jitter of each
 * (timers, event loops, the network) and the clock offsets between them, so that no second the provider measures
 * holds more than the rate. It costs a fifth of the rate.
 */
export const SHARED_RATE_MARGIN_MS = 250;

export type BookSlots = (count: number) => Promise<{ now: number; slots: number[] }>;

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `n` calls per window; slots are booked `n / 8` at a time (at least 1, at most 64): a fraction of a second ahead. */
export function sharedRateGate(
  book: BookSlots,
  n: number,
  now: () => number = () => performance.timeOrigin + performance.now(),
  sleep: (ms: number) => Promise<void> = realSleep,
): SharedGate {
  const batch = Math.max(1, Math.min(64, Math.floor(n / 8)));
  const ready: number[] = [];
  let tail: Promise<void> = Promise.resolve();
  // The database's clock minus ours, measured as NTP does: from the booking with the shortest round trip so far (its
  // error is at most half that round trip), so that a slow answer under load does not shift this worker's slots.
  let offset = 0;
  let bestRtt = Infinity;
  const pass = async () => {
    if (!ready.length) {
      const t0 = now();
      const r = await book(batch);
      const t1 = now();
      if (t1 - t0 <= bestRtt) {
        bestRtt = t1 - t0;
        offset = r.now - (t0 + t1) / 2;
      }
      for (const s of r.slots) ready.push(s - offset);
    }
    const at = ready.shift()!;
    const wait = at - now();
    if (wait > 0) await sleep(wait);
  };
  return gateOver(() => (tail = tail.then(pass)));
}
