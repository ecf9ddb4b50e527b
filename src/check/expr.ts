/**
 * Expression typing: the AST of an audience (or a segment, `order by`, policy.exclude) → the typed IR.
 *
 * Name resolution: a bare identifier is a member field, else a segment, else a value of the enum it is
 * compared with (`tier >= gold`, `tier in [silver, gold]`). Enums compare by their position in the schema.
 *
 * Typing choices (documented in grammar/ as well):
 * - `date` vs `datetime` comparisons are allowed and compare as dates: the datetime's calendar day in the
 *   project timezone is compared with the date (`last_purchase_at < today - 180 days`).
 * - `phone` compares with strings and phones, with `==` / `!=` / `in` only.
 * - Strings order lexicographically (`< <= > >=` allowed); bool, phone and list have no order.
 * - A percent literal in an expression is a fraction (`10%` → 0.1); money is its number of yuan.
 * - `date ± duration` → date, `datetime ± duration` → datetime, `number ± number` → number; nothing else.
 *
 * Every error is reported once, at the offending node, and makes the result `undefined` all the way up,
 * so a campaign with a broken audience is never resolved.
 */
import type { CompareOp, Expr, Ident, ListLit, Literal, RefExpr } from "../language/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { FieldType } from "../project/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { didYouMean } from "../diagnostics/suggest.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";
import type { IR, IRType, IRValue } from "../resolved/types.js";
import { checkDate, checkDateTime, checkTime, formatMinutes } from "./literals.js";
import { exprText, operandText, typeName } from "./describe.js";

/** What an expression is checked against. */
export interface ExprEnv {
  fields: ReadonlyMap<string, FieldType>;
  /** Whether `within N km` can be measured (chuda.yaml `members.distance`). */
  hasDistance: boolean;
  /**
   * A segment's IR (inlined), "error" when the segment is broken (already reported), undefined when there is
   * no segment of that name.
   */
  segment(name: string, span: Span): IR | "error" | undefined;
  /** Every segment name, for suggestions. Called only when reporting. */
  segmentNames(): Iterable<string>;
  /** The business event that fires the campaign being checked: `event.<prop>` is typed by its properties. */
  event?: { name: string; props: ReadonlyMap<string, FieldType> };
  out: Diagnostic[];
}

type Value = { t: "value"; value: IRValue; type: IRType; expr: Expr };
/** A typed expression. `name` is a bare identifier that is neither a field nor a segment (maybe an enum value). */
type Typed = Value | { t: "cond"; ir: IR; expr: Expr } | { t: "name"; name: string; expr: RefExpr } | { t: "error" };

const ERROR = { t: "error" } as const;

const FUNCTIONS: Record<string, { needs: string; accepts: (t: IRType) => boolean; returns: FieldType }> = {
  days_since: { needs: "a date or datetime", accepts: isDateLike, returns: { kind: "number" } },
  days_until: { needs: "a date or datetime", accepts: isDateLike, returns: { kind: "number" } },
  years_since: { needs: "a date or datetime", accepts: isDateLike, returns: { kind: "number" } },
  month: { needs: "a date or datetime", accepts: isDateLike, returns: { kind: "number" } },
  day: { needs: "a date or datetime", accepts: isDateLike, returns: { kind: "number" } },
  weekday: { needs: "a date or datetime", accepts: isDateLike, returns: { kind: "number" } },
  len: { needs: "a list", accepts: (t) => t.kind === "list", returns: { kind: "number" } },
  lower: { needs: "a string", accepts: (t) => t.kind === "string" || t.kind === "phone", returns: { kind: "string" } },
};
type FnName = Extract<IRValue, { v: "call" }>["fn"];

function isDateLike(t: IRType): boolean {
  return t.kind === "date" || t.kind === "datetime";
}

/** The expression as a member condition, or undefined after reporting why not. */
export function checkCondition(e: Expr, env: ExprEnv): IR | undefined {
  return toCondition(typeExpr(e, env), env);
}

/** The expression as a value (for `order by`), or undefined after reporting why not. */
export function checkValue(e: Expr, env: ExprEnv): { value: IRValue; type: IRType } | undefined {
  const v = toValue(typeExpr(e, env), env);
  return v && { value: v.value, type: v.type };
}

/** Typed result of an expression, for callers that need to tell conditions from values (segments). */
export function typeOf(
  e: Expr,
  env: ExprEnv,
): { kind: "cond"; ir: IR } | { kind: "value"; value: IRValue; type: IRType } | { kind: "name"; name: string } | undefined {
  const t = typeExpr(e, env);
  switch (t.t) {
    case "cond":
      return { kind: "cond", ir: t.ir };
    case "value":
      return { kind: "value", value: t.value, type: t.type };
    case "name":
      return { kind: "name", name: t.name };
    case "error":
      return undefined;
  }
}

export function toCondition(t: Typed, env: ExprEnv): IR | undefined {
  switch (t.t) {
    case "error":
      return undefined;
    case "cond":
      return t.ir;
    case "name":
      reportUnknownName(t.name, t.expr.span, env);
      return undefined;
    case "value":
      if (t.type.kind === "bool") return t.value.v === "lit" ? { op: "const", value: t.value.value === true } : { op: "truthy", value: t.value };
      env.out.push(diag(M.notACondition, t.expr.span, [operandText(t.expr, t.type)]));
      return undefined;
  }
}

function toValue(t: Typed, env: ExprEnv): Value | undefined {
  switch (t.t) {
    case "error":
      return undefined;
    case "value":
      return t;
    case "name":
      reportUnknownName(t.name, t.expr.span, env);
      return undefined;
    case "cond":
      env.out.push(diag(M.conditionAsValue, t.expr.span, [`\`${exprText(t.expr)}\``]));
      return undefined;
  }
}

function isEnumValue(name: string, env: ExprEnv): boolean {
  for (const t of env.fields.values()) if (t.kind === "enum" && t.values.includes(name)) return true;
  return false;
}

export function reportUnknownName(name: string, span: Span, env: ExprEnv): void {
  let help = didYouMean(name, [...env.fields.keys(), ...env.segmentNames()]);
  if (!help) {
    for (const [field, type] of env.fields) {
      if (type.kind === "enum" && type.values.includes(name)) {
        help = `\`${name}\` is a value of \`${field}\`: compare it, e.g. \`${field} == ${name}\``;
        break;
      }
    }
  }
  env.out.push(diag(M.unknownName, span, [name], help ? { help } : {}));
}

function typeExpr(e: Expr, env: ExprEnv): Typed {
  switch (e.kind) {
    case "paren": {
      const inner = typeExpr(e.expr, env);
      return inner.t === "value" ? { ...inner, expr: e } : inner.t === "cond" ? { ...inner, expr: e } : inner;
    }
    case "logical": {
      const l = checkCondition(e.left, env);
      const r = checkCondition(e.right, env);
      if (!l || !r) return ERROR;
      const args = [...(l.op === e.op ? l.args : [l]), ...(r.op === e.op ? r.args : [r])];
      return { t: "cond", ir: { op: e.op, args }, expr: e };
    }
    case "not": {
      const a = checkCondition(e.operand, env);
      return a ? { t: "cond", ir: { op: "not", arg: a }, expr: e } : ERROR;
    }
    case "ref":
      return typeRef(e, env);
    case "today":
      return { t: "value", value: { v: "today" }, type: { kind: "date" }, expr: e };
    case "now":
      return { t: "value", value: { v: "now" }, type: { kind: "datetime" }, expr: e };
    case "compare":
      return typeCompare(e.op, e.left, e.right, e, env);
    case "in":
      return typeIn(e, env);
    case "has":
      return typeHas(e, env);
    case "between":
      return typeBetween(e, env);
    case "is_set": {
      const v = toValue(typeExpr(e.operand, env), env);
      return v ? { t: "cond", ir: { op: "is_set", negated: e.negated, value: v.value }, expr: e } : ERROR;
    }
    case "within":
      if (!env.hasDistance) {
        env.out.push(diag(M.withinNoDistance, e.span));
        return ERROR;
      }
      return { t: "cond", ir: { op: "within", km: e.km.value }, expr: e };
    case "arith":
      return typeArith(e, env);
    case "call":
      return typeCall(e.fn, e.args, e, env);
    case "event_prop": {
      const name = e.prop.name;
      if (!env.event) {
        env.out.push(diag(M.eventPropOutsideEventCampaign, e.span, [name]));
        return ERROR;
      }
      const type = env.event.props.get(name);
      if (!type) {
        const help = didYouMean(name, [...env.event.props.keys()]);
        const known = [...env.event.props.keys()].join(", ") || "none";
        env.out.push(diag(M.unknownEventProp, e.prop.span, [env.event.name, name], { help: help ?? `its properties: ${known}` }));
        return ERROR;
      }
      return { t: "value", value: { v: "event_prop", name, type }, type, expr: e };
    }
    default:
      return typeLiteral(e, env);
  }
}

function typeRef(e: RefExpr, env: ExprEnv): Typed {
  const field = env.fields.get(e.name);
  if (field) return { t: "value", value: { v: "field", name: e.name, type: field }, type: field, expr: e };
  const seg = env.segment(e.name, e.span);
  if (seg === "error") return ERROR;
  if (seg) return { t: "cond", ir: seg, expr: e };
  return { t: "name", name: e.name, expr: e };
}

function typeLiteral(e: Literal, env: ExprEnv): Typed {
  const lit = (value: string | number | boolean, type: FieldType): Typed => ({ t: "value", value: { v: "lit", value, type }, type, expr: e });
  switch (e.kind) {
    case "string":
      return lit(e.value, { kind: "string" });
    case "number":
      return lit(e.value, { kind: "number" });
    case "money":
      return lit(e.value, { kind: "number" });
    case "percent":
      return lit(e.value / 100, { kind: "number" });
    case "bool":
      return lit(e.value, { kind: "bool" });
    case "date": {
      const d = checkDate(e, env.out);
      return d === undefined ? ERROR : lit(d, { kind: "date" });
    }
    case "datetime": {
      const dt = checkDateTime(e, env.out);
      return dt ? lit(`${dt.date} ${formatMinutes(dt.time)}`, { kind: "datetime" }) : ERROR;
    }
    case "duration":
      return { t: "value", value: { v: "duration", duration: { amount: e.amount, unit: e.unit } }, type: { kind: "duration" }, expr: e };
    case "time":
      if (checkTime(e, env.out) !== undefined) {
        env.out.push(
          diag(M.valueNotAllowed, e.span, [`a time of day (\`${e.value}\`)`], { help: "compare dates or datetimes: `last_purchase_at >= 2026-01-01 09:00`" }),
        );
      }
      return ERROR;
    case "list":
      env.out.push(diag(M.valueNotAllowed, e.span, ["a list"], { help: "lists follow `in`, `not in`, `has any` and `has all`" }));
      return ERROR;
  }
}

// ------------------------------------------------------------------------------------------ comparisons

const ORDERED = new Set(["number", "string", "date", "datetime", "enum"]);

/** Whether values of these types may be compared with `op`; a reason when not. */
function comparable(a: IRType, b: IRType, op: CompareOp | "between" | "in"): "ok" | "mismatch" | "unordered" {
  const ordering = op !== "==" && op !== "!=" && op !== "in";
  const kinds = new Set([a.kind, b.kind]);
  let same: boolean;
  if (a.kind === "enum" && b.kind === "enum") same = a.values.length === b.values.length && a.values.every((v, i) => v === b.values[i]);
  else if (a.kind === b.kind) same = true;
  else same = (kinds.has("date") && kinds.has("datetime")) || (kinds.has("phone") && kinds.has("string"));
  if (a.kind === "list" || b.kind === "list") return "unordered";
  if (!same || a.kind === "duration" || a.kind === "null" || b.kind === "duration" || b.kind === "null") return "mismatch";
  if (ordering && (!ORDERED.has(a.kind) || !ORDERED.has(b.kind))) return "unordered";
  return "ok";
}

/**
 * An operand of a comparison: a value, or a bare name resolved against the other side's enum type.
 * `other` is the resolved other side (undefined while it is still unknown).
 */
function resolveOperand(t: Typed, other: Value | undefined, env: ExprEnv): Value | undefined {
  if (t.t === "error") return undefined;
  if (t.t === "cond") {
    env.out.push(diag(M.conditionCompared, t.expr.span, [`\`${exprText(t.expr)}\``]));
    return undefined;
  }
  if (t.t === "name") {
    if (other && other.type.kind === "enum") return enumValue(t.name, t.expr, other, env);
    reportUnknownName(t.name, t.expr.span, env);
    return undefined;
  }
  // A string literal compared with an enum: `gender == "F"`.
  if (other && other.type.kind === "enum" && t.value.v === "lit" && t.type.kind === "string") {
    return enumValue(String(t.value.value), t.expr, other, env);
  }
  return t;
}

function enumValue(name: string, at: Expr, against: Value, env: ExprEnv): Value | undefined {
  const type = against.type as Extract<FieldType, { kind: "enum" }>;
  if (type.values.includes(name)) return { t: "value", value: { v: "lit", value: name, type }, type, expr: at };
  const help = didYouMean(name, type.values) ?? `values of \`${exprText(against.expr)}\`: ${type.values.join(", ")}`;
  env.out.push(diag(M.unknownEnumValue, at.span, [name, `\`${exprText(against.expr)}\``], { help }));
  return undefined;
}

/** Resolves both operands (names and strings against the other side's enum), reporting each problem once. */
function resolvePair(lt: Typed, rt: Typed, env: ExprEnv): [Value, Value] | undefined {
  if (lt.t === "error" || rt.t === "error") {
    // Still report what is wrong with the other side, but not names that may be enum values of the broken one.
    for (const t of [lt, rt]) if (t.t === "cond") env.out.push(diag(M.conditionCompared, t.expr.span, [`\`${exprText(t.expr)}\``]));
    return undefined;
  }
  if (lt.t === "name" && rt.t === "name") {
    // `teir >= gold`: report the side that is not an enum value anywhere (both when both or neither are).
    const lEnum = isEnumValue(lt.name, env);
    const rEnum = isEnumValue(rt.name, env);
    if (!lEnum || rEnum) reportUnknownName(lt.name, lt.expr.span, env);
    if (!rEnum || lEnum) reportUnknownName(rt.name, rt.expr.span, env);
    return undefined;
  }
  const l = resolveOperand(lt, rt.t === "value" ? rt : undefined, env);
  const r = resolveOperand(rt, lt.t === "value" ? lt : undefined, env);
  return l && r ? [l, r] : undefined;
}

function typeCompare(op: CompareOp, left: Expr, right: Expr, e: Expr, env: ExprEnv): Typed {
  const pair = resolvePair(typeExpr(left, env), typeExpr(right, env), env);
  if (!pair) return ERROR;
  const [l, r] = pair;
  const c = comparable(l.type, r.type, op);
  if (c === "mismatch") {
    env.out.push(diag(M.compareMismatch, e.span, [operandText(l.expr, l.type), operandText(r.expr, r.type)], { help: mismatchHelp(l, r) }));
    return ERROR;
  }
  if (c === "unordered") {
    const subject = l.type.kind === "list" || l.type.kind === "bool" || l.type.kind === "phone" ? l : r;
    const help =
      subject.type.kind === "list"
        ? 'test list contents with `has "x"`, `has any [..]` or `has all [..]`'
        : `${typeName(subject.type)} values have no order; use \`==\` or \`!=\``;
    env.out.push(diag(M.operatorNotForType, e.span, [op, operandText(subject.expr, subject.type)], { help }));
    return ERROR;
  }
  return { t: "cond", ir: { op: "cmp", cmp: op, left: l.value, right: r.value }, expr: e };
}

function mismatchHelp(l: Value, r: Value): string | undefined {
  const kinds = [l.type.kind, r.type.kind];
  if (kinds.includes("duration")) return "a duration is added to a date: `today - 30 days`";
  if (kinds.includes("date") || kinds.includes("datetime")) return "compare dates with dates (`today - 30 days`), or a number of days with `days_since(d)`";
  if (kinds.includes("number") && kinds.includes("string")) return "numbers are written without quotes";
  return undefined;
}

function typeIn(e: Extract<Expr, { kind: "in" }>, env: ExprEnv): Typed {
  const left = toValue(typeExpr(e.left, env), env);
  if (!left) {
    checkListItems(e.list, env);
    return ERROR;
  }
  if (left.type.kind === "list") {
    env.out.push(
      diag(M.operatorNotForType, e.span, [e.negated ? "not in" : "in", operandText(left.expr, left.type)], {
        help: "test list contents with `has any [..]` or `has all [..]`",
      }),
    );
    return ERROR;
  }
  const items: IRValue[] = [];
  let ok = true;
  for (const item of e.list.items) {
    const v = listItem(item, left, env);
    if (v) items.push(v.value);
    else ok = false;
  }
  return ok ? { t: "cond", ir: { op: "in", negated: e.negated, value: left.value, list: items }, expr: e } : ERROR;
}

/** One item of `x in [..]`, typed against x. */
function listItem(item: Literal | RefExpr, left: Value, env: ExprEnv): Value | undefined {
  if (item.kind === "ref") {
    if (left.type.kind === "enum") return enumValue(item.name, item, left, env);
    const help = left.type.kind === "string" || left.type.kind === "phone" ? `text is written in quotes: "${item.name}"` : undefined;
    env.out.push(diag(M.unknownEnumValue, item.span, [item.name, operandText(left.expr, left.type)], help ? { help } : {}));
    return undefined;
  }
  const v = resolveOperand(typeLiteral(item, env), left, env);
  if (!v) return undefined;
  if (comparable(left.type, v.type, "in") !== "ok") {
    env.out.push(diag(M.compareMismatch, item.span, [operandText(left.expr, left.type), operandText(item, v.type)], { help: mismatchHelp(left, v) }));
    return undefined;
  }
  return v;
}

/** Reports invalid literals inside a list whose left side is already broken. */
function checkListItems(list: ListLit, env: ExprEnv): void {
  for (const item of list.items) {
    if (item.kind === "date") checkDate(item, env.out);
    else if (item.kind === "datetime") checkDateTime(item, env.out);
  }
}

function typeHas(e: Extract<Expr, { kind: "has" }>, env: ExprEnv): Typed {
  const left = toValue(typeExpr(e.left, env), env);
  if (left && left.type.kind !== "list") {
    env.out.push(diag(M.hasOnNonList, e.left.span, [operandText(left.expr, left.type)]));
    return ERROR;
  }
  const keyword = e.mode === "one" ? "has" : `has ${e.mode}`;
  const values: IRValue[] = [];
  let ok = !!left;
  const stringItem = (x: Expr): void => {
    if (x.kind === "ref" && !env.fields.has(x.name) && !isSegment(x.name, env)) {
      env.out.push(diag(M.hasValueType, x.span, [keyword, "text", `\`${x.name}\``], { help: `text is written in quotes: "${x.name}"` }));
      ok = false;
      return;
    }
    const v = toValue(typeExpr(x, env), env);
    if (!v) {
      ok = false;
      return;
    }
    if (v.type.kind !== "string") {
      env.out.push(diag(M.hasValueType, x.span, [keyword, "text", operandText(v.expr, v.type)]));
      ok = false;
      return;
    }
    values.push(v.value);
  };
  if (e.mode === "one") {
    if (e.right.kind === "list") {
      env.out.push(
        diag(M.hasValueType, e.right.span, [keyword, "one text value", "a list"], { help: "write `has any [..]` or `has all [..]` for several values" }),
      );
      ok = false;
    } else stringItem(e.right);
  } else if (e.right.kind !== "list") {
    env.out.push(
      diag(M.hasValueType, e.right.span, [keyword, "a list of text values", `\`${exprText(e.right)}\``], { help: `write \`${keyword} ["a", "b"]\`` }),
    );
    ok = false;
  } else {
    for (const item of e.right.items) stringItem(item);
  }
  return ok && left ? { t: "cond", ir: { op: "has", mode: e.mode, list: left.value, values }, expr: e } : ERROR;
}

function isSegment(name: string, env: ExprEnv): boolean {
  for (const s of env.segmentNames()) if (s === name) return true;
  return false;
}

function typeBetween(e: Extract<Expr, { kind: "between" }>, env: ExprEnv): Typed {
  const vt = typeExpr(e.left, env);
  const lowT = typeExpr(e.low, env);
  const highT = typeExpr(e.high, env);
  if (vt.t === "name") {
    reportUnknownName(vt.name, vt.expr.span, env);
    return ERROR;
  }
  const v = resolveOperand(vt, undefined, env);
  if (!v) {
    for (const b of [lowT, highT]) if (b.t === "name") reportUnknownName(b.name, b.expr.span, env);
    return ERROR;
  }
  if (!ORDERED.has(v.type.kind)) {
    env.out.push(diag(M.operatorNotForType, e.span, ["between", operandText(v.expr, v.type)]));
    return ERROR;
  }
  const bound = (bt: Typed): IRValue | undefined => {
    const b = resolveOperand(bt, v, env);
    if (!b) return undefined;
    if (comparable(v.type, b.type, "between") !== "ok") {
      env.out.push(diag(M.betweenMismatch, b.expr.span, [operandText(b.expr, b.type), operandText(v.expr, v.type)], { help: mismatchHelp(v, b) }));
      return undefined;
    }
    return b.value;
  };
  const low = bound(lowT);
  const high = bound(highT);
  if (!low || !high) return ERROR;
  return { t: "cond", ir: { op: "between", value: v.value, low, high }, expr: e };
}

function typeArith(e: Extract<Expr, { kind: "arith" }>, env: ExprEnv): Typed {
  const l = toValue(typeExpr(e.left, env), env);
  const r = toValue(typeExpr(e.right, env), env);
  if (!l || !r) return ERROR;
  let type: FieldType | undefined;
  if (l.type.kind === "number" && r.type.kind === "number") type = { kind: "number" };
  else if ((l.type.kind === "date" || l.type.kind === "datetime") && r.type.kind === "duration") type = { kind: l.type.kind };
  if (!type) {
    env.out.push(diag(M.arithMismatch, e.span, [e.op, operandText(l.expr, l.type), operandText(r.expr, r.type)]));
    return ERROR;
  }
  return { t: "value", value: { v: "arith", op: e.op, left: l.value, right: r.value, type }, type, expr: e };
}

function typeCall(fn: Ident, argsAst: Expr[], e: Expr, env: ExprEnv): Typed {
  const def = Object.hasOwn(FUNCTIONS, fn.name) ? FUNCTIONS[fn.name] : undefined;
  const args = argsAst.map((a) => toValue(typeExpr(a, env), env));
  if (!def) {
    const help = didYouMean(fn.name, Object.keys(FUNCTIONS));
    env.out.push(diag(M.unknownFunction, fn.span, [fn.name], help ? { help } : {}));
    return ERROR;
  }
  if (argsAst.length !== 1) {
    env.out.push(diag(M.functionArity, e.span, [fn.name, 1, argsAst.length]));
    return ERROR;
  }
  const a = args[0];
  if (!a) return ERROR;
  if (!def.accepts(a.type)) {
    env.out.push(diag(M.functionArgType, a.expr.span, [fn.name, def.needs, operandText(a.expr, a.type)]));
    return ERROR;
  }
  return { t: "value", value: { v: "call", fn: fn.name as FnName, args: [a.value], type: def.returns }, type: def.returns, expr: e };
}
