/**
 * Text from member data, templates and campaign files must not drive the terminal: an ESC in a member's name
 * (`\x1b]52;…` writes the clipboard, `\x1b[2J` clears the screen) is shown, not obeyed.
 */

/** C0 controls but tab and line feed, DEL, and C1 controls (U+0080–U+009F, where 8-bit CSI lives). */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** Controls plus characters that print nothing or reorder text: zero-width, joiners, bidi controls, BOM, soft hyphen. */
const INVISIBLE =
  // eslint-disable-next-line no-misleading-character-class -- single code points listed on purpose (joiners, variation selectors)
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb]/g;

/** `U+001B` style, the form diagnostics and previews show an escaped character in. */
export function codePointText(ch: string): string {
  return `<U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}>`;
}

/** Member data for a terminal: every control character (line feeds and tabs excepted) as `<U+XXXX>`. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, codePointText);
}

/** Source text and names in diagnostics: controls and invisible characters (ZWJ, NUL, bidi overrides) as `<U+XXXX>`. */
export function showInvisible(text: string): string {
  return text.replace(INVISIBLE, codePointText);
}

/** A name or value quoted in a message: invisible characters shown, at most `max` characters (then `…`). */
export function shortened(text: string, max = 60): string {
  const chars = [...text];
  return showInvisible(chars.length > max ? `${chars.slice(0, max).join("")}…` : text);
}

/** SGR colour sequences (what src/render/style.ts writes); anything else starting with ESC is escaped. */
const SGR = /\u001b\[[0-9;]*m/y;

/** Like escapeControls, but keeps colour codes: for table cells that a report may have styled itself. */
export function escapeControlsKeepingColor(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\u001b") {
      SGR.lastIndex = i;
      const m = SGR.exec(text);
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    out += escapeControls(ch);
  }
  return out;
}
