/**
 * A live Ink region on a terminal stream (stderr by default, so stdout keeps only results): redrawn at most
 * every `minIntervalMs` however often the caller reports (a dispatch can report thousands of times a second),
 * with the latest state always drawn on `finish`, whose last frame stays on screen. Text logged while it is
 * live is written above the region instead of tearing it.
 */
import type { ReactElement, ReactNode } from "react";
import { render, useStdout, type Instance } from "ink";

export interface LiveOptions {
  /** Where the region is drawn. Default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Shortest time between two redraws. Default 50 ms. */
  minIntervalMs?: number;
}

/** A view is built only when it is drawn, so reporting often costs little. */
export type ViewFactory = () => ReactElement;

export interface Live {
  show(view: ViewFactory): void;
  log(text: string): void;
  /** Draws `view` (or the last one shown) one final time and leaves it on screen. Safe to call twice. */
  finish(view?: ViewFactory): void;
}

export function mountLive(opts: LiveOptions = {}): Live {
  const stream = opts.stream ?? process.stderr;
  const interval = opts.minIntervalMs ?? 50;
  let write: ((data: string) => void) | undefined;
  const Bind = ({ children }: { children: ReactNode }) => {
    write = useStdout().write;
    return <>{children}</>;
  };
  let instance: Instance | undefined;
  let closed = false;
  let last = 0;
  let pending: ViewFactory | undefined;
  let shown: ViewFactory | undefined;
  let timer: NodeJS.Timeout | undefined;

  const draw = (view: ViewFactory) => {
    pending = undefined;
    shown = view;
    last = Date.now();
    const node = <Bind>{view()}</Bind>;
    if (!instance) instance = render(node, { stdout: stream, exitOnCtrlC: true, patchConsole: false });
    else instance.rerender(node);
  };
  const clear = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };

  // A redirected stderr (`2>log`) gets no live region: its escape codes would only litter the file.
  if (!stream.isTTY) {
    return { show() {}, log: (text) => void stream.write(text), finish() {} };
  }

  return {
    show(view) {
      if (closed) return;
      const wait = interval - (Date.now() - last);
      if (!instance || wait <= 0) {
        clear();
        draw(view);
        return;
      }
      pending = view;
      if (!timer) {
        timer = setTimeout(() => {
          timer = undefined;
          if (pending && !closed) draw(pending);
        }, wait);
        timer.unref?.();
      }
    },
    log(text) {
      if (!closed && write) write(text);
      else stream.write(text);
    },
    finish(view) {
      if (closed) return;
      clear();
      const final = view ?? pending ?? shown;
      if (final) draw(final);
      closed = true;
      instance?.unmount();
    },
  };
}
