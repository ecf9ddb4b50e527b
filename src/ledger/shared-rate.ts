/**
 * A channel's rate gate shared by every worker of a PostgreSQL ledger: the same sliding window as one process's gate
 * (n calls per window W, spaced W / n apart), with the slots booked in the database (`PostgresLedger.bookRate`) so that
 * `rate_limit: 100` means 100 calls per second across all workers together. Slots are booked a few at a time and
 * translated from the database's clock to this process's by the round trip of the booking.
 */

export interface SharedGate {
  acquire: () => Promise<void>;
  take: () => Promise<void>;
  readonly hooked: boolean;
}

export type BookSlots = (count: number) => Promise<{ now: number; slots: number[] }>;

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `n` calls per window; slots are booked `n / 8` at a time (at least 1, at most 64): a fraction of a second ahead. */
export function sharedRateGate(
  book: BookSlots,
  n: number,
  now: () => number = () => performance.timeOrigin + performance.now(),
  sleep: (ms: number) => Promise<void> = realSleep,
): SharedGate {
  let hooked = false;
  const batch = Math.max(1, Math.min(64, Math.floor(n / 8)));
  const ready: number[] = [];
  let tail: Promise<void> = Promise.resolve();
  const pass = async () => {
    if (!ready.length) {
      const t0 = now();
      const r = await book(batch);
      const t1 = now();
      // The database's clock minus ours, to within half the round trip (which the window's margin absorbs).
      const offset = r.now - (t0 + t1) / 2;
      for (const s of r.slots) ready.push(s - offset);
    }
    const at = ready.shift()!;
    const wait = at - now();
    if (wait > 0) await sleep(wait);
  };
  const take = () => (tail = tail.then(pass));
  return {
    acquire: () => {
      hooked = true;
      return take();
    },
    take,
    get hooked() {
      return hooked;
    },
  };
}
