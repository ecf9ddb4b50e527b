/**
 * WeChat typed data values (docs/templates.md): keys are `<type><n>` (`thing1`, `amount4`) and each type has a
 * length limit, a character set and for some a format. Used by subscribe messages, and by template messages
 * for typed keys (类目模板).
 */
import { contentMessages as M } from "../../diagnostics/messages/content.js";
import type { FieldText } from "./text.js";
import { chars, CONTROL_RE, finding, type Finding } from "./common.js";

const HAN = /\p{Script=Han}/u;
const isHan = (c: string) => HAN.test(c);
const isLetter = (c: string) => /^[A-Za-z]$/.test(c);
const isDigit = (c: string) => /^[0-9]$/.test(c);
/** "Symbols are common symbols other than Chinese, letters and digits." */
const isSymbol = (c: string) => !isHan(c) && !isLetter(c) && !isDigit(c) && !CONTROL_RE.test(c);

const M_ = "(?:0?[1-9]|1[0-2])";
const D_ = "(?:0?[1-9]|[12]\\d|3[01])";
const Y_ = "\\d{4}";
const CN_DATE = `(?:${Y_}年${M_}月${D_}日|${Y_}年${M_}月|${M_}月${D_}日)`;
const SEP_DATE = ["-", "/", "\\."].map((s) => `${Y_}${s}${M_}${s}${D_}|${Y_}${s}${M_}|${M_}${s}${D_}`).join("|");
const DATE_PART = `(?:${CN_DATE}|${SEP_DATE})`;
const TIME_PART = "(?:[01]?\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d)?";
const range = (x: string) => new RegExp(`^${x}(?:\\s*~\\s*${x})?$`);
const TIME_RE = range(`(?:${DATE_PART}\\s*)?${TIME_PART}`);
const DATE_RE = range(`${DATE_PART}(?:\\s*${TIME_PART})?`);
const AMOUNT_RE = /^\p{Sc}(\d+(?:\.\d+)?)元?$/u;

export interface ValueType {
  /** Maximum length in characters (code points); a function when it depends on the value. */
  max?: number | ((v: string) => number);
  /** Every character must pass. */
  charOk?: (c: string) => boolean;
  /** The whole value must pass (checked after length and characters). */
  format?: (v: string) => boolean;
  /** What a valid value looks like (in messages). */
  describe: string;
}

export const VALUE_TYPES: Record<string, ValueType> = {
  thing: { max: 20, describe: "at most 20 characters: Chinese, letters, digits, symbols" },
  number: {
    max: 32,
    charOk: (c) => isDigit(c) || c === ".",
    format: (v) => /^\d+(\.\d+)?$/.test(v),
    describe: "at most 32 digits, a decimal point allowed, e.g. 1280 or 49.5",
  },
  letter: { max: 32, charOk: isLetter, describe: "at most 32 letters A–Z, a–z" },
  symbol: { max: 5, charOk: isSymbol, describe: "at most 5 symbols, no letters, digits or Chinese" },
  character_string: { max: 32, charOk: (c) => !isHan(c), describe: "at most 32 letters, digits and symbols, no Chinese" },
  time: { format: (v) => TIME_RE.test(v), describe: "a 24-hour time, optionally after a date, e.g. 15:01 or 2019年10月1日 15:01; a range joined by ~" },
  date: { format: (v) => DATE_RE.test(v), describe: "a date, optionally with a 24-hour time, e.g. 2019年10月1日 or 2019-10-01 15:01; a range joined by ~" },
  amount: {
    format: (v) => {
      const m = AMOUNT_RE.exec(v);
      return !!m && m[1]!.replace(".", "").length <= 10;
    },
    describe: "one currency symbol and at most 10 digits, decimals allowed, optionally ending in 元, e.g. ¥214.00 or ¥50元",
  },
  phone_number: { max: 17, charOk: (c) => isDigit(c) || isSymbol(c), describe: "at most 17 digits and symbols, e.g. +86-0766-66888866" },
  car_number: {
    max: 8,
    format: (v) => {
      const cps = [...v];
      const alnum = (c: string) => isLetter(c) || isDigit(c);
      return cps.every((c, i) => alnum(c) || ((i === 0 || i === cps.length - 1) && isHan(c)));
    },
    describe: "at most 8 characters: letters or digits, the first and last may be Chinese, e.g. 粤A8Z888挂",
  },
  name: { max: (v) => (HAN.test(v) ? 10 : 20), describe: "at most 10 Chinese characters, or at most 20 letters and symbols (mixed counts as Chinese)" },
  phrase: { max: 5, charOk: isHan, describe: "at most 5 Chinese characters only, e.g. 配送中" },
  enum: { describe: "one of the template's enumerated values" },
};

const PREFIX_RE = new RegExp(
  `^(${Object.keys(VALUE_TYPES)
    .sort((a, b) => b.length - a.length)
    .join("|")})(\\d+)$`,
);

/** `thing1` → `thing`, `character_string12` → `character_string`; undefined for other keys. */
export function prefixOf(key: string): string | undefined {
  return PREFIX_RE.exec(key)?.[1];
}

/**
 * Checks one rendered value of a typed key. At most one finding (the first broken rule: empty, line break,
 * length, characters, format). `rp` prefixes the rule id: `subscribe` → `subscribe.thing.length`.
 */
export function checkTypedValue(prefix: string, value: string, field: string, rp: string): Finding[] {
  const t = VALUE_TYPES[prefix];
  if (!t) return [];
  if (value.trim() === "") return [finding(`${rp}.${prefix}.empty`, field, M.contentEmptyValue)];
  if (CONTROL_RE.test(value)) return [finding(`${rp}.${prefix}.linebreak`, field, M.contentLineBreak)];
  const max = typeof t.max === "function" ? t.max(value) : t.max;
  if (max !== undefined && chars(value) > max) return [finding(`${rp}.${prefix}.length`, field, M.contentTooLong, [field, max, "characters"])];
  if (t.charOk) for (const c of value) if (!t.charOk(c)) return [finding(`${rp}.${prefix}.chars`, field, M.contentValueRule, [field, prefix, t.describe])];
  if (t.format && !t.format(value)) return [finding(`${rp}.${prefix}.format`, field, M.contentValueRule, [field, prefix, t.describe])];
  return [];
}

/**
 * Static check of a typed field in a template: a constant is checked like a rendered value; a Handlebars source
 * is checked on the text every rendering contains (too long already, a character the type never allows, a
 * line break).
 */
export function checkTypedField(prefix: string, ft: FieldText, field: string, rp: string): Finding[] {
  if (ft.constant) return checkTypedValue(prefix, ft.literal, field, rp);
  const t = VALUE_TYPES[prefix];
  if (!t) return [];
  const lit = ft.literal;
  if (CONTROL_RE.test(lit)) return [finding(`${rp}.${prefix}.linebreak`, field, M.contentLineBreak)];
  const max = typeof t.max === "function" ? t.max(lit) : t.max;
  if (max !== undefined && chars(lit) > max) {
    return [
      finding(`${rp}.${prefix}.length`, field, M.contentTooLong, [field, max, "characters"], { help: `its fixed text alone has ${chars(lit)} characters` }),
    ];
  }
  if (t.charOk)
    for (const c of lit)
      if (!t.charOk(c))
        return [
          finding(`${rp}.${prefix}.chars`, field, M.contentValueRule, [field, prefix, t.describe], { help: `\`${c}\` is never allowed in a ${prefix} value` }),
        ];
  return [];
}
