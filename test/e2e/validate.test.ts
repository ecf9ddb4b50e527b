import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chuda, copyExampleRepo, hasStackTrace, REPO } from "./cli.js";

describe("chuda validate (built CLI)", () => {
  it("the example repository validates clean and fmt --check passes", async () => {
    const v = await chuda(["validate"]);
    expect(v.stderr).toBe("");
    expect(v.exitCode, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/files? checked: 0 errors/);
    const f = await chuda(["fmt", "--check"]);
    expect(f.exitCode, f.stdout + f.stderr).toBe(0);
  });

  it("reports a broken campaign in every format with exit 1 and no stack trace", async () => {
    const dir = copyExampleRepo();
    writeFileSync(
      path.join(dir, "campaigns/broken.chuda"),
      `campaign broken "坏的" {\n  audience tier >= gold and tierr == silver\n  trigger  every day at 25:00\n  content  "birthday"\n  channel  wecom > sms\n}\n`,
    );
    const json = await chuda(["validate", "--format", "json"], { cwd: dir });
    expect(json.exitCode).toBe(1);
    const out = JSON.parse(json.stdout);
    expect(out.errors).toBeGreaterThanOrEqual(2);
    const fileDiags = out.diagnostics.filter((d: { file: string }) => d.file === "campaigns/broken.chuda");
    const unknown = fileDiags.find((d: { message: string }) => /tierr/.test(d.message));
    expect(unknown).toMatchObject({ line: 2, column: 29, severity: "error" });
    expect(unknown.help).toMatch(/tier/);
    expect(fileDiags.some((d: { line: number; message: string }) => d.line === 3 && /25:00/.test(d.message))).toBe(true);
    for (const d of out.diagnostics)
      expect(Object.keys(d).sort()).toEqual(["code", "column", "endColumn", "endLine", "file", "help", "line", "message", "severity"]);

    const gh = await chuda(["validate", "--format", "github"], { cwd: dir });
    expect(gh.exitCode).toBe(1);
    expect(gh.stdout).toMatch(/^::error file=campaigns\/broken\.chuda,line=2,col=29,/m);

    const pretty = await chuda(["validate"], { cwd: dir });
    expect(pretty.exitCode).toBe(1);
    expect(pretty.stdout).toContain("campaigns/broken.chuda:2:29");
    expect(pretty.stdout).toMatch(/\n\s*\|\s+\^{5}/); // caret under `tierr`
    expect(pretty.stdout).not.toMatch(/\u001b\[/); // no colour off a TTY
    for (const r of [json, gh, pretty]) expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
  });

  it("exits 2 with one line and a hint when there is no chuda.yaml or a path is unreadable", async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), "chuda-empty-"));
    const r = await chuda(["validate"], { cwd: empty });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^chuda: no chuda\.yaml found/);
    expect(r.stderr).toMatch(/hint: /);
    expect(hasStackTrace(r.stderr)).toBe(false);
    const p = await chuda(["validate", "campaigns/nope.chuda"], { cwd: REPO });
    expect(p.exitCode).toBe(2);
    expect(p.stderr).toMatch(/cannot read campaigns\/nope\.chuda/);
  });

  it("chuda init creates a repository that validates at once", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-init-"));
    const r = await chuda(["init", "shop"], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const v = await chuda(["validate"], { cwd: path.join(dir, "shop") });
    expect(v.exitCode, v.stdout).toBe(0);
    const again = await chuda(["init", "shop"], { cwd: dir });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already has a chuda\.yaml/);
  });

  it("a broken chuda.yaml is reported with its YAML line and column", async () => {
    const dir = copyExampleRepo();
    const file = path.join(dir, "chuda.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("driver: aliyun-sms", "driver: aliyun-smss").replace("quiet_hours:", "quiet_hourz:"));
    const r = await chuda(["validate", "--format", "json"], { cwd: dir });
    expect(r.exitCode).toBe(1);
    const diags = JSON.parse(r.stdout).diagnostics.filter((d: { file: string }) => d.file === "chuda.yaml");
    const lines = readFileSync(file, "utf8").split("\n");
    const driverLine = lines.findIndex((l) => l.includes("aliyun-smss")) + 1;
    const quietLine = lines.findIndex((l) => l.includes("quiet_hourz")) + 1;
    expect(diags.some((d: { line: number }) => d.line === driverLine)).toBe(true);
    expect(diags.some((d: { line: number; help: string | null }) => d.line === quietLine && /quiet_hours/.test(d.help ?? ""))).toBe(true);
    mkdirSync(path.join(dir, "x"), { recursive: true });
  });

  it("a broken chuda.yaml line holding a secret-looking value: reported at its line, the value never in the messages", async () => {
    const dir = copyExampleRepo();
    const file = path.join(dir, "chuda.yaml");
    const lines = readFileSync(file, "utf8").split("\n");
    lines.splice(1, 0, 'app_secret: "sk-live-9f8e7d6c');
    writeFileSync(file, lines.join("\n"));
    for (const format of ["json", "github", "sarif"]) {
      const r = await chuda(["validate", "--format", format], { cwd: dir });
      expect(r.exitCode, r.stderr).toBe(1);
      expect(hasStackTrace(r.stdout + r.stderr)).toBe(false);
      expect(r.stdout + r.stderr, format).not.toContain("sk-live");
      if (format === "json")
        expect(JSON.parse(r.stdout).diagnostics.some((d: { file: string; line: number }) => d.file === "chuda.yaml" && d.line >= 2)).toBe(true);
    }
  });
});
