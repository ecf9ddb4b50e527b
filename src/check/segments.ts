/**
 * Segments: resolved lazily, once each (memoised), and inlined into the IR of whatever refers to them.
 * A cycle (`segment a = b`, `segment b = a`) is reported once at each segment in it, with its path.
 */
import type { SegmentDecl } from "../language/ast.js";
import type { Span } from "../diagnostics/span.js";
import type { FieldType } from "../project/types.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { checkMessages as M } from "../diagnostics/messages/check.js";
import type { IR } from "../resolved/types.js";
import { typeOf, reportUnknownName, type ExprEnv } from "./expr.js";
import { operandText } from "./describe.js";
import { MAX_EXPRESSION_DEPTH } from "../language/limits.js";

/** The depth of an expression's syntax tree (nodes with a `kind`), walked without recursion. */
export function exprDepth(root: unknown): number {
  let max = 0;
  const todo: [unknown, number][] = [[root, 0]];
  while (todo.length > 0) {
    const [v, d] = todo.pop()!;
    if (!v || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (const x of v) todo.push([x, d]);
      continue;
    }
    const here = "kind" in v ? d + 1 : d;
    max = Math.max(max, here);
    for (const [k, x] of Object.entries(v)) if (k !== "span") todo.push([x, here]);
  }
  return max;
}

type State = { s: "resolving" } | { s: "done"; ir?: IR };

export class Segments {
  private readonly states = new Map<string, State>();
  private readonly stack: string[] = [];
  /** The summed expression depths of the segments being resolved (each inlines the next). */
  private stackDepth = 0;
  private readonly env: ExprEnv;

  /**
   * `decls`: the segment of each name (the first one when a name is duplicated; duplicates are reported by
   * the symbol table). Diagnostics of segments go to `out`, once per segment however often it is used.
   */
  constructor(
    private readonly decls: ReadonlyMap<string, SegmentDecl>,
    fields: ReadonlyMap<string, FieldType>,
    hasDistance: boolean,
    out: Diagnostic[],
  ) {
    this.env = {
      fields,
      hasDistance,
      out,
      segment: (name, span) => this.resolve(name, span),
      segmentNames: () => this.decls.keys(),
    };
  }

  names(): Iterable<string> {
    return this.decls.keys();
  }

  /** Checks every segment (unused ones too), so each reports its own problems. */
  checkAll(): void {
    for (const name of this.decls.keys()) this.resolve(name);
  }

  /** The segment's IR; "error" when it is broken (already reported); undefined when there is no such segment. */
  resolve(name: string, _ref?: Span): IR | "error" | undefined {
    const decl = this.decls.get(name);
    if (!decl) return undefined;
    const st = this.states.get(name);
    if (st?.s === "done") return st.ir ?? "error";
    if (st?.s === "resolving") {
      this.reportCycle(name);
      return "error";
    }
    // What inlining this segment adds below the one that refers to it (its root node replaces the reference).
    const depth = Math.max(1, exprDepth(decl.expr) - 1);
    if (this.stackDepth + depth > MAX_EXPRESSION_DEPTH) {
      // Checked before resolving it: chains of segments are resolved recursively.
      const outer = this.stack[0] ?? name;
      const path = [...this.stack, name].length > 6 ? `${this.stack.slice(0, 2).join(" → ")} → … → ${name}` : [...this.stack, name].join(" → ");
      const report = this.decls.get(outer)!;
      this.env.out.push(diag(M.segmentChainTooDeep, report.name.span, [outer, MAX_EXPRESSION_DEPTH, path]));
      this.states.set(name, { s: "done" });
      return "error";
    }
    this.states.set(name, { s: "resolving" });
    this.stack.push(name);
    this.stackDepth += depth;
    const ir = this.check(decl);
    this.stackDepth -= depth;
    this.stack.pop();
    // A segment found inside a cycle while resolving stays broken even if its expression typed.
    const after = this.states.get(name);
    this.states.set(name, { s: "done", ir: after?.s === "done" ? undefined : ir });
    return ir ?? "error";
  }

  private check(decl: SegmentDecl): IR | undefined {
    const out = this.env.out;
    const before = out.length;
    if (this.env.fields.has(decl.name.name)) out.push(diag(M.segmentShadowedByField, decl.name.span, [decl.name.name]));
    const t = typeOf(decl.expr, this.env);
    let ir: IR | undefined;
    if (t?.kind === "cond") ir = t.ir;
    else if (t?.kind === "name") reportUnknownName(t.name, decl.expr.span, this.env);
    else if (t?.kind === "value") {
      if (t.type.kind === "bool") ir = t.value.v === "lit" ? { op: "const", value: t.value.value === true } : { op: "truthy", value: t.value };
      else out.push(diag(M.segmentNotCondition, decl.expr.span, [decl.name.name, operandText(decl.expr, t.type)]));
    }
    for (let i = before; i < out.length; i++) if (out[i]!.severity === "error") return undefined;
    return ir;
  }

  private reportCycle(name: string): void {
    const cycle = this.stack.slice(this.stack.indexOf(name));
    for (let i = 0; i < cycle.length; i++) {
      const member = cycle[i]!;
      const path = [...cycle.slice(i), ...cycle.slice(0, i), member].join(" → ");
      const decl = this.decls.get(member)!;
      this.env.out.push(diag(M.segmentCycle, decl.name.span, [member, path]));
      // Marked broken now; `resolve` keeps it broken when its own resolution unwinds.
      this.states.set(member, { s: "done" });
    }
  }

  /** An expression environment in which segment references resolve through this table. */
  envFor(out: Diagnostic[]): ExprEnv {
    return { ...this.env, out };
  }
}
