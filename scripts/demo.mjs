// `npm run demo`: the main job on the example repository — validate, show the calendar, generate a sample
// snapshot, simulate the coming month, run the repository's campaign tests. Never needs the network.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";

const bin = ["dist/cli/main.js"];
const run = (args, { allowFail = false } = {}) => {
  console.log(`\n$ chuda ${args.join(" ")}`);
  const r = spawnSync(process.execPath, [...bin, ...args], { stdio: "inherit", env: { ...process.env } });
  if (r.status !== 0 && !allowFail) {
    console.error(`\ndemo step failed: chuda ${args.join(" ")} (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  return r.status;
};

mkdirSync("demo-out", { recursive: true });
run(["validate"]);
run(["fmt", "--check"]);
run(["calendar"]);
if (!existsSync("demo-out/members.csv")) run(["sample-members", "--count", "20000", "--seed", "7", "--out", "demo-out/members.csv"]);
run(["simulate", "--members", "demo-out/members.csv", "--report", "demo-out/report.html", "--plan", "demo-out/plan.csv"]);
if (existsSync("tests")) run(["test"]);
console.log("\nDemo done: demo-out/report.html is the simulation report (open it in a browser, offline); demo-out/plan.csv the member-level plan.");
