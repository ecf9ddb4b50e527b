/**
 * The Handlebars instance templates are rendered with, and chuda's helpers.
 *
 * Rendering uses `noEscape: true` (every channel is plain text) and `strict: false` (a missing field renders as
 * ""). A member's values are data: they are inserted into the output and never compiled, so a name such as
 * `{{x}}` stays literally `{{x}}`.
 */
import Handlebars from "handlebars";
import { TRACK_STATE, trackHelper, type TrackState } from "./track.js";

export const hbs = Handlebars.create();

/** The last argument of a helper is Handlebars' options object. */
type Options = Handlebars.HelperOptions;

function isOptions(v: unknown): v is Options {
  return typeof v === "object" && v !== null && "hash" in v && "data" in v;
}

function missing(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === "string" && v.trim() === "") || (typeof v === "number" && Number.isNaN(v));
}

// ------------------------------------------------------------------------------------------------ date

interface DateParts {
  y: number;
  m: number;
  d: number;
  hh?: number;
  mi?: number;
  ss?: number;
}

const DATE_RE = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?/;

/**
 * Reads a date: a `Date` or epoch milliseconds (UTC calendar fields: member dates arrive as UTC midnight), or
 * a string "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]", "YYYY-MM-DDTHH:MM[:SS][offset]" (the wall-clock fields as
 * written; the offset is ignored), "YYYY/MM/DD". Anything else (a DuckDB value object …) is read through String().
 */
export function readDate(v: unknown): DateParts | undefined {
  if (v instanceof Date || typeof v === "number") {
    const dt = v instanceof Date ? v : new Date(v);
    if (Number.isNaN(dt.getTime())) return undefined;
    const p: DateParts = { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate() };
    if (dt.getUTCHours() || dt.getUTCMinutes() || dt.getUTCSeconds())
      Object.assign(p, { hh: dt.getUTCHours(), mi: dt.getUTCMinutes(), ss: dt.getUTCSeconds() });
    return p;
  }
  if (v === undefined || v === null) return undefined;
  const m = DATE_RE.exec(String(v).trim());
  if (!m) return undefined;
  const p: DateParts = { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
  if (p.m < 1 || p.m > 12 || p.d < 1 || p.d > 31) return undefined;
  if (m[4] !== undefined) Object.assign(p, { hh: Number(m[4]), mi: Number(m[5]), ss: m[6] === undefined ? 0 : Number(m[6]) });
  return p;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * Formats with the tokens YYYY, YY, MM, M, DD, D, HH, H, mm, ss; any other text is copied
 * (`M月D日` → `11月24日`, `YYYY-MM-DD` → `2026-11-24`, `YYYY年M月D日`).
 */
export function formatDate(p: DateParts, format: string): string {
  return format.replace(/YYYY|YY|MM|M|DD|D|HH|H|mm|ss/g, (t) => {
    switch (t) {
      case "YYYY":
        return pad(p.y, 4);
      case "YY":
        return pad(p.y % 100);
      case "MM":
        return pad(p.m);
      case "M":
        return String(p.m);
      case "DD":
        return pad(p.d);
      case "D":
        return String(p.d);
      case "HH":
        return pad(p.hh ?? 0);
      case "H":
        return String(p.hh ?? 0);
      case "mm":
        return pad(p.mi ?? 0);
      default:
        return pad(p.ss ?? 0);
    }
  });
}

/** `{{date birthday "M月D日"}}`; the default format is `YYYY-MM-DD`. A missing or unreadable date renders "". */
export function dateHelper(value: unknown, format?: unknown): string {
  const p = readDate(value);
  if (!p) return "";
  return formatDate(p, typeof format === "string" ? format : "YYYY-MM-DD");
}

// ------------------------------------------------------------------------------------------------ yuan

/**
 * `{{yuan amount}}`: an amount in CNY without a currency sign and without thousands separators (SMS variables
 * and WeChat `amount` values reject commas): whole amounts without decimals (50 → "50"), others with two
 * (49.5 → "49.50", 0.333 → "0.33"). A value that is not a number is copied as text; missing → "".
 */
export function yuanHelper(value: unknown): string {
  if (missing(value)) return "";
  const n = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isFinite(n)) return String(value);
  const cents = Math.round(n * 100);
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  const whole = Math.floor(abs / 100);
  const frac = abs % 100;
  return sign + (frac === 0 ? String(whole) : `${whole}.${pad(frac)}`);
}

// ------------------------------------------------------------------------------------------------ mask

const PHONE_RE = /^(\+?86)?(1\d{10})$/;

/**
 * `{{mask mobile}}`: a mainland mobile number keeps its first 3 and last 4 digits (13812341234 → 138****1234,
 * spaces and dashes dropped); any other text keeps its first and last character (王小明 → 王*明, 王伟 → 王*).
 * Counts code points.
 */
export function maskHelper(value: unknown): string {
  if (missing(value)) return "";
  const s = String(value).trim();
  const m = PHONE_RE.exec(s.replace(/[\s-]/g, ""));
  if (m) return `${m[1] ?? ""}${m[2]!.slice(0, 3)}****${m[2]!.slice(7)}`;
  const cps = [...s];
  if (cps.length <= 1) return "*";
  if (cps.length === 2) return cps[0] + "*";
  return cps[0] + "*".repeat(cps.length - 2) + cps[cps.length - 1];
}

// ------------------------------------------------------------------------------------------------ truncate

/**
 * `{{truncate name 8}}`: at most `n` characters counted by code point (a Chinese character or an emoji is 1);
 * a longer text keeps n−1 characters and ends with "…", so the result never exceeds n.
 */
export function truncateHelper(value: unknown, n?: unknown): string {
  if (value === undefined || value === null) return "";
  const s = String(value);
  const limit = typeof n === "number" ? Math.floor(n) : Number(n);
  if (!Number.isFinite(limit)) return s;
  if (limit <= 0) return "";
  let count = 0;
  for (const _ of s) if (++count > limit) break;
  if (count <= limit) return s;
  const cps = [...s].slice(0, limit - 1);
  // Never leave half of a joined emoji (a trailing zero-width joiner or variation selector).
  while (cps.length && /^(?:\u200d|\ufe0e|\ufe0f)$/.test(cps[cps.length - 1]!)) cps.pop();
  return cps.join("") + "…";
}

// ------------------------------------------------------------------------------------------------ default

/** `{{default nickname "会员"}}`: the value, or the fallback when it is missing, empty or only spaces. */
export function defaultHelper(value: unknown, fallback?: unknown): unknown {
  if (!missing(value)) return value;
  return fallback === undefined || isOptions(fallback) ? "" : fallback;
}

/** Helper name → [min, max] arguments (Handlebars' options object excluded), and a usage line. */
export const HELPERS: Record<string, { min: number; max: number; usage: string }> = {
  date: { min: 1, max: 2, usage: '{{date birthday "M月D日"}}' },
  yuan: { min: 1, max: 1, usage: "{{yuan amount}}" },
  mask: { min: 1, max: 1, usage: "{{mask mobile}}" },
  truncate: { min: 2, max: 2, usage: "{{truncate name 8}}" },
  default: { min: 2, max: 2, usage: '{{default nickname "会员"}}' },
  track: { min: 1, max: 1, usage: '{{track "https://m.example.com/bday"}}' },
};

/** Handlebars' own helpers that templates may use. */
export const BUILTIN_HELPERS = new Set(["if", "unless", "each", "with", "lookup", "log"]);

/** Helpers that do not change the context (`{{#if}}` bodies still read top-level names). */
export const CONTEXT_KEEPING_HELPERS = new Set(["if", "unless"]);

export function isHelper(name: string): boolean {
  return name in HELPERS || BUILTIN_HELPERS.has(name);
}

/** Drops Handlebars' trailing options argument. */
function args(list: unknown[]): unknown[] {
  return list.length && isOptions(list[list.length - 1]) ? list.slice(0, -1) : list;
}

/** chuda's helpers over their arguments (Handlebars' options argument dropped): registered, and called directly by plain fields. */
const DIRECT: Record<string, (a: unknown[]) => unknown> = {
  date: (a) => dateHelper(a[0], a[1]),
  yuan: (a) => yuanHelper(a[0]),
  mask: (a) => maskHelper(a[0]),
  truncate: (a) => truncateHelper(a[0], a[1]),
  default: (a) => defaultHelper(a[0], a[1]),
};
for (const [name, fn] of Object.entries(DIRECT)) hbs.registerHelper(name, (...a: unknown[]) => fn(args(a)));
// `track` reads the render's state from the root context (see track.ts), so it is not one of the direct helpers.
hbs.registerHelper("track", (url: unknown, options: Options) => {
  const root = (options?.data as { root?: Record<string, unknown> } | undefined)?.root;
  return trackHelper(url, root?.[TRACK_STATE] as TrackState | undefined);
});

export type CompiledField = (vars: Record<string, unknown>) => string;

const cache = new Map<string, { fn?: CompiledField; error?: string }>();

type HbsPath = { type: string; parts?: string[]; original?: string; data?: boolean; depth?: number; value?: unknown };
type HbsNode = { type: string; value?: string; params?: HbsPath[]; hash?: unknown; path?: HbsPath };

/** A top-level name, or undefined for anything else (`this`, `@data`, `../x`, `a.b`, `[a b]`, prototype names). */
function plainName(p: HbsPath | undefined): string | undefined {
  if (!p || p.type !== "PathExpression" || p.data || p.depth !== 0) return undefined;
  const name = p.parts?.length === 1 ? p.parts[0]! : undefined;
  return name !== undefined && p.original === name && !(name in Object.prototype) ? name : undefined;
}

type Piece = string | { name: string } | { helper: (a: unknown[]) => unknown; params: ({ name: string } | { literal: unknown })[] };

/**
 * A source made only of text, plain `{{name}}` substitutions and calls of chuda's helpers on names and
 * literals (`{{truncate name 10}}`) renders without Handlebars' per-call setup (half the cost of rendering
 * millions of messages), with exactly Handlebars' result (noEscape): a name is an own property of the
 * context, `null`/`undefined` show as "", and the pieces are joined by JavaScript `+` from the first (so, as
 * in Handlebars, `{{a}}{{b}}` adds two numbers). Anything else — blocks, sub-expressions, hashes, paths,
 * a name that is also a helper, a value that is a function — goes through Handlebars.
 */
function plainSubstitution(ast: ReturnType<typeof hbs.parse>, full: CompiledField): CompiledField | undefined {
  const items: Piece[] = [];
  for (const node of ast.body as unknown as HbsNode[]) {
    if (node.type === "ContentStatement") {
      if (node.value) items.push(node.value);
    } else if (node.type === "CommentStatement") continue;
    else if (node.type === "MustacheStatement") {
      if (node.hash) return undefined;
      if (!node.params?.length) {
        const name = plainName(node.path);
        if (name === undefined || name in hbs.helpers) return undefined;
        items.push({ name });
        continue;
      }
      const helperName = plainName(node.path);
      const helper = helperName !== undefined ? DIRECT[helperName] : undefined;
      if (!helper) return undefined;
      const params: ({ name: string } | { literal: unknown })[] = [];
      for (const p of node.params) {
        if (p.type === "PathExpression") {
          const name = plainName(p);
          if (name === undefined) return undefined;
          params.push({ name });
        } else if (p.type === "StringLiteral" || p.type === "NumberLiteral" || p.type === "BooleanLiteral") params.push({ literal: p.value });
        else if (p.type === "NullLiteral") params.push({ literal: null });
        else if (p.type === "UndefinedLiteral") params.push({ literal: undefined });
        else return undefined;
      }
      items.push({ helper, params });
    } else return undefined;
  }
  const lookup = (vars: Record<string, unknown>, name: string) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
  return (vars) => {
    let acc: unknown = undefined;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      let v: unknown;
      if (typeof it === "string") v = it;
      else if ("name" in it) {
        v = lookup(vars, it.name);
        if (typeof v === "function") return full(vars);
      } else {
        const args: unknown[] = [];
        for (const p of it.params) {
          const a = "name" in p ? lookup(vars, p.name) : p.literal;
          if (typeof a === "function") return full(vars);
          args.push(a);
        }
        v = it.helper(args);
      }
      if (v === null || v === undefined) v = "";
      acc = i === 0 ? v : (acc as string) + (v as string);
    }
    return acc === undefined ? "" : String(acc);
  };
}

/**
 * Compiles a Handlebars source once (cached by source text; a plain string without `{{` is returned as is).
 * `error` is set when the source does not parse.
 */
export function compileField(source: string): { fn?: CompiledField; error?: string } {
  let hit = cache.get(source);
  if (hit) return hit;
  if (!source.includes("{{")) {
    hit = { fn: () => source };
  } else {
    try {
      const ast = hbs.parse(source);
      const t = hbs.compile(source, { noEscape: true, strict: false, compat: false });
      hit = { fn: plainSubstitution(ast, t) ?? ((vars) => t(vars)) };
    } catch (e) {
      hit = { error: (e as Error).message };
    }
  }
  if (cache.size > 20_000) cache.clear();
  cache.set(source, hit);
  return hit;
}
