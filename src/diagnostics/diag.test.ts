import { describe, expect, it } from "vitest";
import { diag, runDiag } from "./diag.js";
import { pointSpan } from "./span.js";
import type { MessageDef } from "./types.js";

const def: MessageDef = { code: "CH9999", severity: "error", message: "no campaign named {0}", help: "known campaigns: {1}", description: "test" };

describe("runDiag", () => {
  it("fills message and help from the table entry, with no location", () => {
    expect(runDiag(def, ["birthdya", "birthday, welcome"])).toEqual({
      code: "CH9999",
      severity: "error",
      message: "no campaign named birthdya",
      help: "known campaigns: birthday, welcome",
    });
    expect(runDiag(def, ["x", "y"], { help: "did you mean `z`?" }).help).toBe("did you mean `z`?");
  });

  it("keeps long arguments whole (a file's diagnostic cuts them) and shows invisible characters", () => {
    const many = Array.from({ length: 40 }, (_, i) => `campaign_${i}`).join(", ");
    expect(runDiag(def, ["a\u200bb", many]).help).toBe(`known campaigns: ${many}`);
    expect(runDiag(def, ["a\u200bb", many]).message).toBe("no campaign named a<U+200B>b");
    expect(diag(def, pointSpan("f"), ["x", many]).help!.length).toBeLessThan(100);
  });
});
