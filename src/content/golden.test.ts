/**
 * Golden files: every template of the project's templates/ rendered for a fixed sample member. The accepted
 * output lives in test/fixtures/content/golden/<name>.<kind>.txt; create or update it with UPDATE_GOLDEN=1 and
 * review the diff like code.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTemplates } from "./load.js";
import { previewText } from "./preview.js";
import { renderContent } from "./render.js";
import { expectGolden } from "../../test/golden.js";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const goldenDir = fileURLToPath(new URL("../../test/fixtures/content/golden/", import.meta.url));

/** A fixed member (fields of the sample chuda.yaml) plus typical `with` values. */
export const SAMPLE_VARS: Record<string, unknown> = {
  member_id: "M000123",
  name: "王伟",
  mobile: "13812341234",
  gender: "M",
  birthday: "1990-11-24",
  tier: "gold",
  points: 1280,
  points_expiring: 300,
  points_expire_at: "2026-12-31",
  tier_changed_at: "2026-06-01 10:00:00",
  tier_change: "up",
  registered_at: "2024-03-08 15:30:00",
  last_purchase_at: "2026-05-20 19:12:00",
  spend_12m: 8650.5,
  tags: ["亲子", "餐饮"],
  distance_km: 3.2,
  wecom_external_userid: "wmqfasd1e1927831123109rBAAAA",
  wecom_owner: "zhangsan",
  openid: "oWafF0wSXRWGasOJXUeYxViqXyqo",
  oa_subscribed: true,
  sms_opt_in: true,
  unsubscribed: false,
  coupon: "BDAY50",
  amount: 50,
};

const loaded = await loadTemplates(repo);
const cases = [...loaded.templates.values()].flatMap((t) => [...t.sections.keys()].map((kind) => ({ t, kind })));

describe("golden renderings of templates/*.yaml", () => {
  it("loads the project's templates without errors", () => {
    expect(loaded.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });

  it.each(cases.map((c) => [`${c.t.name}.${c.kind}`, c] as const))("%s", (id, { t, kind }) => {
    const r = renderContent(t, kind, SAMPLE_VARS);
    const actual =
      (r.content ? previewText(r.content, { price: 0.05 }) : "(no content)\n") +
      "--- problems\n" +
      r.problems.map((p) => `${p.severity} ${p.rule} ${p.field}: ${p.message}\n`).join("") +
      "--- content\n" +
      JSON.stringify(r.content ?? null, null, 2) +
      "\n";
    expectGolden(`${goldenDir}${id}.txt`, actual);
  });
});
