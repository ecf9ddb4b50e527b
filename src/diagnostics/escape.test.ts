import { describe, expect, it } from "vitest";
import { escapeControls, escapeControlsKeepingColor, shortened, showInvisible } from "./escape.js";

describe("terminal escaping", () => {
  it("shows control characters by code point and keeps line breaks and tabs", () => {
    expect(escapeControls("王\u001b]52;c;ZXZpbA==\u0007伟\u001b[2J\n\tx\u009b")).toBe("王<U+001B>]52;c;ZXZpbA==<U+0007>伟<U+001B>[2J\n\tx<U+009B>");
  });

  it("shows invisible characters in diagnostics, and cuts long names", () => {
    expect(showInvisible("a\u200db\u0000c\u202ed\ufeff")).toBe("a<U+200D>b<U+0000>c<U+202E>d<U+FEFF>");
    expect(shortened("x".repeat(1_000_000))).toBe(`${"x".repeat(60)}…`);
  });

  it("keeps colour codes in table cells but escapes every other sequence", () => {
    expect(escapeControlsKeepingColor("\u001b[2mdim\u001b[22m \u001b[2J")).toBe("\u001b[2mdim\u001b[22m <U+001B>[2J");
  });
});
