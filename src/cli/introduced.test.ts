import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { introducedOrder } from "./introduced.js";

function repo(files: Record<string, Date>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "chuda-introduced-"));
  mkdirSync(path.join(root, "campaigns"));
  for (const [f, mtime] of Object.entries(files)) {
    writeFileSync(path.join(root, f), "# campaign\n");
    utimesSync(path.join(root, f), mtime, mtime);
  }
  return root;
}

const git = (root: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
    cwd: root,
    stdio: "ignore",
    env: { ...process.env, GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z", GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z" },
  });

describe("introducedOrder", () => {
  it("without git, orders by modification time, then name", () => {
    const root = repo({
      "campaigns/a.chuda": new Date("2026-05-01"),
      "campaigns/b.chuda": new Date("2026-02-01"),
      "campaigns/c.chuda": new Date("2026-02-01"),
    });
    expect(introducedOrder(root, ["campaigns/a.chuda", "campaigns/b.chuda", "campaigns/c.chuda"])).toEqual([
      "campaigns/b.chuda",
      "campaigns/c.chuda",
      "campaigns/a.chuda",
    ]);
  });

  it("puts files committed to git before files git does not know, whatever their modification times", () => {
    const root = repo({ "campaigns/old.chuda": new Date("2026-06-01") });
    git(root, "init", "-q");
    git(root, "add", ".");
    git(root, "commit", "-qm", "first");
    writeFileSync(path.join(root, "campaigns/new.chuda"), "# campaign\n");
    utimesSync(path.join(root, "campaigns/new.chuda"), new Date("2020-01-01"), new Date("2020-01-01"));
    expect(introducedOrder(root, ["campaigns/new.chuda", "campaigns/old.chuda"])).toEqual(["campaigns/old.chuda", "campaigns/new.chuda"]);
  });
});
