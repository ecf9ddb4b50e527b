import { describe, expect, it } from "vitest";
import { MESSAGE_TABLES } from "./messages/index.js";

describe("the message table", () => {
  it("has unique codes and keys across every stage", () => {
    const codes = new Map<string, string>();
    const keys = new Set<string>();
    for (const [stage, table] of Object.entries(MESSAGE_TABLES)) {
      for (const [key, def] of Object.entries(table)) {
        expect(keys.has(key), `key ${key} in ${stage} is also used elsewhere`).toBe(false);
        keys.add(key);
        expect(codes.get(def.code), `code ${def.code} of ${stage}.${key}`).toBeUndefined();
        codes.set(def.code, `${stage}.${key}`);
        expect(def.code).toMatch(/^CH\d{4}$/);
        expect(def.description.length).toBeGreaterThan(0);
      }
    }
    expect(codes.size).toBeGreaterThan(0);
  });
});
