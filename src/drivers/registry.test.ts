import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { driverShapeProblem, loadDriver, resolvePackage } from "./registry.js";
import { BUILTIN_DRIVERS, DRIVER_CONTENT_KIND } from "../project/types.js";

const root = mkdtempSync(path.join(os.tmpdir(), "chuda-registry-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const GOOD = `export default {
  name: "echo",
  contentKind: "webhook",
  batchLimit: 10,
  secrets: ["token"],
  create(ctx) {
    return {
      async send(batch) { return batch.map(() => ({ status: "sent", providerId: ctx.channel })); },
      async close() {},
    };
  },
};
`;

describe("driver registry", () => {
  it("loads every built-in with its declared content kind", async () => {
    for (const name of BUILTIN_DRIVERS) {
      const r = await loadDriver(name, root);
      expect(r.error, name).toBeUndefined();
      expect(r.driver!.name).toBe(name);
      expect(r.driver!.contentKind).toBe(DRIVER_CONTENT_KIND[name]);
      expect(driverShapeProblem(r.driver)).toBeUndefined();
    }
  });

  it("loads a third-party driver from a path relative to the project root, and it works", async () => {
    mkdirSync(path.join(root, "drivers"), { recursive: true });
    writeFileSync(path.join(root, "drivers/echo.mjs"), GOOD);
    const r = await loadDriver("./drivers/echo.mjs", root);
    expect(r.error).toBeUndefined();
    expect(r.driver!.name).toBe("echo");
    const inst = r.driver!.create({ channel: "hook", secrets: {}, options: {}, now: Date.now, timeoutMs: 1000, root });
    const out = await inst.send([
      { key: "k", dedupeId: "d", campaign: "c", occurrence: "o", member: "m", channel: "hook", address: "a", content: { kind: "webhook", body: {} } },
    ]);
    expect(out).toEqual([{ status: "sent", providerId: "hook" }]);
  });

  it("loads npm:<package> from the project's node_modules (ESM exports and CommonJS)", async () => {
    const esm = path.join(root, "node_modules/chuda-driver-echo");
    mkdirSync(path.join(esm, "dist"), { recursive: true });
    writeFileSync(
      path.join(esm, "package.json"),
      JSON.stringify({ name: "chuda-driver-echo", type: "module", exports: { ".": { import: "./dist/index.js" } } }),
    );
    writeFileSync(path.join(esm, "dist/index.js"), GOOD);
    expect(resolvePackage("chuda-driver-echo", path.join(root, "sub"))).toBe(path.join(esm, "dist/index.js"));
    const a = await loadDriver("npm:chuda-driver-echo", root);
    expect(a.error).toBeUndefined();
    expect(a.driver!.name).toBe("echo");

    const cjs = path.join(root, "node_modules/@mall/chuda-cjs");
    mkdirSync(cjs, { recursive: true });
    writeFileSync(path.join(cjs, "package.json"), JSON.stringify({ name: "@mall/chuda-cjs", main: "main.cjs" }));
    writeFileSync(
      path.join(cjs, "main.cjs"),
      `exports.default = { name: "cjs", contentKind: "file", batchLimit: 1, secrets: [], create() { return { async send(b) { return b.map(() => ({ status: "sent" })); }, async close() {} }; } };`,
    );
    const b = await loadDriver("npm:@mall/chuda-cjs", root);
    expect(b.error).toBeUndefined();
    expect(b.driver!.name).toBe("cjs");
  });

  it("rejects bad modules and unknown names with clear errors", async () => {
    writeFileSync(path.join(root, "drivers/nocreate.mjs"), `export default { name: "x", contentKind: "sms", batchLimit: 5, secrets: [] };`);
    writeFileSync(path.join(root, "drivers/badkind.mjs"), `export default { name: "x", contentKind: "fax", batchLimit: 5, secrets: [], create() {} };`);
    writeFileSync(path.join(root, "drivers/syntax.mjs"), `export default {`);
    writeFileSync(path.join(root, "drivers/badpaced.mjs"), GOOD.replace("batchLimit: 10,", 'batchLimit: 10, paced: "yes",'));
    writeFileSync(path.join(root, "drivers/nothing.mjs"), `export const x = 1;`);
    expect((await loadDriver("./drivers/nocreate.mjs", root)).error).toMatch(/is not a chuda driver: `create` must be a function/);
    expect((await loadDriver("./drivers/badkind.mjs", root)).error).toMatch(/`contentKind` must be one of/);
    expect((await loadDriver("./drivers/syntax.mjs", root)).error).toMatch(/could not be loaded/);
    expect((await loadDriver("./drivers/badpaced.mjs", root)).error).toMatch(/`paced` must be a boolean when given/);
    expect((await loadDriver("./drivers/nothing.mjs", root)).error).toMatch(/not a chuda driver/);
    expect((await loadDriver("./drivers/missing.mjs", root)).error).toMatch(/no file at drivers\/missing\.mjs/);
    expect((await loadDriver("npm:not-installed-anywhere-xyz", root)).error).toMatch(/is not installed/);
    expect((await loadDriver("npm:Bad Name!", root)).error).toMatch(/is not a package name/);
    const unknown = await loadDriver("smtp", root);
    expect(unknown.driver).toBeUndefined();
    expect(unknown.error).toMatch(/unknown driver "smtp": built-in drivers are wecom, aliyun-sms/);
  });
});
