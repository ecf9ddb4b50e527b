import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
import { execa } from "execa";
import { REPO } from "./cli.js";
import { serverCommand } from "../../editors/vscode/src/server-command.js";

/** The entries of a zip file (a .vsix is one), read from its central directory. */
function unzip(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nameLen);
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(dataStart, dataStart + size);
    out.set(name, method === 8 ? inflateRawSync(data) : data);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

describe("the VS Code extension", () => {
  it("npm run package:vscode builds a .vsix holding the manifest, the bundled client, the grammar and the language configuration", async () => {
    const r = await execa("npm", ["run", "package:vscode"], { cwd: REPO, reject: false, env: { CI: "true" }, timeout: 180_000 });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const entries = unzip(readFileSync(path.join(REPO, "dist/chuda-vscode.vsix")));
    expect([...entries.keys()]).toEqual(
      expect.arrayContaining([
        "extension.vsixmanifest",
        "extension/package.json",
        "extension/dist/extension.js",
        "extension/syntaxes/chuda.tmLanguage.json",
        "extension/language-configuration.json",
      ]),
    );
    const manifest = JSON.parse(entries.get("extension/package.json")!.toString("utf8"));
    expect(manifest.contributes.languages[0]).toMatchObject({ id: "chuda", extensions: [".chuda"], configuration: "./language-configuration.json" });
    expect(manifest.contributes.grammars[0]).toMatchObject({ language: "chuda", scopeName: "source.chuda", path: "./syntaxes/chuda.tmLanguage.json" });
    // The grammar is the repository's own, and the client is bundled (no node_modules in the package).
    expect(entries.get("extension/syntaxes/chuda.tmLanguage.json")!.toString("utf8")).toBe(
      readFileSync(path.join(REPO, "grammar/chuda.tmLanguage.json"), "utf8"),
    );
    const client = entries.get("extension/dist/extension.js")!.toString("utf8");
    expect(client).toContain("lsp");
    expect(client).not.toMatch(/require\(["']vscode-languageclient/);
    expect([...entries.keys()].some((k) => k.includes("node_modules"))).toBe(false);
    const config = JSON.parse(entries.get("extension/language-configuration.json")!.toString("utf8"));
    expect(config.comments.lineComment).toBe("#");
    expect(config.brackets).toContainEqual(["{", "}"]);
  });

  it("starts the workspace's own chuda when it has one, else chuda on PATH, unless a path is configured", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chuda-ext-"));
    const other = mkdtempSync(path.join(os.tmpdir(), "chuda-ext-"));
    mkdirSync(path.join(dir, "node_modules/.bin"), { recursive: true });
    writeFileSync(path.join(dir, "node_modules/.bin/chuda"), "");
    expect(serverCommand([other, dir], undefined, "linux")).toBe(path.join(dir, "node_modules/.bin/chuda"));
    expect(serverCommand([other], undefined, "linux")).toBe("chuda");
    expect(serverCommand([dir], "/opt/chuda/bin/chuda", "linux")).toBe("/opt/chuda/bin/chuda");
  });
});
