// Lint: ESLint's and typescript-eslint's recommended rules, plus the type-aware rules about promises (a promise
// nobody awaits, one passed where a plain value is expected, an await of something that is not one); layout is Prettier's job.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "demo-out/", "bench/data/", "test/output/", "editors/**/out/", "editors/**/dist/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        URL: "readonly",
        TextDecoder: "readonly",
        TextEncoder: "readonly",
        AbortController: "readonly",
        performance: "readonly",
        structuredClone: "readonly",
        queueMicrotask: "readonly",
        fetch: "readonly",
        globalThis: "readonly",
        window: "readonly",
        document: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "no-control-regex": "off",
      "no-regex-spaces": "off",
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
  // Type-aware, for every TypeScript file: the ledger is asynchronous, and a ledger call left without `await` would let a
  // provider call leave before its send is recorded; the same holds for any promise nobody awaits.
  {
    files: ["src/**/*.ts", "src/**/*.tsx", "test/**/*.ts", "bench/**/*.ts", "vitest.config.ts", "editors/vscode/src/**/*.ts"],
    languageOptions: {
      parserOptions: { project: ["./tsconfig.check.json", "./editors/vscode/tsconfig.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
);
