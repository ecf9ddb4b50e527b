/**
 * The vocabulary of `.chuda` files, in the order the lexer tries it (Chevrotain: the first pattern that
 * matches wins, then `longer_alt` lets an identifier that merely starts with a keyword stay an identifier).
 * Longer keywords come before the keywords they start with (`once` before `on`, `order` before `or`,
 * `within` before `with`). Comments go to a group of their own so the formatter can keep them.
 */
import { createToken, Lexer, type ILexingError, type IToken, type TokenType } from "chevrotain";

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\f\v\uFEFF]+/, group: Lexer.SKIPPED, line_breaks: true });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n\r]*/, group: "comments" });

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

/** Every keyword, by the word it spells. Filled by `kw`. */
export const KEYWORDS = new Map<string, TokenType>();

function kw(word: string, name: string, pattern?: RegExp, categories?: TokenType[]): TokenType {
  const config: Parameters<typeof createToken>[0] = { name, pattern: pattern ?? new RegExp(word), longer_alt: Identifier, label: `\`${word}\`` };
  if (categories) config.categories = categories;
  const t = createToken(config);
  KEYWORDS.set(word, t);
  return t;
}

/** Category of the six duration unit words (`day`, `days`, …). */
export const DurationUnit = createToken({ name: "DurationUnit", pattern: Lexer.NA });

// Items and clauses
export const Segment = kw("segment", "Segment");
export const Campaign = kw("campaign", "Campaign");
export const Audience = kw("audience", "Audience");
export const Trigger = kw("trigger", "Trigger");
export const Content = kw("content", "Content");
export const Within = kw("within", "Within"); // before `with`
export const With = kw("with", "With");
export const Channel = kw("channel", "Channel");
export const Goal = kw("goal", "Goal");
export const Priority = kw("priority", "Priority");
export const Holdout = kw("holdout", "Holdout");
export const Repeat = kw("repeat", "Repeat");
export const Never = kw("never", "Never");
export const Active = kw("active", "Active");
export const Send = kw("send", "Send");
export const Between = kw("between", "Between");
export const Limit = kw("limit", "Limit");
export const Members = kw("members", "Members");
export const Order = kw("order", "Order"); // before `or`
export const By = kw("by", "By");
export const Asc = kw("asc", "Asc");
export const Desc = kw("desc", "Desc");
export const Budget = kw("budget", "Budget");
export const Expire = kw("expire", "Expire");
// Triggers
export const Every = kw("every", "Every");
export const Once = kw("once", "Once"); // before `on`
export const On = kw("on", "On");
export const At = kw("at", "At");
export const Before = kw("before", "Before");
export const After = kw("after", "After");
export const Anniversary = kw("anniversary", "Anniversary"); // before `and`, `any`
export const Of = kw("of", "Of");
export const Most = kw("most", "Most");
export const Per = kw("per", "Per");
// Goals
export const Redeem = kw("redeem", "Redeem");
export const Visit = kw("visit", "Visit");
export const Purchase = kw("purchase", "Purchase");
export const Event = kw("event", "Event");
export const Expect = kw("expect", "Expect");
// Duration units (singular and plural spell the same token)
export const Minute = kw("minute", "Minute", /minutes?/, [DurationUnit]);
export const Hour = kw("hour", "Hour", /hours?/, [DurationUnit]);
export const Day = kw("day", "Day", /days?/, [DurationUnit]);
export const Week = kw("week", "Week", /weeks?/, [DurationUnit]);
export const Month = kw("month", "Month", /months?/, [DurationUnit]);
export const Year = kw("year", "Year", /years?/, [DurationUnit]);
// Expressions
export const And = kw("and", "And");
export const Any = kw("any", "Any");
export const All = kw("all", "All");
export const Or = kw("or", "Or");
export const Not = kw("not", "Not");
export const Now = kw("now", "Now");
export const In = kw("in", "In");
export const Is = kw("is", "Is");
export const SetKw = kw("set", "Set");
export const Has = kw("has", "Has");
export const Today = kw("today", "Today");
export const True = kw("true", "True");
export const False = kw("false", "False");
export const Km = kw("km", "Km");

for (const [word, t] of [...KEYWORDS]) {
  // The plural spellings are the same token: record them so tools (TextMate grammar, EBNF test) see every word.
  if (t.CATEGORIES?.includes(DurationUnit)) KEYWORDS.set(`${word}s`, t);
}

// Literals. Longest forms first: a date-time before a date before a number; money and percent before a number.
export const StringLiteral = createToken({ name: "StringLiteral", pattern: /"(?:[^"\\\n\r]|\\.)*"/, label: "a string in double quotes" });
/** A string with no closing quote on its line: reported (CH1003) and then parsed as a string. */
export const UnterminatedString = createToken({ name: "UnterminatedString", pattern: /"(?:[^"\\\n\r]|\\.)*\\?/ });
export const DateTimeLiteral = createToken({
  name: "DateTimeLiteral",
  pattern: /\d{4}-\d{2}-\d{2}[ \t]+\d{1,2}:\d{2}(?![\d:])/,
  label: "a date and time like 2026-12-24 10:00",
});
export const DateLiteral = createToken({ name: "DateLiteral", pattern: /\d{4}-\d{2}-\d{2}/, label: "a date like 2026-12-24" });
export const TimeLiteral = createToken({ name: "TimeLiteral", pattern: /\d{1,2}:\d{2}/, label: "a time like 09:30" });
export const MoneyLiteral = createToken({
  name: "MoneyLiteral",
  pattern: /\d+(?:\.\d+)?[ \t]*CNY(?![A-Za-z0-9_])|¥[ \t]*\d+(?:\.\d+)?/,
  label: "an amount like 50 CNY",
});
export const PercentLiteral = createToken({ name: "PercentLiteral", pattern: /\d+(?:\.\d+)?%/, label: "a percentage like 10%" });
export const NumberLiteral = createToken({ name: "NumberLiteral", pattern: /\d+(?:\.\d+)?/, label: "a number" });

// Operators and punctuation. Two-character operators before their one-character prefixes.
export const Eq = createToken({ name: "Eq", pattern: /==/, label: "`==`" });
export const NotEq = createToken({ name: "NotEq", pattern: /!=/, label: "`!=`" });
export const LtEq = createToken({ name: "LtEq", pattern: /<=/, label: "`<=`" });
export const GtEq = createToken({ name: "GtEq", pattern: />=/, label: "`>=`" });
export const Lt = createToken({ name: "Lt", pattern: /</, label: "`<`" });
export const Gt = createToken({ name: "Gt", pattern: />/, label: "`>`" });
export const Assign = createToken({ name: "Assign", pattern: /=/, label: "`=`" });
export const Plus = createToken({ name: "Plus", pattern: /\+/, label: "`+`" });
export const Minus = createToken({ name: "Minus", pattern: /-/, label: "`-`" });
export const LParen = createToken({ name: "LParen", pattern: /\(/, label: "`(`" });
export const RParen = createToken({ name: "RParen", pattern: /\)/, label: "`)`" });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/, label: "`[`" });
export const RBracket = createToken({ name: "RBracket", pattern: /]/, label: "`]`" });
export const LCurly = createToken({ name: "LCurly", pattern: /{/, label: "`{`" });
export const RCurly = createToken({ name: "RCurly", pattern: /}/, label: "`}`" });
export const Comma = createToken({ name: "Comma", pattern: /,/, label: "`,`" });
export const Colon = createToken({ name: "Colon", pattern: /:/, label: "`:`" });
export const Range = createToken({ name: "Range", pattern: /\.\./, label: "`..`" });
/** `event.amount`: a property of the event that fired the campaign. After `..`, which it starts. */
export const Dot = createToken({ name: "Dot", pattern: /\./, label: "`.`" });

Identifier.LABEL = "a name";

/** The lexer's order. Keywords before Identifier; within keywords, any word before the keywords it starts with. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  StringLiteral,
  UnterminatedString,
  DateTimeLiteral,
  DateLiteral,
  TimeLiteral,
  MoneyLiteral,
  PercentLiteral,
  NumberLiteral,
  ...[...new Set(KEYWORDS.values())],
  DurationUnit,
  Identifier,
  Eq,
  NotEq,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Assign,
  Plus,
  Minus,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LCurly,
  RCurly,
  Comma,
  Colon,
  Range,
  Dot,
];

/** The lexer's options; its own checks of the token definitions run in a test (lexer.test.ts), not at every start. */
export const LEXER_OPTIONS = { positionTracking: "onlyOffset", ensureOptimizations: false } as const;

export const chudaLexer = new Lexer(allTokens, { ...LEXER_OPTIONS, skipValidations: true });

export interface LexResult {
  tokens: IToken[];
  comments: IToken[];
  errors: ILexingError[];
  /** Tokens that were unterminated strings, already turned into StringLiteral tokens in `tokens`. */
  unterminated: IToken[];
}

export function lex(text: string): LexResult {
  const r = chudaLexer.tokenize(text);
  const unterminated: IToken[] = [];
  for (const t of r.tokens) {
    if (t.tokenType === UnterminatedString) {
      unterminated.push(t);
      t.tokenType = StringLiteral;
      t.tokenTypeIdx = StringLiteral.tokenTypeIdx!;
    }
  }
  return { tokens: r.tokens, comments: (r.groups["comments"] as IToken[] | undefined) ?? [], errors: r.errors, unterminated };
}
