/** The sample generator: deterministic by seed, in the schema of docs/configuration.md, loadable without rejects. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateMembers, SAMPLE_COLUMNS, writeSampleMembers } from "./sample.js";
import { openSnapshot } from "./snapshot.js";
import { projectOf, schemaOf, TIERS } from "../../test/fixtures/members/project.js";
import type { FieldType } from "../project/types.js";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "chuda-sample-test-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const text = (opts: Parameters<typeof generateMembers>[0]) => Buffer.concat([...generateMembers(opts)]).toString("utf8");

const s = (kind: FieldType["kind"]) => ({ kind }) as FieldType;
const CONFIG_SCHEMA = schemaOf({
  member_id: s("string"),
  name: s("string"),
  mobile: s("phone"),
  gender: { kind: "enum", values: ["F", "M"] },
  birthday: s("date"),
  tier: { kind: "enum", values: TIERS },
  points: s("number"),
  registered_at: s("datetime"),
  last_purchase_at: s("datetime"),
  spend_12m: s("number"),
  tags: s("list"),
  distance_km: s("number"),
  wecom_external_userid: s("string"),
  wecom_owner: s("string"),
  openid: s("string"),
  oa_subscribed: s("bool"),
  sms_opt_in: s("bool"),
  unsubscribed: s("bool"),
});

describe("generateMembers", () => {
  it("is deterministic: the same seed gives the same bytes, another seed other bytes, chunking does not matter", () => {
    const a = text({ count: 3000, seed: 7 });
    expect(text({ count: 3000, seed: 7 })).toBe(a);
    expect(text({ count: 3000, seed: 7, chunkRows: 123 })).toBe(a);
    expect(text({ count: 3000, seed: 8 })).not.toBe(a);
    expect(text({ count: 300, seed: 7, format: "jsonl" })).toBe(text({ count: 300, seed: 7, format: "jsonl" }));
  });

  it("writes the columns of docs/configuration.md with plausible values", () => {
    const lines = text({ count: 20_000, seed: 1 }).trimEnd().split("\n");
    expect(lines[0]).toBe(SAMPLE_COLUMNS.join(","));
    const rows = lines.slice(1).map((l) => l.split(","));
    expect(rows).toHaveLength(20_000);
    expect(rows.every((r) => r.length === SAMPLE_COLUMNS.length)).toBe(true);
    const col = (name: (typeof SAMPLE_COLUMNS)[number]) => rows.map((r) => r[SAMPLE_COLUMNS.indexOf(name)]!);
    expect(col("member_id").slice(0, 2)).toEqual(["M0000001", "M0000002"]);
    expect(col("member_id")[19_999]).toBe("M0020000");
    expect(col("mobile").every((m) => /^1[358]\d{9}$/.test(m))).toBe(true);
    expect(col("name").every((n) => /^[\u4e00-\u9fff]{2,3}$/.test(n))).toBe(true);
    const share = (name: (typeof SAMPLE_COLUMNS)[number], pred: (v: string) => boolean) => col(name).filter(pred).length / rows.length;
    expect(share("tier", (v) => v === "normal")).toBeCloseTo(0.55, 1);
    expect(share("tier", (v) => v === "silver")).toBeCloseTo(0.25, 1);
    expect(share("tier", (v) => v === "diamond")).toBeGreaterThan(0.01);
    expect(share("tier", (v) => v === "diamond")).toBeLessThan(0.03);
    expect(share("birthday", (v) => v.endsWith("-02-29"))).toBeGreaterThan(0.001);
    expect(share("last_purchase_at", (v) => v === "")).toBeGreaterThan(0.05);
    expect(share("last_purchase_at", (v) => v !== "" && v < "2025-06-01")).toBeGreaterThan(0.01);
    expect(share("wecom_external_userid", (v) => v !== "")).toBeCloseTo(0.6, 1);
    expect(new Set(col("wecom_owner").filter((v) => v)).size).toBe(20);
    expect(share("openid", (v) => v !== "")).toBeCloseTo(0.7, 1);
    expect(share("sms_opt_in", (v) => v === "true")).toBeCloseTo(0.8, 1);
    expect(share("unsubscribed", (v) => v === "true")).toBeGreaterThan(0.02);
    expect(share("unsubscribed", (v) => v === "true")).toBeLessThan(0.04);
    expect(share("distance_km", (v) => Number(v) > 30)).toBeGreaterThan(0.01);
    expect(share("tags", (v) => v.includes(";"))).toBeGreaterThan(0.05);
  });

  it("loads into the schema of docs/configuration.md with no rejected rows, as CSV and as JSON Lines", async () => {
    for (const format of ["csv", "jsonl"] as const) {
      const file = path.join(tmp, `sample.${format}`);
      await writeSampleMembers(file, { count: 5000, seed: 3, format });
      const { snapshot, diagnostics } = await openSnapshot(file, projectOf(CONFIG_SCHEMA));
      try {
        expect(diagnostics).toEqual([]);
        expect(snapshot!.count).toBe(5000);
        const r = await snapshot!.conn.runAndReadAll(
          `SELECT count(*) FILTER (tier = 'gold'), count(*) FILTER (len(tags) > 0), count(DISTINCT wecom_owner) FROM members`,
        );
        const [gold, tagged, owners] = r.getRowsJS()[0]!.map(Number);
        expect(gold).toBeGreaterThan(400);
        expect(tagged).toBeGreaterThan(2000);
        expect(owners).toBe(20);
      } finally {
        await snapshot?.close();
      }
    }
    // Both formats carry the same members.
    const csvFirst = readFileSync(path.join(tmp, "sample.csv"), "utf8").split("\n")[1]!.split(",")[0];
    const jsonFirst = JSON.parse(readFileSync(path.join(tmp, "sample.jsonl"), "utf8").split("\n")[0]!).member_id;
    expect(jsonFirst).toBe(csvFirst);
  });
});
