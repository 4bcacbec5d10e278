import {
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APIMessage,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  DiscordAPIError,
  MessageFlags,
  type REST,
  Routes,
  SnowflakeUtil,
  type StringSelectMenuInteraction,
} from 'discord.js';
import type { Delivery, RestyleJob } from '../../core/job.ts';
import type { JobStore, Logger } from '../../core/ports.ts';
import type { JobEvent, RestyleService } from '../../core/queue/service.ts';
import { STYLES, type Style, styleById } from '../../core/styles.ts';
import {
  duplicateText,
  fitChangesText,
  formatMebibytes,
  isFinalView,
  quotaText,
  refusalText,
  rejectionText,
  type StatusView,
  statusText,
} from '../../text/index.ts';
import { StatusBoard } from '../shared/status-board.ts';
import type { ChatSurface, ClipFetch, IntakeNotice, IntakeRecord } from '../shared/surface.ts';
import type { ClipCache } from './clip-cache.ts';
import { buttonRow, encodeCustomId } from './components.ts';
import type { DiscordClip } from './decode.ts';
import { type InteractionTokens, isDeadToken } from './interaction-tokens.ts';
import { type DiscordDelivery, discordDelivery } from './sink.ts';
import { discordStatusText, statusWithMention, TEXT } from './wording.ts';

/** The interaction a request starts from: it answers the requester privately while it lasts. */
export type Starter = ChatInputCommandInteraction | StringSelectMenuInteraction | ButtonInteraction;

/**
 * How a starter is first answered: a new private reply, or an update of the private message it
 * came from (a picker, a rejection). The request is recorded before either, so no answer is ever
 * left "thinking" by a crash.
 */
export type FirstAnswer = 'reply' | 'update';

/** Answers an interaction privately: the first answer as chosen, later ones by editing it. */
export async function answerPrivately(
  starter: Starter,
  first: FirstAnswer,
  payload: { content: string; components: Row[] },
): Promise<void> {
  if (starter.deferred || starter.replied) {
    await starter.editReply(payload);
  } else if (first === 'update' && starter.isMessageComponent()) {
    await starter.update(payload);
  } else {
    await starter.reply({ ...payload, flags: MessageFlags.Ephemeral });
  }
}

type Row = APIActionRowComponent<APIComponentInMessageActionRow>;

interface Rendered {
  readonly content: string;
  readonly components: Row[];
}

/** What the status board keeps about one Discord job. */
interface StatusMeta {
  readonly jobId: string;
  readonly delivery: DiscordDelivery;
  readonly style: Style;
  readonly inputPath: string;
}

/** What the Discord surface needs. */
export interface DiscordSurfaceOptions {
  readonly rest: REST;
  readonly tokens: InteractionTokens;
  readonly clips: ClipCache;
  readonly service: RestyleService;
  readonly store: JobStore;
  readonly files: { remove(path: string): Promise<void> };
  readonly statusIntervalMs: number;
  readonly logger: Logger;
}

const INTERACTION_TOKEN_MS = 15 * 60_000;
/** Discord codes meaning the message is gone or not ours to edit. */
const GONE_CODES = new Set([10003, 10008, 50001, 50005, 50013]);

/**
 * How requests and jobs look on Discord: private answers through the interaction while it lasts,
 * and one public status message per request (mentioning the requester), edited through the
 * interaction's webhook for its 15 minutes and through the channel after — or after a restart.
 */
export class DiscordSurface implements ChatSurface {
  readonly platform = 'discord';
  private readonly board: StatusBoard<Rendered, StatusMeta>;
  /** Interactions of requests being taken in (and how to answer them first), in memory only. */
  private readonly starters = new Map<
    string,
    { readonly interaction: Starter; readonly first: FirstAnswer }
  >();
  /** Attachments of requests not downloaded yet; their signed URLs are never stored. */
  private readonly attachments = new Map<string, DiscordClip>();

  constructor(private readonly options: DiscordSurfaceOptions) {
    this.board = new StatusBoard<Rendered, StatusMeta>(
      options.service,
      {
        render: (view, meta, _jobId, cancelable) => this.render(view, meta, cancelable),
        apply: (rendered, meta) => this.editStatus(meta, rendered),
        retryAfterMs: (error) =>
          error instanceof DiscordAPIError && error.status === 429 ? 5_000 : undefined,
        isGone: (error) => error instanceof DiscordAPIError && GONE_CODES.has(Number(error.code)),
        minIntervalMs: () => options.statusIntervalMs,
        ended: (meta) => options.files.remove(meta.inputPath),
      },
      options.logger,
      Math.max(1_000, options.statusIntervalMs),
      options.store,
    );
  }

  /**
   * Keeps the interaction (and the attachment to fetch, if any) of a request about to be taken in;
   * false when another interaction of the same request (a picker picked twice) holds it already.
   */
  starting(requestId: string, starter: Starter, first: FirstAnswer, attachment?: DiscordClip): boolean {
    if (this.starters.has(requestId)) return false;
    this.starters.set(requestId, { interaction: starter, first });
    if (attachment) this.attachments.set(requestId, attachment);
    return true;
  }

  /** Lets go of a starter the intake did not take (the request was known after all). */
  unstarted(requestId: string): void {
    this.starters.delete(requestId);
    this.attachments.delete(requestId);
  }

  async notify(request: IntakeRecord, notice: IntakeNotice): Promise<IntakeRecord['address']> {
    const { address } = request;
    const who = `<@${address.userId}>`;
    const withMention = (status: string) => statusWithMention(status, String(address.userId), request.locale);
    const started = this.starters.get(request.id);
    const starter = started?.interaction;
    const statusId = typeof address.statusId === 'string' ? address.statusId : undefined;
    const channelId = String(address.channelId);
    if (notice.kind === 'checking') {
      const style = styleById(request.styleId) ?? STYLES[0];
      const content = statusText({ kind: 'checking' }, style, request.locale);
      if (statusId) {
        await this.options.rest.patch(Routes.channelMessage(channelId, statusId), {
          body: { content: withMention(content), components: [], allowed_mentions: { parse: [] } },
        });
        return address;
      }
      if (starter) {
        // A deferred reply turns into whatever comes first: settle it, so the status is a message of its own.
        // A pointer, not a status: after a restart this private answer can no longer be edited.
        await answerPrivately(starter, started.first, {
          content: TEXT[request.locale].checkingHere,
          components: [],
        });
        const status = await starter.followUp({
          content: withMention(content),
          allowedMentions: { parse: [] },
        });
        return { ...address, statusId: status.id, channelId: status.channelId };
      }
      // A restart came between posting the status and recording it: the channel still has it.
      const posted = await this.findStatus(channelId, withMention(content), request.createdAtMs);
      const status = posted ?? (await this.post(channelId, withMention(content)));
      return { ...address, statusId: status.id };
    }
    const { content, components } = this.noticeMessage(request, notice);
    this.attachments.delete(request.id);
    if (starter) {
      // Refusals are private: the public status goes, the reasons go to the requester alone.
      this.starters.delete(request.id);
      if (statusId) await starter.deleteReply(statusId).catch(() => undefined);
      await answerPrivately(starter, started.first, { content, components });
      return address;
    }
    // After a restart the interaction is gone: the status in the channel says it instead.
    if (statusId) {
      await this.options.rest.patch(Routes.channelMessage(channelId, statusId), {
        body: {
          content: `${content}\n${who}`,
          components: [],
          allowed_mentions: { users: [address.userId] },
        },
      });
    } else {
      await this.post(channelId, `${content}\n${who}`, [String(address.userId)]);
    }
    return address;
  }

  async fetchClip(
    request: IntakeRecord,
    destPath: string,
    _maxBytes: number,
    signal: AbortSignal,
  ): Promise<ClipFetch> {
    const { clips } = this.options;
    const clipId = String(request.clip.clipId);
    let kept = await clips.get(clipId);
    if (!kept) {
      const attachment = this.attachments.get(request.id);
      if (!attachment) return { kind: 'lost' };
      const fetched = await clips.download(clipId, attachment, String(request.address.userId), signal);
      this.attachments.delete(request.id);
      if (fetched.kind !== 'fetched') return fetched;
      kept = await clips.get(clipId);
      if (!kept) return { kind: 'unavailable', reason: 'the downloaded clip is gone' };
    }
    await clips.copyTo(kept, destPath);
    return { kind: 'fetched', bytes: 0 };
  }

  deliveryOf(request: IntakeRecord): Delivery {
    return { ...this.discordDeliveryOf(request) };
  }

  follow(request: IntakeRecord, job: RestyleJob, missed: readonly JobEvent[]): void {
    const starter = this.starters.get(request.id)?.interaction;
    this.starters.delete(request.id);
    if (starter) {
      this.options.tokens.set(job.id, {
        applicationId: starter.applicationId,
        token: starter.token,
        expiresAtMs: starter.createdTimestamp + INTERACTION_TOKEN_MS,
      });
    }
    this.board.followQueued(job.id, this.metaOf(job, this.discordDeliveryOf(request)), missed);
    if (starter) {
      starter
        .editReply({ content: TEXT[request.locale].queuedHere, components: [] })
        .catch((error: unknown) => {
          this.options.logger.debug('could not confirm a queued clip privately', { error: String(error) });
        });
    }
  }

  handle(jobId: string, event: JobEvent): void {
    this.board.handle(jobId, event);
  }

  /** After a restart: follows the unfinished jobs again (channel endpoints only), finalizes ended ones. */
  resume(jobs: readonly RestyleJob[]): Promise<void> {
    return this.board.resumeStored(jobs, (job) => {
      const delivery = discordDelivery(job);
      return delivery && this.metaOf(job, delivery);
    });
  }

  /** Resolves once every status message has sent what it has. */
  settled(): Promise<void> {
    return this.board.settled();
  }

  /** Stops following; pending edits get a moment to go out. */
  stop(): Promise<void> {
    return this.board.stop();
  }

  private discordDeliveryOf(request: IntakeRecord): DiscordDelivery {
    const { address } = request;
    return {
      platform: 'discord',
      channelId: String(address.channelId),
      guildId: typeof address.guildId === 'string' ? address.guildId : null,
      statusId: String(address.statusId),
      userId: String(address.userId),
      locale: request.locale,
      attachmentLimit: Number(address.attachmentLimit),
      clipId: String(request.clip.clipId),
    };
  }

  private noticeMessage(
    request: IntakeRecord,
    notice: Exclude<IntakeNotice, { kind: 'checking' }>,
  ): Rendered {
    const { locale } = request;
    const t = TEXT[locale];
    const plain = (content: string): Rendered => ({ content, components: [] });
    switch (notice.kind) {
      case 'quota-used':
        return plain(quotaText(notice.perDay, notice.resetInMs, locale));
      case 'duplicate':
        return plain(duplicateText(request.styleId, locale));
      case 'refused':
        return plain(
          refusalText({ kind: 'refused', reason: notice.reason, limit: notice.limit }, locale, t.cancel),
        );
      case 'rejected':
        return {
          content: rejectionText(notice.violations, notice.fixable, locale),
          components: notice.fixable
            ? [
                buttonRow(
                  encodeCustomId({ kind: 'fit', ref: String(request.clip.clipId), styleId: request.styleId }),
                  t.adjust,
                ),
              ]
            : [],
        };
      case 'download-too-large':
        return plain(
          t.tooBigToFetch(
            notice.sizeBytes === undefined ? '?' : formatMebibytes(notice.sizeBytes),
            formatMebibytes(notice.maxBytes),
          ),
        );
      case 'download-failed':
        return plain(t.downloadFailed);
      case 'interrupted':
        // Said after a restart, in the channel: the file's name tells which clip it was.
        return plain(t.interrupted(`\`${String(request.clip.filename ?? 'clip').replaceAll('`', '')}\``));
      case 'internal-error':
        return plain(t.internalError);
    }
  }

  private metaOf(job: RestyleJob, delivery: DiscordDelivery): StatusMeta {
    return {
      jobId: job.id,
      delivery,
      style: styleById(job.styleId) ?? STYLES[0],
      inputPath: job.inputPath,
    };
  }

  private render(view: StatusView, meta: StatusMeta, cancelable: boolean): Rendered {
    const { locale, userId } = meta.delivery;
    let content = discordStatusText(view, meta.style, locale, {
      userId,
      waiting: this.options.service.waitingCount,
      nowMs: Date.now(),
    });
    // What fitting changed, as measured once the fitted copy exists.
    const notes = fitChangesText(this.options.service.job(meta.jobId)?.changes ?? [], locale);
    if (notes && !isFinalView(view)) content += `\n${notes}`;
    return {
      content,
      components: cancelable
        ? [buttonRow(encodeCustomId({ kind: 'cancel', jobId: meta.jobId }), TEXT[locale].cancel)]
        : [],
    };
  }

  /** Edits the status through the interaction while its token lasts, then through the channel. */
  private async editStatus(meta: StatusMeta, rendered: Rendered): Promise<void> {
    const body = { ...rendered, allowed_mentions: { parse: [] } };
    const webhook = this.options.tokens.get(meta.jobId);
    if (webhook) {
      try {
        await this.options.rest.patch(
          Routes.webhookMessage(webhook.applicationId, webhook.token, meta.delivery.statusId),
          { body, auth: false },
        );
        return;
      } catch (error) {
        if (!isDeadToken(error)) throw error;
        this.options.tokens.expire(meta.jobId);
        this.options.logger.info('interaction token expired; editing the status through the channel', {
          jobId: meta.jobId,
        });
      }
    }
    await this.options.rest.patch(Routes.channelMessage(meta.delivery.channelId, meta.delivery.statusId), {
      body,
    });
  }

  /** The bot's status message with exactly this text, posted since the request began. */
  private async findStatus(
    channelId: string,
    content: string,
    sinceMs: number,
  ): Promise<APIMessage | undefined> {
    const after = SnowflakeUtil.generate({ timestamp: sinceMs - 1_000 }).toString();
    const messages = (await this.options.rest
      .get(Routes.channelMessages(channelId), { query: new URLSearchParams({ after, limit: '100' }) })
      .catch(() => [])) as APIMessage[];
    return messages.find((message) => message.author.bot === true && message.content === content);
  }

  private async post(channelId: string, content: string, mention: string[] = []): Promise<APIMessage> {
    return (await this.options.rest.post(Routes.channelMessages(channelId), {
      body: { content, allowed_mentions: { users: mention } },
    })) as APIMessage;
  }
}
