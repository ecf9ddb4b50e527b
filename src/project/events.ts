/**
 * chuda.yaml's `events:` (the business events `chuda serve` accepts, each with its typed properties) and the
 * `serve:` settings event triggers and tracked links need: the environment variable holding the bearer token
 * of `POST /events`, and the public base URL of tracked links.
 */
import { isMap } from "yaml";
import { MESSAGES } from "../check/diagnostics/messages/index.js";
import { readFieldType } from "./member-schema.js";
import type { FieldType } from "./types.js";
import { IDENTIFIER, type Entry, type YamlReader } from "./yaml-reader.js";

/** Event name → its properties' types, in declaration order. */
export type EventSchema = Map<string, Map<string, FieldType>>;

export interface ServeConfig {
  /** Name of the environment variable holding the bearer token `POST /events` requires. */
  eventsTokenEnv?: string;
  /** Base URL of tracked links (`{{track "…"}}` → `<public_url>/r/<id>`), without a trailing slash. */
  publicUrl?: string;
}

export function readEvents(r: YamlReader, e: Entry | undefined): EventSchema {
  const out: EventSchema = new Map();
  for (const x of (e ? r.mapping(e) : []) ?? []) {
    const props = new Map<string, FieldType>();
    out.set(x.key, props);
    if (r.isNull(x.node)) continue;
    if (!isMap(x.node)) {
      r.report(MESSAGES.projectEventProps, x.span, [x.key, r.describe(x.node)]);
      continue;
    }
    for (const p of r.mapping(x) ?? []) {
      if (!IDENTIFIER.test(p.key)) r.report(MESSAGES.projectBadName, p.keySpan, [p.key, "event property"]);
      const t = readFieldType(r, p);
      if (t) props.set(p.key, t);
    }
  }
  return out;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function readServe(r: YamlReader, e: Entry | undefined): ServeConfig {
  const out: ServeConfig = {};
  for (const x of (e ? r.mapping(e, ["events_token_env", "public_url"]) : []) ?? []) {
    const v = r.str(x);
    if (v === undefined) continue;
    if (x.key === "events_token_env") {
      if (ENV_NAME.test(v)) out.eventsTokenEnv = v;
      else r.report(MESSAGES.projectEventsTokenEnv, x.span, [v]);
    } else if (x.key === "public_url") {
      const url = publicUrl(v);
      if (url) out.publicUrl = url;
      else r.report(MESSAGES.projectPublicUrl, x.span, [v]);
    }
  }
  return out;
}

function publicUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    if ((u.protocol !== "http:" && u.protocol !== "https:") || u.search || u.hash) return undefined;
    return u.href.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}
