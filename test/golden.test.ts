import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { expectGolden, updatingGoldens } from "./golden.js";

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(path.join(tmpdir(), "chuda-golden-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("expectGolden", () => {
  it("rewrites goldens only when UPDATE_GOLDEN is exactly 1", () => {
    expect(["1", "0", "", "true", "yes", undefined].map((v) => updatingGoldens(v === undefined ? {} : { UPDATE_GOLDEN: v }))).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("with UPDATE_GOLDEN=0, a different golden fails and is left as it was", () => {
    const file = path.join(temp(), "case.txt");
    writeFileSync(file, "accepted\n");
    expect(() => expectGolden(file, "changed\n", { UPDATE_GOLDEN: "0" })).toThrow();
    expect(readFileSync(file, "utf8")).toBe("accepted\n");
  });

  it("a missing golden fails without being written, unless UPDATE_GOLDEN=1", () => {
    const file = path.join(temp(), "sub", "case.txt");
    expect(() => expectGolden(file, "new\n", { UPDATE_GOLDEN: "true" })).toThrow(/UPDATE_GOLDEN=1/);
    expect(existsSync(file)).toBe(false);
    expectGolden(file, "new\n", { UPDATE_GOLDEN: "1" });
    expect(readFileSync(file, "utf8")).toBe("new\n");
  });
});
