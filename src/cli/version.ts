// Replaced at build time by scripts/postbuild.mjs with the version of package.json.
export const VERSION = "0.0.0-dev";
