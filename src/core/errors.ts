/** How a remote failure should be treated: what to tell the user and whether to try again. */
export type RemoteErrorKind =
  /** Wrong or unauthorised API key, region or workspace. */
  | 'auth'
  /** Account out of money or free quota. */
  | 'billing'
  /** Rate or concurrency limit hit; try again later. */
  | 'throttled'
  /** The request or its input was refused as invalid. */
  | 'parameter'
  /** The content was refused by DashScope's content inspection. */
  | 'inspection'
  /** The service failed on its side (5xx). */
  | 'server'
  /** No answer in time. */
  | 'timeout'
  /** The connection failed. */
  | 'network'
  /** The remote task ended FAILED. */
  | 'task-failed'
  /** The remote task is gone (expired or never existed). */
  | 'task-lost'
  /** The result could not be fetched or broke a local limit. */
  | 'result';

/** A failure talking to the restyle backend, with everything needed to explain and trace it. */
export class RemoteError extends Error {
  override readonly name: string = 'RemoteError';
  readonly kind: RemoteErrorKind;
  /** Backend error code, e.g. `InvalidApiKey`, `Throttling.RateQuota`. */
  readonly code: string;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly taskId: string | undefined;
  readonly retryable: boolean;

  constructor(init: {
    kind: RemoteErrorKind;
    code: string;
    message: string;
    status?: number | undefined;
    requestId?: string | undefined;
    taskId?: string | undefined;
    retryable?: boolean;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.taskId = init.taskId;
    this.retryable = init.retryable ?? false;
  }
}

/** Thrown when an operation stops because its AbortSignal fired. */
export class AbortedError extends Error {
  override readonly name = 'AbortError';
  constructor(message = 'The operation was aborted') {
    super(message);
  }
}

/** Throws an AbortedError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError();
}

/** True for errors caused by an abort, ours or a library's. */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error instanceof AbortedError);
}

/** For exhaustive switches over discriminated unions. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
