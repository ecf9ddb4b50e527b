/** A channel's provider-call pacing from its `rate_limit`: the gate drivers await before each call, or the runner per batch. */

export interface RateGate {
  /**
   * For drivers, as `DriverContext.acquire`: resolves when the next provider call may leave. Marks the gate as used
   * by its driver (the runner then stops pacing per batch).
   */
  acquire: () => Promise<void>;
  /** The same bucket, for the runner's per-batch pacing of drivers that do not call `acquire`. */
  take: () => Promise<void>;
  /** Whether a driver has called `acquire`. */
  readonly hooked: boolean;
}

/** The gate whose bucket is `take`: `acquire` takes from it too, and marks the gate as used by its driver. */
export function gateOver(take: () => Promise<void>): RateGate {
  let hooked = false;
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

const RESOLVED = Promise.resolve();
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Slack added to the one-second window of a `rate_limit`, for the jitter between a call leaving and reaching the
 * provider: the gate keeps n calls per 1000 + RATE_MARGIN_MS ms where it measures (when calls leave), so that no
 * second the provider measures holds more than n. It costs a tenth of the rate; 25 ms (2.4 %) let a receiver on a
 * busy machine see 21 calls in a second at `rate_limit: 20` (test/e2e/dispatch-robust.test.ts).
 */
export const RATE_MARGIN_MS = 100;

/**
 * A channel's provider-call pacing from its `rate_limit` (calls per second); unlimited when unset. A sliding-window
 * limiter: with n the rate rounded down (a fractional rate cannot be met in whole calls otherwise) and
 * W = 1000 + RATE_MARGIN_MS ms, a call may leave only when the call n places before it left W or more ago. The gate
 * keeps when the last n calls actually left (a ring), so a timer that fires late delays the calls after it and never
 * lets them bunch up: no window of W ms (closed or open) holds more than n calls, whatever the timers do.
 *
 * Within that bound calls are spread out, W / n ms apart, each slot scheduled from the previous one so that timer
 * lateness does not pile up while callers wait (a burst of n at one instant would reach the provider as a burst, where
 * jitter could reorder it across the edge of its second). An idle gate grants the next call at once; it banks no
 * unused slots. Callers are served in order, one decision at a time. A rate below 1 lets one call through per
 * `1000 / rate + RATE_MARGIN_MS` ms.
 */
export function rateGate(perSecond: number | undefined, now: () => number = Date.now, sleep: (ms: number) => Promise<void> = realSleep): RateGate {
  let take: () => Promise<void>;
  if (!perSecond || perSecond <= 0 || !Number.isFinite(perSecond)) take = () => RESOLVED;
  else {
    const n = Math.max(1, Math.floor(perSecond));
    const window = perSecond >= 1 ? 1000 + RATE_MARGIN_MS : 1000 / perSecond + RATE_MARGIN_MS;
    const interval = window / n;
    // When the last n calls actually left (a ring: `left[head]` is the call n places back), and the last slot.
    const left = new Float64Array(n).fill(-Infinity);
    let head = 0;
    let slot = -Infinity;
    let tail: Promise<void> = RESOLVED;
    const pass = async () => {
      for (;;) {
        const t = now();
        const at = Math.max(slot + interval, left[head]! + window);
        if (t >= at) {
          // Late by more than a slot (an idle gate, or a stall): start again from now rather than burst to catch up.
          slot = t - at > interval ? t : at;
          left[head] = t;
          head = (head + 1) % n;
          return;
        }
        await sleep(at - t);
      }
    };
    take = () => (tail = tail.then(pass));
  }
  return gateOver(take);
}
