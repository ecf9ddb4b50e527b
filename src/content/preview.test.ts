import { describe, expect, it } from "vitest";
import { previewText } from "./preview.js";

describe("previewText", () => {
  it("shows an SMS as the member sees it, with its length, segments and price per segment", () => {
    const text =
      "王伟会员您好，双11会员日全场满300减50，积分最高10倍，11月11日10:00-22:00在一楼中庭等您。礼券BDAY50限本人使用，详询客服400-000-0000。拒收请回复R";
    expect(previewText({ kind: "sms", sign: "示例广场", code: "SMS_2001", params: {}, text }, { price: 0.045 })).toBe(
      `【示例广场】${text}\n99 characters · 2 segments · template SMS_2001 · ¥0.09\n`,
    );
    expect(previewText({ kind: "sms", sign: "示例广场", code: "SMS_1", params: {}, text: "您好" })).toBe(
      "【示例广场】您好\n8 characters · 1 segment · template SMS_1\n",
    );
  });
  it("shows WeCom text and attachments", () => {
    expect(
      previewText({
        kind: "wecom",
        text: "您好",
        attachments: [
          { msgtype: "link", link: { title: "会员日", url: "https://a.cn" } },
          { msgtype: "image", image: { media_id: "MEDIA" } },
        ],
      }),
    ).toBe("您好\n[link] 会员日 → https://a.cn\n[image] MEDIA\n");
  });
  it("shows template and subscribe messages as key: value lines", () => {
    expect(previewText({ kind: "template_message", template_id: "TM1", url: "https://a.cn", data: { thing1: "生日礼券", amount2: "¥50" } }, { price: 0 })).toBe(
      "template TM1 → https://a.cn\nthing1: 生日礼券\namount2: ¥50\n¥0.00\n",
    );
    expect(previewText({ kind: "subscribe_message", template_id: "T", page: "pages/i", data: { thing1: "x" } })).toBe(
      "subscribe template T → pages/i\nthing1: x\nuses one of the member's one-time subscribe consents\n",
    );
  });
  it("shows webhook and file bodies as JSON", () => {
    expect(previewText({ kind: "webhook", body: { a: 1 } })).toBe('{\n  "a": 1\n}\n');
  });
});
