/**
 * The one golden-file check of the suite. A golden is rewritten only when UPDATE_GOLDEN is exactly "1" (not "0",
 * not "true"); otherwise a missing golden fails with how to make it, and a different one fails with the diff.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";

export function updatingGoldens(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.UPDATE_GOLDEN === "1";
}

/** Compares `actual` with the golden `file` (rewriting it first under UPDATE_GOLDEN=1). */
export function expectGolden(file: string, actual: string, env: NodeJS.ProcessEnv = process.env): void {
  if (updatingGoldens(env)) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, actual);
  } else if (!existsSync(file)) {
    throw new Error(`golden ${file} is missing: run the test with UPDATE_GOLDEN=1 and review the new file`);
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}
