/**
 * Why a member is not in a campaign's audience: the audience's top-level conditions (an `and` is split into its
 * parts), each evaluated on the member's row, and for each that fails the condition as written with the
 * member's values (`tier >= gold: tier is silver`). Used by `chuda preview`.
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { IR, IRValue } from "../resolved/types.js";
import type { Project } from "../project/types.js";
import { compileAudience } from "./compile.js";
import { ident } from "./sql.js";

export interface FailedCondition {
  /** The condition, written as in a campaign: `tier >= gold`. */
  condition: string;
  /** The member's values of the fields it reads: `tier is silver`, `birthday is missing`. */
  values: string;
}

/** The conditions of `ir` that the member in `table` (one row) fails on day `today`, in the order written. */
export async function failedConditions(
  ir: IR,
  project: Project,
  conn: DuckDBConnection,
  table: string,
  today: string,
  now: string,
): Promise<FailedCondition[]> {
  const out: FailedCondition[] = [];
  for (const part of conjuncts(ir)) {
    const c = compileAudience(part, project.members, { todayValue: today, nowValue: now, project });
    const row = (await conn.runAndReadAll(`SELECT COALESCE((${c.sql}), FALSE) FROM ${table}`, c.params as never)).getRows()[0];
    if (row?.[0] === true) continue;
    out.push({ condition: irText(part), values: await valuesOf(part, project, conn, table) });
  }
  return out;
}

function conjuncts(ir: IR): IR[] {
  return ir.op === "and" ? ir.args.flatMap(conjuncts) : [ir];
}

async function valuesOf(ir: IR, project: Project, conn: DuckDBConnection, table: string): Promise<string> {
  const fields = [...new Set(fieldsOf(ir))];
  if (ir.op === "within") {
    const d = project.members.distance;
    if (d) fields.push(...(d.kind === "field" ? [d.field] : [d.lon, d.lat]));
  }
  if (!fields.length) return "";
  const cols = fields.map((f) => `CAST(${ident(f)} AS VARCHAR)`).join(", ");
  const row = (await conn.runAndReadAll(`SELECT ${cols} FROM ${table}`)).getRows()[0] ?? [];
  return fields.map((f, i) => (row[i] === null || row[i] === undefined || row[i] === "" ? `${f} is missing` : `${f} is ${String(row[i])}`)).join(", ");
}

function fieldsOf(ir: IR): string[] {
  switch (ir.op) {
    case "and":
    case "or":
      return ir.args.flatMap(fieldsOf);
    case "not":
      return fieldsOf(ir.arg);
    case "cmp":
      return [...valueFields(ir.left), ...valueFields(ir.right)];
    case "in":
      return [...valueFields(ir.value), ...ir.list.flatMap(valueFields)];
    case "has":
      return [...valueFields(ir.list), ...ir.values.flatMap(valueFields)];
    case "between":
      return [ir.value, ir.low, ir.high].flatMap(valueFields);
    case "is_set":
    case "truthy":
      return valueFields(ir.value);
    case "within":
    case "const":
      return [];
  }
}

function valueFields(v: IRValue): string[] {
  if (v.v === "field") return [v.name];
  if (v.v === "arith") return [...valueFields(v.left), ...valueFields(v.right)];
  if (v.v === "call") return v.args.flatMap(valueFields);
  return [];
}

/** A condition of the IR written back in the language (segments appear inlined). */
export function irText(ir: IR): string {
  switch (ir.op) {
    case "and":
    case "or":
      return ir.args.map((a) => (a.op === "and" || a.op === "or" ? `(${irText(a)})` : irText(a))).join(` ${ir.op} `);
    case "not":
      return ir.arg.op === "and" || ir.arg.op === "or" || ir.arg.op === "cmp" ? `not (${irText(ir.arg)})` : `not ${irText(ir.arg)}`;
    case "cmp":
      return `${valueText(ir.left)} ${ir.cmp} ${valueText(ir.right)}`;
    case "in":
      return `${valueText(ir.value)} ${ir.negated ? "not in" : "in"} [${ir.list.map(valueText).join(", ")}]`;
    case "has":
      return ir.mode === "one"
        ? `${valueText(ir.list)} has ${valueText(ir.values[0]!)}`
        : `${valueText(ir.list)} has ${ir.mode} [${ir.values.map(valueText).join(", ")}]`;
    case "between":
      return `${valueText(ir.value)} between ${valueText(ir.low)} and ${valueText(ir.high)}`;
    case "is_set":
      return `${valueText(ir.value)} is ${ir.negated ? "not set" : "set"}`;
    case "within":
      return `within ${ir.km} km`;
    case "truthy":
      return valueText(ir.value);
    case "const":
      return String(ir.value);
  }
}

function valueText(v: IRValue): string {
  switch (v.v) {
    case "field":
      return v.name;
    case "lit":
      if (typeof v.value === "string" && v.type.kind !== "enum" && v.type.kind !== "date" && v.type.kind !== "datetime") return JSON.stringify(v.value);
      return String(v.value);
    case "today":
    case "now":
      return v.v;
    case "event_prop":
      return `event.${v.name}`;
    case "arith":
      return `${valueText(v.left)} ${v.op} ${valueText(v.right)}`;
    case "duration":
      return `${v.duration.amount} ${v.duration.unit}${v.duration.amount === 1 ? "" : "s"}`;
    case "call":
      return `${v.fn}(${v.args.map(valueText).join(", ")})`;
  }
}
