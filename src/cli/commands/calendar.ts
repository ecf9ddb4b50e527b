import { describeTrigger, expandAll } from "../../calendar/occurrences.js";
import { calendarJson, renderCalendarTable } from "../../render/calendar.js";
import type { Io } from "../io.js";
import type { ChudaProgram } from "./program.js";
import { dateRange } from "../moment.js";
import { loadWorkspace, requireValid, selectCampaigns } from "../workspace.js";

export function registerCalendar(program: ChudaProgram, io: Io): void {
  program
    .command("calendar")
    .description("every occurrence of the campaigns' triggers in a date range, holidays resolved")
    .argument("[campaigns...]", "only these campaigns")
    .option("--from <date>", "first day (YYYY-MM-DD; default today)")
    .option("--to <date>", "last day (YYYY-MM-DD; default 30 days after --from)")
    .option("--json", "machine-readable output")
    .run(async (names: string[], opts: { from?: string; to?: string; json?: boolean }) => {
      const ws = await loadWorkspace(program.opts().project, io);
      const project = requireValid(ws, io);
      // Default: today and the next 30 days.
      const { from, to } = dateRange(opts, io.now(), project.timezone, 31);
      const campaigns = selectCampaigns(ws, names);
      const occurrences = expandAll(campaigns, project, from, to);
      const onEvent = campaigns.flatMap((c) =>
        c.trigger.kind === "business_event" ? [{ campaign: c.name, event: c.trigger.event, trigger: describeTrigger(c.trigger) }] : [],
      );
      if (opts.json) io.out(JSON.stringify(calendarJson(occurrences, onEvent), null, 2) + "\n");
      else io.out(renderCalendarTable(occurrences, project, { color: io.color }, onEvent));
      return 0;
    });
}
