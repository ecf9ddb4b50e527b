/**
 * The small XML subset WeChat and WeCom push: elements, text and CDATA, no attributes that matter, no entities
 * beyond the five predefined ones. A repeated element becomes an array. Anything else is refused (XmlError), so a
 * malformed body is a clear 400 rather than a half-read event.
 */
export class XmlError extends Error {}

export type XmlValue = string | XmlNode | (string | XmlNode)[];
export interface XmlNode {
  [name: string]: XmlValue;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const MAX_DEPTH = 16;

function decodeText(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) =>
    e[0] === "#" ? String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : ENTITIES[e]!,
  );
}

/** Parses a document whose root is one element; returns the root's children (`<xml>…</xml>` → its fields). */
export function parseXml(text: string): XmlNode {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const skipProlog = () => {
    skipSpace();
    while (text.startsWith("<?", i) || text.startsWith("<!--", i)) {
      const end = text.startsWith("<?", i) ? text.indexOf("?>", i) : text.indexOf("-->", i);
      if (end < 0) throw new XmlError("an unterminated declaration or comment");
      i = end + (text.startsWith("<?", i) ? 2 : 3);
      skipSpace();
    }
  };
  const element = (depth: number): { name: string; value: string | XmlNode } => {
    if (depth > MAX_DEPTH) throw new XmlError("elements nested too deeply");
    const open = /^<([A-Za-z_][\w.:-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(text.slice(i, i + 512));
    if (!open) throw new XmlError(`expected an element at offset ${i}`);
    const name = open[1]!;
    i += open[0].length;
    if (open[3]) return { name, value: "" };
    const node: XmlNode = {};
    let textValue = "";
    let hasChildren = false;
    for (;;) {
      if (i >= text.length) throw new XmlError(`<${name}> is not closed`);
      if (text.startsWith("<![CDATA[", i)) {
        const end = text.indexOf("]]>", i);
        if (end < 0) throw new XmlError("an unterminated CDATA section");
        textValue += text.slice(i + 9, end);
        i = end + 3;
      } else if (text.startsWith("</", i)) {
        const close = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(text.slice(i, i + 256));
        if (!close || close[1] !== name) throw new XmlError(`<${name}> is closed by ${close ? `</${close[1]}>` : "something else"}`);
        i += close[0].length;
        return { name, value: hasChildren ? node : textValue };
      } else if (text.startsWith("<!--", i)) {
        const end = text.indexOf("-->", i);
        if (end < 0) throw new XmlError("an unterminated comment");
        i = end + 3;
      } else if (text[i] === "<") {
        const child = element(depth + 1);
        hasChildren = true;
        const prev = node[child.name];
        if (prev === undefined) node[child.name] = child.value;
        else if (Array.isArray(prev)) prev.push(child.value);
        else node[child.name] = [prev as string | XmlNode, child.value];
      } else {
        const next = text.indexOf("<", i);
        const chunk = text.slice(i, next < 0 ? text.length : next);
        textValue += decodeText(chunk);
        i = next < 0 ? text.length : next;
      }
    }
  };
  skipProlog();
  const root = element(0);
  skipProlog();
  if (i !== text.length) throw new XmlError("text after the root element");
  return typeof root.value === "string" ? {} : root.value;
}

/** A field's text ("" when absent or not text). */
export function xmlText(node: XmlNode | undefined, name: string): string {
  const v = node?.[name];
  return typeof v === "string" ? v.trim() : "";
}

/** A field as a list of nodes: one element or several (the same shape as JSON `List`, object-or-array). */
export function xmlList(v: XmlValue | undefined): XmlNode[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.filter((x): x is XmlNode => typeof x === "object");
}
