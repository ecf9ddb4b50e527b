/**
 * A run that cannot run (no repository, a bad flag value, a lock held, a ledger of another history) is a diagnostic
 * without a location: `--format json|sarif` and `--json` print it as JSON on stdout, `--format github` as an `::error`
 * workflow command, and the human form stays `chuda: …` and `hint: …` on stderr. The exit code stays 2.
 * (The child's output is read with its final newline trimmed.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireLock } from "../../src/dispatch/lock.js";
import { ledgerMarkerPath } from "../../src/dispatch/ledger.js";
import { chuda, copyExampleRepo, hasStackTrace } from "./cli.js";

interface JsonDiagnostic {
  file: string | null;
  line: number | null;
  code: string;
  severity: string;
  message: string;
  help: string | null;
}

let repo: string;
let members: string;
const outside = mkdtempSync(path.join(os.tmpdir(), "chuda-no-repo-"));

beforeAll(async () => {
  repo = copyExampleRepo();
  members = path.join(repo, "members.csv");
  const g = await chuda(["sample-members", "--count", "20", "--out", members], { cwd: repo });
  expect(g.exitCode, g.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  rmSync(outside, { recursive: true, force: true });
  rmSync(repo, { recursive: true, force: true });
});

function json(stdout: string): { diagnostics: JsonDiagnostic[]; errors: number } {
  return JSON.parse(stdout) as { diagnostics: JsonDiagnostic[]; errors: number };
}

describe("operational errors in machine formats", () => {
  it("--format json: no repository is a JSON diagnostic without a location, and nothing on stderr", async () => {
    const r = await chuda(["validate", "--format", "json"], { cwd: outside });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("");
    const out = json(r.stdout);
    expect(out.errors).toBe(1);
    expect(out.diagnostics).toEqual([
      expect.objectContaining({
        file: null,
        line: null,
        code: "CH9002",
        severity: "error",
        message: "no chuda.yaml found in this folder or any folder above it",
      }),
    ]);
  });

  it("--format sarif: the result has the rule of its code and no location", async () => {
    const r = await chuda(["validate", "--format", "sarif", "--project", path.join(outside, "nowhere")], { cwd: outside });
    expect(r.exitCode).toBe(2);
    const log = JSON.parse(r.stdout) as {
      runs: {
        tool: { driver: { rules: { id: string }[] } };
        results: { ruleId: string; ruleIndex: number; locations?: unknown; message: { text: string } }[];
      }[];
    };
    const run = log.runs[0]!;
    expect(run.results).toHaveLength(1);
    const result = run.results[0]!;
    expect(result.ruleId).toBe("CH9001");
    expect(run.tool.driver.rules[result.ruleIndex]!.id).toBe("CH9001");
    expect(result.locations).toBeUndefined();
    expect(result.message.text).toContain("no chuda.yaml in");
  });

  it("--format github: an ::error workflow command with the code as its title", async () => {
    const r = await chuda(["validate", "--format", "github", "campaigns/missing.chuda"], { cwd: repo });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe(
      "::error title=CH9003::cannot read campaigns/missing.chuda: no such file or folder (check the path; paths are relative to the current folder)",
    );
  });

  it("--json: a bad flag value is a JSON diagnostic", async () => {
    const r = await chuda(["simulate", "--json", "--members", members, "--at", "2026-02-30 10:00"], { cwd: repo });
    expect(r.exitCode).toBe(2);
    expect(json(r.stdout).diagnostics).toEqual([
      expect.objectContaining({ file: null, code: "CH9008", message: expect.stringContaining('"2026-02-30 10:00"') }),
    ]);
  });

  it("--json: a lock held by another dispatch is a JSON diagnostic", async () => {
    const lock = acquireLock(repo, Date.now());
    expect(lock.ok).toBe(true);
    try {
      const r = await chuda(["dispatch", "--json", "--members", members], { cwd: repo });
      expect(r.exitCode).toBe(2);
      expect(json(r.stdout).diagnostics).toEqual([
        expect.objectContaining({ code: "CH9026", message: expect.stringContaining(`pid ${process.pid}`), help: expect.stringContaining("wait for it") }),
      ]);
    } finally {
      if (lock.ok) lock.release();
    }
  });

  it("--json: a ledger that went missing is a JSON diagnostic; without --json the text is as before", async () => {
    mkdirSync(path.dirname(ledgerMarkerPath(repo)), { recursive: true });
    writeFileSync(ledgerMarkerPath(repo), "ledger-of-earlier-runs\n");
    try {
      const machine = await chuda(["status", "--json"], { cwd: repo });
      expect(machine.exitCode).toBe(2);
      expect(json(machine.stdout).diagnostics).toEqual([
        expect.objectContaining({ code: "CH9031", message: expect.stringContaining("ledger-of-earlier-runs") }),
      ]);
      const human = await chuda(["status"], { cwd: repo });
      expect(human.exitCode).toBe(2);
      expect(human.stdout).toBe("");
      expect(human.stderr).toMatch(/^chuda: the ledger \.chuda\/state\.db is missing, .*\nhint: restore \.chuda\/state\.db from a backup, .*$/);
      expect(hasStackTrace(human.stderr)).toBe(false);
    } finally {
      rmSync(ledgerMarkerPath(repo), { force: true });
    }
  });

  it("--json: a repository with errors lists the file diagnostics with their locations, then the run's own", async () => {
    const broken = copyExampleRepo();
    try {
      writeFileSync(path.join(broken, "campaigns", "broken.chuda"), "campaign broken {\n  priority x\n}\n");
      const r = await chuda(["calendar", "--json"], { cwd: broken });
      expect(r.exitCode).toBe(2);
      const out = json(r.stdout);
      expect(out.diagnostics.at(-1)).toMatchObject({ file: null, code: "CH9006" });
      expect(out.diagnostics).toContainEqual(expect.objectContaining({ file: "campaigns/broken.chuda", line: 2, code: "CH1007" }));
      expect(out.errors).toBe(out.diagnostics.length);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it("an unknown flag under --format json is a JSON diagnostic with the program's suggestion", async () => {
    const r = await chuda(["validate", "--format", "json", "--quiett"], { cwd: repo });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("");
    expect(json(r.stdout).diagnostics).toEqual([expect.objectContaining({ code: "CH9051", message: "unknown option '--quiett'" })]);
  });
});

describe("the CLI's did you mean", () => {
  it("suggests a misspelt command by one swap of letters", async () => {
    const r = await chuda(["vaildate"], { cwd: repo });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("error: unknown command 'vaildate'\n(did you mean `validate`?)");
  });

  it("suggests a misspelt flag", async () => {
    const r = await chuda(["dispatch", "--dry-rnu"], { cwd: repo });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("error: unknown option '--dry-rnu'\n(did you mean `--dry-run`?)");
  });

  it("suggests a misspelt campaign name", async () => {
    const r = await chuda(["calendar", "mid_autunm"], { cwd: repo });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("chuda: no campaign named mid_autunm\nhint: did you mean `mid_autumn`?");
  });
});
