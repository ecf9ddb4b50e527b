/**
 * Syntax errors (Chevrotain's errorMessageProvider), one kind per mistake, each with its own code in the message table
 * (CH1005–CH1013: a name expected, a value expected, a clause expected, the end of the file too soon, …). The wording
 * lives in the table; here each error is classified and its slots filled: what was expected in the author's terms
 * ("a time like 09:30"), after what, and what was found. Chevrotain carries a message as a string, so the problem
 * travels encoded (`encodeProblem`) and src/language/parse.ts decodes it: nothing reads the wording back.
 */
import { EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import { DurationUnit, Identifier } from "./lexer.js";

/** What a rule is, for "expected …" when none of its alternatives fits. */
const RULES: Record<string, string> = {
  file: "`campaign` or `segment`",
  clause: "a clause (audience, trigger, content, channel, goal, priority, holdout, repeat, active, send, limit, budget, expire)",
  trigger: 'a trigger (`every …`, `once at …`, `on <event>`, `on event "<name>"` or `<N> <unit> before|after <event>`)',
  everyTrigger: "`day`, `month on <N>` or weekday names",
  eventRef: "an event (a name, `520`, `618`, or `anniversary of <field>`)",
  goal: 'a goal (`redeem "CODE"`, `visit`, `purchase` or `event "name"`)',
  repeatClause: "`after <duration>` or `never`",
  notExpression: "an expression",
  primary: "an expression",
  reference: "a name",
  literal: "a value",
  listItem: "a value or a name",
  compareOperator: "a comparison operator",
};

export function describeToken(t: TokenType): string {
  if (t === EOF) return "the end of the file";
  if (t === DurationUnit) return "a unit (minutes, hours, days, weeks, months, years)";
  if (t === Identifier) return "a name";
  return t.LABEL ?? `\`${t.name}\``;
}

export function describeFound(tok: IToken | undefined): string {
  if (!tok || tok.tokenType === EOF || tok.image === "") return "the end of the file";
  const img = tok.image.length > 30 ? `${tok.image.slice(0, 29)}…` : tok.image;
  return `\`${img.replace(/[\r\n]+/g, " ")}\``;
}

function after(previous: IToken | undefined): string {
  if (!previous || previous.tokenType === EOF || previous.image === "" || Number.isNaN(previous.startOffset)) return "";
  const img = previous.image.length > 30 ? `${previous.image.slice(0, 29)}…` : previous.image;
  return ` after \`${img}\``;
}

function oneOf(types: TokenType[]): string {
  const words = [...new Set(types.map(describeToken))];
  if (words.length <= 1) return words[0] ?? "something else";
  if (words.length > 6) return `${words.slice(0, 5).join(", ")} or another`;
  return `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

function shortRule(ruleName: string): string {
  // Chevrotain may pass a qualified name; keep the last part.
  const i = ruleName.lastIndexOf(".");
  return i >= 0 ? ruleName.slice(i + 1) : ruleName;
}

/** The kinds of syntax error; each is a key of the language message table. */
export type SyntaxKind =
  | "tokenExpected"
  | "nameExpected"
  | "valueExpected"
  | "clauseExpected"
  | "itemExpected"
  | "unexpectedAfterExpression"
  | "constructExpected"
  | "expressionExpected"
  | "unexpectedEndOfFile"
  | "unexpectedToken";

/** One syntax error: its kind, the slots of its message, and the names of the token types that would have fitted. */
export interface SyntaxProblem {
  kind: SyntaxKind;
  args: string[];
  expected: string[];
  /** A clause of a campaign was expected: a misspelt word is compared with the clause words. */
  clause?: boolean;
}

const PROBLEM = "chuda-syntax:";

function encodeProblem(p: SyntaxProblem): string {
  return PROBLEM + JSON.stringify(p);
}

/** The problem a parser error carries; an error chuda did not classify (none should exist) is an unexpected token. */
export function decodeProblem(message: string, token: IToken | undefined): SyntaxProblem {
  if (message.startsWith(PROBLEM)) return JSON.parse(message.slice(PROBLEM.length)) as SyntaxProblem;
  return { kind: "unexpectedToken", args: [describeFound(token)], expected: [] };
}

function isEnd(tok: IToken | undefined): boolean {
  return !tok || tok.tokenType === EOF || tok.image === "";
}

/** Rules that stand for an expression: "expected an expression" is a kind of its own. */
const EXPRESSION_RULES = new Set(["notExpression", "primary"]);

/** Literal tokens (a number, a date, a string …) and units: what a value is made of. */
function isValueToken(t: TokenType): boolean {
  return t === DurationUnit || (t !== Identifier && t !== EOF && !!t.LABEL && !t.LABEL.startsWith("`"));
}

/** "expected X after Y, found Z", classified by what X is and whether Z is the end of the file. */
function expectedProblem(types: TokenType[], what: string, previous: IToken | undefined, actual: IToken | undefined, construct: boolean): SyntaxProblem {
  const expected = [...new Set(types.map((t) => t.name))];
  const single = !construct && new Set(types).size === 1 ? types[0] : undefined;
  if (isEnd(actual)) return { kind: "unexpectedEndOfFile", args: [what, after(previous)], expected };
  const found = describeFound(actual);
  if (single === Identifier) return { kind: "nameExpected", args: [after(previous), found], expected };
  if (single && isValueToken(single)) return { kind: "valueExpected", args: [what, after(previous), found], expected };
  if (single) return { kind: "tokenExpected", args: [what, after(previous), found], expected };
  return { kind: "constructExpected", args: [what, after(previous), found], expected };
}

function alternativesProblem(rule: string, types: TokenType[], previous: IToken | undefined, actual: IToken | undefined): string {
  if (EXPRESSION_RULES.has(rule) && !isEnd(actual)) {
    return encodeProblem({ kind: "expressionExpected", args: [after(previous), describeFound(actual)], expected: [...new Set(types.map((t) => t.name))] });
  }
  const what = RULES[rule] ?? oneOf(types);
  const problem = expectedProblem(types, what, previous, actual, RULES[rule] !== undefined);
  return rule === "clause" ? encodeProblem({ ...problem, clause: true }) : encodeProblem(problem);
}

export const syntaxMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, previous, ruleName }) {
    const rule = shortRule(ruleName);
    if (expected === EOF) return encodeProblem({ kind: "itemExpected", args: [describeFound(actual)], expected: [] });
    // Reported by in-repetition recovery, after it skipped ahead: `previous` is no longer the token before `actual`.
    if (rule === "campaign" && expected.name === "RCurly") {
      if (isEnd(actual)) return encodeProblem({ kind: "unexpectedEndOfFile", args: ["a clause or `}`", ""], expected: [], clause: true });
      return encodeProblem({ kind: "clauseExpected", args: [describeFound(actual)], expected: [], clause: true });
    }
    return encodeProblem(expectedProblem([expected], describeToken(expected), previous, actual, false));
  },
  buildNotAllInputParsedMessage({ firstRedundant, ruleName }) {
    const kind = shortRule(ruleName) !== "file" ? "unexpectedAfterExpression" : "itemExpected";
    return encodeProblem({ kind, args: [describeFound(firstRedundant)], expected: [] });
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, previous, ruleName }) {
    const types = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0]!).filter(Boolean));
    return alternativesProblem(shortRule(ruleName), types, previous, actual[0]);
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, previous, ruleName }) {
    const types = expectedIterationPaths.map((path) => path[0]!).filter(Boolean);
    return alternativesProblem(shortRule(ruleName), types, previous, actual[0]);
  },
};
