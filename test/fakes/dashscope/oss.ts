import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

/** The bucket name the fake pretends temporary uploads live in. */
export const OSS_BUCKET = 'dashscope-file-mgr';

/** An OSS-style error: HTTP status, code and message, sent as OSS's XML body. */
export interface OssError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

const escapeXml = (text: string): string =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

/** The XML body OSS sends with an error. */
export function ossErrorXml(error: OssError, requestId: string, hostId: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<Error>',
    `  <Code>${escapeXml(error.code)}</Code>`,
    `  <Message>${escapeXml(error.message)}</Message>`,
    `  <RequestId>${escapeXml(requestId)}</RequestId>`,
    `  <HostId>${escapeXml(hostId)}</HostId>`,
    '</Error>',
    '',
  ].join('\n');
}

/** The XML body OSS sends for a PostObject answered with `success_action_status=201`. */
export function ossPostResponseXml(location: string, key: string, etag: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<PostResponse>',
    `  <Bucket>${OSS_BUCKET}</Bucket>`,
    `  <Location>${escapeXml(location)}</Location>`,
    `  <Key>${escapeXml(key)}</Key>`,
    `  <ETag>${escapeXml(etag)}</ETag>`,
    '</PostResponse>',
    '',
  ].join('\n');
}

/** OSS's V1 POST signature: base64(HMAC-SHA1(secret, base64 policy)). */
export function signPolicy(secret: string, policyBase64: string): string {
  return createHmac('sha1', secret).update(policyBase64).digest('base64');
}

/** A policy handed out by getPolicy, remembered so an upload can be tied to its API key and model. */
export interface IssuedPolicy {
  readonly uploadDir: string;
  readonly apiKey: string;
  readonly model: string;
  readonly expiresAtMs: number;
  readonly maxBytes: number;
}

/** What getPolicy returns under `data`. */
export interface PolicyData {
  readonly policy: string;
  readonly signature: string;
  readonly upload_dir: string;
  readonly upload_host: string;
  readonly expire_in_seconds: number;
  readonly max_file_size_mb: number;
  readonly capacity_limit_mb: number;
  readonly oss_access_key_id: string;
  readonly x_oss_object_acl: string;
  readonly x_oss_forbid_overwrite: string;
}

/** Issues an upload policy for one API key and model, like `GET /api/v1/uploads?action=getPolicy`. */
export function issuePolicy(args: {
  readonly apiKey: string;
  readonly model: string;
  readonly nowMs: number;
  readonly expireSec: number;
  readonly maxFileSizeMb: number;
  readonly uploadHost: string;
  readonly accessKeyId: string;
  readonly secret: string;
}): { readonly data: PolicyData; readonly issued: IssuedPolicy } {
  const account = createHash('sha256').update(args.apiKey).digest('hex').slice(0, 32);
  const day = new Date(args.nowMs + 8 * 3_600_000).toISOString().slice(0, 10);
  const uploadDir = `dashscope-instant/${account}/${day}/${randomUUID()}`;
  const maxBytes = args.maxFileSizeMb * 1024 * 1024;
  const expiresAtMs = args.nowMs + args.expireSec * 1000;
  const document = {
    expiration: new Date(expiresAtMs).toISOString(),
    conditions: [
      { bucket: OSS_BUCKET },
      ['content-length-range', 0, maxBytes],
      ['starts-with', '$key', uploadDir],
      { 'x-oss-object-acl': 'private' },
      { 'x-oss-forbid-overwrite': 'true' },
    ],
  };
  const policy = Buffer.from(JSON.stringify(document)).toString('base64');
  return {
    data: {
      policy,
      signature: signPolicy(args.secret, policy),
      upload_dir: uploadDir,
      upload_host: args.uploadHost,
      expire_in_seconds: args.expireSec,
      max_file_size_mb: args.maxFileSizeMb,
      capacity_limit_mb: 999_999_999,
      oss_access_key_id: args.accessKeyId,
      x_oss_object_acl: 'private',
      x_oss_forbid_overwrite: 'true',
    },
    issued: { uploadDir, apiKey: args.apiKey, model: args.model, expiresAtMs, maxBytes },
  };
}

/** A PostObject form that passed every check before its file arrived. */
export interface AcceptedForm {
  readonly key: string;
  readonly maxBytes: number;
  readonly minBytes: number;
  readonly forbidOverwrite: boolean;
  readonly successStatus: number;
  readonly contentType: string | undefined;
  readonly policy: IssuedPolicy;
}

const policyFailed = (condition: unknown): OssError => ({
  status: 403,
  code: 'AccessDenied',
  message: `Invalid according to Policy: Policy Condition failed: ${JSON.stringify(condition)}`,
});

/**
 * Checks the fields that came before `file` the way OSS PostObject does: required fields,
 * access key, signature, expiry and every policy condition. Field names are lower-cased.
 */
export function checkPostForm(
  fields: ReadonlyMap<string, string>,
  ctx: {
    readonly accessKeyId: string;
    readonly secret: string;
    readonly nowMs: number;
    readonly policies: ReadonlyMap<string, IssuedPolicy>;
  },
): AcceptedForm | OssError {
  for (const required of ['key', 'policy', 'ossaccesskeyid', 'signature']) {
    if (!fields.get(required)) {
      return { status: 400, code: 'InvalidArgument', message: `Missing required form field: ${required}.` };
    }
  }
  const key = fields.get('key')!;
  const policyBase64 = fields.get('policy')!;
  if (fields.get('ossaccesskeyid') !== ctx.accessKeyId) {
    return {
      status: 403,
      code: 'InvalidAccessKeyId',
      message: 'The OSS Access Key Id you provided does not exist in our records.',
    };
  }
  const expected = Buffer.from(signPolicy(ctx.secret, policyBase64));
  const given = Buffer.from(fields.get('signature')!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return {
      status: 403,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  }
  let document: { expiration?: unknown; conditions?: unknown };
  try {
    document = JSON.parse(Buffer.from(policyBase64, 'base64').toString('utf8')) as typeof document;
  } catch {
    return { status: 400, code: 'InvalidPolicyDocument', message: 'Invalid Policy: Invalid JSON.' };
  }
  const expiresAtMs = typeof document.expiration === 'string' ? Date.parse(document.expiration) : Number.NaN;
  if (!Number.isFinite(expiresAtMs) || !Array.isArray(document.conditions)) {
    return {
      status: 400,
      code: 'InvalidPolicyDocument',
      message: 'Invalid Policy: Invalid Simple-Condition.',
    };
  }
  if (expiresAtMs < ctx.nowMs) {
    return { status: 403, code: 'AccessDenied', message: 'Invalid according to Policy: Policy expired.' };
  }
  let minBytes = 0;
  let maxBytes = Number.POSITIVE_INFINITY;
  let keyPrefix: string | undefined;
  for (const condition of document.conditions as unknown[]) {
    if (Array.isArray(condition)) {
      const [op, name, value] = condition as [string, unknown, unknown];
      if (op === 'content-length-range') {
        minBytes = Number(name);
        maxBytes = Number(value);
        continue;
      }
      const field = typeof name === 'string' ? name.replace(/^\$/, '').toLowerCase() : '';
      const actual = fields.get(field) ?? '';
      if (op === 'starts-with') {
        if (!actual.startsWith(String(value))) return policyFailed(condition);
        if (field === 'key') keyPrefix = String(value);
      } else if (op === 'eq') {
        if (actual !== String(value)) return policyFailed(condition);
      }
    } else if (condition && typeof condition === 'object') {
      for (const [name, value] of Object.entries(condition)) {
        if (name === 'bucket') continue;
        if ((fields.get(name.toLowerCase()) ?? '') !== String(value)) return policyFailed(condition);
      }
    }
  }
  const policy = keyPrefix === undefined ? undefined : ctx.policies.get(keyPrefix);
  if (!policy)
    return { status: 403, code: 'AccessDenied', message: 'AccessDenied: the key is outside any upload_dir.' };
  const status = Number(fields.get('success_action_status') ?? '204');
  return {
    key,
    maxBytes,
    minBytes,
    forbidOverwrite: (fields.get('x-oss-forbid-overwrite') ?? '').toLowerCase() === 'true',
    successStatus: status === 200 || status === 201 ? status : 204,
    contentType: fields.get('x-oss-content-type') ?? fields.get('content-type'),
    policy,
  };
}

/** True when a check result is an error rather than an accepted form. */
export function isOssError(result: AcceptedForm | OssError): result is OssError {
  return 'status' in result;
}
