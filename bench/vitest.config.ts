import { defineConfig } from "vitest/config";

// `npm run bench`: figures and ratios printed to the console, never timed assertions.
export default defineConfig({
  test: {
    include: ["bench/**/*.bench-run.ts"],
    testTimeout: 3_600_000,
    hookTimeout: 3_600_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["default"],
    silent: false,
  },
});
