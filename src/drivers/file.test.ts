import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import fileDriver, { DEFAULT_OUTBOX, isoWithOffset } from "./file.js";
import type { DriverInstance, SendRequest } from "./types.js";

function req(member: string, occurrence = "2026-11-24T10:00:00+08:00"): SendRequest {
  const key = `birthday|${occurrence}|${member}|outbox`;
  return {
    key,
    dedupeId: "d".repeat(32),
    campaign: "birthday",
    occurrence,
    member,
    channel: "outbox",
    address: `addr-${member}`,
    content: { kind: "file", body: { text: `hi ${member}` } },
  };
}

const dirs: string[] = [];
const instances: DriverInstance[] = [];
afterEach(async () => {
  for (const i of instances.splice(0)) await i.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function make(root: string, options: Record<string, unknown> = {}, now = Date.UTC(2026, 10, 24, 2, 0, 5)) {
  const inst = fileDriver.create({ channel: "outbox", secrets: {}, options, now: () => now, timeoutMs: 1000, root });
  instances.push(inst);
  return inst;
}

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), "chuda-file-driver-"));
  dirs.push(d);
  return d;
}

const lines = (file: string) =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("file driver", () => {
  it("formats times at an offset", () => {
    expect(isoWithOffset(Date.UTC(2026, 10, 24, 2, 0, 5))).toBe("2026-11-24T10:00:05+08:00");
    expect(isoWithOffset(Date.UTC(2026, 10, 24, 2, 0, 5), "-05:00")).toBe("2026-11-23T21:00:05-05:00");
    expect(isoWithOffset(Date.UTC(2026, 10, 24, 2, 0, 5), "Z")).toBe("2026-11-24T02:00:05Z");
  });

  it("appends one JSON line per send at the default path", async () => {
    const root = tmp();
    const inst = make(root);
    const out = await inst.send([req("M1"), req("M2")]);
    expect(out).toEqual([{ status: "sent" }, { status: "sent" }]);
    const file = path.join(root, DEFAULT_OUTBOX);
    const text = readFileSync(file, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.charCodeAt(0)).not.toBe(0xfeff);
    const ls = lines(file);
    expect(ls).toHaveLength(2);
    expect(Object.keys(ls[0]!)).toEqual(["key", "campaign", "occurrence", "member", "channel", "address", "content", "at"]);
    expect(ls[0]).toMatchObject({ key: req("M1").key, member: "M1", address: "addr-M1", content: { text: "hi M1" }, at: "2026-11-24T10:00:05+08:00" });
  });

  it("resumes: skips keys already in the file (reported sent), cuts a torn tail", async () => {
    const root = tmp();
    const rel = "out/sends.jsonl";
    const first = make(root, { path: rel });
    await first.send([req("M1"), req("M2")]);
    await first.close();
    const file = path.join(root, rel);
    appendFileSync(file, '{"key":"birthday|torn'); // a crash mid-write
    const second = make(root, { path: rel });
    const out = await second.send([req("M1"), req("M3"), req("M3")]);
    expect(out.map((o) => o.status)).toEqual(["sent", "sent", "sent"]);
    expect(lines(file).map((l) => l.member)).toEqual(["M1", "M2", "M3"]);
    const rec = await second.reconcile!([req("M2"), req("M9")]);
    expect(rec.map((o) => (o?.status === "failed" ? o.class : o?.status))).toEqual(["sent", "retry"]);
  });

  it("keeps lines whole under concurrent sends", async () => {
    const root = tmp();
    const inst = make(root);
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 50 }, (_, i) => req(`M${b}-${i}`)));
    await Promise.all(batches.map((b) => inst.send(b)));
    const ls = lines(path.join(root, DEFAULT_OUTBOX));
    expect(ls).toHaveLength(1000);
    expect(new Set(ls.map((l) => l.key)).size).toBe(1000);
  });

  it("refuses other content kinds", async () => {
    const inst = make(tmp());
    const r = { ...req("M1"), content: { kind: "webhook" as const, body: {} } };
    expect((await inst.send([r]))[0]).toMatchObject({ status: "failed", class: "request", code: "content_kind" });
  });
});
