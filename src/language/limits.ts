/**
 * Limits on how deep an expression may be, checked on the tokens before the (recursive) parser runs, so that
 * the parser, the checker, the formatter, the SQL compiler and DuckDB never meet an expression they cannot
 * walk. The parser recursed out of stack at about 210 nested parentheses and 1,000 `not`s; DuckDB refuses
 * expressions nested about 1,000 deep.
 *
 * - Parentheses, brackets and call arguments nest at most MAX_NESTING deep.
 * - An expression is at most MAX_EXPRESSION_DEPTH levels deep: every operator of a chain (`and`, `or`, `+`,
 *   `-`, a comparison, `in`, `has`, `between`, `is`), every `not` and every parenthesised group counts one
 *   level (a bound on the depth of its syntax tree).
 */
import type { IToken, TokenType } from "chevrotain";
import * as T from "./lexer.js";

export const MAX_NESTING = 100;
export const MAX_EXPRESSION_DEPTH = 200;

export type DepthProblem = { kind: "nesting" | "depth"; startOffset: number; endOffset: number; depth: number };

const OPEN = new Set<TokenType>([T.LParen, T.LBracket]);
const CLOSE = new Set<TokenType>([T.RParen, T.RBracket]);
const CHAIN = new Set<TokenType>([T.And, T.Or]);
const OPERATORS = new Set<TokenType>([T.Plus, T.Minus, T.Eq, T.NotEq, T.LtEq, T.GtEq, T.Lt, T.Gt, T.In, T.Has, T.Between, T.Is]);
/** Tokens that end an expression at the top level (a clause, an item, a block). */
const BOUNDARIES = new Set<TokenType>([
  T.Segment,
  T.Campaign,
  T.Audience,
  T.Trigger,
  T.Content,
  T.Channel,
  T.Goal,
  T.Priority,
  T.Holdout,
  T.Repeat,
  T.Active,
  T.Send,
  T.Limit,
  T.Budget,
  T.By,
  T.Assign,
  T.LCurly,
  T.RCurly,
]);

interface Group {
  /** Operators counted so far in the current comma-separated part. */
  ops: number;
  /** `not`s in front of the current operand (until the next `and`/`or`). */
  nots: number;
  /** The deepest operand of the current part, its `not`s included. */
  operand: number;
  /** The deepest comma-separated part closed so far. */
  best: number;
  startOffset: number;
}

const newGroup = (startOffset: number): Group => ({ ops: 0, nots: 0, operand: 0, best: 0, startOffset });
const partDepth = (g: Group) => g.ops + g.operand;

/** The first expression that is nested or deep beyond the limits, if any. Linear in the tokens, no recursion. */
export function findTooDeep(tokens: readonly IToken[]): DepthProblem | undefined {
  let stack: Group[] = [newGroup(-1)];
  let lastEnd = 0;
  const finishTop = (): DepthProblem | undefined => {
    const top = stack[0]!;
    const depth = Math.max(top.best, partDepth(top));
    if (depth > MAX_EXPRESSION_DEPTH) return { kind: "depth", startOffset: top.startOffset, endOffset: lastEnd, depth };
    return undefined;
  };
  for (const t of tokens) {
    const tt = t.tokenType;
    const end = t.startOffset + t.image.length;
    let g = stack[stack.length - 1]!;
    if (BOUNDARIES.has(tt)) {
      const p = finishTop();
      if (p) return p;
      stack = [newGroup(-1)];
      continue;
    }
    if (stack[0]!.startOffset < 0) stack[0]!.startOffset = t.startOffset;
    if (OPEN.has(tt)) {
      stack.push(newGroup(t.startOffset));
      if (stack.length - 1 > MAX_NESTING) return { kind: "nesting", startOffset: t.startOffset, endOffset: end, depth: stack.length - 1 };
    } else if (CLOSE.has(tt)) {
      if (stack.length > 1) {
        const closed = stack.pop()!;
        const d = 1 + Math.max(closed.best, partDepth(closed));
        g = stack[stack.length - 1]!;
        g.operand = Math.max(g.operand, g.nots + d);
      }
    } else if (tt === T.Not) {
      g.nots++;
      g.operand = Math.max(g.operand, g.nots);
    } else if (CHAIN.has(tt)) {
      g.ops++;
      g.nots = 0;
    } else if (OPERATORS.has(tt)) {
      g.ops++;
    } else if (tt === T.Comma) {
      g.best = Math.max(g.best, partDepth(g));
      g.ops = 0;
      g.nots = 0;
      g.operand = 0;
    } else {
      g.operand = Math.max(g.operand, g.nots + 1);
    }
    lastEnd = end;
  }
  return finishTop();
}
