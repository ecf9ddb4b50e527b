/**
 * The canonical layout of `.chuda` files (AST → text). grammar/README.md describes it:
 * - one blank line between top-level items; consecutive segments (no blank line between them in the source)
 *   stay together, with their `=` aligned;
 * - campaign clauses one per line, indented by 2; the clause keyword padded to 8 columns plus a space, so values
 *   line up (`trigger  on …`, `priority 80`); `send between` is written as one phrase;
 * - single spaces around operators and after commas; the user's parentheses kept, and parentheses added only
 *   where a tree could not be written otherwise;
 * - literals as written (`raw`): `50 CNY`, `¥50`, `10%`, `7 days`; trigger offsets as `1 day`/`3 days`;
 *   `limit … order by x` always says its direction (`desc` is the default);
 * - comments kept: own-line comments before the item or clause that follows them, at its indentation;
 *   a comment at the end of a line stays there (one space before `#`); a comment inside a clause that spans
 *   lines moves above the clause; comments at the end of a campaign body or of the file stay there.
 *   At top level, a blank line after a comment is kept.
 * - LF line ends, no trailing spaces, one final newline, no BOM.
 */
import type * as A from "./ast.js";

const PREC: Record<string, number> = {
  logical_or: 1,
  logical_and: 2,
  not: 3,
  compare: 4,
  in: 4,
  has: 4,
  between: 4,
  is_set: 4,
  arith: 5,
};

function precOf(e: A.Expr): number {
  if (e.kind === "logical") return PREC[`logical_${e.op}`]!;
  return PREC[e.kind] ?? 6;
}

export function printExpr(e: A.Expr, min = 1): string {
  const s = printBare(e);
  return precOf(e) < min ? `(${s})` : s;
}

function printBare(e: A.Expr): string {
  switch (e.kind) {
    case "logical": {
      const p = precOf(e);
      return `${printExpr(e.left, p)} ${e.op} ${printExpr(e.right, p + 1)}`;
    }
    case "not":
      return `not ${printExpr(e.operand, 3)}`;
    case "compare":
      return `${printExpr(e.left, 5)} ${e.op} ${printExpr(e.right, 5)}`;
    case "in":
      return `${printExpr(e.left, 5)} ${e.negated ? "not in" : "in"} ${printLiteral(e.list)}`;
    case "has":
      return `${printExpr(e.left, 5)} has ${e.mode === "one" ? "" : `${e.mode} `}${printExpr(e.right, 5)}`;
    case "between":
      return `${printExpr(e.left, 5)} between ${printExpr(e.low, 5)} and ${printExpr(e.high, 5)}`;
    case "is_set":
      return `${printExpr(e.operand, 5)} is ${e.negated ? "not " : ""}set`;
    case "arith":
      return `${printExpr(e.left, 5)} ${e.op} ${printExpr(e.right, 6)}`;
    case "within":
      return `within ${e.km.raw} km`;
    case "call":
      return `${e.fn.name}(${e.args.map((a) => printExpr(a, 1)).join(", ")})`;
    case "ref":
      return e.name;
    case "event_prop":
      return `event.${e.prop.name}`;
    case "today":
      return "today";
    case "now":
      return "now";
    case "paren":
      return `(${printExpr(e.expr, 1)})`;
    default:
      return printLiteral(e);
  }
}

export function printLiteral(l: A.Literal): string {
  switch (l.kind) {
    case "string":
    case "number":
    case "percent":
    case "money":
    case "duration":
      return l.raw;
    case "bool":
      return l.value ? "true" : "false";
    case "date":
    case "time":
      return l.value;
    case "datetime":
      return `${l.date} ${l.time}`;
    case "list":
      return `[${l.items.map((i) => (i.kind === "ref" ? i.name : printLiteral(i))).join(", ")}]`;
  }
}

function printEvent(e: A.EventRef): string {
  if (e.business) return `event ${e.business.raw}`;
  return e.anniversary ? `anniversary of ${e.name}` : e.name;
}

function at(t: { at?: A.TimeLit }): string {
  return t.at ? ` at ${t.at.value}` : "";
}

export function printTrigger(t: A.Trigger): string {
  switch (t.kind) {
    case "every_day":
      return `every day${at(t)}`;
    case "every_weekdays":
      return `every ${t.days.map((d) => d.name).join(", ")}${at(t)}`;
    case "every_month":
      return `every month on ${t.day.raw}${at(t)}`;
    case "once":
      return `once at ${t.at.date} ${t.at.time}`;
    case "on_event":
      return `on ${printEvent(t.event)}${at(t)}${t.atMostOncePer ? ` at most once per ${t.atMostOncePer.raw}` : ""}`;
    case "offset":
      return `${t.amount.raw} ${t.unit}${t.amount.value === 1 ? "" : "s"} ${t.direction} ${printEvent(t.event)}${at(t)}`;
  }
}

export function printGoal(g: A.Goal): string {
  let head: string;
  switch (g.kind) {
    case "redeem":
      head = `redeem ${g.code.raw}`;
      break;
    case "visit":
      head = "visit";
      break;
    case "purchase":
      head = g.minAmount ? `purchase >= ${g.minAmount.raw}` : "purchase";
      break;
    case "event":
      head = `event ${g.name.raw}`;
      break;
  }
  return `${head} within ${g.within.raw}${g.expect ? ` expect ${g.expect.raw}` : ""}`;
}

const pad = (kw: string): string => kw.padEnd(8) + " ";

export function printClause(c: A.Clause): string {
  switch (c.kind) {
    case "audience":
      return pad("audience") + printExpr(c.expr);
    case "trigger":
      return pad("trigger") + printTrigger(c.trigger);
    case "content":
      return pad("content") + c.template.raw + (c.with.length ? ` with { ${c.with.map((w) => `${w.key.name}: ${printLiteral(w.value)}`).join(", ")} }` : "");
    case "channel":
      return pad("channel") + c.channels.map((x) => x.name).join(" > ");
    case "goal":
      return pad("goal") + printGoal(c.goal);
    case "priority":
      return pad("priority") + c.value.raw;
    case "holdout":
      return pad("holdout") + c.value.raw;
    case "repeat":
      return pad("repeat") + (c.after && !c.never ? `after ${c.after.raw}` : "never");
    case "active":
      return `${pad("active")}${c.from.value} .. ${c.to.value}`;
    case "send_window":
      return `send between ${c.from.value} and ${c.to.value}`;
    case "limit":
      return `${pad("limit")}${c.count.raw} members${c.orderBy ? ` order by ${printExpr(c.orderBy.expr)} ${c.orderBy.direction}` : ""}`;
    case "budget":
      return pad("budget") + c.amount.raw;
    case "expire":
      return `expire after ${c.after.raw}`;
  }
}

// ---------------------------------------------------------------- layout with comments

class Comments {
  private i = 0;
  constructor(
    private readonly list: A.Comment[],
    private readonly source: string,
  ) {}
  /** Comments starting before `offset`, not yet placed. */
  before(offset: number): A.Comment[] {
    const out: A.Comment[] = [];
    while (this.i < this.list.length && this.list[this.i]!.span.start.offset < offset) out.push(this.list[this.i++]!);
    return out;
  }
  /** The comment that ends the line on which `end` lies, if any. */
  trailing(end: A.Node["span"]["end"]): A.Comment | undefined {
    const c = this.list[this.i];
    if (c && c.span.start.line === end.line && c.span.start.offset >= end.offset) {
      this.i++;
      return c;
    }
    return undefined;
  }
  rest(): A.Comment[] {
    return this.before(Infinity);
  }
  next(): A.Comment | undefined {
    return this.list[this.i];
  }
  /** Whether the source has an empty line between two offsets. */
  blankBetween(from: number, to: number): boolean {
    return /\n[ \t]*\r?\n/.test(this.source.slice(from, to));
  }
}

const text = (c: A.Comment): string => c.text.trimEnd();

function withTrailing(line: string, c: A.Comment | undefined): string {
  return c ? `${line} ${text(c)}` : line;
}

function printCampaign(d: A.CampaignDecl, cs: Comments, out: string[]): void {
  let header = `campaign ${d.name.name}${d.title ? ` ${d.title.raw}` : ""} {`;
  const firstStart = d.clauses[0]?.span.start.offset ?? d.span.end.offset - 1;
  const c0 = cs.next();
  if (c0 && c0.span.start.offset < firstStart && c0.span.start.line === d.span.start.line)
    header = withTrailing(header, cs.before(c0.span.start.offset + 1)[0]);
  out.push(header);
  for (const c of d.clauses) {
    for (const k of cs.before(c.span.end.offset)) out.push(`  ${text(k)}`);
    out.push(withTrailing(`  ${printClause(c)}`, cs.trailing(c.span.end)));
  }
  for (const k of cs.before(d.span.end.offset - 1)) out.push(`  ${text(k)}`);
  out.push("}");
}

/** Prints a whole file in the canonical layout. `source` is the text the AST came from (for blank lines). */
export function printFile(ast: A.FileNode, source: string): string {
  const cs = new Comments(
    [...ast.comments].sort((a, b) => a.span.start.offset - b.span.start.offset),
    source,
  );
  const out: string[] = [];
  const emitOwnLine = (list: A.Comment[], nextStart: number): void => {
    list.forEach((c, j) => {
      out.push(text(c));
      const to = list[j + 1]?.span.start.offset ?? nextStart;
      if (cs.blankBetween(c.span.end.offset, to)) out.push("");
    });
  };
  // Segment blocks: consecutive segments not separated by an empty line share the alignment of `=`.
  const widths = new Map<A.Item, number>();
  let block: A.SegmentDecl[] = [];
  const closeBlock = (): void => {
    const w = Math.max(0, ...block.map((s) => s.name.name.length));
    for (const s of block) widths.set(s, w);
    block = [];
  };
  let prev: A.Item | undefined;
  const together = new Set<A.Item>();
  for (const item of ast.items) {
    if (item.kind === "segment" && prev?.kind === "segment" && !cs.blankBetween(prev.span.end.offset, firstOwnLineStart(ast.comments, prev, item))) {
      together.add(item);
    } else closeBlock();
    if (item.kind === "segment") block.push(item);
    else closeBlock();
    prev = item;
  }
  closeBlock();

  ast.items.forEach((item, i) => {
    if (i > 0 && !together.has(item)) out.push("");
    emitOwnLine(cs.before(item.span.start.offset), item.span.start.offset);
    if (item.kind === "segment") {
      for (const k of cs.before(item.span.end.offset)) out.push(text(k));
      out.push(withTrailing(`segment ${item.name.name.padEnd(widths.get(item) ?? 0)} = ${printExpr(item.expr)}`, cs.trailing(item.span.end)));
    } else {
      printCampaign(item, cs, out);
      out[out.length - 1] = withTrailing(out[out.length - 1]!, cs.trailing(item.span.end));
    }
  });
  const rest = cs.rest();
  if (rest.length) {
    const last = ast.items[ast.items.length - 1];
    if (last && cs.blankBetween(last.span.end.offset, rest[0]!.span.start.offset)) out.push("");
    emitOwnLine(rest, source.length);
  }
  while (out.length && out[out.length - 1] === "") out.pop();
  return out.length ? `${out.join("\n")}\n` : "";
}

/** Where the own-line material before `item` starts: its first leading comment after `prev`, else the item. */
function firstOwnLineStart(comments: A.Comment[], prev: A.Item, item: A.Item): number {
  for (const c of comments) {
    if (c.span.start.offset >= prev.span.end.offset && c.span.start.offset < item.span.start.offset && c.span.start.line > prev.span.end.line)
      return c.span.start.offset;
  }
  return item.span.start.offset;
}
