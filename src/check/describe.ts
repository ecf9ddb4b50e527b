/** How expressions and types read inside diagnostic messages: "`points` (number)", "`days_since(…)`". */
import type { Expr } from "../language/ast.js";
import type { IRType } from "../resolved/types.js";
import { literalText } from "./literals.js";

export function typeName(t: IRType): string {
  return t.kind;
}

/** A short source-like rendering of an expression (nested calls and long operands are elided). */
export function exprText(e: Expr, depth = 0): string {
  if (depth > 2) return "…";
  const sub = (x: Expr) => exprText(x, depth + 1);
  switch (e.kind) {
    case "ref":
      return e.name;
    case "today":
    case "now":
      return e.kind;
    case "paren":
      return `(${sub(e.expr)})`;
    case "call":
      return `${e.fn.name}(${e.args.map(sub).join(", ")})`;
    case "arith":
      return `${sub(e.left)} ${e.op} ${sub(e.right)}`;
    case "compare":
      return `${sub(e.left)} ${e.op} ${sub(e.right)}`;
    case "logical":
      return `${sub(e.left)} ${e.op} ${sub(e.right)}`;
    case "not":
      return `not ${sub(e.operand)}`;
    case "in":
      return `${sub(e.left)} ${e.negated ? "not in" : "in"} [${e.list.items.map(sub).join(", ")}]`;
    case "has":
      return `${sub(e.left)} has${e.mode === "one" ? "" : ` ${e.mode}`} ${sub(e.right)}`;
    case "between":
      return `${sub(e.left)} between ${sub(e.low)} and ${sub(e.high)}`;
    case "is_set":
      return `${sub(e.operand)} is ${e.negated ? "not " : ""}set`;
    case "within":
      return `within ${e.km.raw} km`;
    case "list":
      return `[${e.items.map(sub).join(", ")}]`;
    case "event_prop":
      return `event.${e.prop.name}`;
    default:
      return literalText(e);
  }
}

/** "`points` (number)" */
export function operandText(e: Expr, t: IRType): string {
  return `\`${exprText(e)}\` (${typeName(t)})`;
}
