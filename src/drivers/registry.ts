/**
 * The driver registry (docs/channels.md): built-in drivers by name, loaded lazily, and third-party
 * drivers from a path (relative to the project root) or an installed package (`npm:<package>`, resolved from the
 * project root). Whatever is loaded must have the `Driver` shape; a problem is returned as a clear error value,
 * never thrown.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Driver } from "./types.js";
import { BUILTIN_DRIVERS, type BuiltinDriver } from "../project/types.js";

type DriverModule = { default?: unknown } & Record<string, unknown>;

/** Built-in name → lazy import of its module. */
export const BUILTIN_LOADERS: Record<BuiltinDriver, () => Promise<DriverModule>> = {
  wecom: () => import("./wecom.js"),
  "aliyun-sms": () => import("./aliyun-sms.js"),
  "tencent-sms": () => import("./tencent-sms.js"),
  "wechat-template": () => import("./wechat-template.js"),
  "wechat-subscribe": () => import("./wechat-subscribe.js"),
  webhook: () => import("./webhook.js"),
  file: () => import("./file.js"),
};

const CONTENT_KINDS = new Set(["wecom", "sms", "template_message", "subscribe_message", "webhook", "file"]);

export function isBuiltinDriver(name: string): name is BuiltinDriver {
  return (BUILTIN_DRIVERS as readonly string[]).includes(name);
}

/** What is wrong with `x` as a Driver, or undefined when it has the shape. */
export function driverShapeProblem(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null) return "the module's default export is not an object";
  const d = x as Record<string, unknown>;
  if (typeof d.name !== "string" || d.name === "") return "`name` must be a non-empty string";
  if (typeof d.contentKind !== "string" || !CONTENT_KINDS.has(d.contentKind)) return `\`contentKind\` must be one of ${[...CONTENT_KINDS].join(", ")}`;
  if (typeof d.batchLimit !== "number" || !Number.isInteger(d.batchLimit) || d.batchLimit < 1) return "`batchLimit` must be a positive integer";
  if (d.batchSameContent !== undefined && typeof d.batchSameContent !== "boolean") return "`batchSameContent` must be a boolean when given";
  for (const flag of ["paced", "perRecipient"]) if (d[flag] !== undefined && typeof d[flag] !== "boolean") return `\`${flag}\` must be a boolean when given`;
  if (!Array.isArray(d.secrets) || d.secrets.some((s) => typeof s !== "string")) return "`secrets` must be an array of strings";
  if (typeof d.create !== "function") return "`create` must be a function (ctx) => DriverInstance";
  return undefined;
}

/** The Driver inside a loaded module: its default export, a CommonJS `module.exports.default`, or the namespace. */
function pickDriver(mod: DriverModule): { driver?: Driver; problem?: string } {
  const candidates: unknown[] = [mod.default, (mod.default as DriverModule | undefined)?.default, mod.driver, mod];
  for (const c of candidates) if (c !== undefined && driverShapeProblem(c) === undefined) return { driver: c as Driver };
  return { problem: driverShapeProblem(mod.default !== undefined ? mod.default : mod) ?? "no Driver export" };
}

function conditionEntry(e: unknown): string | undefined {
  if (typeof e === "string") return e;
  if (Array.isArray(e)) {
    for (const x of e) {
      const r = conditionEntry(x);
      if (r) return r;
    }
    return undefined;
  }
  if (typeof e === "object" && e !== null) {
    const o = e as Record<string, unknown>;
    for (const k of ["import", "node", "module", "default", "require"])
      if (k in o) {
        const r = conditionEntry(o[k]);
        if (r) return r;
      }
  }
  return undefined;
}

/** The ESM entry of an installed package, searching `node_modules` upward from `root`. */
export function resolvePackage(pkg: string, root: string): string | undefined {
  let dir = path.resolve(root);
  for (;;) {
    const base = path.join(dir, "node_modules", pkg);
    const pj = path.join(base, "package.json");
    if (existsSync(pj)) {
      try {
        const json = JSON.parse(readFileSync(pj, "utf8")) as { exports?: unknown; module?: unknown; main?: unknown };
        let entry: string | undefined;
        const ex = json.exports;
        if (ex !== undefined) {
          const dot =
            typeof ex === "object" && ex !== null && !Array.isArray(ex) && Object.keys(ex).some((k) => k.startsWith("."))
              ? (ex as Record<string, unknown>)["."]
              : ex;
          entry = conditionEntry(dot);
        }
        entry ??= typeof json.module === "string" ? json.module : typeof json.main === "string" ? json.main : "index.js";
        let file = path.resolve(base, entry);
        if (!existsSync(file) && existsSync(`${file}.js`)) file = `${file}.js`;
        if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, "index.js");
        if (existsSync(file)) return file;
      } catch {
        /* fall through to Node's resolver */
      }
      break;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  try {
    return createRequire(path.join(path.resolve(root), "package.json")).resolve(pkg);
  } catch {
    return undefined;
  }
}

const looksLikePath = (s: string) =>
  s.startsWith("./") || s.startsWith("../") || s.startsWith("/") || path.isAbsolute(s) || /[\\/]/.test(s) || /\.(m|c)?[jt]s$/.test(s);

/**
 * Loads the driver named by a channel's `driver:` value: a built-in name, a path relative to `root`, or
 * `npm:<package>`. Returns `{ driver }` or `{ error }` with a sentence fit for the user.
 */
export async function loadDriver(spec: string, root: string): Promise<{ driver?: Driver; error?: string }> {
  const s = spec.trim();
  if (isBuiltinDriver(s)) {
    try {
      const picked = pickDriver(await BUILTIN_LOADERS[s]());
      return picked.driver ? { driver: picked.driver } : { error: `built-in driver ${s} is broken: ${picked.problem}` };
    } catch (e) {
      return { error: `built-in driver ${s} could not be loaded: ${(e as Error).message}` };
    }
  }
  let file: string | undefined;
  if (s.startsWith("npm:")) {
    const pkg = s.slice(4).trim();
    if (!/^(@[\w.~-]+\/)?[\w.~-]+(\/[\w./~-]+)?$/.test(pkg)) return { error: `driver "${spec}": "${pkg}" is not a package name` };
    file = resolvePackage(pkg, root);
    if (!file) return { error: `driver "${spec}": package ${pkg} is not installed (looked in node_modules from ${root} upward; run npm install ${pkg})` };
  } else if (looksLikePath(s)) {
    file = path.resolve(root, s);
    if (!existsSync(file)) return { error: `driver "${spec}": no file at ${path.relative(root, file) || file} (paths are relative to the project root)` };
    if (statSync(file).isDirectory()) return { error: `driver "${spec}": ${s} is a directory, not a module file` };
  } else {
    return {
      error: `unknown driver "${spec}": built-in drivers are ${BUILTIN_DRIVERS.join(", ")}; a third-party driver is a path (./drivers/x.js) or npm:<package>`,
    };
  }
  let mod: DriverModule;
  try {
    mod = (await import(pathToFileURL(file).href)) as DriverModule;
  } catch (e) {
    return { error: `driver "${spec}": the module could not be loaded: ${(e as Error).message.split("\n")[0]}` };
  }
  const picked = pickDriver(mod);
  if (!picked.driver) return { error: `driver "${spec}" is not a chuda driver: ${picked.problem}` };
  return { driver: picked.driver };
}
