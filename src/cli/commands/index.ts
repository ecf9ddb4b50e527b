import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { registerValidate } from "./validate.js";
import { registerFmt } from "./fmt.js";
import { registerInit } from "./init.js";
import { registerCalendar } from "./calendar.js";
import { registerSimulate } from "./simulate.js";
import { registerPreview } from "./preview.js";
import { registerDispatch } from "./dispatch.js";
import { registerStatus } from "./status.js";
import { registerSampleMembers } from "./sample-members.js";
import { registerReport } from "./report.js";
import { registerTest } from "./test.js";
import { registerLsp } from "./lsp.js";
import { registerLedger } from "./ledger.js";
import { registerServe } from "./serve.js";
import { registerSuppress } from "./suppress.js";
import { registerReceipts } from "./receipts.js";

/** One file per command: flags → one stage call → a view. */
export function registerCommands(program: ChudaProgram, io: Io): void {
  registerInit(program, io);
  registerValidate(program, io);
  registerFmt(program, io);
  registerCalendar(program, io);
  registerSimulate(program, io);
  registerPreview(program, io);
  registerDispatch(program, io);
  registerStatus(program, io);
  registerReport(program, io);
  registerTest(program, io);
  registerSampleMembers(program, io);
  registerLsp(program, io);
  registerLedger(program, io);
  registerServe(program, io);
  registerSuppress(program, io);
  registerReceipts(program, io);
}
