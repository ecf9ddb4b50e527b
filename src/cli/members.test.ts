// What --members names, and how a value holding a password is echoed: never in full.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { parseProject } from "../project/load.js";
import type { Project } from "../project/types.js";
import { membersInput, openMembers } from "./members.js";
import { UsageError, type Io } from "./io.js";

const SECRET = "Hunter2-S3cret";
const project = (source = ""): Project =>
  parseProject(`members:\n  key: member_id\n  fields:\n    member_id: string\n${source}`, "/repo/chuda.yaml", "/repo").project!;

/** The UsageError `run` throws. */
function refusal(run: () => unknown): UsageError {
  try {
    run();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error("no UsageError");
}

async function refusalOf(run: () => Promise<unknown>): Promise<UsageError> {
  const e = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e instanceof UsageError) return e;
  throw e ?? new Error("no UsageError");
}

const io = (): Io => ({
  out: () => undefined,
  err: () => undefined,
  interactive: false,
  color: false,
  cwd: mkdtempSync(path.join(tmpdir(), "chuda-members-")),
  env: {},
  now: () => 0,
});

describe("--members that is meant for a database but is not a URL", () => {
  it("a libpq connection string or a scheme without `//` is refused as a bad URL (CH6026), the password masked", () => {
    const cases: [string, string][] = [
      [`host=127.0.0.1 port=5432 user=u password=${SECRET} dbname=crm`, "host=127.0.0.1 port=5432 user=u password=*** dbname=crm"],
      [`host=db.local dbname=crm user=crm_reader`, "host=db.local dbname=crm user=crm_reader"],
      [`postgres:/crm_reader:${SECRET}@127.0.0.1:55492/probe`, "postgres:/crm_reader:***@127.0.0.1:55492/probe"],
      [`postgresql:crm_reader:${SECRET}@db/crm`, "postgresql:crm_reader:***@db/crm"],
      [`MySQL:/root:${SECRET}@127.0.0.1:3306/crm`, "mysql:/root:***@127.0.0.1:3306/crm"],
      [`mariadb:${SECRET}@db/crm`, "mariadb:***@db/crm"],
    ];
    for (const [value, shown] of cases) {
      const e = refusal(() => membersInput(value, project(), {}));
      expect(e.diagnostic.code, value).toBe(MESSAGES.membersDbBadUrl.code);
      expect(e.diagnostic.message).toBe(`${shown} is not a database URL chuda reads members from [CH6026]`);
      expect(e.diagnostic.help).toContain("postgres://user:password@host:5432/database");
      expect(JSON.stringify(e.diagnostic)).not.toContain(SECRET);
    }
  });

  it("files and URLs are still what they were", () => {
    expect(membersInput("members.csv", project(), {})).toEqual({ kind: "file", file: "members.csv" });
    expect(membersInput("exports/postgres-members.csv", project(), {})).toEqual({ kind: "file", file: "exports/postgres-members.csv" });
    expect(membersInput("host-list.jsonl", project(), {})).toEqual({ kind: "file", file: "host-list.jsonl" });
    expect(membersInput(" postgres://u@db/crm", project(), {})).toEqual({ kind: "database", url: "postgres://u@db/crm" });
  });
});

describe("messages about --members never print a password", () => {
  it("a file path holding `user:password@` is masked in the snapshot's message", async () => {
    for (const file of [`postgres//crm:${SECRET}@db/crm`, `exports/crm:${SECRET}@db.csv`]) {
      const e = await refusalOf(() => openMembers({ members: file }, project(), io()));
      expect(e.diagnostic.message, file).toContain("crm:***@db");
      expect(JSON.stringify(e.diagnostic)).not.toContain(SECRET);
    }
  });

  it("a URL's `?password=` is masked when it is refused (CH6026)", async () => {
    for (const url of [`postgres://u@db:notaport/crm?password=${SECRET}`, `redis://u@127.0.0.1/0?password=${SECRET}`]) {
      const e = await refusalOf(() => openMembers({ members: url }, project(), io()));
      expect(e.diagnostic.code, url).toBe(MESSAGES.membersDbBadUrl.code);
      expect(e.diagnostic.message).toContain("password=***");
      expect(JSON.stringify(e.diagnostic)).not.toContain(SECRET);
    }
  });
});
