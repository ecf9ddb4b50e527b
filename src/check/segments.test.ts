import { describe, expect, it } from "vitest";
import { campaign, check, checkFiles, summary } from "./test-support.js";

describe("segments", () => {
  it("inlines a segment's IR where it is used, through other segments", () => {
    const r = check(`segment rich = spend_12m >= 5000\nsegment vip = rich and tier >= gold\n${campaign({ audience: "vip and not unsubscribed" })}`);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(r.campaigns[0]!.audience).toEqual({
      op: "and",
      args: [
        { op: "cmp", cmp: ">=", left: { v: "field", name: "spend_12m", type: { kind: "number" } }, right: { v: "lit", value: 5000, type: { kind: "number" } } },
        { op: "cmp", cmp: ">=", left: { v: "field", name: "tier", type: expect.anything() }, right: { v: "lit", value: "gold", type: expect.anything() } },
        { op: "not", arg: { op: "truthy", value: { v: "field", name: "unsubscribed", type: { kind: "bool" } } } },
      ],
    });
  });

  it("resolves segments across files, in any order", () => {
    const r = checkFiles({
      "campaigns/b.chuda": campaign({ audience: "dormant" }),
      "campaigns/segments/a.chuda": "segment dormant = days_since(last_purchase_at) >= 180\n",
    });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(r.campaigns[0]!.audience).toMatchObject({ op: "cmp", left: { v: "call", fn: "days_since" } });
  });

  it("reports a cycle once at each segment in it, with its path", () => {
    const r = check(`segment a = b and points > 1\nsegment b = a\nsegment c = b\n${campaign({ audience: "c" }, "uses_c")}`);
    expect(r.diagnostics.filter((d) => d.severity === "error").map(summary)).toEqual([
      "CH3002 1:9 segment `a` is defined in terms of itself: a → b → a",
      "CH3002 2:9 segment `b` is defined in terms of itself: b → a → b",
    ]);
    expect(r.campaigns).toEqual([]);
  });

  it("reports a segment that refers to itself", () => {
    const r = check("segment a = a or points > 1\n");
    expect(r.diagnostics.map(summary)).toEqual(["CH3002 1:9 segment `a` is defined in terms of itself: a → a"]);
  });

  it("reports an error inside a segment once, however often it is used", () => {
    const r = check(`segment s = teir >= gold\n${campaign({ audience: "s" }, "one")}${campaign({ audience: "s and sms_opt_in" }, "two")}`);
    expect(r.diagnostics.filter((d) => d.severity === "error").map(summary)).toEqual(["CH3010 1:13 unknown name `teir`: not a member field or a segment"]);
    expect(r.campaigns).toEqual([]);
  });

  it("reports a segment that is not a condition", () => {
    const r = check("segment s = points + 1\n");
    expect(r.diagnostics.map(summary)).toEqual(["CH3004 1:13 segment `s` must be a condition, found `points + 1` (number)"]);
  });

  it("reports a segment named like a member field", () => {
    const r = check("segment tier = points > 1\n");
    expect(r.diagnostics.map(summary)).toEqual(["CH3003 1:9 segment `tier` has the name of a member field, so `tier` in an expression always means the field"]);
  });

  it("reports a segment compared like a value", () => {
    const r = check(`segment s = points > 1\n${campaign({ audience: "s == true" })}`);
    expect(r.diagnostics.filter((d) => d.severity === "error").map(summary)).toEqual(["CH3027 3:12 a condition cannot be compared: `s`"]);
  });
});

describe("one namespace", () => {
  it("reports a duplicate name across files, naming both places", () => {
    const r = checkFiles({ "campaigns/a.chuda": "segment vip = tier >= gold\n", "campaigns/b.chuda": campaign({}, "vip") });
    const d = r.diagnostics.filter((d) => d.code === "CH3001");
    expect(d.map(summary)).toEqual(["CH3001 1:10 the name `vip` is already used by a segment at campaigns/a.chuda:1:9"]);
    expect(d[0]!.span.file).toBe("campaigns/b.chuda");
    expect(d[0]!.related).toEqual([
      {
        span: expect.objectContaining({ file: "campaigns/a.chuda", start: expect.objectContaining({ line: 1, column: 9 }) }),
        message: "`vip` is first defined here (campaigns/a.chuda:1:9), as a segment",
      },
    ]);
  });

  it("reports a duplicate in the file introduced later, whatever the files' names", () => {
    const files = { "campaigns/a_new.chuda": campaign({}, "vip"), "campaigns/b_old.chuda": campaign({}, "vip") };
    const r = checkFiles(files, undefined, undefined, { introduced: ["campaigns/b_old.chuda", "campaigns/a_new.chuda"] });
    const d = r.diagnostics.filter((d) => d.code === "CH3001");
    expect(d.map((x) => x.span.file)).toEqual(["campaigns/a_new.chuda"]);
    expect(d[0]!.message).toBe("the name `vip` is already used by a campaign at campaigns/b_old.chuda:1:10");
  });

  it("reports a duplicate campaign and resolves only the first", () => {
    const r = check(campaign({}, "x") + campaign({}, "x"));
    expect(r.diagnostics.filter((d) => d.severity === "error").map(summary)).toEqual([
      "CH3001 8:10 the name `x` is already used by a campaign at campaigns/a.chuda:1:10",
    ]);
    expect(r.campaigns.map((c) => c.name)).toEqual(["x"]);
  });
});

describe("segment chains", () => {
  it("refuses a chain of segments deeper than an expression may be, once, at its first segment", () => {
    const chain = Array.from({ length: 1127 }, (_, i) => `segment s${i} = ${i === 1126 ? "unsubscribed" : `s${i + 1}`}\n`).join("");
    const r = check(`${chain}${campaign({ audience: "s0" })}`);
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((d) => d.code === "CH3090")).toBe(true);
    expect(summary(errors[0]!)).toBe("CH3090 1:9 segment `s0` is too deep with the segments it uses inlined: more than 200 levels (s0 → s1 → … → s200)");
    expect(r.campaigns).toEqual([]);
  });

  it("accepts a chain within the limit", () => {
    const chain = Array.from({ length: 90 }, (_, i) => `segment s${i} = ${i === 89 ? "unsubscribed" : `s${i + 1} and points > ${i}`}\n`).join("");
    const r = check(`${chain}${campaign({ audience: "s0" })}`);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(r.campaigns).toHaveLength(1);
  });
});

describe("literal bounds", () => {
  const errors = (audience: string) =>
    check(campaign({ audience }))
      .diagnostics.filter((d) => d.severity === "error")
      .map(summary);

  it("refuses the year 0", () => {
    expect(errors("birthday > 0000-12-31").map((s) => s.split(" ")[0])).toEqual(["CH3024"]);
  });

  it("accepts the largest of each", () => {
    expect(errors("days_since(birthday) <= 9007199254740991")).toEqual([]);
    expect(errors("birthday > today - 3652425 days and birthday < today + 10000 years and birthday > 0001-01-01")).toEqual([]);
  });
});
