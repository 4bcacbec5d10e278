import { describe, expect, it } from 'vitest';
import { normaliseStatus } from '../../../src/adapters/dashscope/backend.ts';
import {
  classifyDashScopeError,
  parseRetryAfterMs,
  transportError,
} from '../../../src/adapters/dashscope/errors.ts';

describe('DashScope error mapping', () => {
  it.each([
    [401, 'InvalidApiKey', 'auth', false],
    [403, 'AccessDenied', 'auth', false],
    [403, 'AccessDenied.Unpurchased', 'auth', false],
    [403, 'Model.AccessDenied', 'auth', false],
    [400, 'Arrearage', 'billing', false],
    [429, 'Throttling.AllocationQuota', 'billing', false],
    [400, 'CommodityNotPurchased', 'billing', false],
    [400, 'PrepaidBillOverdue', 'billing', false],
    [400, 'DataInspectionFailed', 'inspection', false],
    [429, 'Throttling', 'throttled', true],
    [429, 'Throttling.RateQuota', 'throttled', true],
    [429, 'LimitRequests', 'throttled', true],
    [408, 'RequestTimeOut', 'timeout', true],
    [500, 'InternalError', 'server', true],
    [500, 'InternalError.Algo', 'server', true],
    [503, 'ModelUnavailable', 'server', true],
    [500, 'SystemError', 'server', true],
    [400, 'InvalidParameter', 'parameter', false],
    [400, 'InvalidParameter.JsonPhrase', 'parameter', false],
    [400, 'InvalidURL', 'parameter', false],
    [404, 'ModelNotFound', 'parameter', false],
    [413, 'BadRequest.TooLarge', 'parameter', false],
  ])('HTTP %i %s is %s (retryable: %s)', (status, code, kind, retryable) => {
    expect(classifyDashScopeError(status, code)).toEqual({ kind, retryable });
  });

  it('reads Retry-After in seconds or as a date', () => {
    expect(parseRetryAfterMs('2')).toBe(2_000);
    expect(parseRetryAfterMs('0.5')).toBe(500);
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 7_000)).toBe(3_000);
    expect(parseRetryAfterMs(undefined)).toBeUndefined();
    expect(parseRetryAfterMs('soon')).toBeUndefined();
  });

  it('treats connection failures and timeouts as retryable', () => {
    const refused = transportError(
      Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      'Could not x',
    );
    expect(refused).toMatchObject({ kind: 'network', code: 'ECONNREFUSED', retryable: true });
    const slow = transportError(
      Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }),
      'Could not x',
    );
    expect(slow).toMatchObject({ kind: 'timeout', code: 'RequestTimeOut', retryable: true });
  });

  it('compares task statuses case-insensitively', () => {
    expect(normaliseStatus('SUCCEEDED')).toBe('succeeded');
    expect(normaliseStatus('Failed')).toBe('failed');
    expect(normaliseStatus('UNKNOWN')).toBe('unknown');
    expect(normaliseStatus('CANCELED')).toBe('canceled');
    expect(normaliseStatus('SUSPENDED')).toBe('suspended');
  });
});
