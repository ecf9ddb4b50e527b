import { defaultServeConfig } from "./serve.js";
import { describe, expect, it } from "vitest";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { parseProject } from "./load.js";

const BASE = `members:
  key: member_id
  fields:
    member_id: string
    tier: { enum: [normal, gold] }
    mobile: phone
channels:
  sms: { driver: file, address: mobile }
`;

/** Errors only: the base project's warnings (no policy) are not this file's business. */
const parse = (extra: string) => {
  const r = parseProject(BASE + extra, "/repo/chuda.yaml", "/repo");
  return { ...r, diagnostics: r.diagnostics.filter((d) => d.severity === "error") };
};

describe("chuda.yaml events: and serve:", () => {
  it("reads event names with typed properties (an event may have none)", () => {
    const r = parse("events:\n  purchase: { amount: number, store: string, tier: { enum: [a, b] } }\n  registration:\n");
    expect(r.diagnostics).toEqual([]);
    expect([...r.project!.events!.keys()]).toEqual(["purchase", "registration"]);
    expect([...r.project!.events!.get("purchase")!]).toEqual([
      ["amount", { kind: "number" }],
      ["store", { kind: "string" }],
      ["tier", { kind: "enum", values: ["a", "b"] }],
    ]);
    expect(r.project!.events!.get("registration")!.size).toBe(0);
  });
  it("reports a bad property type and a non-mapping event at their lines", () => {
    const r = parse("events:\n  purchase: { amount: numbr }\n  visit: 3\n");
    expect(r.diagnostics.map((d) => [d.code, d.span.start.line])).toEqual([
      [MESSAGES.projectBadFieldType.code, 10],
      [MESSAGES.projectEventProps.code, 11],
    ]);
  });
  it("reads serve.events_token_env and serve.public_url (without its trailing slash)", () => {
    const r = parse("serve: { events_token_env: CHUDA_EVENTS_TOKEN, public_url: 'https://go.example.com/' }\n");
    expect(r.diagnostics).toEqual([]);
    // The rest of `serve:` (callbacks, opt-outs) keeps its defaults.
    expect(r.project!.serve).toEqual({ ...defaultServeConfig(), eventsTokenEnv: "CHUDA_EVENTS_TOKEN", publicUrl: "https://go.example.com" });
  });
  it("refuses a token in place of a variable name, and a URL with a query", () => {
    const r = parse("serve: { events_token_env: 'sk-123/abc', public_url: 'https://go.example.com/?a=1' }\n");
    expect(r.diagnostics.map((d) => d.code)).toEqual([MESSAGES.projectEventsTokenEnv.code, MESSAGES.projectPublicUrl.code]);
  });
});
