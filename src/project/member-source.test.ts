// `members.source` in chuda.yaml: where the CRM's database is (by environment variable) and what to read there.
import { describe, expect, it } from "vitest";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { parseProject } from "./load.js";
import { maskSecrets, queryProblem, readQuery } from "./member-schema.js";
import { renderers, DIAGNOSTIC_FORMATS } from "../render/diagnostics/index.js";

const BASE = `members:
  key: member_id
  fields:
    member_id: string
    tier: { enum: [normal, gold] }
`;

/** The project and its diagnostics, but for the warning about having no channels. */
function parse(source: string) {
  const r = parseProject(`${BASE}  source: ${source}\n`, "/repo/chuda.yaml", "/repo");
  return { ...r, diagnostics: r.diagnostics.filter((d) => d.code !== MESSAGES.projectNoChannels.code) };
}

const codes = (source: string) => parse(source).diagnostics.map((d) => [d.code, d.span.start.line, d.span.start.column]);
const C = (k: keyof typeof MESSAGES) => MESSAGES[k].code;

describe("members.source", () => {
  it("reads url_env with a table or a query (a trailing `;` dropped)", () => {
    expect(parse(`{ url_env: CRM_URL, table: crm.members }`).project!.members.source).toEqual({ urlEnv: "CRM_URL", table: "crm.members" });
    const q = parse(`{ url_env: CRM_URL, query: "select * from members where not deleted;" }`);
    expect(q.diagnostics).toEqual([]);
    expect(q.project!.members.source).toEqual({ urlEnv: "CRM_URL", query: "select * from members where not deleted" });
  });

  it("refuses a URL in chuda.yaml, as `url:` or in place of the variable's name, without echoing it", () => {
    for (const source of [`{ url: "postgres://crm:pw1234@db/crm" }`, `{ url_env: "mysql://crm:pw1234@db/crm" }`]) {
      const r = parse(source);
      expect(r.diagnostics.map((d) => d.code)).toEqual([C("projectSourceUrlInline")]);
      expect(JSON.stringify(r.diagnostics)).not.toContain("pw1234");
      expect(r.project!.members.source).toBeUndefined();
    }
  });

  it("refuses a bad variable name, a bad table name, both a table and a query, several statements", () => {
    expect(codes(`{ url_env: "CRM URL" }`)).toEqual([[C("projectSourceBadEnvName"), 6, 22]]);
    expect(codes(`{ table: "members; drop table x" }`)).toEqual([[C("projectSourceBadTable"), 6, 20]]);
    expect(codes(`{ table: t, query: "select 1" }`)).toEqual([[C("projectSourceQueryAndTable"), 6, 3]]);
    expect(codes(`{ query: "select 1; delete from members" }`)).toEqual([[C("projectSourceBadQuery"), 6, 20]]);
    expect(codes(`{ query: "  " }`)).toEqual([[C("projectSourceBadQuery"), 6, 20]]);
  });

  it("a `;` inside quotes or comments is not a second statement", () => {
    expect(queryProblem(`select ';' as a, "x;y" from t -- a;b\nwhere 1 = 1 /* ; */;`)).toBeUndefined();
    expect(queryProblem("select `a;b` from t;  ")).toBeUndefined();
    expect(queryProblem("select 1; select 2")).toBe("it holds several statements");
    expect(queryProblem("select 'x")).toBe("a quote is not closed");
  });

  it("refuses a statement that is not a SELECT, saying which keyword it found", () => {
    const cases: [string, string][] = [
      ["delete from victim where member_id = 'R01'", "`delete` is not a SELECT"],
      ["UPDATE victim SET tier = 'gold'", "`UPDATE` is not a SELECT"],
      ["insert into victim values ('R01')", "`insert` is not a SELECT"],
      ["drop table victim", "`drop` is not a SELECT"],
      ["truncate victim;", "`truncate` is not a SELECT"],
      ["call purge()", "`call` is not a SELECT"],
      ["-- members\n /* all */ ((delete from victim))", "`delete` is not a SELECT"],
      ["explain analyze delete from victim", "`explain` is not a SELECT"],
      ["'select'", "it does not begin with SELECT, WITH, VALUES or TABLE"],
    ];
    for (const [query, problem] of cases) {
      expect(queryProblem(query), query).toBe(problem);
      const r = parse(`{ url_env: CRM_URL, query: ${JSON.stringify(query)} }`);
      expect(
        r.diagnostics.map((d) => [d.code, d.message]),
        query,
      ).toEqual([[C("projectSourceBadQuery"), `\`members.source.query\` must be one SELECT statement: ${problem}`]]);
      expect(r.project!.members.source).toBeUndefined();
    }
  });

  it("refuses a keyword that writes anywhere in the statement: a data-modifying CTE, SELECT … INTO, FOR UPDATE", () => {
    expect(queryProblem("with gone as (delete from victim returning *) select * from gone")).toBe("it holds `delete`, which can change the database");
    expect(queryProblem("WITH x AS (UPDATE victim SET tier = 'x' RETURNING *) SELECT * FROM x")).toBe("it holds `UPDATE`, which can change the database");
    expect(queryProblem("with x as (insert into victim values (1) returning *) select * from x")).toMatch(/`insert`/);
    expect(queryProblem("with x as (merge into victim using t on true when matched then delete) select 1")).toMatch(/`merge`/);
    expect(queryProblem("select * into copy_of_members from members")).toBe("it holds `into` (SELECT … INTO writes the rows to a table, a file or variables)");
    expect(queryProblem("select * from members into outfile '/tmp/members.txt'")).toMatch(/`into`/);
    expect(queryProblem("select * from members for update")).toMatch(/`update`/);
    expect(queryProblem("select * from members lock in share mode")).toMatch(/`lock`/);
  });

  it("reads keywords only outside strings, quoted names and comments; the functions replace, insert and truncate are fine", () => {
    for (const query of [
      `select 'delete' as a, "update" as b, \`set\` from members -- drop it\n/* insert into x */`,
      "select replace(mobile, '-', '') as mobile, insert(name, 1, 1, 'x') as n, truncate(spend_12m, 2) as s from members",
      "with recent as (select * from members) select * from recent",
      "(select member_id from members) union (select member_id from vip)",
      "values ('R01', 'gold')",
      "table members",
      "select 'O\\'Brien' as name from members", // MySQL's backslash escape: an open quote the PostgreSQL way only
    ])
      expect(queryProblem(query), query).toBeUndefined();
  });

  it("a `;` or a keyword hidden from one dialect's reading is still found (PostgreSQL's and MySQL's quoting differ)", () => {
    for (const query of [
      "select 'a\\'; delete from victim; -- '", // PostgreSQL: the backslash is a character, the string ends there
      "select 'a\\', '; delete from victim; -- '", // MySQL: the backslash escapes the quote
      "select $$'$$; delete from victim; -- '", // PostgreSQL's dollar quoting
      "select 1 --1; delete from victim", // MySQL: `--` without a space is not a comment
      "select 1 # '\n; delete from victim; -- '", // MySQL: `#` is a comment
      "select 1 /* /* */ ' */; delete from victim; -- '", // PostgreSQL: comments nest
      "select 1 /*! ; delete from victim */", // MySQL runs `/*! … */`
      "select 1 /*!50000 into outfile '/tmp/x' */",
    ])
      expect(queryProblem(query), query).toBeDefined();
  });

  it("a trailing `;` followed by comments only is fine, and neither is run", () => {
    for (const [query, runs] of [
      ["select * from members;\n-- all members", "select * from members"],
      ["select * from members; /* all */ -- members\n", "select * from members"],
      ["select * from members;;", "select * from members"],
      ["-- the members\nselect * from members -- all\n", "-- the members\nselect * from members -- all"],
    ])
      expect(readQuery(query!), query).toEqual({ query: runs });
    const r = parse(`{ url_env: CRM_URL, query: "select * from members;\\n-- all members" }`);
    expect(r.diagnostics).toEqual([]);
    expect(r.project!.members.source).toEqual({ urlEnv: "CRM_URL", query: "select * from members" });
    expect(queryProblem("select 1; -- one\nselect 2")).toBe("it holds several statements");
    expect(queryProblem("select 1 /* not closed")).toBe("a comment is not closed");
  });
});

describe("members.source.url_env holding the URL or a connection string", () => {
  const SECRET = "Hunter2-S3cret";
  const render = (yaml: string) => {
    const r = parseProject(yaml, "/repo/chuda.yaml", "/repo");
    const diagnostics = r.diagnostics.filter((d) => d.code !== MESSAGES.projectNoChannels.code);
    const ctx = { sources: new Map([["chuda.yaml", yaml]]), files: 1, color: false, version: "0.0.0" };
    return { diagnostics, out: DIAGNOSTIC_FORMATS.map((f) => renderers[f](diagnostics, ctx)).join("\n") };
  };
  const flow = (v: string) => `${BASE}  source: { url_env: ${JSON.stringify(v)}, table: members }\n`;
  const block = (v: string) => `${BASE}  source:\n    table: members\n    url_env: ${JSON.stringify(v)}\n`;

  it("is refused with the password masked in every format, the code frame included", () => {
    const cases: [string, string, string][] = [
      [`crm_reader:${SECRET}@127.0.0.1:55492/probe`, "projectSourceBadEnvName", "found `crm_reader:***@127.0.0.1:55492/probe`"],
      [`host=h password=${SECRET} dbname=crm`, "projectSourceBadEnvName", "found `host=h password=*** dbname=crm`"],
      [`host=h password='${SECRET} x' dbname=crm`, "projectSourceBadEnvName", "found `host=h password=*** dbname=crm`"],
      [`postgres:/crm_reader:${SECRET}@127.0.0.1:55492/probe`, "projectSourceBadEnvName", "found `postgres:/crm_reader:***@127.0.0.1:55492/probe`"],
      [`postgres://u:${SECRET}@h/db`, "projectSourceUrlInline", "not the URL itself"],
      [`postgres://u@h/db?password=${SECRET}`, "projectSourceUrlInline", "not the URL itself"],
    ];
    for (const [value, key, text] of cases)
      for (const yaml of [flow(value), block(value)]) {
        const { diagnostics, out } = render(yaml);
        expect(
          diagnostics.map((d) => d.code),
          value,
        ).toEqual([C(key as keyof typeof MESSAGES)]);
        expect(diagnostics[0]!.message).toContain(text);
        expect(out, yaml).not.toContain(SECRET);
        expect(out).not.toContain("Hunter2");
      }
    // Another check's code frame on the line of a password (`ledger.url_env` holding a libpq string): masked too.
    const ledger = render(`${BASE}ledger: { url_env: "host=db password=${SECRET} dbname=crm" }\n`);
    expect(ledger.diagnostics.map((d) => d.code)).toEqual([C("projectLedgerUrlEnvName")]);
    expect(ledger.out).toContain("password=***");
    expect(ledger.out).not.toContain(SECRET);
    const { diagnostics } = render(block(`crm_reader:${SECRET}@db/crm`));
    expect(diagnostics[0]!.help).toContain("put the URL in that variable");
    expect(diagnostics[0]!.span.start.line).toBe(6); // `source:`, not the line with the password
  });

  it("a name that is merely malformed keeps its place and is shown as written", () => {
    const { diagnostics } = render(block("crm-url"));
    expect(diagnostics.map((d) => [d.code, d.span.start.line])).toEqual([[C("projectSourceBadEnvName"), 8]]);
    expect(diagnostics[0]!.message).toContain("found `crm-url`");
  });

  it("maskSecrets masks `user:password@` and `password=` in any text", () => {
    expect(maskSecrets("crm:pw@db")).toBe("crm:***@db");
    expect(maskSecrets("postgres://crm:p@ss:w@db/crm")).toBe("postgres://crm:***@db/crm");
    expect(maskSecrets("postgres:crm:pw@db/crm")).toBe("postgres:crm:***@db/crm");
    expect(maskSecrets("mysql:pw@db/crm")).toBe("mysql:***@db/crm");
    expect(maskSecrets("postgres://crm:***@db:5432/crm?sslmode=require")).toBe("postgres://crm:***@db:5432/crm?sslmode=require");
    expect(maskSecrets("postgres://crm@db/crm?sslmode=require&password=pw&x=1")).toBe("postgres://crm@db/crm?sslmode=require&password=***");
    expect(maskSecrets("host=db PWD = pw user=crm")).toBe("host=db PWD=*** user=crm");
    expect(maskSecrets("members.csv")).toBe("members.csv");
    expect(maskSecrets("C:\\exports\\crm@mall\\members.csv")).toBe("C:\\exports\\crm@mall\\members.csv");
    expect(maskSecrets("C:\\exports\\crm:pw@mall\\members.csv")).toBe("C:\\exports\\crm:***@mall\\members.csv");
    expect(maskSecrets("access denied for 'crm'@'127.0.0.1'")).toBe("access denied for 'crm'@'127.0.0.1'");
  });
});
