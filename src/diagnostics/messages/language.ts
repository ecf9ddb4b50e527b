import type { MessageDef } from "../types.js";

/** Messages of the language stage: codes CH1xxx. Keys are stable identifiers used in code. */
export const languageMessages = {
  syntaxError: { code: "CH1001", severity: "error", message: "{0}", description: "The file does not follow the campaign grammar." },
  unexpectedCharacter: {
    code: "CH1002",
    severity: "error",
    message: "unexpected character `{0}`",
    help: 'names are ASCII letters, digits and `_`; text such as Chinese goes inside "double quotes"',
    description: "The file holds a character that starts no token of the language.",
  },
  unterminatedString: {
    code: "CH1003",
    severity: "error",
    message: 'this string has no closing `"`',
    help: "a string ends on the line it starts; write a line break as \\n",
    description: "A string literal runs to the end of its line without a closing quote.",
  },
  unknownEscape: {
    code: "CH1004",
    severity: "error",
    message: "unknown escape `{0}` in a string",
    help: 'only \\", \\\\ and \\n are escapes; write a backslash as \\\\',
    description: "A string literal uses a backslash escape the language does not define.",
  },
  wideCharacter: {
    code: "CH1020",
    severity: "error",
    message: "{0} is not ASCII",
    help: "type the ASCII character instead",
    description: "A full-width character or Chinese punctuation (typed with a Chinese input method) where the language needs ASCII.",
  },
  nestedTooDeep: {
    code: "CH1030",
    severity: "error",
    message: "parentheses and brackets nest {0} deep here; at most {1} are allowed",
    help: "split the condition into named segments (`segment name = ...`) and combine those",
    description: "Parentheses, brackets and call arguments nest deeper than the language allows.",
  },
  expressionTooDeep: {
    code: "CH1031",
    severity: "error",
    message: "this expression is {0} levels deep; at most {1} are allowed",
    help: "every `and`, `or`, `+`, `-`, comparison, `not` and parenthesised group counts one level; use `in [..]` for long lists of alternatives, or split the condition into segments",
    description: "An expression is deeper than the checker, the formatter and the member database can evaluate.",
  },
  numberTooLarge: {
    code: "CH1032",
    severity: "error",
    message: "`{0}` is too large: numbers go up to {1}",
    description: "A number beyond the largest integer that is computed exactly (2^53 − 1).",
  },
  durationTooLong: {
    code: "CH1033",
    severity: "error",
    message: "`{0}` is too long: a duration is at most {1} (10,000 years)",
    description: "A duration so long that date arithmetic with it would leave the years 0001–9999.",
  },
  fileTooLarge: {
    code: "CH1034",
    severity: "error",
    message: "this file is {0}; a campaign file may be at most {1}",
    help: "split the campaigns into several files under campaigns/",
    description: "A `.chuda` file too large to check; it is not read.",
  },
  repositoryTooLarge: {
    code: "CH1035",
    severity: "error",
    message: "the campaign files exceed {0} together, so this file is not read",
    help: "`chuda validate` checks repositories of up to about 40,000 campaigns; split the repository",
    description: "The `.chuda` files of the repository are larger together than chuda checks.",
  },
  invalidUtf8: {
    code: "CH1036",
    severity: "error",
    message: "invalid UTF-8 at byte {0}{1}",
    help: "save the file as UTF-8; a broken byte would be shown as � and sent that way",
    description: "A source file holds bytes that are not UTF-8.",
  },
  moreDiagnostics: {
    code: "CH1037",
    severity: "error",
    message: "and {0} more problems in this file",
    help: "fix the ones shown first, then check again",
    description: "More diagnostics in one file than are shown.",
  },
} satisfies Record<string, MessageDef>;
