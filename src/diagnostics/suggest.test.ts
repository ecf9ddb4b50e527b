import { describe, expect, it } from "vitest";
import { didYouMean, editDistance, suggest } from "./suggest.js";

describe("didYouMean", () => {
  it("suggests close names, including one swap of adjacent letters", () => {
    expect(didYouMean("tierr", ["tier", "points"])).toBe("did you mean `tier`?");
    expect(didYouMean("teir", ["tier", "points"])).toBe("did you mean `tier`?");
    expect(didYouMean("glod", ["normal", "gold"])).toBe("did you mean `gold`?");
    expect(didYouMean("xyz", ["tier", "points"])).toBeUndefined();
    expect(didYouMean("tier", [])).toBeUndefined();
  });

  it("counts a swap as one edit, so it beats a candidate two edits away", () => {
    expect(editDistance("nmae", "name")).toBe(1);
    expect(editDistance("tier", "tier")).toBe(0);
    expect(editDistance("kitten", "sitting")).toBe(3);
    // `nmae_cn` is two substitutions from `nmxy_cn` and one swap from `name_cn`: the swap wins wherever it is listed.
    expect(suggest("nmae_cn", ["nmxy_cn", "name_cn"])).toBe("name_cn");
    expect(suggest("chanenl", ["channels", "channel"])).toBe("channel");
  });

  it("ignores case and keeps the candidate's spelling", () => {
    expect(suggest("GLOD", ["gold"])).toBe("gold");
    expect(suggest("Asia/Shangahi", ["Asia/Shanghai", "Asia/Singapore"])).toBe("Asia/Shanghai");
  });

  it("serves CLI flags and command names the same way", () => {
    expect(suggest("--dry-rnu", ["--dry-run", "--members", "--format"])).toBe("--dry-run");
    expect(suggest("vaildate", ["validate", "simulate", "dispatch"])).toBe("validate");
    expect(suggest("--x", ["--dry-run", "--members"])).toBeUndefined();
  });
});
