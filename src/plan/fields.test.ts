/** Which address and sender fields a simulation may load as present/absent only. */
import { beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWorkspace, type Workspace } from "../cli/workspace.js";
import type { Io } from "../cli/io.js";
import type { Template } from "../content/types.js";
import { presenceOnlyFields } from "./fields.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const io: Io = { out: () => {}, err: () => {}, interactive: false, color: false, cwd: ROOT, env: {}, now: () => Date.UTC(2026, 10, 1) };
let ws: Workspace;

beforeAll(async () => {
  ws = await loadWorkspace(ROOT, io);
});

const ADDRESSES = ["mobile", "openid", "wecom_external_userid", "wecom_owner"];

describe("presenceOnlyFields", () => {
  it("lists the example channels' addresses and sender, which no example campaign or template reads", () => {
    expect(presenceOnlyFields(ws.project!, ws.check.campaigns, ws.templates, ws.check.exclude).sort()).toEqual(ADDRESSES);
  });

  it("keeps a field whole when a template names it, even inside a longer text", () => {
    const c = ws.check.campaigns[0]!;
    const t = ws.templates.get(c.template)!;
    const templates = new Map<string, Template>([
      [c.template, { ...t, sections: new Map([...t.sections].map(([k, s]) => [k, { ...s, raw: { text: "回复 TD 退订 {{mobile}}" } }])) }],
    ]);
    expect(presenceOnlyFields(ws.project!, [c], templates, ws.check.exclude).sort()).toEqual(ADDRESSES.filter((f) => f !== "mobile"));
  });

  it("keeps a field whole when an audience, a limit order or policy.exclude names it", () => {
    const c = ws.check.campaigns[0]!;
    const byAudience = { ...c, audience: { kind: "present", value: { v: "field", name: "openid" } } as unknown as typeof c.audience };
    expect(presenceOnlyFields(ws.project!, [byAudience], ws.templates, undefined)).not.toContain("openid");
    expect(presenceOnlyFields(ws.project!, [c], ws.templates, { kind: "present", value: { v: "field", name: "wecom_owner" } })).not.toContain("wecom_owner");
  });

  it("keeps every field when a campaign's template is not loaded", () => {
    const c = { ...ws.check.campaigns[0]!, template: "no_such_template" };
    expect(presenceOnlyFields(ws.project!, [c], ws.templates, undefined)).toEqual([]);
  });
});
