import { describe, expect, it } from "vitest";
import { maskDeep, maskPhone, maskPhonesIn } from "./mask.js";

describe("maskPhonesIn", () => {
  it("masks mainland mobiles with or without +86, 86 or 0086, and with spaces or dashes", () => {
    expect(maskPhonesIn("13812341234")).toBe("138****1234");
    expect(maskPhonesIn("+8613812341234")).toBe("+86138****1234");
    expect(maskPhonesIn("8613812341234")).toBe("86138****1234");
    expect(maskPhonesIn("008613812341234")).toBe("0086138****1234");
    expect(maskPhonesIn("+86 138 1234 1234")).toBe("+86 138 **** 1234");
    expect(maskPhonesIn("+86-138-1234-1234")).toBe("+86-138-****-1234");
    expect(maskPhonesIn("call 138-1234-1234 or 13912345678.")).toBe("call 138-****-1234 or 139****5678.");
    expect(maskPhonesIn("member_13812341234")).toBe("member_138****1234");
  });

  it("leaves other numbers alone", () => {
    for (const s of ["M000001", "12812341234", "1381234123", "138123412345", "2026-12-24T02:30:00.000Z", "1764583200000", "¥1,234.50"])
      expect(maskPhonesIn(s)).toBe(s);
  });
});

describe("maskPhone (a phone field)", () => {
  it("masks a mobile as maskPhonesIn does, and any other number but its first 3 and last 4 digits", () => {
    expect(maskPhone("+8613812341234")).toBe("+86138****1234");
    expect(maskPhone("010-6512-3456")).toBe("010-****-3456");
    expect(maskPhone("021 5123 4567 8")).toBe("021 **** *567 8");
    expect(maskPhone("123")).toBe("***");
  });
});

describe("maskDeep", () => {
  it("masks every string of a JSON result, keys and numbers untouched", () => {
    const v = { member: "+8613812341234", n: 13812341234, list: [{ address: "86 138 1234 1234" }], "13812341234": null };
    expect(maskDeep(v)).toEqual({ member: "+86138****1234", n: 13812341234, list: [{ address: "86 138 **** 1234" }], "13812341234": null });
  });
});
