/**
 * Human wording of syntax errors (Chevrotain's errorMessageProvider). Each message is one line, names what was
 * expected in the author's terms ("a time like 09:30") and what was found. The diagnostic code is CH1001.
 */
import { EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import { DurationUnit, Identifier } from "./lexer.js";

/** What a rule is, for "expected …" when none of its alternatives fits. */
const RULES: Record<string, string> = {
  file: "`campaign` or `segment`",
  clause: "a clause (audience, trigger, content, channel, goal, priority, holdout, repeat, active, send, limit, budget, expire)",
  trigger: "a trigger (`every …`, `once at …`, `on <event>` or `<N> <unit> before|after <event>`)",
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

export const syntaxMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, previous, ruleName }) {
    const rule = shortRule(ruleName);
    if (expected === EOF) return `unexpected ${describeFound(actual)}, expected \`campaign\` or \`segment\``;
    // Reported by in-repetition recovery, after it skipped ahead: `previous` is no longer the token before `actual`.
    if (rule === "campaign" && expected.name === "RCurly") return `expected a clause or \`}\`, found ${describeFound(actual)}`;
    return `expected ${describeToken(expected)}${after(previous)}, found ${describeFound(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant, ruleName }) {
    if (shortRule(ruleName) !== "file") return `unexpected ${describeFound(firstRedundant)} after the expression`;
    return `unexpected ${describeFound(firstRedundant)}, expected \`campaign\` or \`segment\``;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, previous, ruleName }) {
    const rule = shortRule(ruleName);
    const what = RULES[rule] ?? oneOf(expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0]!).filter(Boolean)));
    return `expected ${what}${after(previous)}, found ${describeFound(actual[0])}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, previous, ruleName }) {
    const rule = shortRule(ruleName);
    const what = RULES[rule] ?? oneOf(expectedIterationPaths.map((path) => path[0]!).filter(Boolean));
    return `expected ${what}${after(previous)}, found ${describeFound(actual[0])}`;
  },
};
