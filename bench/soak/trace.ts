// Tracing what the fakes hold back to the soak's requests: DashScope tasks by the marker in their
// uploaded input, result downloads by task id, and a timeline of each request for the report.
import type { FakeDashScope, FakeTask } from '../../test/fakes/dashscope/server.ts';
import type { ClipFactory } from './clips.ts';

/** One step in a request's life, as seen at the fakes. */
export interface Step {
  readonly at: number;
  readonly what: string;
}

/** A kill the soak made. */
export interface Kill {
  readonly n: number;
  readonly startedAt: number;
  readonly readyAt: number | undefined;
  readonly at: number;
  /** The phase aimed at. */
  readonly target: string;
  /** The event that triggered it, or why it came without one. */
  readonly trigger: string;
}

/** DashScope's side, traced to requests. */
export interface DashScopeTrace {
  /** Tasks by request id (every task, whatever its status). */
  readonly tasksOf: Map<number, FakeTask[]>;
  /** Tasks whose input carried no marker of this run. */
  readonly untraced: FakeTask[];
  /** Accepted submits (HTTP 200) in all. */
  readonly submitsAccepted: number;
  /** Submits answered 429 (rate or concurrency limit). */
  readonly submits429: number;
  /** Result downloads by task id (arrival times). */
  readonly fetchesOf: Map<string, number[]>;
}

/** Tasks that cost money or will: accepted and not failed or canceled. */
export function billed(tasks: readonly FakeTask[]): FakeTask[] {
  return tasks.filter((t) => t.status === 'SUCCEEDED' || t.status === 'PENDING' || t.status === 'RUNNING');
}

export async function traceDashScope(dashscope: FakeDashScope, clips: ClipFactory): Promise<DashScopeTrace> {
  const tasksOf = new Map<number, FakeTask[]>();
  const untraced: FakeTask[] = [];
  for (const task of dashscope.tasks.values()) {
    const url = task.input.url;
    const upload = url.startsWith('oss://') ? dashscope.uploads.get(url.slice('oss://'.length)) : undefined;
    const id = upload ? await clips.requestOf(upload.path) : undefined;
    if (id === undefined) {
      untraced.push(task);
      continue;
    }
    const list = tasksOf.get(id) ?? [];
    list.push(task);
    tasksOf.set(id, list);
  }
  const submits = dashscope.submits();
  const fetchesOf = new Map<string, number[]>();
  for (const request of dashscope.requests) {
    const match = /^\/__outputs\/([^/]+)\.mp4$/.exec(request.path);
    if (request.method !== 'GET' || !match) continue;
    const list = fetchesOf.get(match[1]!) ?? [];
    list.push(request.at);
    fetchesOf.set(match[1]!, list);
  }
  return {
    tasksOf,
    untraced,
    submitsAccepted: submits.filter((r) => r.status === 200).length,
    submits429: submits.filter((r) => r.status === 429).length,
    fetchesOf,
  };
}

/** The DashScope steps of one request. */
export function dashscopeSteps(trace: DashScopeTrace, id: number): Step[] {
  const steps: Step[] = [];
  for (const task of trace.tasksOf.get(id) ?? []) {
    const short = task.id.slice(0, 8);
    steps.push({ at: task.submittedAt, what: `DashScope task ${short} submitted` });
    if (task.scheduledAt) steps.push({ at: task.scheduledAt, what: `task ${short} running` });
    if (task.endedAt) steps.push({ at: task.endedAt, what: `task ${short} ${task.status}` });
    for (const at of trace.fetchesOf.get(task.id) ?? [])
      steps.push({ at, what: `result of ${short} downloaded` });
  }
  return steps;
}

/** The first kill at or after `at`, said in words. */
export function killAfter(at: number, kills: readonly Kill[]): string {
  const kill = kills.find((k) => k.at >= at);
  return kill
    ? `kill #${kill.n} ${kill.at - at} ms later (aimed at ${kill.target}: ${kill.trigger})`
    : 'no kill after it (the final run)';
}

/** "last step …; then kill #n …": where a request stopped moving (or, with `upTo`, what came after that moment). */
export function whereItStopped(
  steps: readonly Step[],
  kills: readonly Kill[],
  upTo = Number.POSITIVE_INFINITY,
): string {
  const sorted = steps.filter((s) => s.at <= upTo).sort((a, b) => a.at - b.at);
  const last = sorted[sorted.length - 1];
  if (!last) return 'no steps seen';
  return `last step: ${last.what}; then ${killAfter(last.at, kills)}`;
}

/** The steps as short lines, in ms since the first, for `--json`. */
export function stepLines(steps: readonly Step[], kills: readonly Kill[]): string[] {
  const sorted = [...steps].sort((a, b) => a.at - b.at);
  const first = sorted[0]?.at ?? 0;
  const lines: string[] = [];
  let k = kills.findIndex((kill) => kill.at >= first);
  for (const step of sorted) {
    while (k >= 0 && k < kills.length && kills[k]!.at <= step.at) {
      lines.push(`+${kills[k]!.at - first} ms  ✗ kill #${kills[k]!.n} (${kills[k]!.target})`);
      k += 1;
    }
    lines.push(`+${step.at - first} ms  ${step.what}`);
  }
  if (k >= 0 && k < kills.length)
    lines.push(`+${kills[k]!.at - first} ms  ✗ kill #${kills[k]!.n} (${kills[k]!.target})`);
  return lines;
}
