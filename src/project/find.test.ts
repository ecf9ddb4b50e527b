import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findProjectFile } from "./find.js";

describe("findProjectFile", () => {
  it("finds the nearest chuda.yaml upward", () => {
    const root = mkdtempSync(join(tmpdir(), "chuda-find-"));
    const deep = join(root, "campaigns", "holidays", "2026");
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(root, "chuda.yaml"), "members: {}\n");
    expect(findProjectFile(deep)).toBe(join(root, "chuda.yaml"));
    expect(findProjectFile(root)).toBe(join(root, "chuda.yaml"));
    // a nearer one wins
    writeFileSync(join(root, "campaigns", "chuda.yaml"), "members: {}\n");
    expect(findProjectFile(deep)).toBe(join(root, "campaigns", "chuda.yaml"));
  });

  it("ignores a directory named chuda.yaml and returns undefined when there is none", () => {
    const root = mkdtempSync(join(tmpdir(), "chuda-find-"));
    mkdirSync(join(root, "a", "chuda.yaml"), { recursive: true });
    const found = findProjectFile(join(root, "a"));
    // Nothing in the temp tree; anything found must be outside it (e.g. a stray file in a parent of tmpdir).
    expect(found === undefined || !found.startsWith(root)).toBe(true);
  });
});
