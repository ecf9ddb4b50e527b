/**
 * Fake time for in-process scenario tests: `sleep` waits for the clock to reach its end, and `run` carries work to its
 * end, moving the clock to the next timer only when everything else waits (a few turns of the event loop let the
 * SQLite ledger's group commits, which run on `setImmediate`, settle first). No real waiting.
 */
export function fakeTime(start: number) {
  let t = start;
  let seq = 0;
  const timers: { at: number; seq: number; wake: () => void }[] = [];
  return {
    now: () => t,
    sleep: (ms: number) => new Promise<void>((wake) => void timers.push({ at: t + Math.max(0, ms), seq: seq++, wake })),
    async run<T>(work: Promise<T>): Promise<T> {
      let done = false;
      const out = work.finally(() => (done = true));
      // A rejection is the caller's, when it awaits the result: not an unhandled one while the clock moves.
      out.catch(() => {});
      while (!done) {
        for (let i = 0; i < 5 && !done; i++) await new Promise((r) => setImmediate(r));
        if (done || !timers.length) continue;
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const next = timers.shift()!;
        t = Math.max(t, next.at);
        next.wake();
      }
      return out;
    },
  };
}

export type FakeTime = ReturnType<typeof fakeTime>;
