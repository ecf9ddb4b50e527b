import { describe, expect, it } from "vitest";
import { GroupCommitQueue } from "./group-commit.js";

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("the group-commit queue", () => {
  it("wakes the ledger once per turn, hands over everything queued as one group, and settles each mark with its own ids", async () => {
    let wakes = 0;
    const queue = new GroupCommitQueue(() => wakes++);
    const a = queue.mark([1, 2], 7, 100);
    const b = queue.mark([3], 7, 100);
    queue.finish([{ id: 9, key: "k9", state: "sent" }], 100, []);
    await turn();
    expect(wakes).toBe(1);
    const group = queue.take()!;
    expect(group.marks.map((m) => m.ids)).toEqual([[1, 2], [3]]);
    expect(group.results.map((x) => x.r.key)).toEqual(["k9"]);
    expect(queue.take()).toBeUndefined();
    queue.settle(group, [new Set([1]), new Set([3])]);
    expect([...(await a)]).toEqual([1]);
    expect([...(await b)]).toEqual([3]);
  });

  it("after a failed commit, its marks, the marks still queued and every later write fail with that error", async () => {
    const queue = new GroupCommitQueue(() => undefined);
    const inGroup = queue.mark([1], 1, 1);
    const group = queue.take();
    const stillQueued = queue.mark([2], 1, 1);
    const error = new Error("disk full");
    queue.fail(group, error);
    await expect(inGroup).rejects.toBe(error);
    await expect(stillQueued).rejects.toBe(error);
    await expect(queue.mark([3], 1, 1)).rejects.toBe(error);
    expect(() => queue.finish([], 1, [])).toThrow("disk full");
    expect(queue.hasQueued).toBe(false);
    expect(queue.hasFailed).toBe(true);
  });
});
