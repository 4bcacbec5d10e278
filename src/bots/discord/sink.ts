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
import type { DeliveryReceipt, DeliverySink } from '../../core/ports.ts';
import { type Locale, STYLES, styleById } from '../../core/styles.ts';
import { formatMebibytes } from '../../text/index.ts';
import type { BotDeps } from '../shared/deps.ts';
import { UploadFitter } from '../shared/upload-fit.ts';
import { encodeCustomId } from './components.ts';
import { type InteractionTokens, isDeadToken } from './interaction-tokens.ts';
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

/** True when Discord refused a file as too large (40005 / 413). */
function isTooLarge(error: unknown): boolean {
  return error instanceof DiscordAPIError && (Number(error.code) === 40005 || error.status === 413);
}

/** Options of the Discord delivery. */
export interface DiscordSinkOptions
  extends Pick<BotDeps, 'probe' | 'transcoder' | 'files' | 'tempPath' | 'logger'> {
  readonly rest: REST;
  readonly tokens: InteractionTokens;
  /** Largest file the bot may post through channel endpoints (10 MiB by default). */
  readonly maxUploadBytes: number;
}

/** A Discord request may carry at most 25 MiB in all; leave room for the JSON part. */
const MAX_REQUEST_FILE_BYTES = 25 * 1024 * 1024 - 64 * 1024;

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

  /** Resolves with the posted message's id once Discord accepted it. */
  async deliver(
    job: RestyleJob,
    resultPath: string,
    signal?: AbortSignal,
    beforeSend?: () => Promise<void>,
  ): Promise<DeliveryReceipt> {
    const delivery = discordDelivery(job);
    if (!delivery) throw new Error(`job ${job.id} has no Discord delivery`);
    const fitter = new UploadFitter({ ...this.options, remove: (path) => this.options.files.remove(path) });
    try {
      let limit = this.limitFor(job.id, delivery);
      for (let attempt = 0; ; attempt += 1) {
        let upload: Awaited<ReturnType<UploadFitter['fit']>>;
        try {
          upload = await fitter.fit(resultPath, limit, signal);
        } catch (error) {
          if (!(error instanceof RemoteError) || error.code !== 'ResultTooLarge') throw error;
          await beforeSend?.();
          const sent = await this.postLink(job, delivery, limit);
          return { messageId: sent.id };
        }
        try {
          await beforeSend?.();
          const sent = await this.post(job, delivery, upload.path, upload.shrunkFromBytes, limit);
          return { messageId: sent.id };
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

  /**
   * A crash came between posting the result and recording it: the channel shows whether it
   * arrived (the bot reads its own messages after the status), and it is posted only when not.
   */
  async resumeInterrupted(
    job: RestyleJob,
    resultPath: string,
    signal?: AbortSignal,
  ): Promise<DeliveryReceipt> {
    const delivery = discordDelivery(job);
    if (!delivery) throw new Error(`job ${job.id} has no Discord delivery`);
    const found = await this.findPosted(job, delivery).catch((error: unknown) => {
      this.options.logger.warn('could not look for a result posted before a restart', {
        jobId: job.id,
        error: String(error),
      });
      return undefined;
    });
    if (found) {
      this.options.logger.info('the result was posted before a restart; not posting it again', {
        jobId: job.id,
      });
      return { messageId: found.id };
    }
    return this.deliver(job, resultPath, signal);
  }

  /** The bot's result message for the job in its channel after the status, if there is one. */
  private async findPosted(job: RestyleJob, delivery: DiscordDelivery): Promise<APIMessage | undefined> {
    const messages = (await this.options.rest.get(Routes.channelMessages(delivery.channelId), {
      query: new URLSearchParams({ after: delivery.statusId, limit: '100' }),
    })) as APIMessage[];
    const style = styleById(job.styleId) ?? STYLES[0];
    const head = TEXT[delivery.locale].resultFor(`<@${delivery.userId}>`, style.names[delivery.locale]);
    const again = encodeCustomId({ kind: 'again', ref: delivery.clipId });
    return messages.find(
      (message) =>
        message.author.bot === true &&
        message.content.split('\n')[0] === head &&
        JSON.stringify(message.components ?? []).includes(again),
    );
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
