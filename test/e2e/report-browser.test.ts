/**
 * The simulation report, opened in headless Chromium (Debian's package, driven by playwright-core): every
 * chart drew, no console error, no network request; a screenshot is kept in test/output/.
 */
import { describe, expect, it } from "vitest";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import { chuda, copyExampleRepo, REPO } from "./cli.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

describe("simulation report in a browser", () => {
  it("draws every chart offline with no console error", async () => {
    // Never skipped: .ci/run installs Debian's chromium; a machine without it fails here, saying so.
    expect(CHROMIUM, "Chromium is not installed: apt-get install chromium (see .ci/run)").toBeDefined();
    const dir = copyExampleRepo();
    const members = path.join(dir, "m.csv");
    expect((await chuda(["sample-members", "--count", "2000", "--seed", "3", "--out", members], { cwd: dir })).exitCode).toBe(0);
    const report = path.join(dir, "report.html");
    const r = await chuda(["simulate", "--members", members, "--from", "2026-12-01", "--to", "2026-12-31", "--report", report], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("request", (req) => !req.url().startsWith("file:") && !req.url().startsWith("data:") && requests.push(req.url()));
      await page.goto("file://" + report);
      await page.waitForFunction(
        () => {
          const c = (window as unknown as { __chuda?: { drawn: string[]; charts: number } }).__chuda;
          return !!c && c.drawn.length === c.charts;
        },
        undefined,
        { timeout: 20_000 },
      );
      const drawn = await page.evaluate(() => (window as unknown as { __chuda: { drawn: string[] } }).__chuda.drawn.sort());
      expect(drawn).toEqual(["cost", "daily", "funnel"]);
      // Each chart painted a canvas of real size.
      const sizes = await page.$$eval(".chart canvas", (cs) => cs.map((c) => (c as HTMLCanvasElement).width * (c as HTMLCanvasElement).height));
      expect(sizes.length).toBeGreaterThanOrEqual(3);
      for (const s of sizes) expect(s).toBeGreaterThan(10_000);
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const out = path.join(REPO, "test/output");
      mkdirSync(out, { recursive: true });
      await page.screenshot({ path: path.join(out, "simulation-report.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
