/**
 * SIGTERM and SIGINT. A command that can stop cleanly (dispatch: finish the calls in flight, record them, release the
 * lock) registers a handler for the first signal; without one, or on a second signal, the process exits at once with
 * 128 + the signal's number, through `process.exit` so that exit hooks (temporary snapshot files) still run.
 */
const NUMBERS: Record<"SIGTERM" | "SIGINT", number> = { SIGTERM: 15, SIGINT: 2 };

export type InterruptSignal = keyof typeof NUMBERS;

let handler: ((signal: InterruptSignal) => void) | undefined;
let installed = false;

export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(NUMBERS) as InterruptSignal[]) {
    process.on(signal, () => {
      const h = handler;
      handler = undefined; // a second signal exits at once
      if (h) h(signal);
      else process.exit(128 + NUMBERS[signal]);
    });
  }
}

/** Handles the next SIGTERM or SIGINT instead of exiting; returns the function that unregisters it. */
export function onInterrupt(h: (signal: InterruptSignal) => void): () => void {
  handler = h;
  return () => {
    if (handler === h) handler = undefined;
  };
}
