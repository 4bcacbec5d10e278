import { RemoteError, type RemoteErrorKind } from '../../core/errors.ts';

/** An error reply from DashScope, or a failure to reach it. */
export class DashScopeError extends RemoteError {
  override readonly name = 'DashScopeError';
  /** Server-requested wait before retrying, from `Retry-After`. */
  readonly retryAfterMs: number | undefined;

  constructor(init: ConstructorParameters<typeof RemoteError>[0] & { retryAfterMs?: number | undefined }) {
    super(init);
    this.retryAfterMs = init.retryAfterMs;
  }
}

const BILLING_CODES = new Set([
  'Arrearage',
  'CommodityNotPurchased',
  'Throttling.AllocationQuota',
  'AllocationQuota',
]);

/**
 * Classifies a DashScope error reply. Throttling, 5xx and 408 are worth retrying; auth, billing,
 * parameter and inspection errors are not.
 */
export function classifyDashScopeError(
  status: number,
  code: string,
): { kind: RemoteErrorKind; retryable: boolean } {
  if (
    code === 'InvalidApiKey' ||
    status === 401 ||
    code.startsWith('AccessDenied') ||
    code === 'Model.AccessDenied'
  ) {
    return { kind: 'auth', retryable: false };
  }
  if (BILLING_CODES.has(code) || code.endsWith('BillOverdue')) return { kind: 'billing', retryable: false };
  if (code === 'DataInspectionFailed' || code.startsWith('DataInspection')) {
    return { kind: 'inspection', retryable: false };
  }
  if (status === 429 || code.startsWith('Throttling') || code === 'LimitRequests') {
    return { kind: 'throttled', retryable: true };
  }
  if (status === 408 || code === 'RequestTimeOut') return { kind: 'timeout', retryable: true };
  if (status >= 500) return { kind: 'server', retryable: true };
  if (status === 403) return { kind: 'auth', retryable: false };
  return { kind: 'parameter', retryable: false };
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfterMs(
  header: string | string[] | undefined,
  nowMs = Date.now(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Wraps a transport failure (undici/Node error) as a retryable network or timeout error. */
export function transportError(error: unknown, what: string): DashScopeError {
  const code = (error as { code?: string } | undefined)?.code ?? '';
  const causeCode = (error as { cause?: { code?: string } } | undefined)?.cause?.code ?? '';
  const isTimeout =
    TIMEOUT_CODES.has(code) ||
    TIMEOUT_CODES.has(causeCode) ||
    (error as Error | undefined)?.name === 'TimeoutError';
  const known = NETWORK_CODES.has(code) || NETWORK_CODES.has(causeCode);
  return new DashScopeError({
    kind: isTimeout ? 'timeout' : 'network',
    code: isTimeout ? 'RequestTimeOut' : code || causeCode || 'NetworkError',
    message: `${what}: ${isTimeout ? 'no answer in time' : known ? `connection failed (${code || causeCode})` : 'connection failed'}`,
    retryable: true,
    cause: error,
  });
}
