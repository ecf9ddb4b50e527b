/**
 * Calendar events usable in triggers: the built-ins of docs/language.md (lunar ones from the lunar calendar,
 * Qingming from the solar term) and the project's own `calendar:` entries of chuda.yaml.
 */
import type { Project } from "../project/types.js";
import { LUNAR_MAX_YEAR, LUNAR_MIN_YEAR, lunarToSolar, solarTermDate } from "./lunar.js";
import { daysInMonth, formatDate, parseDate } from "./time.js";

type BuiltinRule = { kind: "solar"; month: number; day: number } | { kind: "lunar"; month: number; day: number } | { kind: "term"; name: string };

interface Builtin {
  rule: BuiltinRule;
  /** Chinese label. */
  zh: string;
}

const BUILTIN_LIST: [string, Builtin][] = [
  ["new_year", { rule: { kind: "solar", month: 1, day: 1 }, zh: "元旦" }],
  ["spring_festival", { rule: { kind: "lunar", month: 1, day: 1 }, zh: "春节" }],
  ["lantern", { rule: { kind: "lunar", month: 1, day: 15 }, zh: "元宵节" }],
  ["valentines", { rule: { kind: "solar", month: 2, day: 14 }, zh: "情人节" }],
  ["womens_day", { rule: { kind: "solar", month: 3, day: 8 }, zh: "妇女节" }],
  ["qingming", { rule: { kind: "term", name: "清明" }, zh: "清明节" }],
  ["labour_day", { rule: { kind: "solar", month: 5, day: 1 }, zh: "劳动节" }],
  ["520", { rule: { kind: "solar", month: 5, day: 20 }, zh: "表白日" }],
  ["dragon_boat", { rule: { kind: "lunar", month: 5, day: 5 }, zh: "端午节" }],
  ["618", { rule: { kind: "solar", month: 6, day: 18 }, zh: "年中大促" }],
  ["qixi", { rule: { kind: "lunar", month: 7, day: 7 }, zh: "七夕" }],
  ["mid_autumn", { rule: { kind: "lunar", month: 8, day: 15 }, zh: "中秋节" }],
  ["national_day", { rule: { kind: "solar", month: 10, day: 1 }, zh: "国庆节" }],
  ["double11", { rule: { kind: "solar", month: 11, day: 11 }, zh: "双十一" }],
  ["double12", { rule: { kind: "solar", month: 12, day: 12 }, zh: "双十二" }],
  ["christmas", { rule: { kind: "solar", month: 12, day: 25 }, zh: "圣诞节" }],
];
// A Map keeps the listed order (an object would put "520" and "618" first).
const BUILTINS = new Map<string, Builtin>(BUILTIN_LIST);

/** The built-in event names, in the order docs/language.md lists them. */
export const BUILTIN_EVENT_NAMES: readonly string[] = Object.freeze(BUILTIN_LIST.map(([name]) => name));

/** Years built-in events are computed for. */
export const EVENT_MIN_YEAR = LUNAR_MIN_YEAR;
export const EVENT_MAX_YEAR = LUNAR_MAX_YEAR;

function builtin(name: string): Builtin | undefined {
  return BUILTINS.get(name);
}

export function isBuiltinEvent(name: string): boolean {
  return builtin(name) !== undefined;
}

/** True when `name` is a built-in event or one of the project's `calendar:` events. */
export function isKnownEvent(name: string, project: Project): boolean {
  return project.calendar.has(name) || isBuiltinEvent(name);
}

/**
 * The date ("YYYY-MM-DD") of event `name` in Gregorian `year`, or undefined when it has none that year.
 *
 * - Built-ins: for 1950..2100. Lunar events are those of the lunar year starting in `year` (they all fall in it).
 * - The project's `calendar:` events (which take precedence over a built-in of the same name): a yearly
 *   `MM-DD` gives that day each year (`02-29` falls on 28 February in non-leap years); a one-off date only
 *   in its own year.
 */
export function eventDate(name: string, year: number, project: Project): string | undefined {
  if (!Number.isInteger(year)) return undefined;
  const own = project.calendar.get(name);
  if (own) {
    if (own.kind === "once") return parseDate(own.date)?.year === year ? own.date : undefined;
    if (year < 1 || year > 9999 || own.month < 1 || own.month > 12 || own.day < 1) return undefined;
    const last = daysInMonth(year, own.month);
    // Only 02-29 is folded (onto 28 February); a day no month ever has is not a date.
    if (own.day > last && !(own.month === 2 && own.day === 29)) return undefined;
    return formatDate(year, own.month, Math.min(own.day, last));
  }
  const b = builtin(name);
  if (!b || year < EVENT_MIN_YEAR || year > EVENT_MAX_YEAR) return undefined;
  const key = `${name} ${year}`;
  if (!memo.has(key)) memo.set(key, builtinDate(b, year));
  return memo.get(key);
}

/** Built-in dates never change: the lunar ones are worth computing once. */
const memo = new Map<string, string | undefined>();

function builtinDate(b: Builtin, year: number): string | undefined {
  switch (b.rule.kind) {
    case "solar":
      return formatDate(year, b.rule.month, b.rule.day);
    case "lunar":
      return lunarToSolar(year, b.rule.month, b.rule.day);
    case "term":
      return solarTermDate(year, b.rule.name);
  }
}

/** Every date of event `name` from `from` to `to` (inclusive), in order. */
export function eventDatesBetween(name: string, from: string, to: string, project: Project): string[] {
  const a = parseDate(from);
  const b = parseDate(to);
  if (!a || !b || to < from) return [];
  const out: string[] = [];
  for (let y = a.year; y <= b.year; y++) {
    const d = eventDate(name, y, project);
    if (d !== undefined && d >= from && d <= to) out.push(d);
  }
  return out;
}

/** A label for tables: "中秋节 mid_autumn" for a built-in, the bare name for a project event. */
export function describeEvent(name: string, project?: Project): string {
  if (project?.calendar.has(name)) return name;
  const b = builtin(name);
  return b ? `${b.zh} ${name}` : name;
}
