// Builds the extension for packaging: the client bundled with esbuild (vscode-languageclient inside, `vscode`
// provided by the editor), and the repository's TextMate grammar copied next to the manifest.
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
mkdirSync(path.join(here, "syntaxes"), { recursive: true });
copyFileSync(path.join(here, "../../grammar/chuda.tmLanguage.json"), path.join(here, "syntaxes/chuda.tmLanguage.json"));
await build({
  entryPoints: [path.join(here, "src/extension.ts")],
  outfile: path.join(here, "dist/extension.js"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  external: ["vscode"],
  minify: true,
  logLevel: "warning",
});
