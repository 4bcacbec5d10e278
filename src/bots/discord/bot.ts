import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, link, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import {
  type APIActionRowComponent,
  type APIComponentInMessageActionRow,
  type APIMessage,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  type StringSelectMenuInteraction,
} from 'discord.js';
import { TooLargeError } from '../../adapters/http/download.ts';
import { isAbort } from '../../core/errors.ts';
import type { Requester, RestyleJob } from '../../core/job.ts';
import type { JobEvent, RequestOutcome } from '../../core/service.ts';
import { type Locale, parseStyle, STYLES, type Style, styleById } from '../../core/styles.ts';
import {
  fitChangesText,
  formatMebibytes,
  isFinalView,
  localeFrom,
  quotaText,
  refusalText,
  rejectionText,
  type StatusView,
  statusText,
  stylesText,
} from '../../text/index.ts';
import { BackgroundWork } from '../shared/background.ts';
import type { BotDeps, BotSettings } from '../shared/deps.ts';
import { DailyQuota } from '../shared/quota.ts';
import { StatusBoard } from '../shared/status-board.ts';
import { RESTYLE_COMMAND, RESTYLE_MESSAGE_COMMAND } from './commands.ts';
import { buttonRow, decodeCustomId, encodeCustomId, styleSelectRow } from './components.ts';
import { clipFromAttachment, clipFromAttachments, type DiscordClip } from './decode.ts';
import {
  type DiscordDelivery,
  DiscordDeliverySink,
  discordDelivery,
  InteractionTokens,
  isDeadToken,
} from './sink.ts';
import { discordStatusText, TEXT } from './wording.ts';

/** Everything the Discord bot needs. */
export interface DiscordBotOptions extends BotDeps, BotSettings {
  readonly token: string;
  /** REST base, e.g. `https://discord.com/api` (the gateway URL comes from it too). */
  readonly apiRoot: string;
  /** Guilds served; every guild (and DMs) when undefined. */
  readonly allowedGuilds?: readonly string[] | undefined;
  /** Largest file the bot may post through channel endpoints. */
  readonly maxUploadBytes: number;
  /** Where clips are kept a day for "another style" and "adjust and restyle". */
  readonly clipsDir: string;
}

/** What the status board keeps about one Discord job. */
interface StatusMeta {
  readonly jobId: string;
  readonly delivery: DiscordDelivery;
  readonly style: Style;
  readonly notes: string;
  readonly inputPath: string;
}

interface Rendered {
  readonly content: string;
  readonly components: APIActionRowComponent<APIComponentInMessageActionRow>[];
}

interface Person {
  readonly id: string;
  readonly name: string;
  readonly locale: Locale;
}

/** A clip kept on disk, by id. */
interface ClipRecord {
  readonly path: string;
  readonly filename: string;
  readonly ownerId: string;
}

/** A message someone chose "Restyle video" on, until they pick a style. */
interface PickRecord {
  readonly channelId: string;
  readonly messageId: string;
  readonly attachmentId: string;
  readonly ownerId: string;
}

/** The interaction a job starts from, and how to answer its requester privately. */
type Starter = ChatInputCommandInteraction | StringSelectMenuInteraction | ButtonInteraction;

const INTERACTION_TOKEN_MS = 15 * 60_000;
const CLIP_TTL_MS = 24 * 3_600_000;
/** Clips bigger than this are not fetched at all (fitting could not bring them under 100 MB well). */
const MAX_FETCH_BYTES = 400_000_000;
/** Discord codes meaning the message is gone or not ours to edit. */
const GONE_CODES = new Set([10003, 10008, 50001, 50005, 50013]);

function personOf(interaction: Interaction): Person {
  return {
    id: interaction.user.id,
    name: interaction.user.username,
    locale: localeFrom(interaction.locale),
  };
}

function requesterOf(person: Person, operator = false): Requester {
  return { key: `discord:${person.id}`, name: person.name, ...(operator ? { operator: true } : {}) };
}

function describeError(error: unknown): string {
  if (error instanceof DiscordAPIError) return `${error.status} ${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Discord bot: `/restyle video:<clip> style:<choice>` and the "Restyle video" message action.
 * Every interaction is acknowledged at once; work goes on in the background, a public status
 * message follows the job, and results come back in the channel — through the interaction while
 * its 15-minute token lasts, through the bot's own channel endpoints after.
 */
export class DiscordBot {
  /** Delivers results; register it with the service under `discord`. */
  readonly sink: DiscordDeliverySink;
  private readonly client: Client;
  private readonly tokens = new InteractionTokens();
  private readonly board: StatusBoard<Rendered, StatusMeta>;
  private readonly quota: DailyQuota;
  private readonly shutdown = new AbortController();
  private readonly background: BackgroundWork;
  /** CDN URLs of picked messages, in memory only (they are signed and expire). */
  private readonly pickUrls = new Map<string, { url: string; atMs: number }>();

  constructor(private readonly options: DiscordBotOptions) {
    this.background = new BackgroundWork(options.logger, 'discord', describeError);
    this.client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: options.apiRoot } });
    this.client.on(Events.InteractionCreate, (interaction) => {
      this.onInteraction(interaction).catch((error: unknown) => {
        // The one error boundary: log with who asked, answer kindly if we still can.
        options.logger.error('discord interaction failed', {
          userId: interaction.user.id,
          error: describeError(error),
        });
        if (interaction.isRepliable()) {
          const content = TEXT[personOf(interaction).locale].internalError;
          const answer =
            interaction.deferred || interaction.replied
              ? interaction.editReply({ content, components: [] })
              : interaction.reply({ content, flags: MessageFlags.Ephemeral });
          answer.catch(() => undefined);
        }
      });
    });
    this.client.on(Events.Error, (error) =>
      options.logger.warn('discord client error', { error: error.message }),
    );
    this.sink = new DiscordDeliverySink({
      rest: this.client.rest,
      tokens: this.tokens,
      store: options.store,
      probe: options.probe,
      transcoder: options.transcoder,
      files: options.files,
      tempPath: options.tempPath,
      maxUploadBytes: options.maxUploadBytes,
      logger: options.logger,
    });
    this.quota = new DailyQuota(options.store, options.dailyQuota, 'discord:quota');
    this.board = new StatusBoard<Rendered, StatusMeta>(
      options.service,
      {
        render: (view, meta) => this.render(view, meta),
        apply: (rendered, meta) => this.editStatus(meta, rendered),
        retryAfterMs: (error) =>
          error instanceof DiscordAPIError && error.status === 429 ? 5_000 : undefined,
        isGone: (error) => error instanceof DiscordAPIError && GONE_CODES.has(Number(error.code)),
        minIntervalMs: () => options.statusIntervalMs,
        ended: (meta) => options.files.remove(meta.inputPath),
      },
      options.logger,
      Math.max(1_000, options.statusIntervalMs),
    );
  }

  /** The bot's application id, once logged in. */
  get applicationId(): string | undefined {
    return this.client.application?.id;
  }

  /** Logs in over the gateway; resolves once the bot is ready. */
  async launch(): Promise<void> {
    await mkdir(this.options.inputsDir, { recursive: true });
    await mkdir(this.options.clipsDir, { recursive: true });
    await this.sweepClips();
    const ready = once(this.client, Events.ClientReady, { signal: AbortSignal.timeout(60_000) });
    await this.client.login(this.options.token);
    await ready;
    this.options.logger.info('discord bot connected', { user: this.client.user?.tag });
  }

  /** Follows jobs resumed after a restart (their tokens are gone: channel endpoints only). */
  resume(jobs: readonly RestyleJob[]): void {
    for (const job of jobs) {
      const delivery = discordDelivery(job);
      if (delivery) this.board.resume(job, this.metaOf(job, delivery));
    }
  }

  /** Stops taking interactions; status edits get a moment to go out. */
  async stop(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    this.shutdown.abort();
    await this.background.settled();
    await this.board.stop();
    await this.client.destroy();
  }

  /** Resolves once background work and status edits are done (tests use it). */
  async settled(): Promise<void> {
    await this.background.settled();
    await this.board.settled();
  }

  private metaOf(job: RestyleJob, delivery: DiscordDelivery): StatusMeta {
    return {
      jobId: job.id,
      delivery,
      style: styleById(job.styleId) ?? STYLES[0],
      notes: fitChangesText(job.changes, delivery.locale),
      inputPath: job.inputPath,
    };
  }

  private allowed(interaction: Interaction): boolean {
    const { allowedGuilds } = this.options;
    return (
      allowedGuilds === undefined ||
      (interaction.guildId !== null && allowedGuilds.includes(interaction.guildId))
    );
  }

  // ---- interactions ----

  private async onInteraction(interaction: Interaction): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    const person = personOf(interaction);
    if (!this.allowed(interaction)) {
      if (interaction.isRepliable()) {
        await interaction.reply({ content: TEXT[person.locale].notAllowed, flags: MessageFlags.Ephemeral });
      }
      return;
    }
    if (interaction.isChatInputCommand() && interaction.commandName === RESTYLE_COMMAND) {
      await this.onSlash(interaction, person);
    } else if (
      interaction.isMessageContextMenuCommand() &&
      interaction.commandName === RESTYLE_MESSAGE_COMMAND
    ) {
      await this.onMessageAction(interaction, person);
    } else if (interaction.isStringSelectMenu()) {
      await this.onSelect(interaction, person);
    } else if (interaction.isButton()) {
      await this.onButton(interaction, person);
    }
  }

  private async onSlash(interaction: ChatInputCommandInteraction, person: Person): Promise<void> {
    // Acknowledge first: Discord allows 3 s, and downloading takes longer.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const attachment = interaction.options.getAttachment('video', true);
    const asked = interaction.options.getString('style', true);
    const style = parseStyle(asked);
    const fps = interaction.options.getInteger('fps') ?? this.options.fps;
    if (!style) {
      await interaction.editReply(stylesText(person.locale, '/restyle style:3d-cartoon'));
      return;
    }
    const clip = clipFromAttachment(attachment);
    if (!clip) {
      await interaction.editReply(TEXT[person.locale].notVideo(attachment.contentType ?? attachment.name));
      return;
    }
    this.background.spawn(() => this.fetchAndStart(interaction, person, clip, style, fps));
  }

  private async onMessageAction(
    interaction: MessageContextMenuCommandInteraction,
    person: Person,
  ): Promise<void> {
    const t = TEXT[person.locale];
    const clip = clipFromAttachments(interaction.targetMessage.attachments.values());
    if (!clip) {
      await interaction.reply({ content: t.noVideo, flags: MessageFlags.Ephemeral });
      return;
    }
    const ref = randomBytes(9).toString('base64url');
    const pick: PickRecord = {
      channelId: interaction.targetMessage.channelId,
      messageId: interaction.targetMessage.id,
      attachmentId: clip.attachmentId,
      ownerId: person.id,
    };
    this.pickUrls.set(ref, { url: clip.url, atMs: Date.now() });
    await this.options.store.setRecord(`discord:pick:${ref}`, pick, CLIP_TTL_MS);
    await interaction.reply({
      content: t.pickStyle,
      components: [styleSelectRow(encodeCustomId({ kind: 'pick', ref }), person.locale)],
      flags: MessageFlags.Ephemeral,
    });
  }

  private async onSelect(interaction: StringSelectMenuInteraction, person: Person): Promise<void> {
    const action = decodeCustomId(interaction.customId);
    const style = parseStyle(interaction.values[0] ?? '') ?? STYLES[0];
    const t = TEXT[person.locale];
    if (action?.kind === 'pick') {
      await interaction.update({
        content: statusText({ kind: 'checking' }, style, person.locale),
        components: [],
      });
      const pick = await this.options.store.getRecord<PickRecord>(`discord:pick:${action.ref}`);
      if (!pick) {
        await interaction.editReply({ content: t.pickExpired, components: [] });
        return;
      }
      this.background.spawn(async () => {
        const clip = await this.freshClip(pick, action.ref);
        if (!clip) {
          // Without the message-content intent a re-read shows no attachments, and the URL from the
          // action is kept in memory only: after a restart the user has to start again.
          await interaction.editReply({ content: t.pickExpired, components: [] });
          return;
        }
        await this.fetchAndStart(interaction, person, clip, style, this.options.fps);
      });
      return;
    }
    if (action?.kind === 'again') {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      this.background.spawn(() =>
        this.startFromClip(interaction, person, action.ref, style, this.options.fps, false),
      );
      return;
    }
    await interaction.deferUpdate();
  }

  private async onButton(interaction: ButtonInteraction, person: Person): Promise<void> {
    const action = decodeCustomId(interaction.customId);
    const t = TEXT[person.locale];
    if (action?.kind === 'cancel') {
      const job = this.options.service.job(action.jobId);
      const operator = interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
      if (job && job.requester.key !== requesterOf(person).key && !operator) {
        await interaction.reply({ content: t.notYourJob, flags: MessageFlags.Ephemeral });
        return;
      }
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const outcome = await this.options.service.cancel(action.jobId, requesterOf(person, operator));
      const content =
        outcome.kind === 'canceled'
          ? t.canceled
          : outcome.kind === 'too-late'
            ? outcome.state === 'delivered' || outcome.state === 'failed'
              ? t.alreadyOver
              : t.tooLateToCancel
            : t.alreadyOver;
      await interaction.editReply(content);
      return;
    }
    if (action?.kind === 'fit') {
      await interaction.update({
        content: statusText({ kind: 'checking' }, styleById(action.styleId)!, person.locale),
        components: [],
      });
      this.background.spawn(() =>
        this.startFromClip(
          interaction,
          person,
          action.ref,
          styleById(action.styleId)!,
          this.options.fps,
          true,
        ),
      );
      return;
    }
    await interaction.deferUpdate();
  }

  /** The picked message's video with a fresh CDN URL (signed URLs expire): refetched when we can. */
  private async freshClip(pick: PickRecord, ref: string): Promise<DiscordClip | undefined> {
    try {
      const message = (await this.client.rest.get(
        Routes.channelMessage(pick.channelId, pick.messageId),
      )) as APIMessage;
      const attachment =
        message.attachments.find((a) => a.id === pick.attachmentId) ?? message.attachments[0];
      const clip = clipFromAttachment(attachment);
      if (clip) return clip;
    } catch (error) {
      this.options.logger.debug('could not refetch the picked message; using the URL from the action', {
        error: describeError(error),
      });
    }
    const remembered = this.pickUrls.get(ref);
    this.pickUrls.delete(ref);
    if (!remembered) return undefined;
    return {
      ...clipFromAttachment({ id: pick.attachmentId, url: remembered.url, size: 0, filename: 'video.mp4' })!,
    };
  }

  // ---- jobs ----

  /** Downloads the clip once (kept a day for "another style"), then starts a job with it. */
  private async fetchAndStart(
    interaction: Starter,
    person: Person,
    clip: DiscordClip,
    style: Style,
    fps: number,
  ): Promise<void> {
    const t = TEXT[person.locale];
    if (clip.sizeBytes > MAX_FETCH_BYTES) {
      await interaction.editReply({
        content: t.tooBigToFetch(formatMebibytes(clip.sizeBytes), formatMebibytes(MAX_FETCH_BYTES)),
        components: [],
      });
      return;
    }
    const clipId = randomBytes(9).toString('base64url');
    const ext = /^\.[a-z0-9]{1,5}$/i.test(extname(clip.filename))
      ? extname(clip.filename).toLowerCase()
      : '.mp4';
    const path = join(this.options.clipsDir, `${clipId}${ext}`);
    try {
      await this.options.downloader.download(clip.url, path, {
        maxBytes: MAX_FETCH_BYTES,
        signal: this.shutdown.signal,
      });
    } catch (error) {
      await this.options.files.remove(path);
      if (isAbort(error)) return;
      const content =
        error instanceof TooLargeError
          ? t.tooBigToFetch(formatMebibytes(error.sizeBytes), formatMebibytes(MAX_FETCH_BYTES))
          : t.downloadFailed;
      this.options.logger.warn('could not download a discord attachment', {
        userId: person.id,
        error: describeError(error),
      });
      await interaction.editReply({ content, components: [] });
      return;
    }
    const record: ClipRecord = { path, filename: clip.filename, ownerId: person.id };
    await this.options.store.setRecord(`discord:clip:${clipId}`, record, CLIP_TTL_MS);
    await this.start(interaction, person, clipId, record, style, fps, false);
  }

  /** A job from a clip kept earlier ("another style", "adjust and restyle"). */
  private async startFromClip(
    interaction: Starter,
    person: Person,
    clipId: string,
    style: Style,
    fps: number,
    fit: boolean,
  ): Promise<void> {
    const record = await this.options.store.getRecord<ClipRecord>(`discord:clip:${clipId}`);
    const exists = record
      ? await stat(record.path).then(
          () => true,
          () => false,
        )
      : false;
    if (!record || !exists) {
      await interaction.editReply({ content: TEXT[person.locale].clipExpired, components: [] });
      return;
    }
    await this.start(interaction, person, clipId, record, style, fps, fit);
  }

  /**
   * Opens the public status message, asks the service, and follows the job — or, when the clip
   * is refused, removes the status and tells the requester privately why.
   */
  private async start(
    interaction: Starter,
    person: Person,
    clipId: string,
    clip: ClipRecord,
    style: Style,
    fps: number,
    fit: boolean,
  ): Promise<void> {
    const { locale } = person;
    const t = TEXT[locale];
    const left = await this.quota.left(person.id);
    if (left === 0) {
      await interaction.editReply({
        content: quotaText(this.quota.perDay, this.quota.resetInMs(), locale),
        components: [],
      });
      return;
    }
    const startedAtMs = Date.now();
    const inputPath = join(this.options.inputsDir, `dc-${randomUUID()}${extname(clip.path)}`);
    // The job owns its input: a hard link costs nothing, a copy when links are not possible.
    await link(clip.path, inputPath).catch(() => copyFile(clip.path, inputPath));
    // A deferred reply turns into whatever comes first: settle it, so the status is a message of its own.
    await interaction.editReply({ content: statusText({ kind: 'checking' }, style, locale), components: [] });
    const status = await interaction.followUp({
      content: `${statusText({ kind: 'checking' }, style, locale)} · <@${person.id}>`,
      allowedMentions: { parse: [] },
    });
    const delivery: DiscordDelivery = {
      platform: 'discord',
      channelId: status.channelId,
      guildId: interaction.guildId,
      statusId: status.id,
      userId: person.id,
      locale,
      attachmentLimit: interaction.attachmentSizeLimit || this.options.maxUploadBytes,
      clipId,
    };
    let jobId: string | undefined;
    const early: JobEvent[] = [];
    let outcome: RequestOutcome;
    try {
      outcome = await this.options.service.request(
        { requester: requesterOf(person), delivery: { ...delivery }, inputPath, styleId: style.id, fps, fit },
        (event) => (jobId ? this.board.handle(jobId, event) : early.push(event)),
      );
    } catch (error) {
      await this.options.files.remove(inputPath);
      await interaction.deleteReply(status).catch(() => undefined);
      throw error;
    }
    if (outcome.kind === 'rejected' || outcome.kind === 'refused') {
      await this.options.files.remove(inputPath);
      await interaction.deleteReply(status).catch(() => undefined);
      if (outcome.kind === 'refused') {
        await interaction.editReply({ content: refusalText(outcome, locale, t.cancel), components: [] });
        return;
      }
      const fixable = !outcome.unfixable && !fit;
      await interaction.editReply({
        content: rejectionText(outcome.violations, fixable, locale),
        components: fixable
          ? [buttonRow(encodeCustomId({ kind: 'fit', ref: clipId, styleId: style.id }), t.adjust)]
          : [],
      });
      return;
    }
    jobId = outcome.job.id;
    this.tokens.set(jobId, {
      applicationId: interaction.applicationId,
      token: interaction.token,
      expiresAtMs: startedAtMs + INTERACTION_TOKEN_MS,
    });
    if (outcome.kind === 'queued') await this.quota.spend(person.id);
    this.board.follow(jobId, this.metaOf(outcome.job, delivery));
    for (const event of early) this.board.handle(jobId, event);
    this.board.showCurrent(jobId);
    await interaction.editReply({ content: t.queuedHere, components: [] });
  }

  private render(view: StatusView, meta: StatusMeta): Rendered {
    const { locale, userId } = meta.delivery;
    let content = discordStatusText(view, meta.style, locale, {
      userId,
      waiting: this.options.service.waitingCount,
      nowMs: Date.now(),
    });
    if (meta.notes && !isFinalView(view)) content += `\n${meta.notes}`;
    const cancelable =
      view.kind === 'queued' ||
      view.kind === 'submitting' ||
      (view.kind === 'restyling' && view.remote === 'pending');
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
    const webhook = this.tokens.get(meta.jobId);
    if (webhook) {
      try {
        await this.client.rest.patch(
          Routes.webhookMessage(webhook.applicationId, webhook.token, meta.delivery.statusId),
          { body, auth: false },
        );
        return;
      } catch (error) {
        if (!isDeadToken(error)) throw error;
        this.tokens.expire(meta.jobId);
        this.options.logger.info('interaction token expired; editing the status through the channel', {
          jobId: meta.jobId,
        });
      }
    }
    await this.client.rest.patch(Routes.channelMessage(meta.delivery.channelId, meta.delivery.statusId), {
      body,
    });
  }

  /** Removes kept clips older than a day. */
  private async sweepClips(): Promise<void> {
    const names = await readdir(this.options.clipsDir).catch(() => [] as string[]);
    const now = Date.now();
    for (const name of names) {
      const path = join(this.options.clipsDir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && now - info.mtimeMs > CLIP_TTL_MS) await rm(path, { force: true });
    }
  }
}
