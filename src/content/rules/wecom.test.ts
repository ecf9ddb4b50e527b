import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTemplates, parseTemplate } from "../load.js";
import type { WecomAttachment, WecomContent } from "../types.js";
import { checkRendered, checkSection } from "./index.js";

const root = fileURLToPath(new URL("../../../test/fixtures/content", import.meta.url));
const link = (title = "会员日", url = "https://m.example.com/x"): WecomAttachment => ({ msgtype: "link", link: { title, url } });
const rules = (c: WecomContent) => checkRendered(c).map((p) => `${p.rule} ${p.field}`);

describe("static WeCom rules", () => {
  it("bad_wecom.yaml: link without title or with ftp url, unknown msgtype, image without media, miniprogram fields, missing object", async () => {
    const { templates } = await loadTemplates(root, ["bad_wecom"]);
    const d = checkSection(templates.get("bad_wecom")!, "wecom");
    expect(d.map((x) => `${x.code} ${x.span.start.line} ${x.message}`)).toEqual([
      "CH5030 4 `attachments.0.link.title` is required",
      "CH5032 4 `attachments.0.link.url` must be an http:// or https:// URL",
      "CH5034 5 `attachments.1.msgtype` must be one of image, link, miniprogram, video, file",
      "CH5030 8 `attachments.2.image.media_id` is required",
      "CH5030 10 `attachments.3.miniprogram.pic_media_id` is required",
      "CH5030 10 `attachments.3.miniprogram.appid` is required",
      "CH5030 10 `attachments.3.miniprogram.page` is required",
      "CH5031 10 `attachments.3.miniprogram.title` is longer than 64 bytes",
      "CH5035 11 `attachments.4` has msgtype `video` but no `video` object",
    ]);
  });

  const wecom = (yaml: string) => checkSection(parseTemplate(`wecom:\n${yaml}`, "templates/w.yaml", "w").template, "wecom").map((x) => x.code);
  it("accepts the shorthand `link:` under wecom", () => {
    expect(wecom('  text: "{{name}}您好"\n  link: { title: "领取", url: "https://m.example.com/?c={{coupon}}" }\n')).toEqual([]);
    expect(wecom('  link: { title: "领取" }\n')).toEqual(["CH5030"]);
  });
  it("an empty message, more than 9 attachments, and fixed text over 4000 bytes are refused", () => {
    expect(wecom("  text: ''\n")).toEqual(["CH5036"]);
    const ten = Array.from({ length: 10 }, () => "    - { msgtype: link, link: { title: t, url: 'https://a.cn' } }").join("\n");
    expect(wecom(`  attachments:\n${ten}\n`)).toEqual(["CH5033"]);
    expect(wecom(`  text: "{{name}}${"字".repeat(1334)}"\n`)).toEqual(["CH5031"]);
    expect(wecom(`  text: "{{name}}${"字".repeat(1333)}"\n`)).toEqual([]);
  });
  it("a templated url must still begin like http(s)", () => {
    expect(wecom('  link: { title: t, url: "{{url}}" }\n')).toEqual([]);
    expect(wecom('  link: { title: t, url: "https://{{host}}/x" }\n')).toEqual([]);
    expect(wecom('  link: { title: t, url: "m.example.com/{{x}}" }\n')).toEqual(["CH5032"]);
  });
});

describe("rendered WeCom rules", () => {
  it("accepts a text with a link", () => {
    expect(checkRendered({ kind: "wecom", text: "您好", attachments: [link()] })).toEqual([]);
  });
  it("text at most 4000 UTF-8 bytes (a Chinese character is 3)", () => {
    expect(rules({ kind: "wecom", text: "字".repeat(1333) + "a", attachments: [] })).toEqual([]);
    expect(rules({ kind: "wecom", text: "字".repeat(1334), attachments: [] })).toEqual(["wecom.text.bytes text"]);
  });
  it("text and attachments not both empty; at most 9 attachments", () => {
    expect(rules({ kind: "wecom", attachments: [] })).toEqual(["wecom.empty text"]);
    expect(rules({ kind: "wecom", text: "x", attachments: Array.from({ length: 10 }, () => link()) })).toEqual(["wecom.attachments.count attachments"]);
  });
  it("link title ≤ 128 bytes and required, url http(s) and ≤ 2048 bytes, desc ≤ 512 bytes", () => {
    expect(rules({ kind: "wecom", attachments: [link("题".repeat(43))] })).toEqual(["wecom.link.title.bytes attachments.0.link.title"]);
    expect(rules({ kind: "wecom", attachments: [link("")] })).toEqual(["wecom.link.title.required attachments.0.link.title"]);
    expect(rules({ kind: "wecom", attachments: [link("t", "javascript:alert(1)")] })).toEqual(["wecom.link.url.scheme attachments.0.link.url"]);
    expect(rules({ kind: "wecom", attachments: [link("t", "https://a.cn/" + "x".repeat(2040))] })).toEqual(["wecom.link.url.bytes attachments.0.link.url"]);
    expect(rules({ kind: "wecom", attachments: [{ msgtype: "link", link: { title: "t", url: "https://a.cn", desc: "述".repeat(171) } }] })).toEqual([
      "wecom.link.desc.bytes attachments.0.link.desc",
    ]);
  });
  it("miniprogram title ≤ 64 bytes", () => {
    const mp = (title: string): WecomAttachment => ({ msgtype: "miniprogram", miniprogram: { title, pic_media_id: "M", appid: "wx1", page: "p" } });
    expect(rules({ kind: "wecom", attachments: [mp("题".repeat(21))] })).toEqual([]);
    expect(rules({ kind: "wecom", attachments: [mp("题".repeat(22))] })).toEqual(["wecom.miniprogram.title.bytes attachments.0.miniprogram.title"]);
  });
});
