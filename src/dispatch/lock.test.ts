import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { acquireLock, lockPath } from "./lock.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const repo = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), "chuda-lock-test-"));
  dirs.push(d);
  return d;
};

describe("acquireLock", () => {
  it("refuses a second holder, naming the first, until the first releases", () => {
    const root = repo();
    const first = acquireLock(root, Date.UTC(2026, 11, 24, 2, 30));
    expect(first.ok).toBe(true);
    const second = acquireLock(root, Date.now());
    expect(second).toEqual({ ok: false, pid: process.pid, since: "2026-12-24T02:30:00.000Z" });
    if (first.ok) first.release();
    const third = acquireLock(root, Date.now());
    expect(third.ok).toBe(true);
    if (third.ok) third.release();
  });

  it("ignores an old pid file naming a live process (pid 1)", () => {
    const root = repo();
    mkdirSync(path.join(root, ".chuda"));
    writeFileSync(path.join(root, ".chuda/dispatch.lock"), JSON.stringify({ pid: 1, since: "2026-01-01T00:00:00.000Z" }));
    const lock = acquireLock(root, Date.now());
    expect(lock.ok).toBe(true);
    if (lock.ok) lock.release();
  });

  it("is held by the transaction, not by the holder row: a holder that has not written its row yet still blocks", () => {
    const root = repo();
    mkdirSync(path.join(root, ".chuda"));
    const other = new Database(lockPath(root));
    other.pragma("journal_mode = WAL");
    other.exec("BEGIN EXCLUSIVE");
    try {
      expect(acquireLock(root, Date.now())).toEqual({ ok: false, pid: undefined, since: undefined });
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    const lock = acquireLock(root, Date.now());
    expect(lock.ok).toBe(true);
    if (lock.ok) lock.release();
  });
});
