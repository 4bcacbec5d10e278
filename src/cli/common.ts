import { CliDeliverySink } from '../adapters/files/cli-sink.ts';
import { describeFailure } from '../bots/shared/messages.ts';
import type { Requester, RestyleJob } from '../core/job.ts';
import type { DeliverySink } from '../core/ports.ts';
import type { Locale } from '../core/styles.ts';
import { redact } from '../logger.ts';

/** Exit codes of the `restyle` command. */
export const EXIT = {
  ok: 0,
  /** A remote or other failure. */
  failed: 1,
  /** Input or arguments rejected before any remote call. */
  rejected: 2,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
} as const;

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  /** Fires on Ctrl-C / SIGTERM. */
  readonly interrupt: AbortSignal;
}

/** A mistake in the command line; shown with a pointer to `restyle help`, exit 2. */
export class UsageError extends Error {}

/** The person at the terminal: the operator of their own queue, with no per-user cap. */
export const CLI_REQUESTER: Requester = { key: 'cli', name: 'command line', operator: true };

/** Delivery sinks of the command line; `RESTYLE_CLI_DELIVERY_DELAY_MS` slows delivery for crash tests. */
export function cliSinks(env: NodeJS.ProcessEnv): ReadonlyMap<string, DeliverySink> {
  const delayMs = Number(env.RESTYLE_CLI_DELIVERY_DELAY_MS ?? 0);
  return new Map([['cli', new CliDeliverySink(Number.isFinite(delayMs) ? delayMs : 0)]]);
}

/** Lines explaining how a job ended that did not deliver, with the codes support needs. */
export function describeEnd(job: RestyleJob, locale: Locale, secrets: readonly string[]): string[] {
  const state = job.state;
  switch (state.kind) {
    case 'failed': {
      const { failure } = state;
      const sentence = describeFailure(failure, locale);
      const trace = [
        `code ${failure.code}`,
        failure.requestId === undefined ? undefined : `request id ${failure.requestId}`,
        failure.taskId === undefined ? undefined : `task ${failure.taskId}`,
      ].filter(Boolean);
      return [
        redact(`${locale === 'zh' ? '失败' : 'Failed'}: ${sentence}`, secrets),
        `  (${trace.join(', ')})`,
      ];
    }
    case 'canceled':
      if (state.remote === 'canceled') return ['Interrupted; the queued task was canceled at DashScope.'];
      if (state.remote === 'running') {
        return ['Interrupted; the task was already running at DashScope and cannot be canceled there.'];
      }
      return ['Interrupted; nothing is left running at DashScope.'];
    default:
      return [];
  }
}

/** The exit code a job's end calls for. */
export function exitCodeFor(job: RestyleJob): number {
  switch (job.state.kind) {
    case 'delivered':
      return EXIT.ok;
    case 'rejected':
      return EXIT.rejected;
    case 'canceled':
      return EXIT.interrupted;
    default:
      return EXIT.failed;
  }
}
