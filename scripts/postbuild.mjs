// Makes the bin executable and stamps the version from package.json.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
writeFileSync("dist/cli/version.js", `export const VERSION = ${JSON.stringify(pkg.version)};\n`);
chmodSync("dist/cli/main.js", 0o755);
