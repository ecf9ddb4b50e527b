/**
 * The built CLI on a pseudo-terminal (util-linux `script`), as a user at a terminal sees it: Ink progress bars
 * while loading and planning, then the Ink tables; and with CI set (or NO_COLOR) what must not appear.
 * The screen is rebuilt by replaying the bytes (cursor up, erase line), so the test reads the final frame.
 */
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fault } from "../fakes/common.js";
import { BIN, chuda, copyExampleRepo } from "./cli.js";
import { ENV, makeMembers, makeRepo, startFakes, type Fakes } from "./dispatch-helpers.js";
import { screenOf as screen } from "../fixtures/terminal.js";

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const ANY_ESCAPE = /\u001b/;
const SGR = /\u001b\[[0-9;]*m/;

/** Runs `chuda args…` with a terminal (120×40) as stdin, stdout and stderr; the output is everything the terminal got. */
async function onTty(args: string[], cwd: string, env: Record<string, string> = {}) {
  const cmd = `stty cols 120 rows 40 2>/dev/null; exec ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(" ")}`;
  const r = await execa("script", ["-qfec", cmd, "/dev/null"], {
    cwd,
    // No CI, no NO_COLOR from the environment running the tests: only what each test sets.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8", TERM: "xterm-256color", ...env },
    extendEnv: false,
    stdin: "ignore",
    reject: false,
    timeout: 120_000,
  });
  return { exitCode: r.exitCode, raw: String(r.stdout) };
}

let dir: string;
const RANGE = ["--from", "2026-12-01", "--to", "2026-12-07"];

beforeAll(async () => {
  dir = copyExampleRepo();
  const g = await chuda(["sample-members", "--count", "2000", "--seed", "5", "--out", path.join(dir, "members.csv")], { cwd: dir });
  expect(g.exitCode, g.stderr).toBe(0);
});

describe.skipIf(!hasScript)("chuda simulate on a terminal", () => {
  it("shows progress bars for loading, planning and rendering, then the tables in colour, and exits 0", async () => {
    const r = await onTty(["simulate", "--members", "members.csv", ...RANGE], dir);
    expect(r.exitCode, r.raw).toBe(0);
    const s = screen(r.raw);
    const at = (re: RegExp) => s.findIndex((l) => re.test(l));
    // The bars' last frame stays on screen above the results.
    expect(s[at(/^chuda$/) + 1]).toMatch(/^loading members\s+█{30} 100%\s+2,000 members$/);
    expect(s[at(/^chuda$/) + 2]).toMatch(/^planning\s+█{30} 100%\s+(\d+)\/\1 occurrences$/);
    expect(s[at(/^chuda$/) + 3]).toMatch(/^rendering\s+█{30} 100%\s+(\d+)\/\1 campaigns$/);
    const order = ["Simulation 2026-12-01 → 2026-12-07  members 2,000", "Funnel per campaign", "By channel", "By day", "Total: "].map((t) =>
      at(new RegExp("^" + t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))),
    );
    expect(order.every((i) => i > at(/^planning/))).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(s[order[1]! + 1]).toMatch(/^campaign\s+occ\s+audience\s+holdout\s+unreachable\s+capped\s+sends\s+deferred\s+.*\s+converted\s+cost\s+reach$/);
    expect(s.some((l) => /^community_wednesday\s.*[█░]+\s+\d+%$/.test(l))).toBe(true); // a reach bar
    expect(s.some((l) => /^2026-12-0[1-7]\s+[\d,]+\s/.test(l))).toBe(true);
    expect(r.raw).toMatch(SGR); // colour on a terminal
  });

  it("with CI=true prints exactly the plain output, without a single escape code", async () => {
    const r = await onTty(["simulate", "--members", "members.csv", ...RANGE], dir, { CI: "true" });
    expect(r.exitCode, r.raw).toBe(0);
    expect(r.raw).not.toMatch(ANY_ESCAPE);
    expect(r.raw).not.toContain("█");
    const piped = await chuda(["simulate", "--members", "members.csv", ...RANGE], { cwd: dir });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(r.raw.replace(/\r\n/g, "\n")).toBe(piped.stderr + piped.stdout);
    expect(piped.stdout).toMatch(/^Simulation 2026-12-01 → 2026-12-07/);
    expect(piped.stdout).not.toContain("Funnel per campaign"); // the plain view, not the Ink one
  });

  it("with NO_COLOR keeps the bars and tables but writes no colour codes", async () => {
    const r = await onTty(["simulate", "--members", "members.csv", ...RANGE], dir, { NO_COLOR: "1" });
    expect(r.exitCode, r.raw).toBe(0);
    expect(r.raw).not.toMatch(SGR);
    const s = screen(r.raw);
    expect(s.some((l) => /^planning\s+█{30} 100%/.test(l))).toBe(true);
    expect(s).toContain("By channel");
  });

  it("keeps --json machine-readable on a terminal", async () => {
    const r = await onTty(["simulate", "--members", "members.csv", ...RANGE, "--json"], dir, { NO_COLOR: "1" });
    expect(r.exitCode, r.raw).toBe(0);
    const s = screen(r.raw).join("\n");
    const json = JSON.parse(s.slice(s.indexOf("{"), s.lastIndexOf("}") + 1)) as { members: number; campaigns: unknown[] };
    expect(json.members).toBe(2000);
  });
});

describe.skipIf(!hasScript)("chuda dispatch on a terminal", () => {
  let fakes: Fakes | undefined;
  afterAll(async () => {
    await fakes?.close();
  });

  it("shows the run live: a bar per channel, the send rate, retries and failures by code; no secret, no phone number", async () => {
    const members = makeMembers(120, 29);
    const bad = members.filter((m) => m.openid && !m.wecom_external_userid && !m.unsubscribed).slice(0, 3);
    expect(bad).toHaveLength(3);
    fakes = await startFakes(members, {
      wechat: { recipientErrors: Object.fromEntries(bad.map((m) => [m.openid, 43004])) },
      hook: { script: [fault.http(503)] },
    });
    const repo = makeRepo({
      channels: fakes.channels,
      campaigns: [
        {
          name: "gift",
          template: "gift",
          channels: ["wecom", "template_message", "sms"],
          trigger: "once at 2026-12-24 10:00",
          with: { coupon: "XMAS50", amount: 50 },
        },
        { name: "ping", template: "daily", channels: ["hook"], trigger: "once at 2026-12-24 10:00" },
      ],
      members,
    });
    const r = await onTty(["dispatch", "--members", "members.csv", "--at", "2026-12-24 10:30"], repo.dir, repo.env);
    expect(r.exitCode, r.raw).toBe(0); // the rejected recipients are the members' failures, not the run's
    const s = screen(r.raw);
    const line = (re: RegExp) => s.find((l) => re.test(l)) ?? "";
    expect(line(/^chuda dispatch · /)).toBe("chuda dispatch · 2026-12-24 10:30 +08:00");
    expect(line(/^planned /)).toMatch(/^planned [\d,]+ sends in 2 occurrences \(\d+ held out\)$/);
    for (const ch of ["wecom", "template_message", "hook"])
      expect(line(new RegExp(`^  ${ch}\\s`))).toMatch(/[█░]{30} +100% {2}sent [\d,]+ .*of [\d,]+ .* sends\/s/); // per-channel progress, complete at the end
    expect(line(/^  template_message\s/)).toMatch(/failed 3/);
    expect(line(/^  all channels\s/)).toMatch(/\d+ of [\d,]+\s+[\d.,]+ sends\/s$/);
    expect(line(/^retries /)).toMatch(/^retries 1: hook \S+ ×1$/);
    expect(s).toContain("failures by code");
    expect(line(/^  template_message 43004\s/)).toMatch(/ 3$/);
    expect(line(/^done: /)).toMatch(/failed 3/);
    // The run's summary follows on stdout, as off a terminal.
    expect(line(/^Dispatch at 2026-12-24 10:30 \+08:00: 2 occurrences planned/)).not.toBe("");
    for (const secret of Object.values(ENV).filter((v) => v.length >= 6)) expect(r.raw).not.toContain(secret);
    expect(r.raw).not.toMatch(/(?<!\d)1[3-9]\d{9}(?!\d)/);
  });
});
