import { describe, expect, it } from "vitest";
import { testProject } from "../check/test-support.js";
import type { FieldType } from "../project/types.js";
import type { Analysis } from "./analysis.js";
import { complete } from "./complete.js";

const project = testProject((p) => {
  p.events = new Map([["purchase", new Map<string, FieldType>([["amount", { kind: "number" }]])]]);
});
const a = { project } as unknown as Analysis;
const labels = (text: string) => complete(a, text.length, text).map((c) => c.label);

describe("completion of business events", () => {
  it('offers `event "purchase"` after `trigger on` and `after`, the name inside the quotes', () => {
    expect(labels("campaign c {\n  trigger on ")).toContain('event "purchase"');
    expect(labels("campaign c {\n  trigger 2 hours after ")).toContain('event "purchase"');
    expect(labels("campaign c {\n  trigger 2 hours before ")).not.toContain('event "purchase"');
    expect(labels('campaign c {\n  trigger on event "pu')).toEqual(["purchase"]);
  });
});
