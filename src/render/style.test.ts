import { describe, expect, it } from "vitest";
import { table } from "./style.js";

describe("table", () => {
  it("keeps colour codes in cells but escapes every other sequence", () => {
    expect(table(["member"], [["M1\u001b]52;c;x\u0007"]])).toBe(`member\n${"─".repeat(25)}\nM1<U+001B>]52;c;x<U+0007>\n`);
  });
});
