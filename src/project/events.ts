/**
 * chuda.yaml's `events:`: the business events `chuda serve` accepts, each with its typed properties (the `serve:`
 * settings event triggers and tracked links need are read with the rest of `serve:` in serve.ts).
 */
import { isMap } from "yaml";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { readFieldType } from "./member-schema.js";
import type { FieldType } from "./types.js";
import { IDENTIFIER, type Entry, type YamlReader } from "./yaml-reader.js";

/** Event name → its properties' types, in declaration order. */
export type EventSchema = Map<string, Map<string, FieldType>>;

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
