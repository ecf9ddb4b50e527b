/**
 * The ledger as the drivers' `TokenStore`: access tokens in its `tokens` table, shared by every process that opens the
 * same ledger. Every ledger (SQLite, PostgreSQL) offers the three methods for it: `getToken`, `putToken`, `leaseToken`.
 */
import type { TokenStore } from "../drivers/types.js";
import type { Ledger } from "../ledger/types.js";

export type TokenLedger = Pick<Ledger, "getToken" | "putToken" | "leaseToken">;

export interface LedgerTokenStore extends TokenStore {
  /** The ledger from now on. Drivers are created before the run opens its ledger; until then tokens stay in memory. */
  attach(ledger: TokenLedger | undefined): void;
}

export function ledgerTokenStore(): LedgerTokenStore {
  let ledger: TokenLedger | undefined;
  return {
    attach(l) {
      ledger = l;
    },
    async get(key, now) {
      return ledger?.getToken(key, now);
    },
    async put(key, token, expiresAt) {
      await ledger?.putToken(key, token, expiresAt);
    },
    async lease(key, holder, now, until) {
      return ledger ? ledger.leaseToken(key, holder, now, until) : true;
    },
  };
}
