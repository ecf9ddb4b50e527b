/**
 * A provider outage loses nothing: every call answered 503 through a whole run leaves the sends pending (not
 * failed, not silently dropped), the run says so and exits 1, and the next run after the provider is back sends
 * each of them exactly once.
 */
import { afterAll, describe, expect, it } from "vitest";
import { dispatch, duplicates, ledgerRows, makeMembers, makeRepo, status, summaryOf, type Fakes, startFakes } from "./dispatch-helpers.js";
import { hasStackTrace } from "./cli.js";

let fakes: Fakes | undefined;
afterAll(async () => fakes?.close());

describe("chuda dispatch during a provider outage", () => {
  it("keeps every send pending through the outage and sends each once afterwards", async () => {
    const members = makeMembers(40, 3);
    fakes = await startFakes(members);
    const repo = makeRepo({
      channels: fakes.channels,
      campaigns: [{ name: "ping", template: "daily", channels: ["hook"], trigger: "once at 2026-12-24 10:00" }],
      members,
    });
    // The receiver is down: every request of the first run gets 503.
    fakes.hook.down(503);
    const first = await dispatch(repo, "2026-12-24 10:30");
    const s1 = summaryOf(first);
    expect(first.exitCode).toBe(1);
    expect(hasStackTrace(first.stderr)).toBe(false);
    expect(s1.planned).toBe(members.filter((m) => !m.unsubscribed).length);
    expect(s1.sent).toBe(0);
    expect(s1.failed).toBe(0);
    expect(s1.pending).toBe(s1.planned);
    expect(fakes.hook.deliveries()).toHaveLength(0);
    expect((await status(repo)).sends.planned).toBe(s1.planned);

    // Back up: the next run sends them, once each.
    fakes.hook.down(undefined);
    const second = await dispatch(repo, "2026-12-24 10:45");
    const s2 = summaryOf(second);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(s2.sent).toBe(s1.planned);
    const delivered = fakes.hook.deliveries().map((d) => String(d.body.member));
    expect(duplicates(delivered)).toEqual([]);
    expect(delivered).toHaveLength(s1.planned);
    expect(ledgerRows(repo).every((r) => r.state === "sent")).toBe(true);
  });
});
