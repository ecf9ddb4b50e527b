import { describe, expect, it } from "vitest";
import { formatYuan, roundYuan, yuanDecimal } from "./money.js";

describe("money", () => {
  it("rounds half away from zero on the decimal value, not on the float", () => {
    // Each of these floats lies a hair below the decimal it is written as.
    expect(roundYuan(0.585)).toBe(0.59);
    expect(roundYuan(1.005)).toBe(1.01);
    expect(roundYuan(2.675)).toBe(2.68);
    expect(roundYuan(-0.585)).toBe(-0.59);
    expect(roundYuan(0.58499)).toBe(0.58);
    expect(roundYuan(0.1 + 0.2)).toBe(0.3);
  });

  it("formats the same rounding for text, HTML and JSON", () => {
    expect(formatYuan(0.585)).toBe("¥0.59");
    expect(formatYuan(1234567.895)).toBe("¥1,234,567.90");
    expect(formatYuan(null)).toBe("–");
    expect(yuanDecimal(1.005)).toBe("1.01");
    expect(yuanDecimal(0)).toBe("0.00");
  });
});
