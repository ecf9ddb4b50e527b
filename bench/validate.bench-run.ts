/** `chuda validate` over a repository of 1,000 campaign files (target: under 2 s). */
import { afterAll, it } from "vitest";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { figure, printFigures } from "./figures.js";

const REPO = path.resolve(import.meta.dirname, "..");

it("validate 1,000 campaign files", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-bench-validate-"));
  cpSync(path.join(REPO, "chuda.yaml"), path.join(dir, "chuda.yaml"));
  cpSync(path.join(REPO, "templates"), path.join(dir, "templates"), { recursive: true });
  mkdirSync(path.join(dir, "campaigns"));
  cpSync(path.join(REPO, "campaigns/segments.chuda"), path.join(dir, "campaigns/segments.chuda"));
  const sources: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".chuda") && e.name !== "segments.chuda") sources.push(readFileSync(p, "utf8"));
    }
  };
  walk(path.join(REPO, "campaigns"));
  for (let i = 0; i < 1000; i++) {
    const src = sources[i % sources.length]!.replace(/campaign (\w+)/g, (_, n: string) => `campaign ${n}_${i}`);
    writeFileSync(path.join(dir, "campaigns", `c${String(i).padStart(4, "0")}.chuda`), src);
  }
  const runs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    const r = await execa(process.execPath, [path.join(REPO, "dist/cli/main.js"), "validate", "--format", "json"], {
      cwd: dir,
      reject: false,
      env: { CI: "true" },
    });
    runs.push(performance.now() - t0);
    if (k === 0) figure("validate: files / errors", `${JSON.parse(r.stdout).files} / ${JSON.parse(r.stdout).errors}`);
  }
  const best = Math.min(...runs);
  figure("validate 1,000 files (whole CLI, best of 3)", `${(best / 1000).toFixed(2)} s`, "target < 2 s");
});

/** About the largest repository validate accepts (10 MB of `.chuda`; here 9.6 MB, 41,000 campaigns): its time and peak memory. */
it("validate at the repository size limit", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-bench-validate-max-"));
  cpSync(path.join(REPO, "chuda.yaml"), path.join(dir, "chuda.yaml"));
  cpSync(path.join(REPO, "templates"), path.join(dir, "templates"), { recursive: true });
  mkdirSync(path.join(dir, "campaigns"));
  const campaign = (i: number) =>
    `campaign c${i} "活动${i}" {\n  audience tier >= gold and points > ${i % 1000} and not unsubscribed\n  trigger every day at 10:00\n` +
    `  content "birthday" with { coupon: "BDAY50", amount: 50 }\n  channel wecom > sms\n  goal visit within 7 days\n}\n\n`;
  let total = 0;
  let n = 0;
  // Files of about 1.1 MB up to just under the 10 MB limit.
  for (let f = 0; total < 8.5 * 1024 * 1024; f++) {
    let text = "";
    while (text.length < 1024 * 1024) text += campaign(n++);
    writeFileSync(path.join(dir, "campaigns", `f${f}.chuda`), text);
    total += Buffer.byteLength(text);
  }
  const t0 = performance.now();
  const r = await execa(process.execPath, [path.join(REPO, "dist/cli/main.js"), "validate", "--format", "json"], {
    cwd: dir,
    reject: false,
    env: { CI: "true", CHUDA_STATS: "1" },
  });
  const seconds = (performance.now() - t0) / 1000;
  const stats = JSON.parse(/chuda-stats (.*)/.exec(r.stderr)?.[1] ?? "{}") as { maxRssMB?: number };
  figure(`validate ${n.toLocaleString("en-US")} campaigns, ${(total / 1024 / 1024).toFixed(1)} MB: errors`, String(JSON.parse(r.stdout).errors));
  figure("validate at the size limit (whole CLI)", `${seconds.toFixed(1)} s, peak ${stats.maxRssMB ?? "?"} MB`);
});

afterAll(printFigures);
