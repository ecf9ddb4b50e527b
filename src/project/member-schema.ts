/** The `members:` section: key, typed fields, and how distance is measured. */
import { isMap, isScalar } from "yaml";
import { didYouMean } from "../diagnostics/suggest.js";
import { MESSAGES } from "../diagnostics/messages/index.js";
import type { FieldType, MemberSchema, MemberSource, ScalarType } from "./types.js";
import { pointSpan, type Span } from "../diagnostics/span.js";
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
    const source = readMemberSource(r, sourceEntry, e);
    if (source) schema.source = source;
  }
  return schema;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;
/** Anything that looks like a database URL (`scheme://`): it holds a password and does not belong in chuda.yaml. */
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** `members.source: { url_env, query | table }`: the URL itself is never read from chuda.yaml. */
function readMemberSource(r: YamlReader, e: Entry, members: Entry): MemberSource | undefined {
  const entries = r.mapping(e, ["url_env", "query", "table", "url"]);
  if (!entries) return undefined;
  const source: MemberSource = {};
  let ok = true;
  for (const x of entries) {
    if (x.key === "url") {
      // Reported without echoing the value: it is a URL with a password in it.
      r.report(MESSAGES.projectSourceUrlInline, secretFreeSpan(x, isScalar(x.node) ? String(x.node.value) : "@", [x.keySpan, e.keySpan, members.keySpan]));
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
        r.report(MESSAGES.projectSourceUrlInline, secretFreeSpan(x, v, [x.span, e.keySpan, members.keySpan]));
        ok = false;
      } else if (!ENV_NAME.test(v)) {
        // Often the URL or a connection string itself: shown with its password masked, and not in the code frame.
        const shown = maskSecrets(v.trim());
        r.report(MESSAGES.projectSourceBadEnvName, secretFreeSpan(x, v, [x.span, e.keySpan, members.keySpan]), [
          shown.length > 80 ? `${shown.slice(0, 79)}…` : shown,
        ]);
        ok = false;
      } else source.urlEnv = v;
    } else if (x.key === "table") {
      if (!TABLE_NAME.test(v.trim())) {
        r.report(MESSAGES.projectSourceBadTable, x.span, [v]);
        ok = false;
      } else source.table = v.trim();
    } else {
      const q = readQuery(v);
      if ("problem" in q) {
        r.report(MESSAGES.projectSourceBadQuery, x.span, [q.problem]);
        ok = false;
      } else source.query = q.query;
    }
  }
  if (source.query !== undefined && source.table !== undefined) {
    r.report(MESSAGES.projectSourceQueryAndTable, e.keySpan);
    ok = false;
  }
  return ok ? source : undefined;
}

/**
 * Where to report a value that may hold a password: the first candidate span on a line the value is not on, since
 * the pretty renderer prints the reported line (and masks only `scheme://user:password@`). A value with nothing to
 * hide keeps the first candidate.
 */
function secretFreeSpan(x: Entry, value: string, candidates: Span[]): Span {
  if (maskSecrets(value) === value && !value.includes("@")) return candidates[0]!;
  const clear = (s: Span) => s.start.line < x.span.start.line || s.start.line > x.span.end.line;
  const line = x.span.start.line > 1 ? x.span.start.line - 1 : x.span.end.line + 1;
  return candidates.find(clear) ?? pointSpan(x.span.file, line);
}

/** `password=…` (libpq key=value strings, a URL's query string), up to the next space or the end of a quote. */
const PASSWORD_PARAM = /(password|passwd|pass|pwd)\s*=\s*('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|\S*)/gi;

/**
 * A text that may hold a database URL or connection string, its passwords masked: `user:password@` becomes
 * `user:***@` (with or without a scheme, also `postgres:/…` and `postgres:user:pw@…`), `password=…` (and `pwd=`
 * …) becomes `password=***`. For messages that echo what a user wrote; it masks more than needed rather than less.
 */
export function maskSecrets(text: string): string {
  return text.replace(PASSWORD_PARAM, "$1=***").replace(/\S+/g, maskUserinfo);
}

function maskUserinfo(token: string): string {
  const at = token.lastIndexOf("@");
  if (at < 0) return token;
  const head = token.slice(0, at);
  const scheme = /[A-Za-z][A-Za-z0-9+.-]*:\/+/.exec(head) ?? /(?:postgres|postgresql|mysql|mariadb):/i.exec(head);
  // A Windows drive's colon (`C:\exports\…`) is no password's.
  const from = scheme ? scheme.index + scheme[0].length : /^[A-Za-z]:[\\/]/.test(head) ? 2 : 0;
  const colon = head.indexOf(":", from);
  if (colon >= 0) return `${head.slice(0, colon)}:***${token.slice(at)}`;
  // `postgres:secret@host`: after a scheme without `//`, what precedes the `@` may be the password.
  if (scheme && !scheme[0].endsWith("/") && from < head.length) return `${head.slice(0, from)}***${token.slice(at)}`;
  return token;
}

/** The first keyword of a members query: statements that only read. */
const READ_ONLY_START = new Set(["select", "with", "values", "table"]);
/**
 * Keywords that write (a data-modifying CTE, SELECT … INTO, FOR UPDATE, a second statement), refused anywhere in a
 * members query outside quotes and comments: a column of such a name is written quoted.
 */
const WRITING = new Set("insert update delete merge drop alter create truncate grant revoke call do copy load replace handler lock set into".split(" "));
/** Functions of those names (MySQL's `replace(s, a, b)`, `insert(…)`, `truncate(x, d)`): the name right before `(`. */
const WRITING_NAMED_FUNCTIONS = new Set(["replace", "insert", "truncate"]);

/** How one SQL dialect splits a text into tokens. */
interface Lexicon {
  /** PostgreSQL: `/* … *\/` nest, `$tag$ … $tag$` and `E'…'` are strings, `"…"` is an identifier. */
  postgres: boolean;
  /** A backslash escapes the next character in `'…'` (MySQL's default, PostgreSQL without standard_conforming_strings). */
  backslash: boolean;
}

/** Every way the query may be read (its database is not known when chuda.yaml is checked): a problem in any is one. */
const LEXICONS: readonly Lexicon[] = [
  { postgres: true, backslash: false },
  { postgres: true, backslash: true },
  { postgres: false, backslash: true },
  { postgres: false, backslash: false },
];

const EMPTY = "it is empty";

interface Token {
  kind: "word" | "semicolon" | "open" | "other";
  text: string;
  at: number;
}

const WORD = /[\p{L}_][\p{L}\p{N}_$]*/uy;
const DOLLAR_TAG = /\$(?:[\p{L}_][\p{L}\p{N}_]*)?\$/uy;

/** The tokens of `sql` outside comments (strings and quoted names are `other`); `unclosed` when a quote or comment is not closed. */
function tokenize(sql: string, lx: Lexicon): { tokens: Token[]; unclosed?: "a quote" | "a comment" } {
  const tokens: Token[] = [];
  const my = !lx.postgres;
  /** The end of a quoted text opened at `i` by `q`, or -1: `qq` doubled is the quote itself, `\` escapes with `bs`. */
  const quoted = (i: number, q: string, bs: boolean): number => {
    for (let j = i + 1; j < sql.length; j++) {
      if (bs && sql[j] === "\\") j++;
      else if (sql[j] === q) {
        if (sql[j + 1] !== q) return j + 1;
        j++;
      }
    }
    return -1;
  };
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    let end: number;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if ((ch === "-" && next === "-" && (!my || /[\s\x00-\x1f]/.test(sql[i + 2] ?? " "))) || (my && ch === "#")) {
      const nl = sql.indexOf("\n", i);
      i = nl < 0 ? sql.length : nl + 1;
      continue;
    }
    if (ch === "/" && next === "*") {
      // MySQL runs what is inside `/*! … */` (MariaDB also `/*M! … */`): it is read as code.
      const bang = my && /^\/\*M?!\d*/.exec(sql.slice(i, i + 12));
      if (bang) {
        i += bang[0].length;
        continue;
      }
      // PostgreSQL nests comments; MySQL ends one at the first `*/`.
      let depth = 0;
      for (end = i; end < sql.length; end++) {
        if (sql[end] === "/" && sql[end + 1] === "*" && (depth === 0 || lx.postgres)) {
          depth++;
          end++;
        } else if (sql[end] === "*" && sql[end + 1] === "/" && --depth === 0) break;
      }
      if (end >= sql.length) return { tokens, unclosed: "a comment" };
      i = end + 2;
      continue;
    }
    // PostgreSQL refuses a backtick anywhere in code, and it parses the whole text before running any of it.
    if (lx.postgres && ch === "`") return { tokens, unclosed: "a quote" };
    if (ch === "'" || ch === '"' || (my && ch === "`")) {
      end = quoted(i, ch, ch === "'" ? lx.backslash : ch === '"' && my && lx.backslash);
      if (end < 0) return { tokens, unclosed: "a quote" };
      tokens.push({ kind: "other", text: sql.slice(i, end), at: i });
      i = end;
      continue;
    }
    if (lx.postgres && ch === "$") {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        if (close < 0) return { tokens, unclosed: "a quote" };
        tokens.push({ kind: "other", text: sql.slice(i, close + tag.length), at: i });
        i = close + tag.length;
        continue;
      }
    }
    WORD.lastIndex = i;
    const word = WORD.exec(sql)?.[0];
    if (word) {
      // PostgreSQL's E'…' takes backslash escapes.
      if (lx.postgres && (word === "E" || word === "e") && sql[i + 1] === "'") {
        end = quoted(i + 1, "'", true);
        if (end < 0) return { tokens, unclosed: "a quote" };
        tokens.push({ kind: "other", text: sql.slice(i, end), at: i });
        i = end;
        continue;
      }
      tokens.push({ kind: "word", text: word, at: i });
      i += word.length;
      continue;
    }
    tokens.push({ kind: ch === ";" ? "semicolon" : ch === "(" ? "open" : "other", text: ch, at: i });
    i++;
  }
  return { tokens };
}

/** What makes these tokens other than one read-only statement, or where its trailing `;` is. */
function statementProblem(tokens: Token[], sql: string): { problem: string } | { end?: number } {
  const first = tokens.find((t) => t.kind !== "open");
  if (!first) return { problem: EMPTY };
  if (first.kind !== "word") return { problem: "it does not begin with SELECT, WITH, VALUES or TABLE" };
  if (!READ_ONLY_START.has(first.text.toLowerCase())) return { problem: `\`${first.text.slice(0, 40)}\` is not a SELECT` };
  let end: number | undefined;
  for (const t of tokens) {
    if (t.kind === "semicolon") end ??= t.at;
    else if (end !== undefined) return { problem: "it holds several statements" };
    const w = t.text.toLowerCase();
    if (t.kind !== "word" || !WRITING.has(w) || (WRITING_NAMED_FUNCTIONS.has(w) && sql[t.at + t.text.length] === "(")) continue;
    return {
      problem:
        w === "into"
          ? `it holds \`${t.text}\` (SELECT … INTO writes the rows to a table, a file or variables)`
          : `it holds \`${t.text}\`, which can change the database`,
    };
  }
  return end === undefined ? {} : { end };
}

/**
 * A members query checked to be one read-only statement (SELECT, WITH, VALUES or TABLE; no keyword that writes
 * outside quotes and comments), as it will be run: without its trailing `;` and what follows it (comments only).
 * The database is not known yet, so the text is read the PostgreSQL way and the MySQL way, with and without
 * backslash escapes: a problem in any reading is reported; a quote left open in some readings (a syntax error
 * there) is one only if it is open in all of them.
 */
export function readQuery(sql: string): { query: string } | { problem: string } {
  let end = sql.length;
  let unclosed: string | undefined;
  let closed = false;
  for (const lx of LEXICONS) {
    const read = tokenize(sql, lx);
    const found = statementProblem(read.tokens, sql);
    if ("problem" in found && !(read.unclosed && found.problem === EMPTY)) return found;
    if (read.unclosed) unclosed ??= read.unclosed;
    else {
      closed = true;
      if ("end" in found && found.end !== undefined) end = Math.min(end, found.end);
    }
  }
  if (!closed) return { problem: `${unclosed} is not closed` };
  return { query: sql.slice(0, end).trim() };
}

/** Why a members query is not one read-only statement, or undefined. */
export function queryProblem(sql: string): string | undefined {
  const q = readQuery(sql);
  return "problem" in q ? q.problem : undefined;
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
