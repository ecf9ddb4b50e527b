/**
 * No function in the planner, dispatch or the drivers is over 100 lines, save any listed below that are still to be
 * split: each may only shrink (its limit is its length when listed), a new one over 100 lines fails, and so does a
 * listed one that is no longer over 100 lines (remove it from the list).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const MAX_LINES = 100;
const DIRS = ["src/plan", "src/dispatch", "src/drivers"];
/** `file:function` → its length when listed. To be split; never to grow. */
const STILL_LONG: Record<string, number> = {};

function longFunctions(): Map<string, number> {
  const out = new Map<string, number>();
  for (const dir of DIRS)
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".ts") || name.endsWith(".test.ts")) continue;
      const file = path.join(dir, name);
      const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
      const visit = (node: ts.Node, owner: string) => {
        let name = owner;
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
          const id = (node as ts.FunctionLikeDeclaration).name;
          const parent = node.parent;
          name = id && ts.isIdentifier(id) ? id.text : ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name) ? parent.name.text : `${owner}>λ`;
          const lines = src.getLineAndCharacterOfPosition(node.getEnd()).line - src.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          if (lines > MAX_LINES) out.set(`${file}:${name}`, Math.max(lines, out.get(`${file}:${name}`) ?? 0));
        }
        ts.forEachChild(node, (c) => visit(c, name));
      };
      visit(src, "");
    }
  return out;
}

describe("function length", () => {
  it(`no function over ${MAX_LINES} lines in ${DIRS.join(", ")} but those still listed, none longer than listed`, () => {
    const found = longFunctions();
    for (const [fn, lines] of found) expect(lines, fn).toBeLessThanOrEqual(STILL_LONG[fn] ?? MAX_LINES);
  });

  it("every function still listed as long is still over the limit (a split one leaves the list)", () => {
    const found = longFunctions();
    const split = Object.keys(STILL_LONG).filter((fn) => !found.has(fn));
    expect(split, "split already: remove from STILL_LONG").toEqual([]);
  });
});
