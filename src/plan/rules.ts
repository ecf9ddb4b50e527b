/**
 * The rule chain of the walk: one member of one occurrence, in order — repeat → policy.max → channel quota → limit →
 * budget → holdout — and what a send or a holdout decision uses up. Both walks of the planner (the general one in
 * `plan`, and `walkSendable`, the tight loop over typed arrays) call it, so they cannot disagree.
 */
import type { LastSends, RuleSet } from "./caps.js";
import type { SkipReason } from "./types.js";

/** What `choose` returns when it refuses a member (a chosen channel is an index, 0 or more). */
export const CAPPED_REPEAT = -1;
export const CAPPED_POLICY_MAX = -2;
export const CAPPED_QUOTA = -3;
export const CAPPED_LIMIT = -4;
export const CAPPED_BUDGET = -5;

/** The skip reason of a refusal code of `choose` (CAPPED_REPEAT …). */
export const CAPPED_REASONS: readonly SkipReason[] = ["capped:repeat", "capped:policy.max", "capped:quota", "capped:limit", "capped:budget"];
export const cappedReason = (code: number): SkipReason => CAPPED_REASONS[-code - 1]!;

export class RuleChain {
  /** Sends this occurrence made (they count against `limit`). */
  sends = 0;
  private spent = 0;
  private budgetSpent = false;

  constructor(
    private readonly global: RuleSet,
    private readonly quotas: RuleSet[],
    private readonly lastSend: LastSends | undefined,
    /** Whether the campaign's `repeat` lets a member whose last send (or holdout) was at `last` (0: never) have this one. */
    private readonly repeatAllows: ((last: number) => boolean) | undefined,
    /** Sends this occurrence may still make (Infinity without `limit`). */
    private readonly limit: number,
    /** The campaign's budget per occurrence in CNY (Infinity without one), and what earlier runs spent of it. */
    private readonly budget: number = Infinity,
    private readonly spentBefore: number = 0,
  ) {}

  /**
   * The channel (its index in the campaign's list) a member reachable on `chans` (a bit per channel) would be sent on
   * at `at`: the first one whose quota allows. Or why not, a negative code. Uses nothing up.
   */
  choose(row: number, chans: number, at: number): number {
    if (this.lastSend !== undefined && !this.repeatAllows!(this.lastSend.get(row))) return CAPPED_REPEAT;
    if (!this.global.allows(row, at)) return CAPPED_POLICY_MAX;
    let chosen = -1;
    const quotas = this.quotas;
    for (let j = 0; j < quotas.length; j++) {
      if (chans & (1 << j) && quotas[j]!.allows(row, at)) {
        chosen = j;
        break;
      }
    }
    if (chosen < 0) return CAPPED_QUOTA;
    if (this.sends >= this.limit) return CAPPED_LIMIT;
    if (this.budgetSpent) return CAPPED_BUDGET;
    return chosen;
  }

  /**
   * After `choose`, with the price of the message: whether the budget still pays for it. The first message it cannot
   * pay for ends the occurrence's spending (later members are capped by the budget without being priced).
   */
  affordable(cost: number): boolean {
    if (this.spentBefore + this.spent + cost > this.budget + 1e-9) {
      this.budgetSpent = true;
      return false;
    }
    return true;
  }

  /** A member who would be sent is held out (last in the chain): nothing is used up but the campaign's `repeat`. */
  hold(row: number, at: number): void {
    if (this.lastSend !== undefined) this.lastSend.set(row, at);
  }

  /** A send on channel `chosen` costing `cost`: counts against policy.max, the channel's quota, repeat, limit and budget. */
  send(row: number, chosen: number, at: number, cost: number): void {
    this.sends++;
    this.spent += cost;
    this.global.record(row, at);
    this.quotas[chosen]!.record(row, at);
    if (this.lastSend !== undefined) this.lastSend.set(row, at);
  }
}
