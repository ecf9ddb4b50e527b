/**
 * Template sections per channel, end to end on the built CLI: a `tencent-sms` channel beside an `aliyun-sms` one
 * must not silently read the Aliyun template of the shared `sms:` section; a section keyed by the channel's name
 * overrides its kind's section, and `validate` checks each channel's section against its own driver's rules.
 */
import { afterAll, describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { startTencentSmsFake, type TencentSmsFake } from "../fakes/tencent-sms.js";
import { hasStackTrace } from "./cli.js";
import { dispatch, ledgerRows, makeMembers, makeRepo, run, startFakes, summaryOf, type Fakes } from "./dispatch-helpers.js";

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(open.map((f) => f.close()));
});

const FLAT_SMS = `sms:
  sign: "测试广场"
  code: "SMS_2009"
  body: "会员日全场满300减50，礼券\${coupon}到店可用。拒收请回复R"
  params: { coupon: "{{coupon}}" }
`;
const TENCENT_SECTION = `tencent:
  sign: "测试广场"
  code: "1000001"
  body: "会员日全场满300减50，礼券\${1}到店可用。拒收请回复R"
  params: { 1: "{{coupon}}" }
`;

async function repoWithTencent(): Promise<{ fakes: Fakes; tencent: TencentSmsFake; repo: ReturnType<typeof makeRepo> }> {
  const members = makeMembers(40, 9);
  const fakes = await startFakes(members);
  const tencent = await startTencentSmsFake({ templates: { "1000001": { params: 1 } } });
  open.push(fakes, tencent);
  const repo = makeRepo({
    channels: { sms: fakes.channels.sms!, tencent: { driver: "tencent-sms", baseUrl: tencent.url, options: { sdk_app_id: "1400000000" } } },
    campaigns: [{ name: "flat", template: "flat", channels: ["tencent"], trigger: "once at 2026-12-24 10:00", with: { coupon: "VIP300" } }],
    members,
  });
  writeFileSync(path.join(repo.dir, "templates/flat.yaml"), FLAT_SMS);
  return { fakes, tencent, repo };
}

describe("template sections keyed by channel", () => {
  it("validate reports the Aliyun code of the shared `sms:` section for the Tencent channel", async () => {
    const { repo } = await repoWithTencent();
    const v = await run(repo, ["validate"]);
    expect(v.exitCode).toBe(1);
    expect(hasStackTrace(v.stderr)).toBe(false);
    const out = v.stdout + v.stderr;
    expect(out).toContain("channel `tencent` (driver tencent-sms) sends through Tencent, which needs a numeric TemplateId");
    expect(out).toContain("`SMS_2009`");
    expect(out).toMatch(/channel `tencent` \(driver tencent-sms\) sends through Tencent, whose template variables are numbered/);
    expect(out).toContain("templates/flat.yaml");
  });

  it("a `tencent:` section overrides `sms:` for that channel: validate passes and dispatch sends the Tencent template", async () => {
    const { repo, tencent, fakes } = await repoWithTencent();
    writeFileSync(path.join(repo.dir, "templates/flat.yaml"), FLAT_SMS + TENCENT_SECTION);
    const v = await run(repo, ["validate"]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);

    const r = await dispatch(repo, "2026-12-24 10:30");
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const rows = ledgerRows(repo).filter((x) => x.channel === "tencent");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((x) => x.state === "sent")).toBe(true);
    expect(summaryOf(r).sent).toBe(rows.length);
    const got = tencent.deliveries();
    expect(got.length).toBe(rows.length);
    expect(new Set(got.map((d) => d.templateId))).toEqual(new Set(["1000001"]));
    expect(new Set(got.map((d) => d.params.join("|")))).toEqual(new Set(["VIP300"]));
    expect(fakes.sms.deliveries()).toEqual([]);
  });

  it("a section keyed by a name that is neither a kind nor a channel is still an unknown section", async () => {
    const { repo } = await repoWithTencent();
    writeFileSync(path.join(repo.dir, "templates/flat.yaml"), FLAT_SMS + TENCENT_SECTION.replace("tencent:", "tencnet:"));
    const v = await run(repo, ["validate"]);
    expect(v.exitCode).toBe(1);
    expect(v.stdout + v.stderr).toContain("unknown section `tencnet`");
  });
});
