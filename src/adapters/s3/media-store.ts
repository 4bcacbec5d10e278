import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { HostedMedia } from '../../core/media.ts';
import type { MediaHost } from '../../core/ports.ts';

/** Where the operator's S3-compatible storage is and how to reach it. */
export interface S3MediaOptions {
  readonly bucket: string;
  /** Unset for AWS S3; e.g. `https://oss-cn-beijing.aliyuncs.com`, an R2 or MinIO endpoint. */
  readonly endpoint?: string | undefined;
  readonly region: string;
  /** Unset: the AWS SDK's default chain (environment, shared files, instance roles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** `bucket` in the path instead of the host name (MinIO, most self-hosted servers). */
  readonly forcePathStyle: boolean;
  /** Object keys start with this, e.g. `restyle/`; a lifecycle rule on it removes what a crash left. */
  readonly prefix: string;
  /** How long the presigned GET URL given to DashScope works. */
  readonly urlTtlSec: number;
}

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.mov': 'video/quicktime',
  '.mkv': 'video/x-matroska',
  '.webm': 'video/webm',
  '.avi': 'video/x-msvideo',
  '.flv': 'video/x-flv',
};

/**
 * Production media storage: the checked input is put in the operator's bucket under
 * `<prefix><jobId>/`, and DashScope gets a presigned GET URL that expires and carries no secret
 * (any key of the pool can read it). Objects of a job are removed once the job ends.
 */
export class S3MediaHost implements MediaHost {
  readonly perLane = false;
  private readonly client: S3Client;

  constructor(private readonly options: S3MediaOptions) {
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      // Checksums only where the API requires them: S3-compatible services (OSS, R2, MinIO…) do not
      // all take the SDK's default aws-chunked uploads, and the presigned URL stays a plain GET.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    });
  }

  async host(path: string, options: { signal?: AbortSignal; jobId?: string } = {}): Promise<HostedMedia> {
    const { signal } = options;
    const ext = extname(path).toLowerCase();
    const name = `${crypto.randomUUID()}${ext in CONTENT_TYPES ? ext : '.mp4'}`;
    const key = `${this.jobPrefix(options.jobId ?? 'unsorted')}${name}`;
    const { size } = await stat(path);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: size,
        ContentType: CONTENT_TYPES[ext] ?? 'video/mp4',
      }),
      signal ? { abortSignal: signal } : {},
    );
    const url = await getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
      {
        expiresIn: this.options.urlTtlSec,
      },
    );
    return { url, ossResolve: false };
  }

  /** Removes every object of the job. */
  async release(jobId: string): Promise<void> {
    const prefix = this.jobPrefix(jobId);
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (keys.length > 0) {
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Closes the client's connections. */
  close(): void {
    this.client.destroy();
  }

  private jobPrefix(jobId: string): string {
    return `${this.options.prefix}${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}/`;
  }
}
