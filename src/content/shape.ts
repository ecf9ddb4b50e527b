/**
 * Message shapes: when two member values render to messages with the same cost and the same content problems.
 *
 * Every rule in src/content/rules, and every helper a value may pass through, treats the Chinese ideographs of
 * the Basic Multilingual Plane alike — one character, three UTF-8 bytes, Han script, not a letter, digit, space,
 * bracket or line break — except the few that some pattern or constant names (`年`, `月`, `日` in dates, `元` in
 * amounts, …: SHAPE_KEPT; a test keeps that list complete). So replacing any other ideograph of a value by `汉`
 * changes neither what a message costs nor which rules it breaks, provided the value reaches the message only
 * as written: `{{name}}`, `{{truncate name 10}}`, `{{default name "会员"}}`, or tested by `{{#if name}}` /
 * `{{#unless name}}` (shapeSafeVariables). A lookup, a comparison or any other helper could tell them apart.
 *
 * The planner renders one message per shape instead of one per distinct value: ten million members' names
 * (hundreds of thousands of distinct ones) come down to a handful of shapes (`汉汉`, `汉汉汉`, `汉·Anna`, …).
 */
import type { TemplateSection } from "./types.js";
import { BUILTIN_HELPERS, HELPERS, hbs } from "./helpers.js";

/** Ideographs that some rule, helper or constant of src/content names: kept as they are. */
export const SHAPE_KEPT = "回复拒收请中元年挂日月粤送配会员";
export const SHAPE_CHAR = "汉";

/** Code point ranges of the ideographs a shape replaces (CJK Extension A and Unified Ideographs, less SHAPE_KEPT). */
function shapeRanges(): [number, number][] {
  const kept = [...SHAPE_KEPT].map((c) => c.codePointAt(0)!).sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const [lo, hi] of [
    [0x3400, 0x4dbf],
    [0x4e00, 0x9fff],
  ] as const) {
    let from = lo;
    for (const k of kept) {
      if (k < from || k > hi) continue;
      if (k > from) out.push([from, k - 1]);
      from = k + 1;
    }
    if (from <= hi) out.push([from, hi]);
  }
  return out;
}

const RANGES = shapeRanges();
const hex = (n: number) => n.toString(16).toUpperCase();
const JS_CLASS = new RegExp(`[${RANGES.map(([a, b]) => `\\u{${hex(a)}}-\\u{${hex(b)}}`).join("")}]`, "gu");
const RE2_CLASS = `[${RANGES.map(([a, b]) => `\\x{${hex(a)}}-\\x{${hex(b)}}`).join("")}]`;

/** The shape of a text value. */
export function shapeOf(s: string): string {
  return s.replace(JS_CLASS, SHAPE_CHAR);
}

/** The same, in DuckDB SQL (RE2). */
export function shapeSql(expr: string): string {
  return `regexp_replace(${expr}, '${RE2_CLASS}', '${SHAPE_CHAR}', 'g')`;
}

type Node = { type: string } & Record<string, unknown>;

/**
 * The variables a section reads only in the ways that cannot tell two values of one shape apart (see above).
 * Anything else — another helper, a lookup, a block that changes the context, a partial, `this` — makes the
 * variables involved (or, where it cannot tell which, all of them) unsafe.
 */
export function shapeSafeVariables(section: TemplateSection): Set<string> {
  let safe = SAFE.get(section);
  if (!safe) SAFE.set(section, (safe = analyze(section)));
  return safe;
}

const SAFE = new WeakMap<TemplateSection, Set<string>>();

function analyze(section: TemplateSection): Set<string> {
  const seen = new Set<string>();
  const unsafe = new Set<string>();
  let allUnsafe = false;
  const simpleName = (e: Node | undefined): string | undefined => {
    if (!e || e.type !== "PathExpression" || e.data || e.depth !== 0) return undefined;
    const parts = e.parts as string[];
    return parts.length === 1 && !(parts[0]! in HELPERS) && !BUILTIN_HELPERS.has(parts[0]!) ? parts[0] : undefined;
  };
  const literal = (e: Node | undefined) => !!e && /^(String|Number|Boolean|Undefined|Null)Literal$/.test(e.type);
  // Every path under an expression we do not understand: unsafe (a path we cannot name: everything is).
  const taint = (e: unknown): void => {
    if (!e || typeof e !== "object") return;
    if (Array.isArray(e)) return e.forEach(taint);
    const n = e as Node;
    if (n.type === "PathExpression") {
      const name = simpleName(n);
      if (name) unsafe.add(name);
      else if (!(n.parts as string[]).length || n.data || (n.depth as number) > 0) allUnsafe = true;
      return;
    }
    for (const [k, v] of Object.entries(n)) if (k !== "loc") taint(v);
  };
  const safeUse = (st: Node): string | undefined => {
    const params = (st.params as Node[] | undefined) ?? [];
    const hasHash = (((st.hash as Node | undefined)?.pairs as unknown[] | undefined) ?? []).length > 0;
    if (hasHash) return undefined;
    const path = st.path as Node;
    const helper = path.type === "PathExpression" && (path.parts as string[]).length === 1 ? (path.parts as string[])[0] : undefined;
    if (params.length === 0) return simpleName(path);
    if ((helper === "truncate" || helper === "default") && params.length === 2 && literal(params[1])) return simpleName(params[0]);
    return undefined;
  };
  const statements = (program: Node | undefined, inContext: boolean): void => {
    for (const st of (program?.body as Node[] | undefined) ?? []) {
      if (st.type === "ContentStatement" || st.type === "CommentStatement") continue;
      if (st.type === "MustacheStatement") {
        const name = safeUse(st);
        if (name && !inContext) seen.add(name);
        else taint([st.path, st.params, st.hash]);
        continue;
      }
      if (st.type === "BlockStatement") {
        const path = st.path as Node;
        const helper = path.type === "PathExpression" && (path.parts as string[]).length === 1 ? (path.parts as string[])[0] : undefined;
        const params = (st.params as Node[] | undefined) ?? [];
        const hashed = (((st.hash as Node | undefined)?.pairs as unknown[] | undefined) ?? []).length > 0;
        const tested = (helper === "if" || helper === "unless") && params.length === 1 && !hashed ? simpleName(params[0]) : undefined;
        if (tested && !inContext) {
          seen.add(tested);
          statements(st.program as Node, inContext);
          statements(st.inverse as Node | undefined, inContext);
        } else {
          taint([st.path, st.params, st.hash]);
          statements(st.program as Node, true);
          statements(st.inverse as Node | undefined, true);
        }
        continue;
      }
      allUnsafe = true; // partials, decorators: anything could be read
    }
  };
  const visit = (v: unknown): void => {
    if (typeof v === "string") {
      if (!v.includes("{{")) return;
      try {
        statements(hbs.parse(v) as unknown as Node, false);
      } catch {
        allUnsafe = true;
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") Object.values(v).forEach(visit);
  };
  visit(section.raw ?? {});
  if (allUnsafe) return new Set();
  for (const u of unsafe) seen.delete(u);
  return seen;
}
