import { readFile } from 'node:fs/promises';
import {
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APIMessage,
  ComponentType,
  DiscordAPIError,
  type REST,
  Routes,
} from 'discord.js';
import { RemoteError } from '../../core/errors.ts';
import type { RestyleJob } from '../../core/job.ts';
import type { DeliverySink } from '../../core/service.ts';
import { type Locale, STYLES, styleById } from '../../core/styles.ts';
import { formatMebibytes } from '../../text/index.ts';
import type { BotDeps } from '../shared/deps.ts';
import { UploadFitter } from '../shared/upload-fit.ts';
import { encodeCustomId } from './components.ts';
import { absoluteTime, TEXT } from './wording.ts';

/** Where a Discord job's result goes, as kept in `job.delivery` (never a token or a CDN URL). */
export interface DiscordDelivery {
  readonly platform: 'discord';
  readonly channelId: string;
  readonly guildId: string | null;
  /** The public status message. */
  readonly statusId: string;
  readonly userId: string;
  readonly locale: Locale;
  /** Largest upload the interaction allowed (`attachment_size_limit`). */
  readonly attachmentLimit: number;
  /** Local copy of the clip, for "another style". */
  readonly clipId: string;
}

/** Reads a job's Discord delivery; `undefined` for other platforms. */
export function discordDelivery(job: RestyleJob): DiscordDelivery | undefined {
  const d = job.delivery;
  if (d.platform !== 'discord' || typeof d.channelId !== 'string' || typeof d.statusId !== 'string')
    return undefined;
  return {
    platform: 'discord',
    channelId: d.channelId,
    guildId: typeof d.guildId === 'string' ? d.guildId : null,
    statusId: d.statusId,
    userId: String(d.userId),
    locale: d.locale === 'zh' ? 'zh' : 'en',
    attachmentLimit: Number(d.attachmentLimit) || 10 * 1024 * 1024,
    clipId: String(d.clipId),
  };
}

/** An interaction's webhook: it lets the bot answer for 15 minutes. Kept in memory only. */
export interface InteractionWebhook {
  readonly applicationId: string;
  readonly token: string;
  readonly expiresAtMs: number;
}

/** Interaction tokens per job, while they last; a restart forgets them and channel endpoints take over. */
export class InteractionTokens {
  private readonly byJob = new Map<string, InteractionWebhook>();

  /** Margin before expiry after which a token is no longer used. */
  constructor(private readonly marginMs = 60_000) {}

  set(jobId: string, webhook: InteractionWebhook): void {
    this.byJob.set(jobId, webhook);
  }

  /** The job's token when it is still good for a while. */
  get(jobId: string): InteractionWebhook | undefined {
    const webhook = this.byJob.get(jobId);
    if (!webhook) return undefined;
    if (Date.now() > webhook.expiresAtMs - this.marginMs) {
      this.byJob.delete(jobId);
      return undefined;
    }
    return webhook;
  }

  /** Forgets a token Discord refused (expired early, or the interaction is gone). */
  expire(jobId: string): void {
    this.byJob.delete(jobId);
  }
}

/** Discord's codes for a dead interaction token: Unknown Webhook, Invalid Webhook Token, Unknown interaction. */
const DEAD_TOKEN_CODES = new Set([10015, 50027, 10062]);

/** True when Discord says the interaction token can no longer be used. */
export function isDeadToken(error: unknown): boolean {
  return (
    error instanceof DiscordAPIError && (DEAD_TOKEN_CODES.has(Number(error.code)) || error.status === 401)
  );
}

/** True when Discord refused a file as too large (40005 / 413). */
function isTooLarge(error: unknown): boolean {
  return error instanceof DiscordAPIError && (Number(error.code) === 40005 || error.status === 413);
}

/** Options of the Discord delivery. */
export interface DiscordSinkOptions
  extends Pick<BotDeps, 'store' | 'probe' | 'transcoder' | 'files' | 'tempPath' | 'logger'> {
  readonly rest: REST;
  readonly tokens: InteractionTokens;
  /** Largest file the bot may post through channel endpoints (10 MiB by default). */
  readonly maxUploadBytes: number;
}

/** A Discord request may carry at most 25 MiB in all; leave room for the JSON part. */
const MAX_REQUEST_FILE_BYTES = 25 * 1024 * 1024 - 64 * 1024;
const SENT_TTL_MS = 7 * 24 * 3_600_000;

/** The "another style" select under a result. */
export function anotherStyleRow(
  clipId: string,
  locale: Locale,
  except: number,
): APIActionRowComponent<APIComponentInMessageActionRow> {
  return {
    type: ComponentType.ActionRow,
    components: [
      {
        type: ComponentType.StringSelect,
        custom_id: encodeCustomId({ kind: 'again', ref: clipId }),
        placeholder: TEXT[locale].another,
        options: STYLES.filter((style) => style.id !== except).map((style) => ({
          label: style.names[locale],
          value: style.slug,
        })),
      },
    ],
  };
}

/**
 * Delivers results in the channel of the request: as a follow-up of the interaction while its
 * token lasts, else as a reply to the status message that mentions the requester. A result over
 * the upload limit is re-encoded; one that cannot fit is offered as a link with its expiry.
 */
export class DiscordDeliverySink implements DeliverySink {
  constructor(private readonly options: DiscordSinkOptions) {}

  /** Resolves once Discord accepted the message (or had it already). */
  async deliver(job: RestyleJob, resultPath: string, signal?: AbortSignal): Promise<void> {
    const delivery = discordDelivery(job);
    if (!delivery) throw new Error(`job ${job.id} has no Discord delivery`);
    const { store, logger } = this.options;
    const sentKey = `discord:sent:${job.id}`;
    if (await store.getRecord(sentKey)) {
      logger.info('result was posted before a restart; not posting it again', { jobId: job.id });
      return;
    }
    const fitter = new UploadFitter({ ...this.options, remove: (path) => this.options.files.remove(path) });
    try {
      let limit = this.limitFor(job.id, delivery);
      for (let attempt = 0; ; attempt += 1) {
        let upload: Awaited<ReturnType<UploadFitter['fit']>>;
        try {
          upload = await fitter.fit(resultPath, limit, signal);
        } catch (error) {
          if (!(error instanceof RemoteError) || error.code !== 'ResultTooLarge') throw error;
          const sent = await this.postLink(job, delivery, limit);
          await store.setRecord(sentKey, { messageId: sent.id }, SENT_TTL_MS);
          return;
        }
        try {
          const sent = await this.post(job, delivery, upload.path, upload.shrunkFromBytes, limit);
          await store.setRecord(sentKey, { messageId: sent.id }, SENT_TTL_MS);
          return;
        } catch (error) {
          if (isTooLarge(error) && attempt < 2) {
            // The real limit is lower than we were told: aim below what was refused.
            limit = Math.floor(upload.bytes * 0.7);
            continue;
          }
          throw new RemoteError({
            kind: 'result',
            code: 'SendFailed',
            message: `Discord did not take the video: ${error instanceof Error ? error.message : String(error)}`,
          });
        }
      }
    } finally {
      await fitter.release();
    }
  }

  private limitFor(jobId: string, delivery: DiscordDelivery): number {
    const viaInteraction = this.options.tokens.get(jobId) !== undefined;
    return Math.min(
      viaInteraction ? delivery.attachmentLimit : this.options.maxUploadBytes,
      MAX_REQUEST_FILE_BYTES,
    );
  }

  private async post(
    job: RestyleJob,
    delivery: DiscordDelivery,
    path: string,
    shrunkFromBytes: number | undefined,
    limit: number,
  ): Promise<APIMessage> {
    const style = styleById(job.styleId) ?? STYLES[0];
    const t = TEXT[delivery.locale];
    const lines = [t.resultFor(`<@${delivery.userId}>`, style.names[delivery.locale])];
    if (shrunkFromBytes !== undefined)
      lines.push(t.compressed(formatMebibytes(shrunkFromBytes), formatMebibytes(limit)));
    const body = {
      content: lines.join('\n'),
      components: [anotherStyleRow(delivery.clipId, delivery.locale, job.styleId)],
      allowed_mentions: { users: [delivery.userId] },
      attachments: [{ id: 0, filename: `restyled-${style.slug}.mp4` }],
    };
    const files = [
      { name: `restyled-${style.slug}.mp4`, data: await readFile(path), contentType: 'video/mp4' },
    ];
    return this.send(job.id, delivery, body, files);
  }

  /** The result as a link to DashScope's copy, with the time it stops working. */
  private async postLink(job: RestyleJob, delivery: DiscordDelivery, limit: number): Promise<APIMessage> {
    const url = job.state.kind === 'fetched' ? job.state.outputUrl : undefined;
    if (!url)
      throw new RemoteError({
        kind: 'result',
        code: 'ResultTooLarge',
        message: 'the result is too large and has no link',
      });
    const expires = Number(new URL(url).searchParams.get('Expires'));
    const untilMs =
      Number.isFinite(expires) && expires > 0 ? expires * 1000 : job.updatedAtMs + 24 * 3_600_000;
    const style = styleById(job.styleId) ?? STYLES[0];
    const t = TEXT[delivery.locale];
    const body = {
      content: [
        t.resultFor(`<@${delivery.userId}>`, style.names[delivery.locale]),
        t.tooBigLink(formatMebibytes(limit), absoluteTime(untilMs)),
        url,
      ].join('\n'),
      components: [anotherStyleRow(delivery.clipId, delivery.locale, job.styleId)],
      allowed_mentions: { users: [delivery.userId] },
    };
    return this.send(job.id, delivery, body, []);
  }

  /** Through the interaction webhook while it lasts, else as a channel reply to the status message. */
  private async send(
    jobId: string,
    delivery: DiscordDelivery,
    body: Record<string, unknown>,
    files: { name: string; data: Buffer; contentType: string }[],
  ): Promise<APIMessage> {
    const { rest, tokens } = this.options;
    const webhook = tokens.get(jobId);
    if (webhook) {
      try {
        return (await rest.post(Routes.webhook(webhook.applicationId, webhook.token), {
          body,
          files,
          query: new URLSearchParams({ wait: 'true' }),
          auth: false,
        })) as APIMessage;
      } catch (error) {
        if (!isDeadToken(error)) throw error;
        tokens.expire(jobId);
      }
    }
    return (await rest.post(Routes.channelMessages(delivery.channelId), {
      body: {
        ...body,
        message_reference: { message_id: delivery.statusId, fail_if_not_exists: false },
      },
      files,
    })) as APIMessage;
  }
}
