/**
 * The body of `POST /events` → validated business events, or the reasons it is refused. A body is a JSON array of
 * events or JSON Lines (one event per line); each event is `{member, name, time, props}`:
 * - `member`: the member key (a string, or a number taken as its digits);
 * - `name`: an event declared under chuda.yaml `events:`;
 * - `time`: an ISO 8601 date-time with its offset (`2026-12-03T10:15:00+08:00`, `…Z`) or epoch milliseconds;
 * - `props`: an object whose keys are properties of that event, each of its declared type (a property left out is
 *   missing: compared, it is false). Unknown properties are refused, so a typo is never silently ignored.
 * One bad event refuses the whole body: nothing is stored, and the answer lists what is wrong (at most 20 lines).
 */
import { createHash } from "node:crypto";
import type { StoredEvent } from "../dispatch/ledger.js";
import type { EventSchema } from "../project/events.js";
import type { FieldType } from "../project/types.js";
import { didYouMean as suggestion } from "../diagnostics/suggest.js";

export type IncomingEvent = Omit<StoredEvent, "id">;

export type ParseResult = { ok: true; events: IncomingEvent[] } | { ok: false; problems: string[] };

const MAX_PROBLEMS = 20;
const ISO = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Parses a JSON array or JSON Lines; `where(i)` names an event for messages (`line 3`, `event 3`). */
function records(text: string): { items: unknown[]; where: (i: number) => string } | { problem: string } {
  const trimmed = text.trim();
  if (!trimmed) return { problem: "the body is empty: send a JSON array of events or JSON Lines" };
  if (trimmed.startsWith("[")) {
    try {
      const v = JSON.parse(trimmed) as unknown;
      if (!Array.isArray(v)) return { problem: "the body is not a JSON array" };
      return { items: v, where: (i) => `event ${i + 1}` };
    } catch (e) {
      return { problem: `malformed JSON: ${(e as Error).message}` };
    }
  }
  const items: unknown[] = [];
  const lines: number[] = [];
  const all = text.split(/\r?\n/);
  for (let n = 0; n < all.length; n++) {
    const line = all[n]!.trim();
    if (!line) continue;
    try {
      items.push(JSON.parse(line));
      lines.push(n + 1);
    } catch (e) {
      return { problem: `line ${n + 1}: malformed JSON: ${(e as Error).message}` };
    }
  }
  return { items, where: (i) => `line ${lines[i]}` };
}

export function parseEvents(text: string, schema: EventSchema): ParseResult {
  const r = records(text);
  if ("problem" in r) return { ok: false, problems: [r.problem] };
  const problems: string[] = [];
  const events: IncomingEvent[] = [];
  r.items.forEach((item, i) => {
    if (problems.length >= MAX_PROBLEMS) return;
    const e = toEvent(item, schema);
    if (typeof e === "string") problems.push(`${r.where(i)}: ${e}`);
    else events.push(e);
  });
  if (problems.length) return { ok: false, problems };
  if (!events.length) return { ok: false, problems: ["the body holds no events"] };
  return { ok: true, events };
}

export function toEvent(item: unknown, schema: EventSchema): IncomingEvent | string {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return "an event must be an object {member, name, time, props}";
  const o = item as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !["member", "name", "time", "props"].includes(k));
  if (extra.length) return `unknown key ${extra.map((k) => `\`${k}\``).join(", ")}: an event has member, name, time and props`;
  const member = typeof o["member"] === "number" && Number.isFinite(o["member"]) ? String(o["member"]) : o["member"];
  if (typeof member !== "string" || !member) return "`member` must be the member key (a non-empty string)";
  const name = o["name"];
  if (typeof name !== "string") return "`name` must be a string";
  const props = schema.get(name);
  if (!props) {
    const help = suggestion(name, [...schema.keys()]);
    return `unknown event \`${name}\`${help ? ` (${help})` : ""}: chuda.yaml declares ${[...schema.keys()].map((k) => `\`${k}\``).join(", ") || "no events"}`;
  }
  const time = eventTime(o["time"]);
  if (time === undefined) return "`time` must be an ISO 8601 date-time with its offset (2026-12-03T10:15:00+08:00) or epoch milliseconds";
  const given = o["props"] ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given)) return "`props` must be an object";
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(given as Record<string, unknown>)) {
    const type = props.get(k);
    if (!type) {
      const help = suggestion(k, [...props.keys()]);
      return `event \`${name}\` has no property \`${k}\`${help ? ` (${help})` : ""}`;
    }
    if (v === null) continue;
    const value = propValue(v, type);
    if (value === undefined) return `property \`${k}\` of \`${name}\` must be ${typeText(type)}, found ${JSON.stringify(v).slice(0, 40)}`;
    out[k] = value;
  }
  return { ident: eventIdent(member, name, time, out), member, name, time, props: out };
}

function eventTime(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isInteger(v) && v > 0 ? v : undefined;
  if (typeof v !== "string" || !ISO.test(v)) return undefined;
  const t = Date.parse(v.replace(" ", "T"));
  return Number.isFinite(t) ? t : undefined;
}

function propValue(v: unknown, t: FieldType): unknown {
  switch (t.kind) {
    case "number":
      return typeof v === "number" && Number.isFinite(v) ? v : undefined;
    case "string":
    case "phone":
      return typeof v === "string" ? v : typeof v === "number" && t.kind === "phone" ? String(v) : undefined;
    case "bool":
      return typeof v === "boolean" ? v : undefined;
    case "date":
      return typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) ? v : undefined;
    case "datetime":
      return typeof v === "string" && /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$/.test(v) ? v.replace("T", " ") : undefined;
    case "list":
      return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
    case "enum":
      return (typeof v === "string" || typeof v === "number") && t.values.includes(String(v)) ? String(v) : undefined;
  }
}

function typeText(t: FieldType): string {
  switch (t.kind) {
    case "enum":
      return `one of ${t.values.join(", ")}`;
    case "date":
      return "a date YYYY-MM-DD";
    case "datetime":
      return "a project-local date-time YYYY-MM-DD HH:MM[:SS]";
    case "list":
      return "a list of strings";
    case "bool":
      return "true or false";
    default:
      return `a ${t.kind}`;
  }
}

/** The event's identity: the same member, name, moment and properties are the same event, whoever sends it again. */
export function eventIdent(member: string, name: string, time: number, props: Record<string, unknown>): string {
  const sorted = Object.keys(props)
    .sort()
    .map((k) => [k, props[k]]);
  return createHash("sha256")
    .update(JSON.stringify([member, name, time, sorted]))
    .digest("base64url")
    .slice(0, 22);
}
