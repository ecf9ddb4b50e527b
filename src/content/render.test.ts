import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTemplates, parseTemplate } from "./load.js";
import { renderContent } from "./render.js";
import type { Template } from "./types.js";

const root = fileURLToPath(new URL("../../test/fixtures/content", import.meta.url));
const member = { name: "王伟", coupon: "BDAY50", amount: 50, expire_at: "2026-11-30", tier: "gold" };
let good: Template;
beforeAll(async () => {
  good = (await loadTemplates(root, ["good"])).templates.get("good")!;
});
const tpl = (yaml: string) => parseTemplate(yaml, "templates/t.yaml", "t").template;

describe("renderContent", () => {
  it("renders a WeCom section into text and attachments", () => {
    const r = renderContent(good, "wecom", member);
    expect(r.problems).toEqual([]);
    expect(r.content).toEqual({
      kind: "wecom",
      text: "王伟您好，50元礼券（BDAY50）已放入卡包。",
      attachments: [
        { msgtype: "link", link: { title: "领取礼券", url: "https://m.example.com/c?c=BDAY50", desc: "7天内有效" } },
        { msgtype: "miniprogram", miniprogram: { title: "会员中心", pic_media_id: "MEDIA_1", appid: "wx0123456789abcdef", page: "pages/index?c=BDAY50" } },
      ],
    });
  });

  it("turns the `link:` shorthand into one link attachment", () => {
    const r = renderContent(tpl('wecom:\n  text: "{{name}}您好"\n  link: { title: "领取", url: "https://a.cn/?c={{coupon}}" }\n'), "wecom", member);
    expect(r.content).toEqual({ kind: "wecom", text: "王伟您好", attachments: [{ msgtype: "link", link: { title: "领取", url: "https://a.cn/?c=BDAY50" } }] });
  });

  it("renders SMS params and fills the body's ${var} with them", () => {
    const r = renderContent(good, "sms", member);
    expect(r.problems).toEqual([]);
    expect(r.content).toEqual({
      kind: "sms",
      sign: "示例广场",
      code: "SMS_2001",
      params: { name: "王伟", coupon: "BDAY50", date: "11月30日" },
      text: "王伟您好，您的礼券BDAY50已到账，11月30日前到店可用。拒收请回复R",
    });
  });

  it("renders template and subscribe messages", () => {
    expect(renderContent(good, "template_message", member).content).toEqual({
      kind: "template_message",
      template_id: "TM00015",
      url: "https://m.example.com/bday",
      data: { thing1: "王伟的生日礼券", amount2: "¥50", keyword3: "到店使用" },
    });
    const s = renderContent(good, "subscribe_message", member);
    expect(s.problems).toEqual([]);
    expect(s.content).toEqual({
      kind: "subscribe_message",
      template_id: "priTmpl_abc",
      page: "pages/coupon/index?c=BDAY50",
      miniprogram_state: "formal",
      lang: "zh_CN",
      data: { thing1: "王伟的礼券", amount2: "¥50", date3: "2026年11月30日", character_string4: "BDAY50", phrase5: "已到账" },
    });
  });

  it("renders webhook and file bodies as JSON, strings through Handlebars, other values copied", () => {
    expect(renderContent(good, "webhook", member).content).toEqual({
      kind: "webhook",
      body: { text: "王伟: BDAY50", meta: { amount: 50, tags: ["a", "gold"], vip: true } },
    });
    expect(renderContent(good, "file", member).content).toEqual({ kind: "file", body: { member: "王伟", note: "plain" } });
  });

  it("reports the per-member rules as problems, with stable rule ids", () => {
    const r = renderContent(good, "subscribe_message", { ...member, expire_at: undefined });
    expect(r.problems.map((p) => `${p.rule} ${p.field} ${p.severity}`)).toEqual(["subscribe.date.empty data.date3 error"]);
    const long = renderContent(good, "sms", { ...member, coupon: "C".repeat(36) });
    expect(long.problems.map((p) => p.rule)).toEqual(["sms.param.length"]);
    expect(long.content).toBeDefined();
  });

  it("has no content for a missing section", () => {
    const r = renderContent(tpl("wecom:\n  text: hi\n"), "sms", member);
    expect(r.content).toBeUndefined();
    expect(r.problems[0]).toMatchObject({ rule: "template.section.missing", severity: "error" });
  });

  it("has no content when a field does not parse or cannot run", () => {
    const bad = renderContent(tpl('wecom:\n  text: "{{#if x}}a{{/each}}"\n'), "wecom", member);
    expect(bad.content).toBeUndefined();
    expect(bad.problems[0]).toMatchObject({ rule: "handlebars.syntax", field: "text" });
    const missingHelper = renderContent(tpl('wecom:\n  text: "{{upper name}}"\n'), "wecom", member);
    expect(missingHelper.content).toBeUndefined();
    expect(missingHelper.problems[0]).toMatchObject({ rule: "render.error", field: "text" });
  });

  it("keeps a member's own text as data: no template injection through values", () => {
    const evil = { ...member, name: "{{coupon}}${coupon}😀", coupon: "X1" };
    const w = renderContent(good, "wecom", evil).content!;
    expect(w.kind === "wecom" && w.text).toBe("{{coupon}}${coupon}😀您好，50元礼券（X1）已放入卡包。");
    // The SMS param is `{{truncate name 10}}`: 10 code points, the emoji is one.
    const s = renderContent(good, "sms", { ...evil, name: "${coupon}😀" }).content!;
    expect(s.kind === "sms" && s.text).toBe("${coupon}😀您好，您的礼券X1已到账，11月30日前到店可用。拒收请回复R");
  });

  it("renders many members with one compiled plan per section", () => {
    const texts = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const r = renderContent(good, "sms", { ...member, name: `会员${i}` });
      if (r.content?.kind === "sms") texts.add(r.content.text);
    }
    expect(texts.size).toBe(5000);
  });
});
