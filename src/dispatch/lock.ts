/**
 * One dispatch at a time per repository: `.chuda/dispatch.lock` holds the pid and start time. A lock whose
 * process is gone (a kill -9) is taken over; a live one makes the second run stop with a clear message.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";

export type LockResult = { ok: true; release: () => void; tookOverFrom?: number } | { ok: false; pid: number; since: string };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function acquireLock(root: string, now: number): LockResult {
  const dir = path.join(root, ".chuda");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "dispatch.lock");
  let tookOverFrom: number | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date(now).toISOString() }));
      closeSync(fd);
      return {
        ok: true,
        tookOverFrom,
        release: () => {
          try {
            const held = JSON.parse(readFileSync(file, "utf8")) as { pid: number };
            if (held.pid === process.pid) unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let held: { pid: number; since: string } | undefined;
      try {
        held = JSON.parse(readFileSync(file, "utf8"));
      } catch {
        held = undefined; // half-written by a process killed mid-write
      }
      if (held && held.pid !== process.pid && alive(held.pid)) return { ok: false, pid: held.pid, since: held.since };
      tookOverFrom = held?.pid;
      try {
        unlinkSync(file);
      } catch {
        /* another process took it over first; retry */
      }
    }
  }
  const held = JSON.parse(readFileSync(file, "utf8")) as { pid: number; since: string };
  return { ok: false, pid: held.pid, since: held.since };
}
