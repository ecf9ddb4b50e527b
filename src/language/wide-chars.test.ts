import { describe, expect, it } from "vitest";
import { describeWideRun, wideChar } from "./wide-chars.js";
import { parseFile } from "./parse.js";

describe("full-width characters and Chinese punctuation", () => {
  it("names each by code point and Unicode name, with its ASCII counterpart", () => {
    const names = [..."，：“”＞％（）ｔ１、。【】"].map((c) => {
      const w = wideChar(c)!;
      return `${w.label} → ${w.ascii}`;
    });
    expect(names).toEqual([
      "U+FF0C FULLWIDTH COMMA → ,",
      "U+FF1A FULLWIDTH COLON → :",
      'U+201C LEFT DOUBLE QUOTATION MARK → "',
      'U+201D RIGHT DOUBLE QUOTATION MARK → "',
      "U+FF1E FULLWIDTH GREATER-THAN SIGN → >",
      "U+FF05 FULLWIDTH PERCENT SIGN → %",
      "U+FF08 FULLWIDTH LEFT PARENTHESIS → (",
      "U+FF09 FULLWIDTH RIGHT PARENTHESIS → )",
      "U+FF54 FULLWIDTH LATIN SMALL LETTER T → t",
      "U+FF11 FULLWIDTH DIGIT ONE → 1",
      "U+3001 IDEOGRAPHIC COMMA → ,",
      "U+3002 IDEOGRAPHIC FULL STOP → .",
      "U+3010 LEFT BLACK LENTICULAR BRACKET → [",
      "U+3011 RIGHT BLACK LENTICULAR BRACKET → ]",
    ]);
    expect(wideChar("会")).toBeUndefined();
  });

  it("turns a run into the ASCII to type, and never shows an ideographic space as itself", () => {
    expect(describeWideRun("ｔｉｅｒ")).toEqual({ what: "U+FF54 FULLWIDTH LATIN SMALL LETTER T `ｔ` (and 3 more full-width characters)", ascii: "tier" });
    expect(describeWideRun("\u3000")).toEqual({ what: "U+3000 IDEOGRAPHIC SPACE", ascii: " " });
    expect(describeWideRun("会员")).toBeUndefined();
  });

  it("reports a full-width name once, with no syntax error cascading from it on that line", () => {
    const r = parseFile("segment s = ｔｉｅｒ >= gold\n", "s.chuda");
    expect(r.diagnostics.map((d) => `${d.code} ${d.message} | ${d.help}`)).toEqual([
      "CH1020 U+FF54 FULLWIDTH LATIN SMALL LETTER T `ｔ` (and 3 more full-width characters) is not ASCII | type the ASCII `tier` instead",
    ]);
  });
});
