// `members.source` in chuda.yaml: where the CRM's database is (by environment variable) and what to read there.
import { describe, expect, it } from "vitest";
import { MESSAGES } from "../diagnostics/messages/index.js";
import { parseProject } from "./load.js";
import { queryProblem } from "./member-schema.js";

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
});
