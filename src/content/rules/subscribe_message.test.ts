import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadTemplates } from "../load.js";
import { checkRendered, checkSection } from "./index.js";
import { consumesConsent } from "./subscribe_message.js";

const root = fileURLToPath(new URL("../../../test/fixtures/content", import.meta.url));

describe("subscribe messages", () => {
  it("bad_subscribe.yaml: state and lang out of range, typed values, unknown prefix (warning)", async () => {
    const { templates } = await loadTemplates(root, ["bad_subscribe"]);
    const d = checkSection(templates.get("bad_subscribe")!, "subscribe_message");
    expect(d.map((x) => `${x.code} ${x.severity} ${x.span.start.line} ${x.message.split(":")[0]}`)).toEqual([
      "CH5037 error 3 `miniprogram_state` must be one of developer, trial, formal",
      "CH5037 error 4 `lang` must be one of zh_CN, en_US, zh_HK, zh_TW",
      "CH5031 error 6 `data.thing1` is longer than 20 characters",
      "CH5062 error 7 `data.amount2` is not a valid `amount` value",
      "CH5062 error 8 `data.time3` is not a valid `time` value",
      "CH5062 error 9 `data.phrase4` is not a valid `phrase` value",
      "CH5063 warning 10 data key `custom5` has no known type prefix, so its value is not checked",
      "CH5062 error 11 `data.letter6` is not a valid `letter` value",
    ]);
  });

  it("checks each rendered value with the rule of its prefix and the rule ids name the prefix", () => {
    const p = checkRendered({
      kind: "subscribe_message",
      template_id: "T",
      miniprogram_state: "formal",
      lang: "zh_CN",
      data: { thing1: "一".repeat(21), date2: "2026-11-30", amount3: "¥50", custom4: "" },
    });
    expect(p.map((x) => `${x.rule} ${x.field}`)).toEqual(["subscribe.thing.length data.thing1", "subscribe.value.empty data.custom4"]);
  });

  it("requires a template_id and data", () => {
    const p = checkRendered({ kind: "subscribe_message", template_id: "", data: {} });
    expect(p.map((x) => x.rule)).toEqual(["subscribe.template_id.required", "subscribe.data.empty"]);
  });

  it("each send consumes the member's one-time consent", () => {
    expect(consumesConsent).toBe(true);
  });
});
