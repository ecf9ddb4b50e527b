import { describe, expect, it } from "vitest";
import { FaultInjector, RateLimiter, TokenStore, fault, manualClock, mulberry32, startFakeServer } from "./common.js";

describe("fake machinery", () => {
  it("mulberry32 is deterministic per seed and stays in [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("draws the same random faults for the same seed, and logs each with its request", () => {
    const clock = manualClock();
    const run = (seed: number) => {
      const inj = new FaultInjector({ faultRate: 0.5, seed }, clock.now);
      for (let i = 0; i < 40; i++) inj.next({ method: "POST", path: "/send", raw: `{"i":${i}}` }, true);
      return inj.log;
    };
    const a = run(7);
    expect(run(7)).toEqual(a);
    expect(a.length).toBeGreaterThan(5);
    expect(a.length).toBeLessThan(35);
    expect(a.every((e) => e.source === "rate" && e.path === "/send" && e.body.startsWith('{"i":'))).toBe(true);
  });

  it("applies script entries in order, a path-bound one only to a matching request", () => {
    const inj = new FaultInjector({ script: [fault.reset("/token"), fault.http(502)] }, () => 0);
    expect(inj.next({ method: "POST", path: "/send", raw: "" }, true)).toEqual(fault.http(502));
    expect(inj.next({ method: "GET", path: "/other", raw: "" }, false)).toBeUndefined();
    expect(inj.next({ method: "GET", path: "/cgi-bin/token", raw: "" }, false)).toEqual(fault.reset("/token"));
    expect(inj.pending()).toBe(0);
    expect(inj.log.map((e) => e.source)).toEqual(["script", "script"]);
  });

  it("rate windows follow the injected clock", () => {
    const clock = manualClock(Date.UTC(2026, 0, 1, 15, 59, 0)); // 23:59 in Shanghai
    const rl = new RateLimiter({ perMinute: 2, perDay: 3 }, clock.now);
    expect([rl.hit(), rl.hit(), rl.hit()]).toEqual([undefined, undefined, "minute"]);
    clock.advance(60_000); // next minute, next Shanghai day
    expect([rl.hit(), rl.hit()]).toEqual([undefined, undefined]);
    clock.advance(60_000);
    expect([rl.hit(), rl.hit()]).toEqual([undefined, "day"]); // refused calls count too
  });

  it("tokens expire by fake time and by uses; stable() keeps a valid token", () => {
    const clock = manualClock();
    const ts = new TokenStore(clock.now, 100, 2);
    const { token } = ts.issue("app");
    expect(ts.stable("app").token).toBe(token);
    expect(ts.use(token).check).toBe("ok");
    expect(ts.use(token).check).toBe("ok");
    expect(ts.use(token).check).toBe("expired");
    expect(ts.stable("app").token).not.toBe(token);
    const t2 = ts.stable("app").token;
    clock.advance(100_000);
    expect(ts.use(t2).check).toBe("expired");
    expect(ts.use("nope").check).toBe("unknown");
    expect(ts.use(undefined).check).toBe("missing");
    const t3 = ts.issue("app").token;
    ts.revokeAll("app");
    expect(ts.use(t3).check).toBe("unknown");
  });

  it("serves on loopback and applies transport faults around the handler", async () => {
    let handled = 0;
    const inj = new FaultInjector({}, () => 0);
    const srv = await startFakeServer({
      handler: () => {
        handled++;
        return { body: { ok: true } };
      },
      injector: inj,
      httpErrorBody: (s) => ({ errcode: -1, status: s }),
      errorBody: (c) => ({ errcode: c }),
    });
    try {
      expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      inj.push(fault.http(503), fault.error(45009), fault.badJson(), fault.acceptThenDrop(), fault.reset());
      const r1 = await fetch(`${srv.url}/x`);
      expect([r1.status, await r1.json()]).toEqual([503, { errcode: -1, status: 503 }]);
      expect(await (await fetch(`${srv.url}/x`)).json()).toEqual({ errcode: 45009 });
      expect(await (await fetch(`${srv.url}/x`)).text()).toContain("Bad Gateway");
      expect(handled).toBe(0);
      await expect(fetch(`${srv.url}/x`)).rejects.toThrow();
      expect(handled).toBe(1); // accept-then-drop performed the request
      await expect(fetch(`${srv.url}/x`)).rejects.toThrow();
      expect(handled).toBe(1); // reset did not
      const ok = await fetch(`${srv.url}/x`);
      expect(ok.headers.get("content-type")).toBe("application/json; encoding=utf-8");
      expect(await ok.json()).toEqual({ ok: true });
      expect(inj.log.map((e) => e.fault.kind)).toEqual(["http", "error", "badJson", "acceptThenDrop", "reset"]);
    } finally {
      await srv.close();
    }
  });
});
