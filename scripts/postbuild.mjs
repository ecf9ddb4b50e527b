// After tsc: stamps the version from package.json, then bundles the CLI into dist/cli/chuda.js with esbuild,
// started by dist/cli/main.js (the bin).
// Why a bundle: Node resolves, stats and compiles every module file one by one — over a thousand for chuda's
// dependencies (lodash-es alone is hundreds) — which cost each command about 0.6 s before it did anything.
// Native modules (DuckDB, SQLite) and the terminal UI (Ink, React: loaded only on a terminal) stay outside.
// The render worker is a second entry next to main.js, where the render pool looks for it; shared code is
// split into chunks in the same folder, so that `new URL("./render-worker.js", import.meta.url)` holds in any.
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
writeFileSync("dist/cli/version.js", `export const VERSION = ${JSON.stringify(pkg.version)};\n`);

const out = "dist/cli";
// tsc's entry is kept as main.tsc.js: bundling again (postbuild run twice) starts from it, never from a bundle.
if (!readFileSync(path.join(out, "main.js"), "utf8").includes("// chuda bundle")) renameSync(path.join(out, "main.js"), path.join(out, "main.tsc.js"));
for (const f of readdirSync(out)) if (/^(chunk-|render-worker\.js|chuda\.js)/.test(f) || f === "main.js.map") rmSync(path.join(out, f));
if (!existsSync(path.join(out, "main.tsc.js"))) throw new Error("dist/cli/main.tsc.js is missing: run tsc first");
writeFileSync(path.join(out, "render-worker.tsc.js"), `import "../plan/render-worker.js";\n`);

await build({
  entryPoints: { chuda: path.join(out, "main.tsc.js"), "render-worker": path.join(out, "render-worker.tsc.js") },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  chunkNames: "chunk-[hash]",
  sourcemap: true,
  external: ["@duckdb/*", "better-sqlite3", "ink", "ink-*", "react", "react/*", "react-dom", "playwright-core"],
  // Bundled CommonJS (Handlebars, …) calls require(): give every output file one.
  banner: { js: "// chuda bundle\nimport { createRequire as __chudaRequire } from 'node:module';\nconst require = __chudaRequire(import.meta.url);" },
  logLevel: "warning",
});
// The bin: settings that must be in place before DuckDB's library loads (src/cli/allocator.ts), then the bundle,
// whose own imports (DuckDB among them) are evaluated before any of its code.
writeFileSync(path.join(out, "main.js"), `#!/usr/bin/env node\n// chuda bundle launcher\nimport "./allocator.js";\nimport("./chuda.js");\n`);
chmodSync(path.join(out, "main.js"), 0o755);
