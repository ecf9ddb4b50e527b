import { describe, expect, it } from "vitest";
import { parseProject } from "./index.js";

const BASE = `members:\n  key: id\n  fields: { id: string, mobile: phone }\nchannels:\n  sms: { driver: aliyun-sms, address: mobile, rates: { delivered: 0.9 } }\n`;
const load = (extra: string) => parseProject(BASE + extra, "/p/chuda.yaml", "/p");
const codes = (extra: string) => load(extra).diagnostics.map((d) => d.code);

describe("serve: and rates: in chuda.yaml", () => {
  it("defaults: any source, the usual opt-out words, SMS channels only, configured rates", () => {
    const p = load("").project!;
    expect(p.serve).toEqual({ allowFrom: [], optOutWords: ["TD", "T", "R", "退订", "拒收"], optOutScope: "sms" });
    expect(p.rates).toBe("configured");
  });

  it("reads addresses and blocks, words, the scope and `rates: observed`", () => {
    const p = load(
      "serve: { allow_from: [203.0.113.7, 10.0.0.0/8, '2001:db8::/32'], opt_out_words: [STOP, 退订], opt_out_scope: all }\nrates: observed\n",
    ).project!;
    expect(p.serve).toEqual({ allowFrom: ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"], optOutWords: ["STOP", "退订"], optOutScope: "all" });
    expect(p.rates).toBe("observed");
  });

  it("reports bad values with their codes", () => {
    expect(codes("serve: { allow_from: [300.1.1.1, 10.0.0.0/33, example.com] }\n")).toEqual(["CH2070", "CH2070", "CH2070"]);
    expect(codes("serve: { opt_out_scope: wechat }\n")).toEqual(["CH2071"]);
    expect(codes("serve: { opt_out_words: ['  '] }\n")).toEqual(["CH2072"]);
    expect(codes("rates: guessed\n")).toEqual(["CH2073"]);
    expect(codes("serve: { allow: [] }\n")).toEqual(["CH2005"]);
  });
});
