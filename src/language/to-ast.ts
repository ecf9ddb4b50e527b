/**
 * CST → AST (ast.ts). A validated Chevrotain visitor: a missing visit method fails at start-up.
 * After error recovery the CST may be partial; a node whose required parts are missing is dropped
 * (a broken clause disappears from its campaign, a broken item from the file) instead of crashing.
 */
import type { CstElement, CstNode, IToken } from "chevrotain";
import type * as A from "./ast.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { diag } from "../diagnostics/diag.js";
import { languageMessages } from "../diagnostics/messages/language.js";
import type { LineIndex, Span } from "../diagnostics/span.js";
import { parser } from "./parser.js";

type Ctx = Record<string, CstElement[] | undefined>;

const BaseVisitor = parser.getBaseCstVisitorConstructor();

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

/** A real token (not one inserted by recovery). */
function tok(ctx: Ctx, name: string, i = 0): IToken | undefined {
  const t = ctx[name]?.[i];
  if (!t || !isToken(t) || t.isInsertedInRecovery || Number.isNaN(t.startOffset)) return undefined;
  return t;
}

function toks(ctx: Ctx, name: string): IToken[] {
  return (ctx[name] ?? []).filter((t): t is IToken => isToken(t) && !t.isInsertedInRecovery && !Number.isNaN(t.startOffset));
}

function node(ctx: Ctx, name: string, i = 0): CstNode | undefined {
  const n = ctx[name]?.[i];
  return n && !isToken(n) ? n : undefined;
}

function nodes(ctx: Ctx, name: string): CstNode[] {
  return (ctx[name] ?? []).filter((n): n is CstNode => !isToken(n));
}

export function unitOf(image: string): A.DurationUnit {
  return image.replace(/s$/, "") as A.DurationUnit;
}

/** Normalises a money token: `50  CNY` → `50 CNY`, `¥ 50` → `¥50`. */
export function moneyRaw(image: string): { raw: string; value: number } {
  if (image.startsWith("¥")) {
    const n = image.slice(1).trim();
    return { raw: `¥${n}`, value: Number(n) };
  }
  const n = image.replace(/CNY$/, "").trim();
  return { raw: `${n} CNY`, value: Number(n) };
}

/** The largest number a literal may hold: integers up to it are exact in JavaScript and fit DuckDB's BIGINT. */
export const MAX_LITERAL_NUMBER = Number.MAX_SAFE_INTEGER;

/**
 * The longest duration per unit: 10,000 years, so that a date of 0001–9999 plus or minus one stays a date every
 * part of the engine computes (DuckDB intervals hold 32-bit day and month counts).
 */
export const MAX_DURATION: Record<A.DurationUnit, number> = {
  minute: 3_652_425 * 1440,
  hour: 3_652_425 * 24,
  day: 3_652_425,
  week: 521_775,
  month: 120_000,
  year: 10_000,
};

export class AstBuilder extends BaseVisitor {
  path = "";
  lines!: LineIndex;
  diagnostics: Diagnostic[] = [];
  unterminated = new Set<IToken>();

  constructor() {
    super();
    this.validateVisitor();
  }

  reset(path: string, lines: LineIndex, unterminated: IToken[]): void {
    this.path = path;
    this.lines = lines;
    this.diagnostics = [];
    this.unterminated = new Set(unterminated);
  }

  // ---------------------------------------------------------------- spans

  span(start: number, end: number): Span {
    return this.lines.span(this.path, start, end);
  }

  tokSpan(t: IToken): Span {
    return this.span(t.startOffset, t.startOffset + t.image.length);
  }

  /** The span of a CST node: its location, or (after recovery) the real tokens under it. */
  nodeSpan(n: CstNode): Span {
    let lo = Infinity;
    let hi = -Infinity;
    const walk = (c: CstNode): void => {
      for (const list of Object.values(c.children)) {
        for (const e of list) {
          if (isToken(e)) {
            if (e.isInsertedInRecovery || Number.isNaN(e.startOffset)) continue;
            lo = Math.min(lo, e.startOffset);
            hi = Math.max(hi, e.startOffset + e.image.length);
          } else walk(e);
        }
      }
    };
    walk(n);
    return Number.isFinite(lo) ? this.span(lo, hi) : this.span(0, 0);
  }

  join(a: Span, b: Span): Span {
    return { file: a.file, start: a.start.offset <= b.start.offset ? a.start : b.start, end: a.end.offset >= b.end.offset ? a.end : b.end };
  }

  /** Visits a child node, handing it itself so the method can take its span. */
  sub<R>(n: CstNode | undefined): R | undefined {
    return n ? (this.visit(n, n) as R | undefined) : undefined;
  }

  // ---------------------------------------------------------------- literal tokens

  ident(t: IToken): A.Ident {
    return { kind: "ident", name: t.image, span: this.tokSpan(t) };
  }

  str(t: IToken): A.StringLit {
    const raw = t.image;
    const body = this.unterminated.has(t) ? raw.slice(1) : raw.slice(1, -1);
    let value = "";
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c !== "\\") {
        value += c;
        continue;
      }
      const n = body[i + 1];
      if (n === '"' || n === "\\") value += n;
      else if (n === "n") value += "\n";
      else {
        const at = t.startOffset + 1 + i;
        this.diagnostics.push(diag(languageMessages.unknownEscape, this.span(at, at + (n === undefined ? 1 : 2)), [`\\${n ?? ""}`]));
        value += `\\${n ?? ""}`;
      }
      i++;
    }
    return { kind: "string", value, raw, span: this.tokSpan(t) };
  }

  /** Reports a number beyond MAX_LITERAL_NUMBER at its token (the value is kept: nothing runs with errors). */
  private bounded(value: number, t: IToken, shown: string): number {
    if (!(value <= MAX_LITERAL_NUMBER)) {
      this.diagnostics.push(diag(languageMessages.numberTooLarge, this.tokSpan(t), [shown.length > 40 ? `${shown.slice(0, 40)}…` : shown, MAX_LITERAL_NUMBER]));
    }
    return value;
  }

  num(t: IToken): A.NumberLit {
    return { kind: "number", value: this.bounded(Number(t.image), t, t.image), raw: t.image, span: this.tokSpan(t) };
  }

  percent(t: IToken): A.PercentLit {
    return { kind: "percent", value: this.bounded(Number(t.image.slice(0, -1)), t, t.image), raw: t.image, span: this.tokSpan(t) };
  }

  money(t: IToken): A.MoneyLit {
    const m = moneyRaw(t.image);
    this.bounded(m.value, t, m.raw);
    return { kind: "money", ...m, span: this.tokSpan(t) };
  }

  time(t: IToken): A.TimeLit {
    return { kind: "time", value: t.image, span: this.tokSpan(t) };
  }

  date(t: IToken): A.DateLit {
    return { kind: "date", value: t.image, span: this.tokSpan(t) };
  }

  dateTime(t: IToken): A.DateTimeLit {
    const [date, time] = t.image.split(/[ \t]+/);
    return { kind: "datetime", date: date!, time: time!, span: this.tokSpan(t) };
  }

  durationOf(n: IToken, unit: IToken): A.DurationLit {
    const d: A.DurationLit = {
      kind: "duration",
      amount: Number(n.image),
      unit: unitOf(unit.image),
      raw: `${n.image} ${unit.image}`,
      span: this.span(n.startOffset, unit.startOffset + unit.image.length),
    };
    const max = MAX_DURATION[d.unit];
    if (!(d.amount <= max)) {
      const shown = d.raw.length > 40 ? `${d.raw.slice(0, 40)}…` : d.raw;
      this.diagnostics.push(diag(languageMessages.durationTooLong, d.span, [shown, `${max.toLocaleString("en-US")} ${d.unit}s`]));
    }
    return d;
  }

  // ---------------------------------------------------------------- file

  file(ctx: Ctx): A.Item[] {
    const items: A.Item[] = [];
    for (const n of [...nodes(ctx, "segment"), ...nodes(ctx, "campaign")]) {
      const item = this.sub<A.Item>(n);
      if (item) items.push(item);
    }
    return items.sort((a, b) => a.span.start.offset - b.span.start.offset);
  }

  segment(ctx: Ctx, self: CstNode): A.SegmentDecl | undefined {
    const name = tok(ctx, "Identifier");
    const expr = this.sub<A.Expr>(node(ctx, "expression"));
    if (!name || !expr || !tok(ctx, "Segment")) return undefined;
    return { kind: "segment", name: this.ident(name), expr, span: this.nodeSpan(self) };
  }

  campaign(ctx: Ctx, self: CstNode): A.CampaignDecl | undefined {
    const name = tok(ctx, "Identifier");
    if (!name || !tok(ctx, "Campaign")) return undefined;
    const clauses: A.Clause[] = [];
    const broken: string[] = [];
    for (const n of nodes(ctx, "clause")) {
      const c = this.sub<A.Clause>(n);
      if (c) clauses.push(c);
      else {
        // Remember which clause was written but broken, so the checker does not also call it missing.
        const inner = Object.values(n.children)
          .flat()
          .find((x) => !isToken(x)) as CstNode | undefined;
        if (inner) broken.push(inner.name.replace(/Clause$/, ""));
      }
    }
    const title = tok(ctx, "StringLiteral");
    const d: A.CampaignDecl = { kind: "campaign", name: this.ident(name), clauses, span: this.nodeSpan(self) };
    if (broken.length) d.broken = broken;
    if (title) d.title = this.str(title);
    return d;
  }

  // ---------------------------------------------------------------- clauses

  clause(ctx: Ctx): A.Clause | undefined {
    for (const list of Object.values(ctx)) {
      const n = list?.[0];
      if (n && !isToken(n)) return this.sub<A.Clause>(n);
    }
    return undefined;
  }

  audienceClause(ctx: Ctx, self: CstNode): A.AudienceClause | undefined {
    const expr = this.sub<A.Expr>(node(ctx, "expression"));
    return expr && { kind: "audience", expr, span: this.nodeSpan(self) };
  }

  triggerClause(ctx: Ctx, self: CstNode): A.TriggerClause | undefined {
    const trigger = this.sub<A.Trigger>(node(ctx, "trigger"));
    return trigger && { kind: "trigger", trigger, span: this.nodeSpan(self) };
  }

  contentClause(ctx: Ctx, self: CstNode): A.ContentClause | undefined {
    const t = tok(ctx, "StringLiteral");
    if (!t) return undefined;
    const entries: A.ContentClause["with"] = [];
    for (const n of nodes(ctx, "withEntry")) {
      const e = this.sub<A.ContentClause["with"][number]>(n);
      if (!e) return undefined;
      entries.push(e);
    }
    if (tok(ctx, "With") && !tok(ctx, "RCurly")) return undefined;
    return { kind: "content", template: this.str(t), with: entries, span: this.nodeSpan(self) };
  }

  withEntry(ctx: Ctx, self: CstNode): A.ContentClause["with"][number] | undefined {
    const key = tok(ctx, "Identifier");
    const value = this.sub<A.Literal>(node(ctx, "literal"));
    if (!key || !value) return undefined;
    return { key: this.ident(key), value, span: this.nodeSpan(self) };
  }

  channelClause(ctx: Ctx, self: CstNode): A.ChannelClause | undefined {
    const names = toks(ctx, "Identifier");
    if (names.length === 0 || names.length !== toks(ctx, "Gt").length + 1) return undefined;
    return { kind: "channel", channels: names.map((t) => this.ident(t)), span: this.nodeSpan(self) };
  }

  goalClause(ctx: Ctx, self: CstNode): A.GoalClause | undefined {
    const goal = this.sub<A.Goal>(node(ctx, "goal"));
    return goal && { kind: "goal", goal, span: this.nodeSpan(self) };
  }

  goal(ctx: Ctx, self: CstNode): A.Goal | undefined {
    const within = this.sub<A.DurationLit>(node(ctx, "duration"));
    if (!within || !tok(ctx, "Within")) return undefined;
    let expect: A.PercentLit | undefined;
    if (ctx["Expect"]) {
      const p = tok(ctx, "PercentLiteral");
      if (!p) return undefined;
      expect = this.percent(p);
    }
    const span = this.nodeSpan(self);
    const base = expect ? { within, expect, span } : { within, span };
    const s = tok(ctx, "StringLiteral");
    if (tok(ctx, "Redeem")) return s && { kind: "redeem", code: this.str(s), ...base };
    if (tok(ctx, "Event")) return s && { kind: "event", name: this.str(s), ...base };
    if (tok(ctx, "Visit")) return { kind: "visit", ...base };
    if (tok(ctx, "Purchase")) {
      if (!ctx["GtEq"]) return { kind: "purchase", ...base };
      const m = tok(ctx, "MoneyLiteral");
      return m && { kind: "purchase", minAmount: this.money(m), ...base };
    }
    return undefined;
  }

  priorityClause(ctx: Ctx, self: CstNode): A.PriorityClause | undefined {
    const n = tok(ctx, "NumberLiteral");
    return n && { kind: "priority", value: this.num(n), span: this.nodeSpan(self) };
  }

  holdoutClause(ctx: Ctx, self: CstNode): A.HoldoutClause | undefined {
    const p = tok(ctx, "PercentLiteral");
    return p && { kind: "holdout", value: this.percent(p), span: this.nodeSpan(self) };
  }

  repeatClause(ctx: Ctx, self: CstNode): A.RepeatClause | undefined {
    if (tok(ctx, "Never")) return { kind: "repeat", never: true, span: this.nodeSpan(self) };
    const after = this.sub<A.DurationLit>(node(ctx, "duration"));
    return after && { kind: "repeat", after, never: false, span: this.nodeSpan(self) };
  }

  activeClause(ctx: Ctx, self: CstNode): A.ActiveClause | undefined {
    const [from, to] = toks(ctx, "DateLiteral");
    return from && to && { kind: "active", from: this.date(from), to: this.date(to), span: this.nodeSpan(self) };
  }

  sendClause(ctx: Ctx, self: CstNode): A.SendWindowClause | undefined {
    const [from, to] = toks(ctx, "TimeLiteral");
    return from && to && { kind: "send_window", from: this.time(from), to: this.time(to), span: this.nodeSpan(self) };
  }

  limitClause(ctx: Ctx, self: CstNode): A.LimitClause | undefined {
    const n = tok(ctx, "NumberLiteral");
    if (!n || !tok(ctx, "Members")) return undefined;
    const c: A.LimitClause = { kind: "limit", count: this.num(n), span: this.nodeSpan(self) };
    const order = tok(ctx, "Order");
    if (order) {
      const expr = this.sub<A.Expr>(node(ctx, "expression"));
      if (!expr) return undefined;
      const dir = tok(ctx, "Asc") ?? tok(ctx, "Desc");
      const end = dir ? dir.startOffset + dir.image.length : expr.span.end.offset;
      c.orderBy = { expr, direction: dir?.image === "asc" ? "asc" : "desc", span: this.span(order.startOffset, end) };
    }
    return c;
  }

  expireClause(ctx: Ctx, self: CstNode): A.ExpireClause | undefined {
    const after = this.sub<A.DurationLit>(node(ctx, "duration"));
    return after && { kind: "expire", after, span: this.nodeSpan(self) };
  }

  budgetClause(ctx: Ctx, self: CstNode): A.BudgetClause | undefined {
    const m = tok(ctx, "MoneyLiteral");
    return m && { kind: "budget", amount: this.money(m), span: this.nodeSpan(self) };
  }

  duration(ctx: Ctx): A.DurationLit | undefined {
    const n = tok(ctx, "NumberLiteral");
    const u = tok(ctx, "DurationUnit");
    return n && u && this.durationOf(n, u);
  }

  // ---------------------------------------------------------------- triggers

  trigger(ctx: Ctx): A.Trigger | undefined {
    for (const list of Object.values(ctx)) {
      const n = list?.[0];
      if (n && !isToken(n)) return this.sub<A.Trigger>(n);
    }
    return undefined;
  }

  /** `at` given: its time, or null when the time is broken; not given: undefined. */
  at(ctx: Ctx): A.TimeLit | null | undefined {
    const n = node(ctx, "atTime");
    if (!n) return undefined;
    return this.sub<A.TimeLit>(n) ?? null;
  }

  everyTrigger(ctx: Ctx, self: CstNode): A.Trigger | undefined {
    const at = this.at(ctx);
    if (at === null) return undefined;
    const span = this.nodeSpan(self);
    const withAt = <X extends object>(x: X): X => (at ? { ...x, at } : x);
    if (tok(ctx, "Day")) return withAt({ kind: "every_day" as const, span });
    if (tok(ctx, "Month")) {
      const n = tok(ctx, "NumberLiteral");
      return n && tok(ctx, "On") ? withAt({ kind: "every_month" as const, day: this.num(n), span }) : undefined;
    }
    const days = toks(ctx, "Identifier");
    if (days.length === 0 || days.length !== toks(ctx, "Comma").length + 1) return undefined;
    return withAt({ kind: "every_weekdays" as const, days: days.map((t) => this.ident(t)), span });
  }

  onceTrigger(ctx: Ctx, self: CstNode): A.OnceTrigger | undefined {
    const dt = tok(ctx, "DateTimeLiteral");
    return dt && { kind: "once", at: this.dateTime(dt), span: this.nodeSpan(self) };
  }

  onTrigger(ctx: Ctx, self: CstNode): A.OnEventTrigger | undefined {
    const event = this.sub<A.EventRef>(node(ctx, "eventRef") ?? node(ctx, "businessEvent"));
    const at = this.at(ctx);
    if (!event || at === null) return undefined;
    const t: A.OnEventTrigger = { kind: "on_event", event, span: this.nodeSpan(self) };
    if (at) t.at = at;
    const once = node(ctx, "atMostOnce");
    if (once) {
      const d = this.sub<A.DurationLit>(once);
      if (!d) return undefined;
      t.atMostOncePer = d;
    }
    return t;
  }

  businessEvent(ctx: Ctx, self: CstNode): A.EventRef | undefined {
    const s = tok(ctx, "StringLiteral");
    if (!s) return undefined;
    const business = this.str(s);
    return { kind: "event", name: business.value, anniversary: false, business, span: this.nodeSpan(self) };
  }

  atMostOnce(ctx: Ctx): A.DurationLit | undefined {
    const d = node(ctx, "duration");
    return d && tok(ctx, "Per") ? this.sub<A.DurationLit>(d) : undefined;
  }

  eventProperty(ctx: Ctx, self: CstNode): A.EventPropExpr | undefined {
    const id = tok(ctx, "Identifier");
    return id && tok(ctx, "Dot") ? { kind: "event_prop", prop: this.ident(id), span: this.nodeSpan(self) } : undefined;
  }

  offsetTrigger(ctx: Ctx, self: CstNode): A.OffsetTrigger | undefined {
    const n = tok(ctx, "NumberLiteral");
    const u = tok(ctx, "DurationUnit");
    const dir = tok(ctx, "Before") ?? tok(ctx, "After");
    const event = this.sub<A.EventRef>(node(ctx, "eventRef") ?? node(ctx, "businessEvent"));
    const at = this.at(ctx);
    if (!n || !u || !dir || !event || at === null) return undefined;
    this.durationOf(n, u); // bounds the offset like any duration
    const t: A.OffsetTrigger = {
      kind: "offset",
      amount: this.num(n),
      unit: unitOf(u.image),
      direction: dir.image === "before" ? "before" : "after",
      event,
      span: this.nodeSpan(self),
    };
    if (at) t.at = at;
    return t;
  }

  atTime(ctx: Ctx): A.TimeLit | undefined {
    const t = tok(ctx, "TimeLiteral");
    return t && this.time(t);
  }

  eventRef(ctx: Ctx, self: CstNode): A.EventRef | undefined {
    const span = this.nodeSpan(self);
    if (ctx["Anniversary"]) {
      const f = tok(ctx, "Identifier");
      return f && tok(ctx, "Of") ? { kind: "event", name: f.image, anniversary: true, span } : undefined;
    }
    const t = tok(ctx, "Identifier") ?? tok(ctx, "NumberLiteral");
    return t && { kind: "event", name: t.image, anniversary: false, span };
  }

  // ---------------------------------------------------------------- expressions

  /** Folds `a op b op c` left to right. */
  fold(operands: CstNode[], ops: IToken[], make: (op: IToken, l: A.Expr, r: A.Expr, span: Span) => A.Expr): A.Expr | undefined {
    if (operands.length === 0 || ops.length !== operands.length - 1) return undefined;
    let e = this.sub<A.Expr>(operands[0]);
    if (!e) return undefined;
    const sorted = [...ops].sort((a, b) => a.startOffset - b.startOffset);
    for (let i = 1; i < operands.length; i++) {
      const r = this.sub<A.Expr>(operands[i]);
      if (!r) return undefined;
      e = make(sorted[i - 1]!, e, r, this.join(e.span, r.span));
    }
    return e;
  }

  expression(ctx: Ctx): A.Expr | undefined {
    return this.fold(nodes(ctx, "andExpression"), toks(ctx, "Or"), (_, left, right, span) => ({ kind: "logical", op: "or", left, right, span }));
  }

  andExpression(ctx: Ctx): A.Expr | undefined {
    return this.fold(nodes(ctx, "notExpression"), toks(ctx, "And"), (_, left, right, span) => ({ kind: "logical", op: "and", left, right, span }));
  }

  notExpression(ctx: Ctx, self: CstNode): A.Expr | undefined {
    if (ctx["Not"]) {
      const operand = this.sub<A.Expr>(node(ctx, "notExpression"));
      return operand && { kind: "not", operand, span: this.nodeSpan(self) };
    }
    return this.sub<A.Expr>(node(ctx, "comparison"));
  }

  comparison(ctx: Ctx, self: CstNode): A.Expr | undefined {
    const operands = nodes(ctx, "additive");
    const left = this.sub<A.Expr>(operands[0]);
    if (!left) return undefined;
    const span = this.nodeSpan(self);
    const opNode = node(ctx, "compareOperator");
    if (opNode) {
      const op = this.sub<A.CompareOp>(opNode);
      const right = this.sub<A.Expr>(operands[1]);
      return op && right && { kind: "compare", op, left, right, span };
    }
    if (ctx["In"]) {
      const list = this.sub<A.ListLit>(node(ctx, "list"));
      return tok(ctx, "In") && list && { kind: "in", negated: !!ctx["Not"], left, list, span };
    }
    if (ctx["Has"]) {
      const right = this.sub<A.Expr>(operands[1]);
      const mode = tok(ctx, "Any") ? "any" : tok(ctx, "All") ? "all" : "one";
      return right && { kind: "has", mode, left, right, span };
    }
    if (ctx["Between"]) {
      const low = this.sub<A.Expr>(operands[1]);
      const high = this.sub<A.Expr>(operands[2]);
      return low && high && tok(ctx, "And") && { kind: "between", left, low, high, span };
    }
    if (ctx["Is"]) {
      return tok(ctx, "Set") && { kind: "is_set", negated: !!ctx["Not"], operand: left, span };
    }
    return left;
  }

  compareOperator(ctx: Ctx): A.CompareOp | undefined {
    for (const list of Object.values(ctx)) {
      const t = list?.[0];
      if (t && isToken(t) && !t.isInsertedInRecovery) return t.image as A.CompareOp;
    }
    return undefined;
  }

  additive(ctx: Ctx): A.Expr | undefined {
    return this.fold(nodes(ctx, "primary"), [...toks(ctx, "Plus"), ...toks(ctx, "Minus")], (op, left, right, span) => ({
      kind: "arith",
      op: op.image === "+" ? "+" : "-",
      left,
      right,
      span,
    }));
  }

  primary(ctx: Ctx): A.Expr | undefined {
    const today = tok(ctx, "Today");
    if (today) return { kind: "today", span: this.tokSpan(today) };
    const now = tok(ctx, "Now");
    if (now) return { kind: "now", span: this.tokSpan(now) };
    for (const list of Object.values(ctx)) {
      const n = list?.[0];
      if (n && !isToken(n)) return this.sub<A.Expr>(n);
    }
    return undefined;
  }

  parenExpression(ctx: Ctx, self: CstNode): A.ParenExpr | undefined {
    const expr = this.sub<A.Expr>(node(ctx, "expression"));
    return expr && tok(ctx, "RParen") ? { kind: "paren", expr, span: this.nodeSpan(self) } : undefined;
  }

  withinExpression(ctx: Ctx, self: CstNode): A.WithinExpr | undefined {
    const n = tok(ctx, "NumberLiteral");
    return n && tok(ctx, "Km") ? { kind: "within", km: this.num(n), span: this.nodeSpan(self) } : undefined;
  }

  reference(ctx: Ctx, self: CstNode): A.Expr | undefined {
    const name = tok(ctx, "Identifier") ?? tok(ctx, "DurationUnit");
    if (!name) return undefined;
    const argsNode = node(ctx, "callArguments");
    if (!argsNode) return { kind: "ref", name: name.image, span: this.tokSpan(name) };
    const args = this.sub<A.Expr[]>(argsNode);
    return args && { kind: "call", fn: this.ident(name), args, span: this.nodeSpan(self) };
  }

  callArguments(ctx: Ctx): A.Expr[] | undefined {
    if (!tok(ctx, "RParen")) return undefined;
    const args: A.Expr[] = [];
    for (const n of nodes(ctx, "expression")) {
      const e = this.sub<A.Expr>(n);
      if (!e) return undefined;
      args.push(e);
    }
    return args;
  }

  literal(ctx: Ctx): A.Literal | undefined {
    const s = tok(ctx, "StringLiteral");
    if (s) return this.str(s);
    const m = tok(ctx, "MoneyLiteral");
    if (m) return this.money(m);
    const p = tok(ctx, "PercentLiteral");
    if (p) return this.percent(p);
    const dt = tok(ctx, "DateTimeLiteral");
    if (dt) return this.dateTime(dt);
    const d = tok(ctx, "DateLiteral");
    if (d) return this.date(d);
    const t = tok(ctx, "TimeLiteral");
    if (t) return this.time(t);
    const n = tok(ctx, "NumberLiteral");
    if (n) {
      const u = tok(ctx, "DurationUnit");
      return u ? this.durationOf(n, u) : this.num(n);
    }
    const b = tok(ctx, "True") ?? tok(ctx, "False");
    if (b) return { kind: "bool", value: b.image === "true", span: this.tokSpan(b) };
    return this.sub<A.ListLit>(node(ctx, "list"));
  }

  list(ctx: Ctx, self: CstNode): A.ListLit | undefined {
    if (!tok(ctx, "RBracket")) return undefined;
    const items: A.ListLit["items"] = [];
    for (const n of nodes(ctx, "listItem")) {
      const item = this.sub<A.Literal | A.RefExpr>(n);
      if (!item) return undefined;
      items.push(item);
    }
    return { kind: "list", items, span: this.nodeSpan(self) };
  }

  listItem(ctx: Ctx): A.Literal | A.RefExpr | undefined {
    const id = tok(ctx, "Identifier");
    if (id) return { kind: "ref", name: id.image, span: this.tokSpan(id) };
    return this.sub<A.Literal>(node(ctx, "literal"));
  }
}

/** The one builder (validated against the grammar once). */
export const astBuilder = new AstBuilder();
