/**
 * The Ink view for long work on a TTY: a titled progress bar per task (loading members, planning). Off a TTY
 * (or with CI set) the CLI never creates it, and output stays plain. With colour off (NO_COLOR) the bars are
 * drawn with `█`/`░` and no escape codes for colour.
 */
import { Box, Text } from "ink";
import { mountLive, type LiveOptions } from "./live.js";
import { Line, barSegs, Styled } from "./parts.js";
import { padEnd } from "../style.js";

export interface ProgressHandle {
  update(task: string, done: number, total: number, note?: string): void;
  /** Text shown above the bars (a diagnostic printed while they are live). */
  log(text: string): void;
  finish(): void;
}

export interface ProgressTask {
  name: string;
  done: number;
  total: number;
  note?: string;
}

export interface ProgressOptions extends LiveOptions {
  /** Colour (io.color). Default true. */
  color?: boolean;
}

export const BAR_WIDTH = 30;

export function ProgressView({ title, tasks, color }: { title: string; tasks: ProgressTask[]; color: boolean }) {
  return (
    <Box flexDirection="column">
      <Text>
        <Styled text={title} tone="bold" color={color} />
      </Text>
      {tasks.map((t) => (
        <Line
          key={t.name}
          color={color}
          segs={[
            { text: padEnd(t.name, 22) + " " },
            ...barSegs(t.done, t.total, BAR_WIDTH),
            ...(t.note ? [{ text: `  ${t.note}`, tone: "dim" as const }] : []),
          ]}
        />
      ))}
    </Box>
  );
}

export function startProgress(title: string, opts: ProgressOptions = {}): ProgressHandle {
  const color = opts.color ?? true;
  const tasks: ProgressTask[] = [];
  const live = mountLive(opts);
  const view = () => <ProgressView title={title} tasks={tasks.map((t) => ({ ...t }))} color={color} />;
  live.show(view);
  return {
    update(name, done, total, note) {
      let t = tasks.find((x) => x.name === name);
      if (!t) tasks.push((t = { name, done, total }));
      t.done = done;
      t.total = total;
      t.note = note;
      live.show(view);
    },
    log: (text) => live.log(text),
    finish: () => live.finish(view),
  };
}
