/** The HTTP seam against a real loopback server: answers, encodings, and each kind of transport failure. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient, type HttpClient } from "./http.js";

let server: http.Server;
let base: string;
const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const path = new URL(req.url!, "http://x").pathname;
      if (path === "/json-as-text") {
        res.setHeader("content-type", "text/plain");
        res.end('{"errcode":0,"errmsg":"ok"}');
      } else if (path === "/gzip") {
        res.setHeader("content-encoding", "gzip");
        res.end(zlib.gzipSync(JSON.stringify({ Code: "OK", 名称: "会员" })));
      } else if (path === "/error") {
        res.statusCode = 503;
        res.end("busy");
      } else if (path === "/redirect") {
        res.statusCode = 302;
        res.setHeader("location", "/json-as-text");
        res.end();
      } else if (path === "/silent") {
        // Never answers: the caller's deadline ends the call.
      } else if (path === "/drop") {
        req.socket.destroy();
      } else if (path === "/cut") {
        res.setHeader("content-length", "100");
        res.write('{"Code":');
        setTimeout(() => req.socket.destroy(), 20);
      } else {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ echo: body }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function withClient<T>(fn: (c: HttpClient) => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const c = createHttpClient({ timeoutMs });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

describe("HTTP seam", () => {
  it("sends a JSON body with its type and length, the query given replacing the URL's, and parses the answer", async () => {
    const r = await withClient((c) => c.call({ method: "POST", url: `${base}/echo?old=1`, searchParams: { a: "1 2", b: "会员" }, json: { x: "触达" } }));
    expect(r).toMatchObject({ ok: true, status: 200, json: { echo: '{"x":"触达"}' } });
    const req = seen.at(-1)!;
    expect(req.url).toBe("/echo?a=1+2&b=%E4%BC%9A%E5%91%98");
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.headers["content-length"]).toBe(String(Buffer.byteLength('{"x":"触达"}')));
  });

  it("keeps the caller's headers and raw body as given", async () => {
    const body = "Action=SendSms&PhoneNumbers=13800000000";
    const r = await withClient((c) => c.call({ method: "POST", url: `${base}/echo`, body, headers: { "Content-Type": "application/x-www-form-urlencoded" } }));
    expect(r.ok && r.json).toEqual({ echo: body });
    expect(seen.at(-1)!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  it("parses JSON whatever the content type, decodes gzip, and returns HTTP errors and redirects as answers", async () => {
    await withClient(async (c) => {
      expect(await c.call({ method: "GET", url: `${base}/json-as-text` })).toMatchObject({ ok: true, json: { errcode: 0 } });
      expect(await c.call({ method: "GET", url: `${base}/gzip` })).toMatchObject({ ok: true, json: { Code: "OK", 名称: "会员" } });
      expect(await c.call({ method: "GET", url: `${base}/error` })).toMatchObject({ ok: true, status: 503, text: "busy", json: undefined });
      expect(await c.call({ method: "GET", url: `${base}/redirect` })).toMatchObject({ ok: true, status: 302 });
    });
  });

  it("an answer that never comes is a timeout, which may have reached the provider", async () => {
    const r = await withClient((c) => c.call({ method: "POST", url: `${base}/silent`, body: "x" }), 200);
    expect(r).toMatchObject({ ok: false, kind: "timeout", sent: true });
  });

  it("a connection dropped before or during the answer is a reset, which may have reached the provider", async () => {
    await withClient(async (c) => {
      expect(await c.call({ method: "POST", url: `${base}/drop`, body: "x" })).toMatchObject({ ok: false, kind: "reset", sent: true });
      expect(await c.call({ method: "GET", url: `${base}/cut` })).toMatchObject({ ok: false, kind: "reset", sent: true });
    });
  });

  it("a refused connection and a bad URL never reached anyone", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await withClient(async (c) => {
      expect(await c.call({ method: "GET", url: `http://127.0.0.1:${port}/` })).toMatchObject({ ok: false, kind: "refused", sent: false });
      expect(await c.call({ method: "GET", url: "not a url" })).toMatchObject({ ok: false, sent: false });
      expect(await c.call({ method: "GET", url: "ftp://example.com/" })).toMatchObject({ ok: false, sent: false });
    });
  });
});
