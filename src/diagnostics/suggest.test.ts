import { describe, expect, it } from "vitest";
import { suggestion } from "./suggest.js";

describe("suggestion", () => {
  it("suggests close names, including one swap of adjacent letters", () => {
    expect(suggestion("tierr", ["tier", "points"])).toBe("did you mean `tier`?");
    expect(suggestion("teir", ["tier", "points"])).toBe("did you mean `tier`?");
    expect(suggestion("glod", ["normal", "gold"])).toBe("did you mean `gold`?");
    expect(suggestion("xyz", ["tier", "points"])).toBeUndefined();
    expect(suggestion("tier", [])).toBeUndefined();
  });
});
