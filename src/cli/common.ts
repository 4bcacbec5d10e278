import { CliDeliverySink } from '../adapters/files/cli-sink.ts';
import type { Requester, RestyleJob } from '../core/job.ts';
import type { DeliverySink } from '../core/ports.ts';
import type { Locale } from '../core/styles.ts';
import { redact } from '../logger.ts';
import { describeFailure, formatList, localeFrom, t } from '../text/index.ts';

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
export class UsageError extends Error {
  /** `locale`: the language the message is in, when the command chose one (`--lang`). */
  constructor(
    message: string,
    readonly locale?: Locale,
  ) {
    super(message);
  }
}

/** The person at the terminal: the operator of their own queue, with no per-user cap. */
export const CLI_REQUESTER: Requester = { key: 'cli', name: 'command line', operator: true };

/** The language of the terminal: `LC_ALL`, else `LC_MESSAGES`, else `LANG` (empty counts as unset). */
export function terminalLocale(env: NodeJS.ProcessEnv): Locale {
  return localeFrom(env.LC_ALL || env.LC_MESSAGES || env.LANG);
}

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
      const trace = [
        t(locale, 'cli.trace.code', { code: failure.code }),
        failure.requestId === undefined
          ? undefined
          : t(locale, 'cli.trace.request', { requestId: failure.requestId }),
        failure.taskId === undefined ? undefined : t(locale, 'cli.trace.task', { taskId: failure.taskId }),
      ].filter((part): part is string => Boolean(part));
      return [
        redact(t(locale, 'cli.failed', { reason: describeFailure(failure, locale) }), secrets),
        t(locale, 'cli.trace', { trace: formatList(trace, locale) }),
      ];
    }
    case 'canceled':
      if (state.remote === 'canceled') return [t(locale, 'cli.interrupted.canceledRemote')];
      if (state.remote === 'running') return [t(locale, 'cli.interrupted.running')];
      return [t(locale, 'cli.interrupted.nothing')];
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
