/** The `members:` section: key, typed fields, and how distance is measured. */
import { isMap, isScalar } from "yaml";
import { didYouMean } from "../diagnostics/suggest.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import type { FieldType, MemberSchema, MemberSource, ScalarType } from "./types.js";
import { IDENTIFIER, type Entry, type YamlReader } from "./yaml-reader.js";

const SCALAR_TYPES: readonly ScalarType[] = ["string", "number", "bool", "date", "datetime", "list", "phone"];

/** Names people write for a type from other tools, and the chuda type they mean. */
const TYPE_ALIASES: Record<string, string> = {
  boolean: "bool",
  int: "number",
  integer: "number",
  float: "number",
  double: "number",
  decimal: "number",
  text: "string",
  str: "string",
  array: "list",
  tags: "list",
  timestamp: "datetime",
  time: "datetime",
  mobile: "phone",
  tel: "phone",
};

/** A field reference in chuda.yaml (`members.key`, a channel's `address` …): must name a declared field. */
export function fieldRef(r: YamlReader, e: Entry, fields: Map<string, FieldType> | undefined): string | undefined {
  const name = r.str(e, "the name of a member field");
  if (name === undefined) return undefined;
  if (fields && !fields.has(name)) {
    const help = didYouMean(name, fields.keys());
    r.report(MESSAGES.projectUnknownField, e.span, [name, e.path], help ? { help } : {});
  }
  return name;
}

export function describeFieldType(t: FieldType | undefined): string {
  if (!t) return "undeclared";
  return t.kind === "enum" ? "an enum" : `of type ${t.kind}`;
}

export function readFieldType(r: YamlReader, e: Entry): FieldType | undefined {
  if (isScalar(e.node) && typeof e.node.value === "string") {
    const t = e.node.value;
    if ((SCALAR_TYPES as readonly string[]).includes(t)) return { kind: t as ScalarType };
    const alias = TYPE_ALIASES[t.toLowerCase()];
    const help = t === "enum" ? "write `{ enum: [a, b, …] }` with the values in order" : alias ? `did you mean \`${alias}\`?` : didYouMean(t, SCALAR_TYPES);
    r.report(MESSAGES.projectBadFieldType, e.span, [t], help ? { help } : {});
    return undefined;
  }
  if (isMap(e.node)) {
    const entries = r.mapping(e, ["enum"]);
    if (!entries) return undefined;
    const valuesEntry = entries.find((x) => x.key === "enum");
    if (!valuesEntry) {
      r.missing("enum", e);
      return undefined;
    }
    const items = r.list(valuesEntry, "a list of values");
    if (!items) return undefined;
    const values: string[] = [];
    for (const item of items) {
      const v = isScalar(item.node) ? item.node.value : undefined;
      if (typeof v !== "string" && typeof v !== "number") {
        r.wrongType(item, "a string or a number");
        continue;
      }
      const s = String(v);
      if (values.includes(s)) r.report(MESSAGES.projectBadEnum, item.span, [`\`${s}\` appears twice in the enum of \`${e.key}\``]);
      else values.push(s);
    }
    if (items.length === 0) {
      r.report(MESSAGES.projectBadEnum, valuesEntry.span, [`the enum of \`${e.key}\` has no values`]);
      return undefined;
    }
    return values.length > 0 ? { kind: "enum", values } : undefined;
  }
  r.wrongType(e, "a field type (string, number, bool, date, datetime, list, phone or `{ enum: [...] }`)");
  return undefined;
}

/** Reads `members:`. Returns undefined when there is no usable schema (no fields). */
export function readMembers(r: YamlReader, e: Entry, hasMallLocation: boolean): MemberSchema | undefined {
  const entries = r.mapping(e, ["key", "fields", "distance", "source"]);
  if (!entries) return undefined;
  const get = (k: string) => entries.find((x) => x.key === k);

  const fields = new Map<string, FieldType>();
  const fieldsEntry = get("fields");
  let fieldsOk = false;
  if (!fieldsEntry) r.missing("fields", e);
  else {
    const list = r.mapping(fieldsEntry);
    if (list) {
      if (list.length === 0) r.missing("fields", e);
      for (const f of list) {
        if (!IDENTIFIER.test(f.key)) r.report(MESSAGES.projectBadName, f.keySpan, [f.key, "field"]);
        const t = readFieldType(r, f);
        // A field with a bad type is still declared (as a string), so references to it do not report twice.
        fields.set(f.key, t ?? { kind: "string" });
      }
      fieldsOk = list.length > 0;
    }
  }

  let key: string | undefined;
  const keyEntry = get("key");
  if (!keyEntry) r.missing("key", e);
  else key = fieldRef(r, keyEntry, fieldsOk ? fields : undefined);
  if (!fieldsOk) return undefined;
  if (key === undefined || !fields.has(key)) key = fields.keys().next().value!;

  const schema: MemberSchema = { key, fields };
  const distEntry = get("distance");
  if (distEntry) {
    if (isMap(distEntry.node)) {
      const d = r.mapping(distEntry, ["point"]);
      const point = d?.find((x) => x.key === "point");
      if (d && !point) r.missing("point", distEntry);
      const items = point ? r.list(point, "[lon_field, lat_field]") : undefined;
      if (items && items.length !== 2) r.wrongType(point!, "[lon_field, lat_field]");
      else if (items) {
        const [lon, lat] = items.map((it) => numberField(r, it, fields));
        if (lon !== undefined && lat !== undefined) schema.distance = { kind: "point", lon, lat };
        if (!hasMallLocation) r.report(MESSAGES.projectDistanceNeedsMall, point!.keySpan);
      }
    } else {
      const f = numberField(r, distEntry, fields);
      if (f !== undefined) schema.distance = { kind: "field", field: f };
    }
  }
  const sourceEntry = get("source");
  if (sourceEntry) {
    const source = readMemberSource(r, sourceEntry);
    if (source) schema.source = source;
  }
  return schema;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
/** Anything that looks like a database URL (`scheme://`): it holds a password and does not belong in chuda.yaml. */
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** `members.source: { url_env, query | table }`: the URL itself is never read from chuda.yaml. */
function readMemberSource(r: YamlReader, e: Entry): MemberSource | undefined {
  const entries = r.mapping(e, ["url_env", "query", "table", "url"]);
  if (!entries) return undefined;
  const source: MemberSource = {};
  let ok = true;
  for (const x of entries) {
    if (x.key === "url") {
      // Reported without echoing the value: it is a URL with a password in it.
      r.report(MESSAGES.projectSourceUrlInline, x.keySpan);
      ok = false;
      continue;
    }
    const v = r.str(x);
    if (v === undefined) {
      ok = false;
      continue;
    }
    if (x.key === "url_env") {
      if (URL_LIKE.test(v.trim())) {
        r.report(MESSAGES.projectSourceUrlInline, x.span);
        ok = false;
      } else if (!ENV_NAME.test(v)) {
        r.report(MESSAGES.projectSourceBadEnvName, x.span, [v]);
        ok = false;
      } else source.urlEnv = v;
    } else if (x.key === "table") {
      if (!TABLE_NAME.test(v.trim())) {
        r.report(MESSAGES.projectSourceBadTable, x.span, [v]);
        ok = false;
      } else source.table = v.trim();
    } else {
      const problem = queryProblem(v);
      if (problem) {
        r.report(MESSAGES.projectSourceBadQuery, x.span, [problem]);
        ok = false;
      } else source.query = v.trim().replace(/;\s*$/, "");
    }
  }
  if (source.query !== undefined && source.table !== undefined) {
    r.report(MESSAGES.projectSourceQueryAndTable, e.keySpan);
    ok = false;
  }
  return ok ? source : undefined;
}

/** Why a members query is not one statement (empty, or a `;` followed by more), outside quotes and comments. */
export function queryProblem(sql: string): string | undefined {
  const text = sql.trim().replace(/;\s*$/, "");
  if (!text) return "it is empty";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "'" || ch === '"' || ch === "`") {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) return "a quote is not closed";
      i = end;
    } else if (ch === "-" && text[i + 1] === "-") {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end;
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (ch === ";") return "it holds several statements";
  }
  return undefined;
}

function numberField(r: YamlReader, e: Entry, fields: Map<string, FieldType>): string | undefined {
  const name = fieldRef(r, e, fields);
  if (name === undefined || !fields.has(name)) return undefined;
  const t = fields.get(name)!;
  if (t.kind !== "number") {
    r.report(MESSAGES.projectDistanceNotNumber, e.span, [name, describeFieldType(t)]);
    return undefined;
  }
  return name;
}
