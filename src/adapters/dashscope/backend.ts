import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { RestyleBackend, RestyleRequest, TaskSnapshot, TaskStatus } from '../../core/ports.ts';
import { DashScopeClient, type DashScopeClientOptions, submitGateFor } from './client.ts';
import {
  beijingCompactTime,
  MODEL,
  SUBMIT_PATH,
  type SubmitBody,
  TASKS_PATH,
  type TaskReply,
  taskListReply,
  taskReply,
} from './wire.ts';

/** Options of the backend: the client's, plus the account's submit rate. */
export interface DashScopeBackendOptions extends DashScopeClientOptions {
  /** Minimum time between two submits of the account (its limit is 1 per second; default 1.1 s). */
  readonly submitIntervalMs?: number;
}

const STATUSES: Record<string, TaskStatus> = {
  pending: 'pending',
  running: 'running',
  suspended: 'suspended',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'canceled',
  cancelled: 'canceled',
  unknown: 'unknown',
};

/** Normalises DashScope's task status (compared case-insensitively: one doc example says `Failed`). */
export function normaliseStatus(status: string): TaskStatus {
  return STATUSES[status.trim().toLowerCase()] ?? 'running';
}

/** Turns a task reply into a snapshot. */
export function toSnapshot(reply: TaskReply, requestId: string | undefined): TaskSnapshot {
  const { output } = reply;
  const status = normaliseStatus(output.task_status);
  return {
    taskId: output.task_id,
    status,
    requestId,
    ...(output.output_video_url ? { outputUrl: output.output_video_url } : {}),
    ...(status === 'failed'
      ? { failure: { code: output.code ?? 'UnknownError', message: output.message ?? 'the task failed' } }
      : {}),
    ...(reply.usage?.duration === undefined ? {} : { billedSec: reply.usage.duration }),
  };
}

/** ASCII-only URL: DashScope refuses non-ASCII characters, so anything else is percent-encoded. */
export function asciiUrl(url: string): string {
  return url.replace(/[^\x21-\x7e]/g, (char) => encodeURIComponent(char));
}

/** `video-style-transform` on DashScope: submit (async), check, cancel. */
export class DashScopeBackend implements RestyleBackend {
  readonly client: DashScopeClient;
  private readonly submitIntervalMs: number;

  constructor(options: DashScopeBackendOptions) {
    this.client = new DashScopeClient(options);
    // 1 s is the account's limit as DashScope counts it, by arrival: a margin absorbs timer and
    // network jitter between two sends that are exactly 1 s apart.
    this.submitIntervalMs = options.submitIntervalMs ?? 1_100;
  }

  private get gate() {
    const account = createHash('sha256')
      .update(`${this.client.options.baseUrl}\n${this.client.options.apiKey}`)
      .digest('hex');
    return submitGateFor(account, this.submitIntervalMs, this.client.clock);
  }

  /** Creates the task; at most one submit per second per account, throttled submits retried. */
  async submit(request: RestyleRequest, signal?: AbortSignal): Promise<TaskSnapshot> {
    const body: SubmitBody = {
      model: MODEL,
      input: { video_url: asciiUrl(request.media.url) },
      parameters: { style: request.styleId, video_fps: request.fps },
    };
    const gate = this.gate;
    const reply = await this.client.call(
      {
        method: 'POST',
        path: SUBMIT_PATH,
        body,
        headers: {
          'x-dashscope-async': 'enable',
          ...(request.media.ossResolve ? { 'x-dashscope-ossresourceresolve': 'enable' } : {}),
        },
        schema: taskReply,
        what: 'submit the task',
        signal,
      },
      { beforeAttempt: () => gate.pass(signal) },
    );
    return toSnapshot(reply.data, reply.requestId);
  }

  /** Reads the task's status; retries transient failures a few times. */
  async check(taskId: string, signal?: AbortSignal): Promise<TaskSnapshot> {
    const reply = await this.client.call(
      {
        method: 'GET',
        path: `${TASKS_PATH}/${encodeURIComponent(taskId)}`,
        schema: taskReply,
        what: 'check the task',
        signal,
      },
      { retry: { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 2_000 } },
    );
    return toSnapshot(reply.data, reply.requestId);
  }

  /** Cancels a PENDING task; DashScope refuses once it runs. */
  async cancel(taskId: string, signal?: AbortSignal): Promise<void> {
    await this.client.call(
      {
        method: 'POST',
        path: `${TASKS_PATH}/${encodeURIComponent(taskId)}/cancel`,
        schema: z.looseObject({}),
        what: 'cancel the task',
        signal,
      },
      { retry: { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 2_000 } },
    );
  }

  /** Tasks of this account and model created at or after `sinceMs` (the list API), oldest first. */
  async tasksCreatedSince(sinceMs: number, signal?: AbortSignal): Promise<readonly TaskSnapshot[]> {
    // The filter has whole seconds; a minute of slack covers clock skew, gmt_create narrows it.
    const reply = await this.client.call({
      method: 'GET',
      path: TASKS_PATH,
      query: {
        model_name: MODEL,
        start_time: beijingCompactTime(sinceMs - 60_000),
        end_time: beijingCompactTime(Date.now() + 60_000),
        page_no: '1',
        page_size: '20',
      },
      schema: taskListReply,
      what: 'list recent tasks',
      signal,
    });
    return reply.data.data
      .filter((item) => {
        const created = Number(item.gmt_create);
        return !Number.isFinite(created) || created >= sinceMs - 1_000;
      })
      .sort((a, b) => Number(a.gmt_create ?? 0) - Number(b.gmt_create ?? 0))
      .map((item) => ({
        taskId: item.task_id,
        status: normaliseStatus(item.status),
        requestId: reply.requestId,
      }));
  }
}
