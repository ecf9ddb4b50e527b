// Ledger URLs are shown in messages with every password masked, also when they do not parse.
import { describe, expect, it } from "vitest";
import { libpqUrl, maskUrl, postgresUrlProblem } from "./url.js";

const SECRET = "Pw#Secr3t-xyz";

describe("ledger URLs", () => {
  it("mask the password however it is written: special characters unencoded, no scheme, a query parameter", () => {
    const cases: [string, string][] = [
      ["postgres://chuda:Pw%23Secr3t@db:5432/wdb", "postgres://chuda:***@db:5432/wdb"],
      [`postgres://chuda:${SECRET}@db:5432/wdb`, "postgres://chuda:***@db:5432/wdb"],
      ["postgres://chuda:Top/Secret@db/wdb", "postgres://chuda:***@db/wdb"],
      ["postgres://chuda:Top?Secret@db/wdb", "postgres://chuda:***@db/wdb"],
      ["postgres://chuda:Top@Secret@db/wdb", "postgres://chuda:***@db/wdb"],
      ["chuda:Pw%23Secr3t@db:5432/cdb", "chuda:***@db:5432/cdb"],
      ["postgresql//chuda:TopSecretPw@db/x", "postgresql//chuda:***@db/x"],
      ["postgres://chuda@db/wdb?password=TopSecretPw&sslmode=require", "postgres://chuda@db/wdb?password=***&sslmode=require"],
      ["postgres://chuda@db/wdb", "postgres://chuda@db/wdb"],
    ];
    for (const [url, shown] of cases) expect(maskUrl(url), url).toBe(shown);
  });

  it("a URL that is not postgres:// or does not parse is refused in words that never hold the password", () => {
    for (const url of [
      `postgres://chuda:${SECRET}@db/x`,
      "postgres://chuda:Top/Secret@db:5549l/x",
      "chuda:TopSecretPw@db/x",
      "postgresql//chuda:TopSecretPw@db/x",
    ]) {
      const problem = postgresUrlProblem(url);
      expect(problem, url).toBeDefined();
      expect(problem).not.toMatch(/Secr|TopSecret|Top\/Secret/);
    }
    expect(postgresUrlProblem(`postgres://chuda:${SECRET}@db/x`)).toMatch(/# as %23/);
    expect(postgresUrlProblem("postgres://chuda:Pw%23x@db:5432/x")).toBeUndefined();
  });

  it("sslmode keeps libpq's meaning", () => {
    expect(libpqUrl("postgres://u@db/crm?sslmode=require")).toBe("postgres://u@db/crm?sslmode=require&uselibpqcompat=true");
  });
});
