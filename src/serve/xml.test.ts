import { describe, expect, it } from "vitest";
import { parseXml, XmlError } from "./xml.js";

describe("parseXml", () => {
  it("reads WeChat's flat events, CDATA and entities", () => {
    expect(
      parseXml(
        `<?xml version="1.0"?><xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1700000000</CreateTime><Status><![CDATA[failed:user block]]></Status><Note>a &amp; b</Note></xml>`,
      ),
    ).toEqual({
      ToUserName: "gh_1",
      CreateTime: "1700000000",
      Status: "failed:user block",
      Note: "a & b",
    });
  });

  it("makes a repeated element a list (mini-program List items)", () => {
    const one = parseXml(`<xml><SubscribeMsgPopupEvent><List><TemplateId>t1</TemplateId></List></SubscribeMsgPopupEvent></xml>`);
    expect(one).toEqual({ SubscribeMsgPopupEvent: { List: { TemplateId: "t1" } } });
    const two = parseXml(
      `<xml><SubscribeMsgPopupEvent><List><TemplateId>t1</TemplateId></List><List><TemplateId>t2</TemplateId></List></SubscribeMsgPopupEvent></xml>`,
    );
    expect(two).toEqual({ SubscribeMsgPopupEvent: { List: [{ TemplateId: "t1" }, { TemplateId: "t2" }] } });
  });

  it("refuses malformed documents", () => {
    for (const bad of [
      "",
      "<xml>",
      "<xml><a></b></xml>",
      "<xml></xml>trailing",
      "<xml><a><![CDATA[x</a></xml>",
      "not xml",
      "<xml>" + "<a>".repeat(40) + "</xml>",
    ])
      expect(() => parseXml(bad), bad).toThrow(XmlError);
  });
});
