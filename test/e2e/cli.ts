/** Runs the built CLI as a user would: a child process, CI=true, real files. */
import { execa } from "execa";
import { cpSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = path.join(REPO, "dist/cli/main.js");

/** What a test reads of a finished run: text output and the exit code (-1 when killed by a signal). */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  signal?: string;
}

export async function chuda(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { CI: "true", NO_COLOR: "1", ...opts.env },
    reject: false,
    input: opts.input,
    timeout: 240_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? ""), signal: r.signal ?? undefined };
}

/** A private copy of the example repository (chuda.yaml, campaigns/, templates/, tests/). */
export function copyExampleRepo(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-e2e-"));
  for (const p of ["chuda.yaml", "campaigns", "templates", "tests"]) {
    try {
      cpSync(path.join(REPO, p), path.join(dir, p), { recursive: true });
    } catch {
      /* tests/ may not exist */
    }
  }
  return dir;
}

/** No user-facing error may show a stack trace. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+\(.+:\d+:\d+\)/.test(text) || /^\s+at [\w.<>]+ \(/m.test(text);
}
