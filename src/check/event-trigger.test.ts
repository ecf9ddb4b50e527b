import { describe, expect, it } from "vitest";
import { formatFile, parseFile } from "../language/index.js";
import type { Project } from "../project/types.js";
import { campaign, check, purchaseAndRegistration, summary, testProject } from "./test-support.js";

const withEvents = () =>
  testProject((p: Project) => {
    p.events = purchaseAndRegistration();
  });

function run(over: Parameters<typeof campaign>[0], project = withEvents()) {
  const r = check(campaign(over), project);
  return { r, diags: r.diagnostics.map(summary), c: r.campaigns[0] };
}

describe("event triggers", () => {
  it("resolves `on event` and `at most once per`, which becomes the campaign's repeat", () => {
    const { c, diags } = run({ trigger: 'on event "purchase" at most once per 7 days' });
    expect(diags).toEqual([]);
    expect(c?.trigger).toEqual({ kind: "business_event", event: "purchase", atMostOncePer: { amount: 7, unit: "day" }, time: 600 });
    expect(c?.repeat).toEqual({ kind: "after", duration: { amount: 7, unit: "day" } });
  });
  it("resolves `<N> <unit> after event`", () => {
    const { c } = run({ trigger: '2 hours after event "registration"' });
    expect(c?.trigger).toEqual({ kind: "business_event", event: "registration", offset: { amount: 2, unit: "hour" }, time: 600 });
    expect(c?.repeat).toEqual({ kind: "per_occurrence" });
  });
  it("reports an event chuda.yaml does not declare, with a suggestion", () => {
    const { r, diags } = run({ trigger: 'on event "purchse"' });
    expect(diags).toEqual(["CH3100 3:14 unknown event `purchse`: not declared under `events:` in chuda.yaml"]);
    expect(r.diagnostics[0]!.help).toBe("did you mean `purchase`?");
  });
  it("refuses `before event`", () => {
    expect(run({ trigger: '3 days before event "purchase"' }).diags).toEqual([
      "CH3103 3:11 a campaign cannot fire before event `purchase`: it is known only once it has happened",
    ]);
  });
  it("refuses both `at most once per` and `repeat`", () => {
    const { diags } = run({ trigger: 'on event "purchase" at most once per 1 day', extra: "repeat after 3 days" });
    expect(diags).toEqual(["CH3105 7:3 campaign `c` has both `at most once per` and `repeat`: they say the same thing"]);
  });
  it("types `event.<prop>` in the audience by the events schema", () => {
    const ok = run({ trigger: 'on event "purchase"', audience: 'event.amount >= 200 and event.store == "A1"' });
    expect(ok.diags).toEqual([]);
    expect(ok.c?.audience).toEqual({
      op: "and",
      args: [
        {
          op: "cmp",
          cmp: ">=",
          left: { v: "event_prop", name: "amount", type: { kind: "number" } },
          right: { v: "lit", value: 200, type: { kind: "number" } },
        },
        {
          op: "cmp",
          cmp: "==",
          left: { v: "event_prop", name: "store", type: { kind: "string" } },
          right: { v: "lit", value: "A1", type: { kind: "string" } },
        },
      ],
    });
  });
  it("reports an unknown property with a suggestion, and a type mismatch", () => {
    const unknown = run({ trigger: 'on event "purchase"', audience: "event.amout > 1" });
    expect(unknown.diags).toEqual(["CH3102 2:18 event `purchase` has no property `amout`"]);
    expect(unknown.r.diagnostics[0]!.help).toBe("did you mean `amount`?");
    const mismatch = run({ trigger: 'on event "purchase"', audience: 'event.amount == "big"' });
    expect(mismatch.diags.length).toBe(1);
    expect(mismatch.diags[0]).toMatch(/^CH30\d\d 2:12 .*`event.amount`/);
  });
  it("reports `event.<prop>` in a campaign not triggered by an event", () => {
    expect(run({ audience: "event.amount > 1" }).diags).toEqual([
      "CH3101 2:12 `event.amount` is only known in the audience of a campaign triggered by an event",
    ]);
  });
});

describe("event triggers: syntax and formatting", () => {
  it("formats the event forms canonically", () => {
    const text =
      'campaign c {\n  audience   event.amount>=200\n  trigger on   event "purchase"   at most once per 7 days\n  content "x"\n  channel sms\n}\ncampaign d {\n  audience tier >= gold\n  trigger 30 minutes after event "registration"\n  content "x"\n  channel sms\n}\n';
    const { text: out, diagnostics } = formatFile(text, "a.chuda");
    expect(diagnostics).toEqual([]);
    expect(out).toContain('trigger  on event "purchase" at most once per 7 days');
    expect(out).toContain("audience event.amount >= 200");
    expect(out).toContain('trigger  30 minutes after event "registration"');
  });
  it("rejects `at <time>` after an event and `at most` without `once per`", () => {
    expect(parseFile('campaign c { trigger on event "purchase" at 10:00 }', "a.chuda").diagnostics.length).toBeGreaterThan(0);
    expect(parseFile('campaign c { trigger on event "purchase" at most 7 days }', "a.chuda").diagnostics.length).toBeGreaterThan(0);
  });
});
