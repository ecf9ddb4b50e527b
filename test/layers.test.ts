/**
 * The layers of src/ import downward only. Diagnostics sit at the bottom: every stage reports through them, so they
 * import nothing of chuda outside their own folder. The stages the checker reads (language, project, content, members,
 * calendar) never import the checker, so no cycle runs through it.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "src");

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Every relative module a file imports or re-exports (static or dynamic), as a path relative to src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return specs.map((s) =>
    path
      .relative(src, path.resolve(path.dirname(file), s))
      .split(path.sep)
      .join("/"),
  );
}

function importsFrom(folder: string): { file: string; target: string }[] {
  return tsFiles(path.join(src, folder)).flatMap((f) => importsOf(f).map((target) => ({ file: path.relative(src, f), target })));
}

describe("layers", () => {
  it("the scan sees the imports it is looking for", () => {
    // Guards the scan itself: a regex that matched nothing would make the tests below pass vacuously.
    expect(importsFrom("check").some((i) => i.target.startsWith("diagnostics/"))).toBe(true);
    expect(importsFrom("language").some((i) => i.target.startsWith("diagnostics/"))).toBe(true);
  });

  it("src/diagnostics imports nothing of chuda outside its own folder", () => {
    const outside = importsFrom("diagnostics").filter((i) => !i.target.startsWith("diagnostics/"));
    expect(outside).toEqual([]);
  });

  it("language, project, content, members and calendar never import the checker", () => {
    const upward = ["language", "project", "content", "members", "calendar"].flatMap(importsFrom).filter((i) => i.target.startsWith("check/"));
    expect(upward).toEqual([]);
  });
});
