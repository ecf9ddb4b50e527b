/**
 * Driver `file`: JSON Lines at `options.path` (relative to the project root, default `.chuda/outbox.jsonl`), the
 * project's own format (docs/channels.md, `file`). One line per send:
 * `{"key","campaign","occurrence","member","channel","address","content","at"}`, UTF-8 without BOM, `\n`-terminated,
 * append-only. A batch is written in one append and fsynced before any of it is reported `sent`.
 *
 * The file is also a dedupe ledger: on first use the driver loads the keys already in it and reports those
 * requests `sent` without writing them again. A torn last line (a crash mid-write, never reported sent) is cut off.
 * `at` is the send time in the UTC offset of the request's occurrence (e.g. `+08:00`).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Driver, DriverContext, DriverInstance, SendOutcome, SendRequest } from "./types.js";
import { failed, strOpt } from "./common.js";

export const DEFAULT_OUTBOX = ".chuda/outbox.jsonl";

/** ISO 8601 of `ms` at the offset `+hh:mm` / `-hh:mm` / `Z` (default `+08:00`), without milliseconds. */
export function isoWithOffset(ms: number, offset = "+08:00"): string {
  if (offset === "Z") return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
  const m = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
  const mins = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 480;
  const d = new Date(ms + mins * 60_000);
  return d.toISOString().replace(/\.\d{3}Z$/, "") + (m ? offset : "+08:00");
}

function offsetOf(occurrence: string): string | undefined {
  const m = /(Z|[+-]\d{2}:\d{2})$/.exec(occurrence);
  return m?.[1];
}

/** One line of the outbox for `r`, sent at `now`. */
export function outboxLine(r: SendRequest, now: number): string {
  const content = r.content?.kind === "file" || r.content?.kind === "webhook" ? r.content.body : r.content;
  return (
    JSON.stringify({
      key: r.key,
      campaign: r.campaign,
      occurrence: r.occurrence,
      member: r.member,
      channel: r.channel,
      address: r.address,
      content,
      at: isoWithOffset(now, offsetOf(r.occurrence)),
    }) + "\n"
  );
}

/** Keys of an outbox's complete lines, and the byte length of its complete part (a torn tail is excluded). */
export async function readOutbox(file: string): Promise<{ keys: Set<string>; goodBytes: number; size: number }> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { keys: new Set(), goodBytes: 0, size: 0 };
    throw e;
  }
  const keys = new Set<string>();
  const lastNl = buf.lastIndexOf(0x0a);
  const goodBytes = lastNl + 1;
  const text = buf.subarray(0, goodBytes).toString("utf8");
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const v = JSON.parse(line) as { key?: unknown };
      if (typeof v.key === "string") keys.add(v.key);
    } catch {
      /* a line that does not parse carries no key */
    }
  }
  return { keys, goodBytes, size: buf.length };
}

function create(ctx: DriverContext): DriverInstance {
  const rel = strOpt(ctx.options ?? {}, "path") ?? DEFAULT_OUTBOX;
  const file = path.resolve(ctx.root, rel);
  let keys: Set<string> | undefined;
  let handle: fs.FileHandle | undefined;
  /** Serialises appends: the runner calls `send` from several workers at once. */
  let chain: Promise<unknown> = Promise.resolve();

  async function open(): Promise<fs.FileHandle> {
    if (handle && keys) return handle;
    await fs.mkdir(path.dirname(file), { recursive: true });
    const o = await readOutbox(file);
    if (o.goodBytes < o.size) await fs.truncate(file, o.goodBytes);
    keys = o.keys;
    handle = await fs.open(file, "a");
    return handle;
  }

  async function write(batch: SendRequest[]): Promise<SendOutcome[]> {
    const out: SendOutcome[] = new Array(batch.length);
    let h: fs.FileHandle;
    try {
      h = await open();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "io";
      return batch.map(() => failed("stop", code, `file: cannot open ${rel} (${code})`));
    }
    const now = ctx.now();
    const lines: string[] = [];
    const fresh: string[] = [];
    batch.forEach((r, i) => {
      if (r.content?.kind !== "file")
        return void (out[i] = failed("request", "content_kind", `file: content of kind ${r.content?.kind} cannot be sent by this driver`));
      out[i] = { status: "sent" };
      if (keys!.has(r.key)) return;
      keys!.add(r.key);
      fresh.push(r.key);
      lines.push(outboxLine(r, now));
    });
    if (!lines.length) return out;
    try {
      await h.write(lines.join(""));
      await h.sync();
    } catch (e) {
      for (const k of fresh) keys!.delete(k);
      const code = (e as NodeJS.ErrnoException).code ?? "io";
      // The write may have reached the disk in part; a later run's load tells which keys are there.
      return batch.map((r, i) => (fresh.includes(r.key) ? failed("ambiguous", code, `file: write to ${rel} failed (${code})`) : out[i]!));
    }
    return out;
  }

  return {
    send(batch) {
      const p = chain.then(() => write(batch));
      chain = p.catch(() => undefined);
      return p;
    },
    /** The file is the record: a key in it was sent; a key not in it was not. */
    async reconcile(requests) {
      const o = await readOutbox(file);
      return requests.map((r) => (o.keys.has(r.key) ? { status: "sent" } : failed("retry", "not_found", "file: not in the outbox")));
    },
    async close() {
      await chain;
      await handle?.close();
      handle = undefined;
    },
  };
}

const fileDriver: Driver = {
  name: "file",
  contentKind: "file",
  batchLimit: 1000,
  secrets: [],
  create,
};

export default fileDriver;
