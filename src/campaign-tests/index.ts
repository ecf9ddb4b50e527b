/** `chuda test`: finds test files, reads them, and runs each test (README.md here documents the file shape). */
import { existsSync, statSync } from "node:fs";
import { listProjectFiles } from "../project/find.js";
import type { Diagnostic } from "../diagnostics/types.js";
import { parseTestFile } from "./schema.js";
import { runTest, type RunContext, type TestResult } from "./run.js";

export type { TestResult, Failure, DiffLine, RunContext } from "./run.js";
export { parseTestFile, type TestCase, type TestFile } from "./schema.js";

export interface FileOutcome {
  /** Relative to the project root. */
  file: string;
  diagnostics: Diagnostic[];
  /** Empty when the file has errors (its tests do not run). */
  results: TestResult[];
}

/** tests/*.yaml (and .yml) under a folder, recursively, sorted. */
export async function listTestFiles(dir: string): Promise<string[]> {
  if (existsSync(dir) && statSync(dir).isFile()) return [dir];
  return listProjectFiles(dir, (name) => /\.ya?ml$/.test(name));
}

/** Parses and runs one file's tests. Files with errors are reported and not run; warnings do not stop them. */
export async function runTestFile(file: string, text: string, ctx: RunContext, filter?: RegExp): Promise<FileOutcome> {
  const parsed = parseTestFile(text, file, { project: ctx.project, campaigns: new Set(ctx.campaigns.map((c) => c.name)) });
  if (parsed.diagnostics.some((d) => d.severity === "error")) return { file, diagnostics: parsed.diagnostics, results: [] };
  const results: TestResult[] = [];
  for (const t of parsed.test.tests) {
    if (filter && !filter.test(t.name)) continue;
    results.push(await runTest(t, file, ctx));
  }
  return { file, diagnostics: parsed.diagnostics, results };
}

export interface TestSummary {
  files: number;
  tests: number;
  passed: number;
  failed: number;
  /** Files that could not run (schema errors). */
  errors: number;
}

export function summarizeTests(outcomes: FileOutcome[]): TestSummary {
  const results = outcomes.flatMap((o) => o.results);
  return {
    files: outcomes.length,
    tests: results.length,
    passed: results.filter((r) => r.passed).length,
    failed: results.filter((r) => !r.passed).length,
    errors: outcomes.filter((o) => o.diagnostics.some((d) => d.severity === "error")).length,
  };
}
