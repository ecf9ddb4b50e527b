/**
 * Audience IR → one parameterised DuckDB SQL condition over a member row (Dittofeed's segment compiler):
 * an exhaustive switch over node kinds ending in `assertNever`, every literal a bound `?` parameter in
 * text order (so fragments concatenate: params of the left come before params of the right).
 *
 * Semantics that are decided here:
 * - Missing values: every comparison is wrapped as `COALESCE(cmp, FALSE)`, so a comparison with a missing
 *   value is false, and `not` of it is true (`not (tier >= gold)` holds for a member without a tier).
 *   `is set` / `is not set` test NULL (a list is set when it has at least one item).
 * - Enums compare by position in `type.values` (`tier >= gold`); `==` / `!=` compare names.
 * - A date compared with a date-time compares calendar days: the date-time is cast to its date.
 * - `today` / `now` are the occurrence's day and moment: SQL expressions from the caller (a join column such
 *   as `o.day`), bound values (`todayValue` / `nowValue`), or, when neither is given, the markers
 *   TODAY / NOW in `params`, which `bindRuntime(params, today, now)` replaces at run time (each occurrence
 *   of `today` in the SQL has its own `?`).
 * - `days_since(d)` = today − date(d) in days; `days_until(d)` = date(d) − today; `years_since(d)` = whole
 *   years (an age: not yet a year older on the day before the anniversary; born 29 Feb turns a year older on
 *   1 Mar in common years); `weekday` is ISO (1 = Monday … 7 = Sunday); date ± duration via INTERVAL
 *   (month arithmetic clamps to the month's last day: 31 Mar − 1 month = 28/29 Feb).
 * - `within N km`: the distance field `<= N`, or the haversine distance (mean Earth radius 6371.0088 km) from
 *   the member's point to `mall.location`.
 */
import type { IR, IRValue } from "../resolved/types.js";
import type { CompareOp, DurationUnit } from "../language/ast.js";
import type { FieldType, MemberSchema, Project } from "../project/types.js";
import { ident } from "./sql.js";

export interface Compiled {
  sql: string;
  params: unknown[];
}

export interface AudienceContext {
  /** SQL expression (DATE) for `today`, e.g. an occurrence join column `o.day`. */
  today?: string;
  /** SQL expression (TIMESTAMP) for `now`. */
  now?: string;
  /** A bound value "YYYY-MM-DD" for `today` (used when `today` is not given). */
  todayValue?: string;
  /** A bound value "YYYY-MM-DD HH:MM[:SS]" for `now` (used when `now` is not given). */
  nowValue?: string;
  /** Table alias of the member row (default: none, bare column names). */
  alias?: string;
  /** Source of `distance` (schema.distance) and `mallLocation` when not given here. */
  project?: Project;
  distance?: MemberSchema["distance"];
  /** [lon, lat] of the mall, for `within` by point. */
  mallLocation?: [number, number];
  /**
   * SQL of a property of the business event that fired the occurrence (`event.amount`), typed by the events schema,
   * e.g. a column of the occurrence join. Without it, a property is missing (NULL): compared, it is false.
   */
  eventProp?: (name: string) => string;
}

/** Markers left in `params` when `today` / `now` are run-time parameters; see `bindRuntime`. */
export const TODAY: unique symbol = Symbol("chuda.today");
export const NOW: unique symbol = Symbol("chuda.now");

/** Replaces the TODAY / NOW markers of compiled params with the occurrence's values. */
export function bindRuntime(params: readonly unknown[], today: string, now: string): unknown[] {
  return params.map((p) => (p === TODAY ? today : p === NOW ? now : p));
}

/** Kinds a value can have in SQL. */
type Kind = FieldType["kind"] | "duration" | "null";

interface Frag {
  sql: string;
  params: unknown[];
  kind: Kind;
  type?: FieldType;
}

const frag = (sql: string, params: unknown[], kind: Kind, type?: FieldType): Frag => (type ? { sql, params, kind, type } : { sql, params, kind });

function assertNever(x: never): never {
  throw new Error(`unhandled audience node: ${JSON.stringify(x)}`);
}

const SQL_OP: Record<CompareOp, string> = { "==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=" };

/** The audience condition; NULL-free (always TRUE or FALSE). */
export function compileAudience(ir: IR, schema: MemberSchema, ctx: AudienceContext = {}): Compiled {
  const c = new Compiler(schema, ctx);
  const f = c.cond(ir);
  return { sql: f.sql, params: f.params };
}

/** The same, with `today` / `now` given as bound values (one `?` per use). */
export function compileAudienceWith(ir: IR, schema: MemberSchema, ctx: AudienceContext & { todayValue: string; nowValue: string }): Compiled {
  return compileAudience(ir, schema, ctx);
}

/** A value expression (for `limit … order by`), NULL when missing. */
export function compileValue(v: IRValue, schema: MemberSchema, ctx: AudienceContext = {}): Compiled {
  const f = new Compiler(schema, ctx).value(v);
  return { sql: f.sql, params: f.params };
}

class Compiler {
  private readonly col: (name: string) => string;
  constructor(
    private readonly schema: MemberSchema,
    private readonly ctx: AudienceContext,
  ) {
    const alias = ctx.alias;
    this.col = (name) => (alias ? `${alias}.${ident(name)}` : ident(name));
  }

  cond(ir: IR): Frag {
    switch (ir.op) {
      case "and":
      case "or": {
        if (ir.args.length === 0) return frag(ir.op === "and" ? "TRUE" : "FALSE", [], "bool");
        const parts = ir.args.map((a) => this.cond(a));
        return join(parts, ` ${ir.op.toUpperCase()} `, "bool", true);
      }
      case "not": {
        const a = this.cond(ir.arg);
        return frag(`(NOT ${a.sql})`, a.params, "bool");
      }
      case "cmp":
        return this.compare(ir.cmp, this.value(ir.left), this.value(ir.right));
      case "in": {
        const v = this.value(ir.value);
        if (ir.list.length === 0) return frag(ir.negated ? `(${v.sql} IS NOT NULL)` : "FALSE", ir.negated ? v.params : [], "bool");
        const items = ir.list.map((x) => this.value(x));
        const [lhs, ...rhs] = alignAll([v, ...items]);
        const list = join(rhs, ", ", "null");
        return nullFalse(frag(`${lhs!.sql} ${ir.negated ? "NOT IN" : "IN"} (${list.sql})`, [...lhs!.params, ...list.params], "bool"));
      }
      case "has": {
        // Lists are stored as `;`-joined text (list-text.ts): an item is in the list when the text equals it, or
        // starts, ends or holds it between separators. No per-row concatenation.
        const l = this.value(ir.list);
        const tests = ir.values.map((x) => {
          const lit = x.v === "lit" ? String(x.value) : undefined;
          const clean = lit !== undefined && lit !== "" && !lit.includes(";");
          if (lit !== undefined && !clean) return frag("FALSE", [], "bool"); // an empty item, or one holding `;`, is in no list
          const v = this.text(this.value(x));
          const has = tpl`(${l} = ${v} OR starts_with(${l}, ${v} || ';') OR ends_with(${l}, ';' || ${v}) OR contains(${l}, ';' || ${v} || ';'))`;
          return clean ? has : tpl`(${has} AND ${v} <> '' AND NOT contains(${v}, ';'))`;
        });
        if (tests.length === 0) return ir.mode === "all" ? frag(`(${l.sql} IS NOT NULL)`, l.params, "bool") : frag("FALSE", [], "bool");
        return nullFalse(join(tests, ir.mode === "all" ? " AND " : " OR ", "bool", true));
      }
      case "between": {
        const [v, lo, hi] = alignAll([this.value(ir.value), this.value(ir.low), this.value(ir.high)]) as [Frag, Frag, Frag];
        return nullFalse(frag(`${v.sql} BETWEEN ${lo.sql} AND ${hi.sql}`, [...v.params, ...lo.params, ...hi.params], "bool"));
      }
      case "is_set": {
        const v = this.value(ir.value);
        const set = v.kind === "list" ? `(${v.sql} IS NOT NULL AND ${v.sql} <> '')` : `(${v.sql} IS NOT NULL)`;
        const params = v.kind === "list" ? [...v.params, ...v.params] : v.params;
        return frag(ir.negated ? `(NOT ${set})` : set, params, "bool");
      }
      case "within":
        return this.within(ir.km);
      case "truthy": {
        const v = this.value(ir.value);
        return frag(`COALESCE(${v.sql}, FALSE)`, v.params, "bool");
      }
      case "const":
        return frag(ir.value ? "TRUE" : "FALSE", [], "bool");
      default:
        return assertNever(ir);
    }
  }

  value(v: IRValue): Frag {
    switch (v.v) {
      case "field":
        return frag(this.col(v.name), [], v.type.kind, v.type);
      case "lit":
        return literalFrag(v.value, v.type);
      case "today":
        if (this.ctx.today) return frag(`CAST(${this.ctx.today} AS DATE)`, [], "date");
        return frag("CAST(? AS DATE)", [this.ctx.todayValue ?? TODAY], "date");
      case "now":
        if (this.ctx.now) return frag(`CAST(${this.ctx.now} AS TIMESTAMP)`, [], "datetime");
        return frag("CAST(? AS TIMESTAMP)", [this.ctx.nowValue ?? NOW], "datetime");
      case "event_prop":
        return frag(this.ctx.eventProp ? this.ctx.eventProp(v.name) : "NULL", [], v.type.kind, v.type);
      case "duration":
        return interval(v.duration.amount, v.duration.unit);
      case "arith":
        return this.arith(v);
      case "call":
        return this.call(v);
      default:
        return assertNever(v);
    }
  }

  private arith(v: Extract<IRValue, { v: "arith" }>): Frag {
    let l = this.value(v.left);
    let r = this.value(v.right);
    if (l.kind === "duration" && v.op === "+") [l, r] = [r, l];
    if (r.kind === "duration") {
      // date ± hours/minutes gives a moment; the IR's type says which one the checker expects.
      const target = v.type.kind === "date" ? "DATE" : "TIMESTAMP";
      const base = l.kind === "date" && target === "TIMESTAMP" ? `CAST(${l.sql} AS TIMESTAMP)` : l.sql;
      return frag(`CAST(${base} ${v.op} ${r.sql} AS ${target})`, [...l.params, ...r.params], v.type.kind, v.type);
    }
    return frag(`(${l.sql} ${v.op} ${r.sql})`, [...l.params, ...r.params], v.type.kind, v.type);
  }

  private call(v: Extract<IRValue, { v: "call" }>): Frag {
    const arg = () => this.value(v.args[0]!);
    const today = () => this.value({ v: "today" });
    const day = (f: Frag) => (f.kind === "date" ? f : frag(`CAST(${f.sql} AS DATE)`, f.params, "date"));
    const num = (sql: string, params: unknown[]) => frag(sql, params, "number", v.type);
    switch (v.fn) {
      case "days_since": {
        const d = day(arg());
        const t = today();
        return num(`date_diff('day', ${d.sql}, ${t.sql})`, [...d.params, ...t.params]);
      }
      case "days_until": {
        const t = today();
        const d = day(arg());
        return num(`date_diff('day', ${t.sql}, ${d.sql})`, [...t.params, ...d.params]);
      }
      case "years_since": {
        // Whole years: year difference, minus one while this year's anniversary is still ahead.
        const d = day(arg());
        const t = today();
        const f = tpl`(year(${t}) - year(${d}) - CASE WHEN month(${t}) < month(${d}) OR (month(${t}) = month(${d}) AND day(${t}) < day(${d})) THEN 1 ELSE 0 END)`;
        return num(f.sql, f.params);
      }
      case "month":
      case "day": {
        const a = arg();
        return num(`${v.fn}(${a.sql})`, a.params);
      }
      case "weekday": {
        const a = arg();
        return num(`isodow(${a.sql})`, a.params);
      }
      case "len": {
        // The stored text's separators, plus one (list-text.ts).
        const a = arg();
        const n = tpl`CASE WHEN ${a} = '' THEN 0 ELSE length(${a}) - length(replace(${a}, ';', '')) + 1 END`;
        return num(n.sql, n.params);
      }
      case "lower": {
        const a = arg();
        return frag(`lower(${a.sql})`, a.params, "string", v.type);
      }
      default:
        return assertNever(v.fn);
    }
  }

  private compare(op: CompareOp, left: Frag, right: Frag): Frag {
    let [l, r] = alignAll([left, right]) as [Frag, Frag];
    const enumType = l.type?.kind === "enum" ? l.type : r.type?.kind === "enum" ? r.type : undefined;
    if (enumType && enumType.kind === "enum" && op !== "==" && op !== "!=") {
      l = this.enumPosition(l, enumType.values);
      r = this.enumPosition(r, enumType.values);
    }
    return nullFalse(frag(`${l.sql} ${SQL_OP[op]} ${r.sql}`, [...l.params, ...r.params], "bool"));
  }

  /** The 1-based position of an enum value in its declared order (NULL when missing or unknown). */
  private enumPosition(f: Frag, values: string[]): Frag {
    const slots = values.map(() => "?").join(", ");
    return frag(`list_position([${slots}], ${f.sql})`, [...values, ...f.params], "number");
  }

  private text(f: Frag): Frag {
    return f.kind === "string" || f.kind === "enum" || f.kind === "phone" ? f : frag(`CAST(${f.sql} AS VARCHAR)`, f.params, "string");
  }

  private within(km: number): Frag {
    const distance = this.ctx.distance ?? this.schema.distance ?? this.ctx.project?.members.distance;
    if (!distance) throw new Error("`within` needs members.distance in chuda.yaml (the checker reports its absence)");
    if (distance.kind === "field") return nullFalse(frag(`${this.col(distance.field)} <= CAST(? AS DOUBLE)`, [km], "bool"));
    const mall = this.ctx.mallLocation ?? this.ctx.project?.mall?.location;
    if (!mall) throw new Error("`within` by point needs mall.location in chuda.yaml (the checker reports its absence)");
    const [mlon, mlat] = mall;
    const lon = this.col(distance.lon);
    const lat = this.col(distance.lat);
    const sql =
      `2 * 6371.0088 * asin(sqrt(pow(sin(radians(${lat} - CAST(? AS DOUBLE)) / 2), 2) + ` +
      `cos(radians(CAST(? AS DOUBLE))) * cos(radians(${lat})) * pow(sin(radians(${lon} - CAST(? AS DOUBLE)) / 2), 2))) <= CAST(? AS DOUBLE)`;
    return nullFalse(frag(sql, [mlat, mlat, mlon, km], "bool"));
  }
}

/** `COALESCE(cond, FALSE)`: a comparison with a missing value is false. */
function nullFalse(f: Frag): Frag {
  return frag(`COALESCE((${f.sql}), FALSE)`, f.params, "bool");
}

function join(parts: Frag[], sep: string, kind: Kind, paren = false): Frag {
  const sql = parts.map((p) => p.sql).join(sep);
  return frag(
    paren ? `(${sql})` : sql,
    parts.flatMap((p) => p.params),
    kind,
  );
}

/** SQL text with fragments spliced in; their params follow in text order. */
function tpl(strings: TemplateStringsArray, ...parts: Frag[]): Frag {
  let sql = strings[0]!;
  const params: unknown[] = [];
  parts.forEach((p, i) => {
    sql += p.sql + strings[i + 1]!;
    params.push(...p.params);
  });
  return frag(sql, params, "number");
}

/** A date compared with a date-time compares days: date-times are cast to dates when dates are present. */
function alignAll(fs: Frag[]): Frag[] {
  const hasDate = fs.some((f) => f.kind === "date");
  const hasDatetime = fs.some((f) => f.kind === "datetime");
  if (!(hasDate && hasDatetime)) return fs;
  return fs.map((f) => (f.kind === "datetime" ? frag(`CAST(${f.sql} AS DATE)`, f.params, "date") : f));
}

function literalFrag(value: string | number | boolean, type: FieldType): Frag {
  switch (type.kind) {
    case "number":
      return frag("CAST(? AS DOUBLE)", [Number(value)], "number", type);
    case "bool":
      return frag("CAST(? AS BOOLEAN)", [Boolean(value)], "bool", type);
    case "date":
      return frag("CAST(? AS DATE)", [String(value)], "date", type);
    case "datetime":
      return frag("CAST(? AS TIMESTAMP)", [String(value)], "datetime", type);
    case "string":
    case "phone":
    case "enum":
    case "list":
      return frag("CAST(? AS VARCHAR)", [String(value)], type.kind === "list" ? "string" : type.kind, type);
  }
}

const INTERVAL_FN: Record<DurationUnit, string> = {
  minute: "to_minutes",
  hour: "to_hours",
  day: "to_days",
  week: "to_weeks",
  month: "to_months",
  year: "to_years",
};

function interval(amount: number, unit: DurationUnit): Frag {
  return frag(`${INTERVAL_FN[unit]}(CAST(? AS INTEGER))`, [Math.trunc(amount)], "duration");
}
