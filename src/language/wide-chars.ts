/**
 * Full-width and Chinese punctuation typed with a Chinese input method (`，` `：` `“` `＞` `１０` `ｔｉｅｒ`, the
 * ideographic space): each is named by its code point and Unicode name, and its ASCII counterpart is suggested.
 * An ideographic space is never shown as itself (it would read as a plain space).
 */
const ASCII_NAMES: Record<string, string> = {
  "!": "EXCLAMATION MARK",
  '"': "QUOTATION MARK",
  "#": "NUMBER SIGN",
  $: "DOLLAR SIGN",
  "%": "PERCENT SIGN",
  "&": "AMPERSAND",
  "'": "APOSTROPHE",
  "(": "LEFT PARENTHESIS",
  ")": "RIGHT PARENTHESIS",
  "*": "ASTERISK",
  "+": "PLUS SIGN",
  ",": "COMMA",
  "-": "HYPHEN-MINUS",
  ".": "FULL STOP",
  "/": "SOLIDUS",
  ":": "COLON",
  ";": "SEMICOLON",
  "<": "LESS-THAN SIGN",
  "=": "EQUALS SIGN",
  ">": "GREATER-THAN SIGN",
  "?": "QUESTION MARK",
  "@": "COMMERCIAL AT",
  "[": "LEFT SQUARE BRACKET",
  "\\": "REVERSE SOLIDUS",
  "]": "RIGHT SQUARE BRACKET",
  "^": "CIRCUMFLEX ACCENT",
  _: "LOW LINE",
  "`": "GRAVE ACCENT",
  "{": "LEFT CURLY BRACKET",
  "|": "VERTICAL LINE",
  "}": "RIGHT CURLY BRACKET",
  "~": "TILDE",
};
const DIGITS = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"];

/** Chinese punctuation outside the full-width block: code point → [Unicode name, what to type instead]. */
const PUNCTUATION: Record<number, [string, string]> = {
  0x3000: ["IDEOGRAPHIC SPACE", " "],
  0x3001: ["IDEOGRAPHIC COMMA", ","],
  0x3002: ["IDEOGRAPHIC FULL STOP", "."],
  0x201c: ["LEFT DOUBLE QUOTATION MARK", '"'],
  0x201d: ["RIGHT DOUBLE QUOTATION MARK", '"'],
  0x2018: ["LEFT SINGLE QUOTATION MARK", '"'],
  0x2019: ["RIGHT SINGLE QUOTATION MARK", '"'],
  0x300c: ["LEFT CORNER BRACKET", '"'],
  0x300d: ["RIGHT CORNER BRACKET", '"'],
  0x3010: ["LEFT BLACK LENTICULAR BRACKET", "["],
  0x3011: ["RIGHT BLACK LENTICULAR BRACKET", "]"],
  0x2014: ["EM DASH", "-"],
  0x2026: ["HORIZONTAL ELLIPSIS", ".."],
};

export interface WideChar {
  /** `U+FF0C FULLWIDTH COMMA`. */
  label: string;
  ascii: string;
}

function asciiName(c: string): string {
  if (c >= "0" && c <= "9") return `DIGIT ${DIGITS[Number(c)]}`;
  if (c >= "A" && c <= "Z") return `LATIN CAPITAL LETTER ${c}`;
  if (c >= "a" && c <= "z") return `LATIN SMALL LETTER ${c.toUpperCase()}`;
  return ASCII_NAMES[c] ?? "CHARACTER";
}

/** The name and ASCII counterpart of one full-width or Chinese punctuation character, or undefined. */
export function wideChar(ch: string): WideChar | undefined {
  const cp = ch.codePointAt(0)!;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  if (cp >= 0xff01 && cp <= 0xff5e) {
    const ascii = String.fromCharCode(cp - 0xfee0);
    return { label: `${hex} FULLWIDTH ${asciiName(ascii)}`, ascii };
  }
  const p = PUNCTUATION[cp];
  return p ? { label: `${hex} ${p[0]}`, ascii: p[1] } : undefined;
}

/**
 * A run of characters the lexer could not read, when every one of them is full-width or Chinese punctuation:
 * what the message names (the first character, never an ideographic space shown as itself) and the ASCII text.
 */
export function describeWideRun(run: string): { what: string; ascii: string } | undefined {
  const chars = [...run];
  const wide = chars.map(wideChar);
  if (!wide.length || wide.some((w) => w === undefined)) return undefined;
  const first = wide[0]!;
  const shown = first.ascii === " " ? first.label : `${first.label} \`${chars[0]}\``;
  const more = chars.length > 1 ? ` (and ${chars.length - 1} more full-width character${chars.length > 2 ? "s" : ""})` : "";
  return { what: `${shown}${more}`, ascii: wide.map((w) => w!.ascii).join("") };
}
