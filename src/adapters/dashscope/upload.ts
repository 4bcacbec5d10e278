import { randomUUID } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { FormData, request } from 'undici';
import type { HostedMedia } from '../../core/media.ts';
import type { MediaHost } from '../../core/ports.ts';
import { DEFAULT_LANE_ID } from '../../core/queue/lane.ts';
import { withRetry } from '../../core/retry.ts';
import type { DashScopeClient } from './client.ts';
import { DashScopeError, transportError } from './errors.ts';
import { MODEL, policyReply, UPLOADS_PATH, type UploadPolicy } from './wire.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.avi': 'video/x-msvideo',
  '.mkv': 'video/x-matroska',
  '.flv': 'video/x-flv',
  '.ts': 'video/mp2t',
  '.mpg': 'video/mpeg',
  '.mpeg': 'video/mpeg',
  '.mxf': 'application/mxf',
};

/** A unique, ASCII-only object name that keeps a known video extension. */
export function uploadFileName(path: string): string {
  const ext = extname(path).toLowerCase();
  return `${randomUUID()}${ext in CONTENT_TYPES ? ext : '.mp4'}`;
}

function xmlField(xml: string, field: string): string | undefined {
  return new RegExp(`<${field}>([^<]*)</${field}>`).exec(xml)?.[1];
}

/**
 * DashScope's temporary storage of one key: getPolicy, then a multipart POST to the OSS upload
 * host. Files live 48 h and are readable only by this account's tasks, through `oss://` URLs.
 * Alibaba documents it for development and testing; `TempUploadHost` makes it a media host.
 */
export class DashScopeTempUpload {
  constructor(
    private readonly client: DashScopeClient,
    private readonly options: { uploadTimeoutMs?: number } = {},
  ) {}

  /** Fetches an upload policy for the model. */
  async policy(signal?: AbortSignal): Promise<UploadPolicy> {
    const reply = await this.client.call({
      method: 'GET',
      path: UPLOADS_PATH,
      query: { action: 'getPolicy', model: MODEL },
      schema: policyReply,
      what: 'get an upload policy',
      signal,
    });
    return reply.data.data;
  }

  /** Uploads the file and resolves with its `oss://` URL. */
  async upload(path: string, options: { signal?: AbortSignal } = {}): Promise<HostedMedia> {
    const { signal } = options;
    const sizeBytes = (await stat(path)).size;
    const name = uploadFileName(path);
    return withRetry(
      async () => {
        const policy = await this.policy(signal);
        if (policy.max_file_size_mb !== undefined && sizeBytes > policy.max_file_size_mb * 1024 * 1024) {
          throw new DashScopeError({
            kind: 'parameter',
            code: 'EntityTooLarge',
            message: `The file is larger than the upload limit of ${policy.max_file_size_mb} MB`,
          });
        }
        const key = `${policy.upload_dir}/${name}`;
        await this.post(policy, key, path, signal);
        return { url: `oss://${key}`, ossResolve: true };
      },
      {
        isRetryable: (error) => error instanceof DashScopeError && error.retryable,
        sleep: this.client.clock.sleep,
        ...(signal ? { signal } : {}),
        retry: { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 4_000 },
      },
    );
  }

  private async post(policy: UploadPolicy, key: string, path: string, signal?: AbortSignal): Promise<void> {
    const form = new FormData();
    form.append('OSSAccessKeyId', policy.oss_access_key_id);
    form.append('Signature', policy.signature);
    form.append('policy', policy.policy);
    form.append('key', key);
    form.append('x-oss-object-acl', policy.x_oss_object_acl);
    form.append('x-oss-forbid-overwrite', policy.x_oss_forbid_overwrite);
    form.append('success_action_status', '200');
    const contentType = CONTENT_TYPES[extname(key)] ?? 'video/mp4';
    form.append('x-oss-content-type', contentType);
    // OSS reads form fields up to the file part: `file` must come last.
    form.append('file', await openAsBlob(path, { type: contentType }), key.split('/').pop());
    const timeoutMs = this.options.uploadTimeoutMs ?? 120_000;
    let status: number;
    let text: string;
    try {
      const response = await request(policy.upload_host, {
        method: 'POST',
        body: form,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      if (signal?.aborted) throw error;
      throw transportError(error, 'Could not upload the video');
    }
    if (status >= 200 && status < 300) return;
    const code = xmlField(text, 'Code') ?? `HTTP${status}`;
    throw new DashScopeError({
      kind: status >= 500 || status === 429 ? 'server' : 'parameter',
      retryable: status >= 500 || status === 429,
      code,
      status,
      requestId: xmlField(text, 'RequestId'),
      message: `Could not upload the video: ${xmlField(text, 'Message') ?? `HTTP ${status} from the upload host`}`,
    });
  }
}

/**
 * The temporary upload as a media host for lanes: each lane's input is uploaded with that lane's
 * key, and the media is marked as readable by that lane alone.
 */
export class TempUploadHost implements MediaHost {
  readonly perLane = true;

  /** `uploads`: the upload of each lane's key, by lane id. */
  constructor(private readonly uploads: ReadonlyMap<string, DashScopeTempUpload>) {}

  /** A host for one lane (a single-key service). */
  static single(upload: DashScopeTempUpload, laneId = DEFAULT_LANE_ID): TempUploadHost {
    return new TempUploadHost(new Map([[laneId, upload]]));
  }

  async host(path: string, options: { signal?: AbortSignal; laneId?: string } = {}): Promise<HostedMedia> {
    const { laneId } = options;
    const upload = laneId === undefined ? undefined : this.uploads.get(laneId);
    if (!upload) throw new Error(`no DashScope key for lane ${laneId ?? '(none)'} to upload with`);
    const media = await upload.upload(path, options.signal ? { signal: options.signal } : {});
    return { ...media, laneId };
  }
}
