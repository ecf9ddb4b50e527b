/**
 * `chuda test` on the example repository: the real workspace (campaigns, templates, exclude) and the real
 * planner on in-memory tables built from inline rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { SCAFFOLD } from "../cli/scaffold.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { loadWorkspace, type Workspace } from "../cli/workspace.js";
import type { Io } from "../cli/io.js";
import { listTestFiles, runTestFile, summarizeTests, type RunContext } from "./index.js";
import { renderTestsPretty, testsJson, renderTestsGithub } from "../render/tests.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const io: Io = { out: () => {}, err: () => {}, interactive: false, color: false, cwd: ROOT, env: {}, now: () => Date.UTC(2026, 10, 1) };
let ws: Workspace;
let instance: DuckDBInstance;
let conn: DuckDBConnection;
let ctx: RunContext;

beforeAll(async () => {
  ws = await loadWorkspace(ROOT, io);
  expect(ws.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
  ctx = { project: ws.project!, campaigns: ws.check.campaigns, exclude: ws.check.exclude, templates: ws.templates, conn };
});
afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

const run = (text: string, file = "tests/inline.yaml") => runTestFile(file, text, ctx);

describe("campaign tests", () => {
  it("pass when the planner agrees: a send, held out, excluded, unreachable, not in audience", async () => {
    const o = await run(`
campaigns: [birthday_gift]
tests:
  - name: birthday
    at: 2026-12-01 09:30
    members:
      - { member_id: M2, tier: gold, birthday: 1990-12-01, distance_km: 2, wecom_external_userid: w2, wecom_owner: staff01 }
      - { member_id: M1, tier: gold, birthday: 1990-12-01, distance_km: 2, wecom_external_userid: w1, wecom_owner: staff01 }
      - { member_id: M3, tier: gold, birthday: 1990-12-01, distance_km: 2, wecom_external_userid: w3, wecom_owner: staff01, unsubscribed: true }
      - { member_id: M4, tier: gold, birthday: 1990-12-01, distance_km: 2 }
      - { member_id: M5, tier: gold, birthday: 1990-12-02, distance_km: 2, mobile: "13800000005", sms_opt_in: true }
    expect:
      - member: M2
        sends: [{ campaign: birthday_gift, channel: wecom, at: "2026-12-01 09:30" }]
      - { member: M1, nothing: held out }
      - { member: M3, nothing: excluded }
      - { member: M4, nothing: unreachable }
      - { member: M5, nothing: not in audience }
`);
    expect(o.diagnostics).toEqual([]);
    expect(o.results.map((r) => [r.name, r.passed, r.failures])).toEqual([["birthday", true, []]]);
  });

  it("see earlier sends in history and the policy cap they cause", async () => {
    const o = await run(`
campaigns: [birthday_gift]
tests:
  - name: capped
    from: 2026-12-01
    to: 2026-12-01
    members:
      - { member_id: M2, tier: gold, birthday: 1990-12-01, distance_km: 2, wecom_external_userid: w2, wecom_owner: staff01 }
    history:
      - { member: M2, campaign: new_member_welcome, channel: sms, at: "2026-11-28 10:30" }
      - { member: M2, campaign: double12_flash, channel: sms, at: "2026-11-29 10:00" }
    expect:
      - { member: M2, nothing: capped by policy.max }
`);
    expect(o.results[0]).toMatchObject({ passed: true });
  });

  it("fail with a diff of expected and planned sends (the deliberately wrong fixture)", async () => {
    const file = "test/fixtures/tests/wrong.yaml";
    const o = await runTestFile(file, readFileSync(path.join(ROOT, file), "utf8"), ctx);
    expect(o.diagnostics).toEqual([]);
    const [wrong, right] = o.results;
    expect(right).toMatchObject({ name: "a passing test beside it", passed: true });
    expect(wrong!.passed).toBe(false);
    expect(wrong!.failures).toEqual([
      {
        member: "M2",
        message: "expected 1 send, planned 1 send",
        lines: [
          { sign: "-", text: "birthday_gift via sms at 2026-12-01 09:30" },
          { sign: "+", text: "birthday_gift via wecom at 2026-12-01 09:30" },
        ],
      },
      {
        member: "M3",
        message: "expected nothing (held out), but the member is excluded by policy.exclude",
        lines: [
          { sign: "-", text: "nothing: held out" },
          { sign: "+", text: "nothing: excluded by policy.exclude" },
        ],
      },
    ]);
    const summary = summarizeTests([o]);
    expect(summary).toEqual({ files: 1, tests: 2, passed: 1, failed: 1, errors: 0 });
    const pretty = renderTestsPretty([o], summary, { color: false, sources: new Map(), version: "test" });
    expect(pretty).toContain("  FAIL expects the wrong channel and the wrong reason  (test/fixtures/tests/wrong.yaml:5)\n");
    expect(pretty).toContain("         - birthday_gift via sms at 2026-12-01 09:30\n         + birthday_gift via wecom at 2026-12-01 09:30\n");
    expect(pretty).toContain("  PASS a passing test beside it\n");
    expect(pretty).toContain("2 tests, 1 passed, 1 failed");
    const json = testsJson([o], summary) as { files: { tests: { status: string; failures: { expected: string[]; actual: string[] }[] }[] }[] };
    expect(json.files[0]!.tests.map((t) => t.status)).toEqual(["fail", "pass"]);
    expect(json.files[0]!.tests[0]!.failures[0]).toMatchObject({
      expected: ["birthday_gift via sms at 2026-12-01 09:30"],
      actual: ["birthday_gift via wecom at 2026-12-01 09:30"],
    });
    const gh = renderTestsGithub([o], summary, { color: false, sources: new Map(), version: "test" });
    expect(gh).toMatch(/^::error file=test\/fixtures\/tests\/wrong.yaml,line=5,col=5,title=chuda test%3A expects the wrong channel and the wrong reason::/m);
  });

  it("do not run a file with schema errors, and report them", async () => {
    const file = "test/fixtures/tests/bad-schema.yaml";
    const o = await runTestFile(file, readFileSync(path.join(ROOT, file), "utf8"), ctx);
    expect(o.results).toEqual([]);
    expect(o.diagnostics.filter((d) => d.severity === "error").length).toBe(6);
    expect(summarizeTests([o]).errors).toBe(1);
  });

  it("of the example repository pass, one file per example campaign", async () => {
    const files = await listTestFiles(path.join(ROOT, "tests"));
    expect(files.map((f) => path.basename(f, ".yaml")).sort()).toEqual(ws.check.campaigns.map((c) => c.name).sort());
    const outcomes = [];
    for (const f of files) outcomes.push(await runTestFile(path.relative(ROOT, f), readFileSync(f, "utf8"), ctx));
    const pretty = renderTestsPretty(outcomes, summarizeTests(outcomes), { color: false, sources: new Map(), version: "test" });
    expect(
      outcomes.flatMap((o) => o.diagnostics),
      pretty,
    ).toEqual([]);
    expect(summarizeTests(outcomes).failed, pretty).toBe(0);
    expect(summarizeTests(outcomes).tests).toBeGreaterThanOrEqual(files.length);
  });

  it("scaffolded by `chuda init` passes in the scaffolded repository", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "chuda-init-test-"));
    try {
      for (const [f, text] of Object.entries(SCAFFOLD)) {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        writeFileSync(path.join(dir, f), text);
      }
      const w = await loadWorkspace(dir, { ...io, cwd: dir });
      expect(w.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const o = await runTestFile("tests/birthday.yaml", SCAFFOLD["tests/birthday.yaml"]!, {
        project: w.project!,
        campaigns: w.check.campaigns,
        exclude: w.check.exclude,
        templates: w.templates,
        conn,
      });
      expect(o.diagnostics).toEqual([]);
      expect(o.results.map((r) => [r.name, r.passed, r.failures])).toEqual([["a gold member nearby gets the birthday gift by WeCom", true, []]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
