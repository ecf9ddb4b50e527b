import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTemplates, parseTemplate } from "../load.js";
import type { SmsContent } from "../types.js";
import { checkRendered, checkSection } from "./index.js";
import { fillBody, SMS_PARAM_MAX_CHARS, smsSegments } from "./sms.js";

const root = fileURLToPath(new URL("../../../test/fixtures/content", import.meta.url));

/** The text of n characters after 【示例广场】 (6 characters with the brackets). */
const textOf = (n: number) => "字".repeat(n - 6);

describe("smsSegments", () => {
  it("counts 【sign】 + text: ≤ 70 is one segment, longer ones are ⌈n / 67⌉", () => {
    expect(smsSegments("示例广场", textOf(70))).toBe(1);
    expect(smsSegments("示例广场", textOf(71))).toBe(2);
    expect(smsSegments("示例广场", textOf(134))).toBe(2);
    expect(smsSegments("示例广场", textOf(135))).toBe(3);
    expect(smsSegments("示例广场", textOf(160))).toBe(3);
  });
  it("matches the two worked examples of docs/templates.md (n = 55 and n = 99)", () => {
    expect(smsSegments("示例广场", "王伟会员生日快乐！50元生日礼券已放入您的账户，11月30日前到店出示会员码即可使用。拒收请回复R")).toBe(1);
    expect(
      smsSegments(
        "示例广场",
        "王伟会员您好，双11会员日全场满300减50，积分最高10倍，11月11日10:00-22:00在一楼中庭等您。礼券BDAY50限本人使用，详询客服400-000-0000。拒收请回复R",
      ),
    ).toBe(2);
  });
  it("counts an emoji as one character", () => {
    expect(smsSegments("示例广场", "😀".repeat(64))).toBe(1);
    expect(smsSegments("示例广场", "😀".repeat(65))).toBe(2);
  });
});

describe("fillBody", () => {
  it("replaces each ${var} in one pass, so a value containing ${x} is not expanded again", () => {
    expect(fillBody("${a}您好，${b}", { a: "${b}", b: "X" })).toBe("${b}您好，X");
  });
});

describe("static SMS rules", () => {
  it("bad_sms.yaml: sign with 【】, missing code, body brackets, params ≠ variables, twice, adjacent, no opt-out", async () => {
    const { templates } = await loadTemplates(root, ["bad_sms"]);
    const d = checkSection(templates.get("bad_sms")!, "sms");
    const codes = d.map((x) => x.code);
    expect(codes).toEqual(expect.arrayContaining(["CH5041", "CH5030", "CH5042", "CH5043", "CH5044", "CH5045", "CH5047"]));
    expect(d.find((x) => x.code === "CH5042")!.message).toBe("the body uses `${coupon}` but `params` has no `coupon`");
    expect(d.find((x) => x.code === "CH5043")!.message).toBe("param `extra` is not used in the body");
    expect(d.find((x) => x.code === "CH5043")!.span.start.line).toBe(4);
    expect(d.find((x) => x.code === "CH5045")!.message).toBe("variables `${name}` and `${coupon}` are adjacent");
    expect(d.filter((x) => x.code === "CH5041").map((x) => x.message)).toEqual(["`sign` contains 【 or 】", "`body` contains 【 or 】"]);
  });

  it("bad_sms_notice.yaml: short sign, opt-out in a notification, a param's fixed text over 35, a link in a param", async () => {
    const { templates } = await loadTemplates(root, ["bad_sms_notice"]);
    const d = checkSection(templates.get("bad_sms_notice")!, "sms");
    expect(d.map((x) => x.code).sort()).toEqual(["CH5031", "CH5040", "CH5048", "CH5049"]);
    expect(d.find((x) => x.code === "CH5031")!.message).toBe(`\`params.name\` is longer than ${SMS_PARAM_MAX_CHARS} characters`);
    expect(d.find((x) => x.code === "CH5049")!.span.start.line).toBe(6);
  });

  const sms = (body: string, extra = "") => {
    const t = parseTemplate(
      `sms:\n  sign: 示例广场\n  code: SMS_1\n  body: "${body}"\n  params: { a: "{{a}}", b: "{{b}}" }\n${extra}`,
      "templates/t.yaml",
      "t",
    ).template;
    return checkSection(t, "sms").map((x) => x.code);
  };
  it("a correct marketing body passes; a marketing body must END with 拒收请回复R", () => {
    expect(sms("${a}您好，${b}已到账。拒收请回复R")).toEqual([]);
    expect(sms("拒收请回复R ${a}您好，${b}已到账")).toEqual(["CH5047"]);
  });
  it("a notification body (marketing: false) passes without the opt-out", () => {
    expect(sms("${a}您好，${b}已到账。", "  marketing: false\n")).toEqual([]);
  });
  it("an all-variable body is refused", () => {
    expect(sms("${a} ${b}")).toEqual(expect.arrayContaining(["CH5046"]));
  });
  it("Handlebars in the body is refused (values go in params)", () => {
    expect(sms("${a}您好{{x}}，${b}。拒收请回复R")).toEqual(["CH5050"]);
  });
  it("a body over 500 characters is refused", () => {
    expect(sms(`\${a}${"长".repeat(495)}\${b}拒收请回复R`)).toEqual(["CH5031"]);
  });
});

describe("rendered SMS rules", () => {
  const content = (params: Record<string, string>, sign = "示例广场"): SmsContent => ({
    kind: "sms",
    sign,
    code: "SMS_1",
    params,
    text: fillBody("${name}您好，礼券${coupon}已到账。拒收请回复R", params),
  });
  const rules = (c: SmsContent) => checkRendered(c).map((p) => `${p.rule} ${p.field}`);

  it("accepts ordinary values", () => {
    expect(checkRendered(content({ name: "王伟", coupon: "BDAY50" }))).toEqual([]);
  });
  it("each value has 1..35 characters", () => {
    expect(rules(content({ name: "", coupon: "BDAY50" }))).toEqual(["sms.param.empty params.name"]);
    expect(rules(content({ name: "名".repeat(35), coupon: "BDAY50" }))).toEqual([]);
    expect(rules(content({ name: "名".repeat(36), coupon: "BDAY50" }))).toEqual(["sms.param.length params.name"]);
  });
  it("no link and no 【】 in a value", () => {
    expect(rules(content({ name: "王伟", coupon: "https://t.cn/x" }))).toEqual(["sms.param.url params.coupon"]);
    expect(rules(content({ name: "王伟", coupon: "see www.example.com" }))).toEqual(["sms.param.url params.coupon"]);
    expect(rules(content({ name: "【王伟】", coupon: "x" }))).toEqual(["sms.param.brackets params.name"]);
  });
  it("the sign has 2–12 characters and the whole message at most 500", () => {
    expect(rules(content({ name: "王", coupon: "x" }, "示"))).toEqual(["sms.sign.length sign"]);
    expect(rules(content({ name: "王", coupon: "x" }, "一二三四五六七八九十一二三"))).toEqual(["sms.sign.length sign"]);
    const long: SmsContent = { kind: "sms", sign: "示例广场", code: "SMS_1", params: {}, text: "长".repeat(495) };
    expect(rules(long)).toEqual(["sms.length text"]);
  });
  it("problem messages do not quote member values (the simulation aggregates them)", () => {
    const p = checkRendered(content({ name: "王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟王伟", coupon: "x" }));
    expect(p[0]!.message).toBe("`params.name` is longer than 35 characters");
  });
});
