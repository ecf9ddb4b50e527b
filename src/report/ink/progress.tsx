/**
 * The Ink view for long work on a TTY: a titled progress bar per task. Off a TTY (or with CI set) the CLI
 * never creates it, and output stays plain.
 */
import React, { useEffect, useState } from "react";
import { Box, Text, render } from "ink";

export interface ProgressHandle {
  update(task: string, done: number, total: number, note?: string): void;
  finish(): void;
}

interface Task {
  name: string;
  done: number;
  total: number;
  note?: string;
}

type Listener = (tasks: Task[]) => void;

function Bar({ done, total, width = 30 }: { done: number; total: number; width?: number }) {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(f * width);
  return (
    <Text>
      <Text color="green">{"█".repeat(full)}</Text>
      <Text dimColor>{"░".repeat(width - full)}</Text>
      <Text> {Math.round(f * 100)}%</Text>
    </Text>
  );
}

function View({ subscribe, title }: { subscribe: (l: Listener) => void; title: string }) {
  const [tasks, setTasks] = useState<Task[]>([]);
  useEffect(() => subscribe((t) => setTasks([...t])), [subscribe]);
  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      {tasks.map((t) => (
        <Box key={t.name} gap={1}>
          <Box width={22}>
            <Text>{t.name}</Text>
          </Box>
          <Bar done={t.done} total={t.total} />
          {t.note ? <Text dimColor>{t.note}</Text> : null}
        </Box>
      ))}
    </Box>
  );
}

export function startProgress(title: string): ProgressHandle {
  const tasks: Task[] = [];
  let listener: Listener | undefined;
  const instance = render(<View title={title} subscribe={(l) => void (listener = l)} />, { stdout: process.stderr, exitOnCtrlC: true });
  let last = 0;
  return {
    update(name, done, total, note) {
      let t = tasks.find((x) => x.name === name);
      if (!t) tasks.push((t = { name, done, total }));
      t.done = done;
      t.total = total;
      t.note = note;
      const now = Date.now();
      if (now - last > 80 || done >= total) {
        last = now;
        listener?.(tasks);
      }
    },
    finish() {
      listener?.(tasks);
      instance.unmount();
    },
  };
}
