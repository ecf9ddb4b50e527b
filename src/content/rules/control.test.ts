import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { loadTemplates } from "../load.js";
import { renderContent } from "../render.js";
import type { Template } from "../types.js";

const root = fileURLToPath(new URL("../../../test/fixtures/content", import.meta.url));
let good: Template;
beforeAll(async () => {
  good = (await loadTemplates(root, ["good"])).templates.get("good")!;
});

describe("control characters in rendered content", () => {
  for (const name of ["王\u001b]52;c;ZXZpbA==\u0007伟", "王\u001b[2J伟", "王\u0000伟", "王\u009b2J伟"]) {
    it(`are refused in every channel: ${JSON.stringify(name)}`, () => {
      for (const kind of good.sections.keys()) {
        const r = renderContent(good, kind, { name, coupon: "BDAY50", amount: 50, expire_at: "2026-11-30", tier: "gold" });
        const errors = r.problems.filter((p) => p.severity === "error");
        expect(errors.length, kind).toBeGreaterThan(0);
        expect(
          errors.every((p) => /control character|line break/.test(p.message)),
          JSON.stringify(errors),
        ).toBe(true);
      }
    });
  }

  it("names the field and the character by code point", () => {
    const r = renderContent(good, "wecom", { name: "王\u001b[2J伟", coupon: "BDAY50", amount: 50, expire_at: "2026-11-30", tier: "gold" });
    expect(r.problems.map((p) => p.message)).toContainEqual(expect.stringMatching(/^`text` contains the control character <U\+001B>$/));
  });

  it("line breaks and tabs where a channel allows them are not control characters", () => {
    const r = renderContent(good, "wecom", { name: "王\t伟", coupon: "BDAY50", amount: 50, expire_at: "2026-11-30", tier: "gold" });
    expect(r.problems.filter((p) => p.severity === "error")).toEqual([]);
  });
});
