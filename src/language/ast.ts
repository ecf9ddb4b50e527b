/**
 * The AST of `.chuda` files. Every node carries its Span. The parser builds it (to-ast.ts),
 * the checker resolves it, the formatter prints it back. Literal values are already decoded
 * (strings unescaped, numbers parsed) but keep their `raw` text so the formatter can print it.
 */
import type { Span } from "../diagnostics/span.js";

export interface Node {
  span: Span;
}

export interface Ident extends Node {
  kind: "ident";
  name: string;
}

export interface Comment extends Node {
  text: string; // including the leading '#'
}

export interface FileNode extends Node {
  kind: "file";
  items: Item[];
  comments: Comment[];
}

export type Item = SegmentDecl | CampaignDecl;

export interface SegmentDecl extends Node {
  kind: "segment";
  name: Ident;
  expr: Expr;
}

export interface CampaignDecl extends Node {
  kind: "campaign";
  name: Ident;
  title?: StringLit;
  clauses: Clause[];
  /** Clauses written with a syntax error (`audience`, `goal`, …): reported by the parser, not missing. */
  broken?: string[];
}

// ---------------------------------------------------------------- clauses

export type Clause =
  | AudienceClause
  | TriggerClause
  | ContentClause
  | ChannelClause
  | GoalClause
  | PriorityClause
  | HoldoutClause
  | RepeatClause
  | ActiveClause
  | SendWindowClause
  | LimitClause
  | BudgetClause
  | ExpireClause;

export type ClauseKind = Clause["kind"];

export interface AudienceClause extends Node {
  kind: "audience";
  expr: Expr;
}

export interface TriggerClause extends Node {
  kind: "trigger";
  trigger: Trigger;
}

export interface ContentClause extends Node {
  kind: "content";
  template: StringLit;
  /** `with { key: value, … }`: values are literals (string, number, money, percent, date, bool). */
  with: { key: Ident; value: Literal; span: Span }[];
}

export interface ChannelClause extends Node {
  kind: "channel";
  /** In preference order. */
  channels: Ident[];
}

export interface GoalClause extends Node {
  kind: "goal";
  goal: Goal;
}

export interface PriorityClause extends Node {
  kind: "priority";
  value: NumberLit;
}

export interface HoldoutClause extends Node {
  kind: "holdout";
  value: PercentLit;
}

export interface RepeatClause extends Node {
  kind: "repeat";
  /** `repeat after <duration>`; absent for `repeat never`. */
  after?: DurationLit;
  never: boolean;
}

export interface ActiveClause extends Node {
  kind: "active";
  from: DateLit;
  to: DateLit;
}

/** `send between 09:00 and 20:00` */
export interface SendWindowClause extends Node {
  kind: "send_window";
  from: TimeLit;
  to: TimeLit;
}

/** `limit 500 members [order by <expr> [asc|desc]]` — default order: `desc` (highest first). */
export interface LimitClause extends Node {
  kind: "limit";
  count: NumberLit;
  orderBy?: { expr: Expr; direction: "asc" | "desc"; span: Span };
}

/** `expire after <duration>`: a send not made this long after its planned time is never made. */
export interface ExpireClause extends Node {
  kind: "expire";
  after: DurationLit;
}

export interface BudgetClause extends Node {
  kind: "budget";
  amount: MoneyLit;
}

// ---------------------------------------------------------------- triggers

export type Weekday = "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";
export type DurationUnit = "minute" | "hour" | "day" | "week" | "month" | "year";

export type Trigger = EveryDayTrigger | EveryWeekdaysTrigger | EveryMonthTrigger | OnceTrigger | OnEventTrigger | OffsetTrigger;

export interface EveryDayTrigger extends Node {
  kind: "every_day";
  at?: TimeLit;
}

export interface EveryWeekdaysTrigger extends Node {
  kind: "every_weekdays";
  /** Each ident's name is a weekday word as written (checked by the checker). */
  days: Ident[];
  at?: TimeLit;
}

export interface EveryMonthTrigger extends Node {
  kind: "every_month";
  day: NumberLit;
  at?: TimeLit;
}

export interface OnceTrigger extends Node {
  kind: "once";
  at: DateTimeLit;
}

export interface OnEventTrigger extends Node {
  kind: "on_event";
  event: EventRef;
  at?: TimeLit;
  /** `on event "x" at most once per <duration>` (business events only). */
  atMostOncePer?: DurationLit;
}

/** `<N> <unit> before|after <event> [at <time>]` */
export interface OffsetTrigger extends Node {
  kind: "offset";
  amount: NumberLit;
  unit: DurationUnit;
  direction: "before" | "after";
  event: EventRef;
  at?: TimeLit;
}

/**
 * A calendar event (`mid_autumn`, `618`, a `calendar:` name of chuda.yaml), a member date field
 * (`last_purchase_at`), or `anniversary of <field>`. Which one is decided by the checker.
 */
export interface EventRef extends Node {
  kind: "event";
  /** As written: `mid_autumn`, `520`, `birthday`; for a business event the string's value (`purchase`). */
  name: string;
  anniversary: boolean;
  /** `event "purchase"`: a business event received by `chuda serve` (the string as written). */
  business?: StringLit;
}

// ---------------------------------------------------------------- goals

export type Goal = RedeemGoal | VisitGoal | PurchaseGoal | EventGoal;

interface GoalBase extends Node {
  within: DurationLit;
  /** `expect 12%` */
  expect?: PercentLit;
}

export interface RedeemGoal extends GoalBase {
  kind: "redeem";
  code: StringLit;
}

export interface VisitGoal extends GoalBase {
  kind: "visit";
}

export interface PurchaseGoal extends GoalBase {
  kind: "purchase";
  /** `purchase >= 200 CNY` — only `>=` is in the language. */
  minAmount?: MoneyLit;
}

export interface EventGoal extends GoalBase {
  kind: "event";
  name: StringLit;
}

// ---------------------------------------------------------------- expressions

export type Expr =
  | LogicalExpr
  | NotExpr
  | CompareExpr
  | InExpr
  | HasExpr
  | BetweenExpr
  | IsSetExpr
  | WithinExpr
  | ArithExpr
  | CallExpr
  | RefExpr
  | TodayExpr
  | EventPropExpr
  | NowExpr
  | ParenExpr
  | Literal;

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

export interface LogicalExpr extends Node {
  kind: "logical";
  op: "and" | "or";
  left: Expr;
  right: Expr;
}

export interface NotExpr extends Node {
  kind: "not";
  operand: Expr;
}

export interface CompareExpr extends Node {
  kind: "compare";
  op: CompareOp;
  left: Expr;
  right: Expr;
}

/** `x in [..]` / `x not in [..]` */
export interface InExpr extends Node {
  kind: "in";
  negated: boolean;
  left: Expr;
  list: ListLit;
}

/** `tags has "vip"`, `tags has any [..]`, `tags has all [..]` */
export interface HasExpr extends Node {
  kind: "has";
  mode: "one" | "any" | "all";
  left: Expr;
  right: Expr;
}

/** `x between a and b`, inclusive. */
export interface BetweenExpr extends Node {
  kind: "between";
  left: Expr;
  low: Expr;
  high: Expr;
}

/** `x is set` / `x is not set` */
export interface IsSetExpr extends Node {
  kind: "is_set";
  negated: boolean;
  operand: Expr;
}

/** `within 5 km`: the member's distance to the mall (chuda.yaml `members.distance`). */
export interface WithinExpr extends Node {
  kind: "within";
  km: NumberLit;
}

/** `date ± duration`, or number arithmetic. */
export interface ArithExpr extends Node {
  kind: "arith";
  op: "+" | "-";
  left: Expr;
  right: Expr;
}

export interface CallExpr extends Node {
  kind: "call";
  fn: Ident;
  args: Expr[];
}

/** A bare identifier: a member field, else a segment, else an enum value (resolved by the checker). */
export interface RefExpr extends Node {
  kind: "ref";
  name: string;
}

/** `event.amount`: a property of the business event that fired the campaign. */
export interface EventPropExpr extends Node {
  kind: "event_prop";
  prop: Ident;
}

export interface TodayExpr extends Node {
  kind: "today";
}

export interface NowExpr extends Node {
  kind: "now";
}

export interface ParenExpr extends Node {
  kind: "paren";
  expr: Expr;
}

// ---------------------------------------------------------------- literals

export type Literal = StringLit | NumberLit | PercentLit | MoneyLit | BoolLit | DateLit | TimeLit | DateTimeLit | DurationLit | ListLit;

export interface StringLit extends Node {
  kind: "string";
  value: string;
  raw: string;
}

export interface NumberLit extends Node {
  kind: "number";
  value: number;
  raw: string;
}

/** `10%` → value 10 (percent points, not a fraction). */
export interface PercentLit extends Node {
  kind: "percent";
  value: number;
  raw: string;
}

/** `50 CNY` or `¥50` → value 50 (yuan). */
export interface MoneyLit extends Node {
  kind: "money";
  value: number;
  raw: string;
}

export interface BoolLit extends Node {
  kind: "bool";
  value: boolean;
}

/** `2026-12-24`. `value` as written; validity (2026-02-30) is the checker's job. */
export interface DateLit extends Node {
  kind: "date";
  value: string;
}

/** `09:30`. Validity (25:00) is the checker's job. */
export interface TimeLit extends Node {
  kind: "time";
  value: string;
}

/** `2026-12-24 10:00` */
export interface DateTimeLit extends Node {
  kind: "datetime";
  date: string;
  time: string;
}

/** `180 days`: unit normalised to the singular. */
export interface DurationLit extends Node {
  kind: "duration";
  amount: number;
  unit: DurationUnit;
  raw: string;
}

export interface ListLit extends Node {
  kind: "list";
  /** Items are literals or bare identifiers (enum values): `[gold, platinum, "VIP 会员"]`. */
  items: (Literal | RefExpr)[];
}
