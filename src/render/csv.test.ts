import { describe, expect, it } from "vitest";
import { csvCell, csvRow } from "./csv.js";

describe("csvCell", () => {
  it("neutralises what a spreadsheet would run as a formula, and quotes it", () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csvCell("=cmd|' /C calc'!A0")).toBe(`"'=cmd|' /C calc'!A0"`);
    expect(csvCell("+86138****1234")).toBe(`"'+86138****1234"`);
    expect(csvCell("-2+3")).toBe(`"'-2+3"`);
    expect(csvCell("@SUM(1+1)")).toBe(`"'@SUM(1+1)"`);
    expect(csvCell("\t=1")).toBe(`"'\t=1"`);
    expect(csvCell("\r=1")).toBe(`"'\r=1"`);
  });

  it("leaves plain values as they are, quoting only commas, quotes and line breaks", () => {
    expect(csvCell("M000001")).toBe("M000001");
    expect(csvCell("a=b")).toBe("a=b");
    expect(csvCell("a,b")).toBe(`"a,b"`);
    expect(csvCell('say "hi"')).toBe(`"say ""hi"""`);
    expect(csvRow(["a", "=1", ""])).toBe(`a,"'=1",\n`);
  });
});
