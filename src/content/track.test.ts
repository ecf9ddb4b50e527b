import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseTemplate } from "./index.js";
import { renderContent } from "./render.js";
import { bindLinks, LINK_ID_LENGTH, linkId, placeholder } from "./track.js";

function tracked(trackBase?: string) {
  const r = parseTemplate(
    'wecom:\n  text: "{{name}}您好"\n  link: { title: "领取", url: \'{{track "https://m.example.com/a"}}\' }\nwebhook:\n  a: \'{{track "https://x.example.com/1"}}\'\n  b: \'{{track "https://x.example.com/2"}}\'\n',
    "templates/t.yaml",
    "t",
  );
  expect(r.diagnostics).toEqual([]);
  if (trackBase) r.template.trackBase = trackBase;
  return r.template;
}

describe("{{track}}", () => {
  it("renders a placeholder of the final length and lists the destinations; binding puts in the send's ids", () => {
    const r = renderContent(tracked("https://go.example.com"), "webhook", { name: "王" });
    const c = r.content as unknown as Record<string, unknown> & { body: Record<string, unknown> };
    expect(c.body["a"]).toBe(`https://go.example.com/r/${placeholder(0)}`);
    expect(c.body["b"]).toBe(`https://go.example.com/r/${placeholder(1)}`);
    expect(placeholder(7)).toHaveLength(LINK_ID_LENGTH);
    const bound = bindLinks(JSON.stringify(c), "thanks|event:abc|M1|hook", "secret");
    const out = JSON.parse(bound.content!) as Record<string, unknown> & { body: Record<string, unknown> };
    expect(out["__links"]).toBeUndefined();
    expect(bound.links.map((l) => [l.link, l.url])).toEqual([
      [0, "https://x.example.com/1"],
      [1, "https://x.example.com/2"],
    ]);
    expect(out.body["a"]).toBe(`https://go.example.com/r/${bound.links[0]!.id}`);
    expect(String(out.body["a"]).length).toBe(String(c.body["a"]).length);
  });
  it("leaves content without tracked links alone", () => {
    expect(bindLinks('{"text":"hi"}', "k", "s")).toEqual({ content: '{"text":"hi"}', links: [] });
    expect(bindLinks(null, "k", "s")).toEqual({ content: null, links: [] });
  });
  it("gives every send its own 12-character id (distinct sends never share one)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 30 }), { minLength: 2, maxLength: 200 }), (keys) => {
        const ids = keys.map((k) => linkId("secret", k, 0));
        for (const id of ids) expect(id).toMatch(/^[0-9A-Za-z]{12}$/);
        expect(new Set(ids).size).toBe(ids.length);
      }),
    );
    expect(linkId("secret", "k", 0)).not.toBe(linkId("other secret", "k", 0));
  });
});
