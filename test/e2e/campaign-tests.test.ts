/** `chuda test` through the built CLI, on a copy of the example repository. */
import { describe, expect, it } from "vitest";
import { cpSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chuda, copyExampleRepo, hasStackTrace, REPO } from "./cli.js";

describe("chuda test", () => {
  it("passes on the example repository: one line per test, exit 0", async () => {
    const dir = copyExampleRepo();
    const r = await chuda(["test"], { cwd: dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^  PASS gold members nearby get the gift on their birthday/m);
    expect(r.stdout).not.toMatch(/FAIL/);
    expect(r.stdout).toMatch(/\d+ tests, (\d+) passed, 0 failed/);
  });

  it("fails a deliberately wrong expectation with a readable diff, exit 1; json and github formats", async () => {
    const dir = copyExampleRepo();
    cpSync(path.join(REPO, "test/fixtures/tests/wrong.yaml"), path.join(dir, "tests/wrong.yaml"));
    const r = await chuda(["test", "tests/wrong.yaml"], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("  FAIL expects the wrong channel and the wrong reason  (tests/wrong.yaml:5)");
    expect(r.stdout).toContain("         - birthday_gift via sms at 2026-12-01 09:30\n         + birthday_gift via wecom at 2026-12-01 09:30");
    expect(r.stdout).toContain("  PASS a passing test beside it");
    expect(r.stdout).toContain("2 tests, 1 passed, 1 failed");
    const j = await chuda(["test", "tests/wrong.yaml", "--format", "json"], { cwd: dir });
    expect(j.exitCode).toBe(1);
    const json = JSON.parse(j.stdout);
    expect(json.summary).toEqual({ files: 1, tests: 2, passed: 1, failed: 1, errors: 0 });
    expect(json.files[0].tests[0].failures[0].diff).toEqual(["- birthday_gift via sms at 2026-12-01 09:30", "+ birthday_gift via wecom at 2026-12-01 09:30"]);
    const g = await chuda(["test", "tests/wrong.yaml", "--format", "github"], { cwd: dir });
    expect(g.stdout).toMatch(/^::error file=tests\/wrong.yaml,line=5,col=5,title=chuda test%3A expects the wrong channel/m);
  });

  it("reports a schema error with its line and column, no stack trace, exit 1", async () => {
    const dir = copyExampleRepo();
    writeFileSync(
      path.join(dir, "tests/bad.yaml"),
      "tests:\n  - name: x\n    at: 2026-12-01 09:30\n    members:\n      - { member_id: M1, tierr: gold }\n    expect: []\n",
    );
    const r = await chuda(["test", "tests/bad.yaml"], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("tests/bad.yaml:5:26 error CH8006 `tierr` is not a member field of chuda.yaml");
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
  });
});
