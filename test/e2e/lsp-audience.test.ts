/**
 * The language server's campaign hover with a member snapshot named by the editor: the audience size today,
 * condition by condition, counted independently here with DuckDB; and the reach funnel, equal to what
 * `chuda simulate` says for the same 30 days.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { HoverRequest, type MarkupContent } from "vscode-languageserver-protocol/node";
import { chuda, copyExampleRepo } from "./cli.js";
import { LspClient } from "./lsp-client.js";

const NOW = "2026-03-02T08:00:00+08:00";
const TEXT = `campaign lsp_aud {\n  audience tier >= gold and points >= 2000\n  trigger  every monday at 10:00\n  content  "welcome" with { coupon: "NEW20", amount: 20 }\n  channel  sms\n  goal     visit within 1 day\n}\n`;

let dir: string;
let client: LspClient | undefined;
beforeAll(async () => {
  dir = copyExampleRepo();
  const g = await chuda(["sample-members", "--count", "4000", "--seed", "5", "--out", path.join(dir, "members.csv")], { cwd: dir });
  expect(g.exitCode, g.stderr).toBe(0);
});
afterEach(() => {
  if (client && client.exitCode === null) client.child.kill();
  client = undefined;
});

async function hoverText(c: LspClient, uri: string, needle: string): Promise<string> {
  const offset = TEXT.indexOf(needle) + 1;
  const before = TEXT.slice(0, offset);
  const position = { line: before.split("\n").length - 1, character: before.length - before.lastIndexOf("\n") - 1 };
  const r = await c.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
  return (r?.contents as MarkupContent | undefined)?.value ?? "";
}

describe("chuda lsp: audience size and reach funnel in a campaign's hover", () => {
  it("counts the audience today, condition by condition, and shows the simulated funnel", async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(path.join(dir, "campaigns", "lsp_aud.chuda"), TEXT);
    client = new LspClient(dir, { CHUDA_NOW: NOW });
    await client.initialize({ members: "members.csv" });
    const uri = await client.open("campaigns/lsp_aud.chuda", TEXT);
    await client.waitDiagnostics(uri, (d) => d.length === 0);

    // Counted here from the file, by hand-written SQL.
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    const q = async (where: string) =>
      Number(
        (
          await conn.runAndReadAll(`SELECT count(*) FROM read_csv('${path.join(dir, "members.csv")}', header = true, all_varchar = true) WHERE ${where}`)
        ).getRows()[0]![0],
      );
    const total = await q("TRUE");
    const gold = await q("tier IN ('gold', 'platinum', 'diamond')");
    const both = await q("tier IN ('gold', 'platinum', 'diamond') AND CAST(points AS DOUBLE) >= 2000");
    conn.closeSync();
    expect(both).toBeGreaterThan(0);
    expect(both).toBeLessThan(gold);

    const n = (x: number) => x.toLocaleString("en-US");
    const first = await hoverText(client, uri, "lsp_aud");
    expect(first).toContain(`campaign \`lsp_aud\``);
    expect(first).toContain(`audience today (2026-03-02): ${n(both)}** of ${n(total)} members`);
    expect(first).toContain(`- tier >= gold: ${n(gold)}`);
    expect(first).toContain(`- points >= 2000: ${n(both)}`);

    // The funnel is simulated in the background: a later hover shows it.
    let withFunnel = first;
    for (let i = 0; i < 600 && !withFunnel.includes("**sends"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      withFunnel = await hoverText(client, uri, "lsp_aud");
    }
    const m =
      /reach 2026-03-02 – 2026-03-31 \((\d+) occurrences\): audience ([\d,]+) → holdout ([\d,]+) · unreachable ([\d,]+) · capped ([\d,]+) → \*\*sends ([\d,]+)\*\*/.exec(
        withFunnel,
      );
    expect(m, withFunnel).not.toBeNull();
    const num = (s: string) => Number(s.replace(/,/g, ""));

    const sim = await chuda(["simulate", "--members", "members.csv", "--from", "2026-03-02", "--to", "2026-03-31", "--json", "lsp_aud"], {
      cwd: dir,
      env: { CHUDA_NOW: NOW },
    });
    expect(sim.exitCode, sim.stderr).toBe(0);
    const c = JSON.parse(sim.stdout).campaigns.find((x: { name: string }) => x.name === "lsp_aud");
    expect({
      occurrences: num(m![1]!),
      audience: num(m![2]!),
      holdout: num(m![3]!),
      unreachable: num(m![4]!),
      capped: num(m![5]!),
      sends: num(m![6]!),
    }).toEqual({
      occurrences: c.occurrences,
      audience: c.audience,
      holdout: c.holdout,
      unreachable: c.unreachable,
      capped: c.capped,
      sends: c.sends,
    });
    expect(client.errors).toEqual([]);
  });

  it("says so when the named snapshot does not exist, and hovers as before", async () => {
    client = new LspClient(dir, { CHUDA_NOW: NOW });
    await client.initialize({ members: "no-such-members.csv" });
    const uri = await client.open("campaigns/lsp_aud.chuda", TEXT);
    await client.waitDiagnostics(uri, (d) => d.length === 0);
    const h = await hoverText(client, uri, "lsp_aud");
    expect(h).toContain(`campaign \`lsp_aud\``);
    expect(h).toContain("audience: member snapshot no-such-members.csv not found");
  });
});
