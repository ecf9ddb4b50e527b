/**
 * One million members read from PostgreSQL by chuda (COPY … TO STDOUT into the snapshot loader: typed DuckDB table,
 * rejections, duplicate-key check) against the bare `COPY (SELECT * FROM members) TO STDOUT` of the same table to
 * /dev/null (target: at most 2×). The table has the example schema's native types (dates, timestamptz, numeric,
 * boolean, text[]). BENCH_MEMBERS_DB=200000 to choose the size.
 */
import { afterAll, it } from "vitest";
import { createReadStream, existsSync, mkdirSync, renameSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { execa } from "execa";
import { figure, printFigures } from "./figures.js";
import { startPostgres } from "../test/servers/postgres.js";
import { loadProject } from "../src/project/load.js";
import { databaseSource, exportMembers, openDatabaseSnapshot } from "../src/members/database.js";
import { openSnapshot } from "../src/members/snapshot.js";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";

const REPO = path.resolve(import.meta.dirname, "..");
const BIN = path.join(REPO, "dist/cli/main.js");
const DATA = path.join(REPO, "bench/data");
const n = Number(process.env.BENCH_MEMBERS_DB ?? 1_000_000);

const TYPED = `member_id, name, mobile, gender, birthday::date, tier, points::int, registered_at::timestamptz, last_purchase_at::timestamptz,
  spend_12m::numeric, string_to_array(tags, ';') AS tags, distance_km::float8, wecom_external_userid, wecom_owner, openid,
  oa_subscribed::boolean, sms_opt_in::boolean, unsubscribed::boolean, points_expiring::int, points_expire_at::date,
  tier_changed_at::timestamptz, tier_change`;

it(`${n.toLocaleString("en-US")} members read from PostgreSQL`, async () => {
  mkdirSync(DATA, { recursive: true });
  const file = path.join(DATA, `members-${n}.csv`);
  if (!existsSync(file)) {
    await execa(process.execPath, [BIN, "sample-members", "--count", String(n), "--seed", "42", "--as-of", "2026-11-20", "--out", `${file}.part.csv`]);
    renameSync(`${file}.part.csv`, file);
  }
  const server = await startPostgres({ durable: false });
  try {
    const url = await server.database("crm");
    const { default: pg } = await import("pg");
    const { from: copyFrom } = await import("pg-copy-streams");
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const header = (await import("node:fs")).readFileSync(file, "utf8").slice(0, 4096).split("\n")[0]!.split(",");
    await c.query(`SET TimeZone TO 'Asia/Shanghai'`);
    await c.query(`CREATE UNLOGGED TABLE staging (${header.map((h) => `${h} text`).join(", ")})`);
    const t0 = performance.now();
    await pipeline(createReadStream(file), c.query(copyFrom(`COPY staging FROM STDIN (FORMAT csv, HEADER true)`)));
    await c.query(`CREATE TABLE members AS SELECT ${TYPED} FROM staging`);
    await c.query(`DROP TABLE staging`);
    await c.query(`VACUUM ANALYZE members`);
    await c.end();
    figure(`load ${n.toLocaleString("en-US")} members into PostgreSQL (setup)`, `${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const project = await loadProject(path.join(REPO, "chuda.yaml"));
    if (!project.project) throw new Error("the example chuda.yaml does not load");
    const source = databaseSource(url, project.project.members);
    if ("code" in source) throw new Error(source.message);

    // Alternating, best of BENCH_REPEAT (default 3): a neighbour on the shared machine slows single runs.
    const repeat = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
    const copies: number[] = [];
    const reads: number[] = [];
    let count = 0;
    for (let i = 0; i < repeat; i++) {
      const t1 = performance.now();
      const sql = `\\copy (SELECT * FROM members) TO STDOUT (FORMAT csv, HEADER true)`;
      await execa("psql", ["-X", "-q", "-d", url, "-c", sql], { stdout: "ignore" }); // stdout to /dev/null
      copies.push((performance.now() - t1) / 1000);

      const t2 = performance.now();
      const opened = await openDatabaseSnapshot(source, project.project, { encoding: "utf-8" });
      if (!opened.snapshot) throw new Error(opened.diagnostics.map((d) => d.message).join("\n"));
      count = opened.snapshot.count;
      await opened.snapshot.close();
      reads.push((performance.now() - t2) / 1000);
    }
    // Of which: the export alone (COPY with chuda's conversions into the temporary CSV file).
    const tmp = mkdtempSync(path.join(os.tmpdir(), "chuda-bench-db-"));
    const t3 = performance.now();
    await exportMembers(source, project.project.members, project.project.timezone, path.join(tmp, "members.csv"));
    const exportSeconds = (performance.now() - t3) / 1000;
    // And the load of that file alone, as a CSV snapshot.
    const t4 = performance.now();
    const loaded = await openSnapshot(path.join(tmp, "members.csv"), project.project, { encoding: "utf-8", recordNumbers: true });
    const loadSeconds = (performance.now() - t4) / 1000;
    const csvRead = loaded.snapshot?.csvRead;
    await loaded.snapshot?.close();
    rmSync(tmp, { recursive: true, force: true });
    // For comparison: the same members loaded from the sample CSV file they were made from.
    const t5 = performance.now();
    const fromFile = await openSnapshot(file, project.project, { encoding: "utf-8" });
    const fileSeconds = (performance.now() - t5) / 1000;
    await fromFile.snapshot?.close();
    const copy = Math.min(...copies);
    const read = Math.min(...reads);
    const runs = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(", ");
    figure(`psql COPY members TO STDOUT > /dev/null, ${n.toLocaleString("en-US")}`, `${copy.toFixed(2)} s`, `best of ${runs(copies)}`);
    figure(`chuda loads the same members from their CSV file, ${n.toLocaleString("en-US")}`, `${fileSeconds.toFixed(2)} s`);
    figure(
      `chuda reads members from PostgreSQL, ${n.toLocaleString("en-US")}`,
      `${read.toFixed(2)} s`,
      `ratio ${(read / copy).toFixed(2)}× COPY (target ≤ 2×), best of ${runs(reads)}; ${count.toLocaleString("en-US")} members loaded; of which the export into the temporary file ${exportSeconds.toFixed(2)} s, its load ${loadSeconds.toFixed(2)} s (${csvRead} CSV read)`,
    );
  } finally {
    await server.stop();
  }
});

afterAll(printFigures);
