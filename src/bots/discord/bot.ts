import { once } from 'node:events';
import { createRequire } from 'node:module';
import {
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
  type StringSelectMenuInteraction,
} from 'discord.js';
import { z } from 'zod';
import type { Requester, RestyleJob } from '../../core/job.ts';
import { defineScope, openScope, type RecordScope } from '../../core/records.ts';
import { type Locale, parseStyle, STYLES, type Style, styleById } from '../../core/styles.ts';
import { localeFrom, stylesText } from '../../text/index.ts';
import { BackgroundWork } from '../shared/background.ts';
import { videoExtension } from '../shared/clip-files.ts';
import type { BotDeps, BotSettings } from '../shared/deps.ts';
import { ChatIntake } from '../shared/intake.ts';
import { DailyQuota } from '../shared/quota.ts';
import { CLIP_TTL_MS, ClipCache } from './clip-cache.ts';
import { RESTYLE_COMMAND, RESTYLE_MESSAGE_COMMAND } from './commands.ts';
import { decodeCustomId, encodeCustomId, styleSelectRow } from './components.ts';
import { clipFromAttachment, clipFromAttachments, type DiscordClip } from './decode.ts';
import { InteractionTokens } from './interaction-tokens.ts';
import { DiscordDeliverySink } from './sink.ts';
import { answerPrivately, DiscordSurface, type FirstAnswer, type Starter } from './surface.ts';
import { TEXT } from './wording.ts';

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

/** A message someone chose "Restyle video" on, and the clip downloaded from it, until they pick a style. */
const PICKS = defineScope({
  name: 'discord.pick',
  schema: z.object({
    channelId: z.string(),
    messageId: z.string(),
    ownerId: z.string(),
    clipId: z.string(),
    filename: z.string(),
  }),
  ttlMs: CLIP_TTL_MS,
});
type PickRecord = z.infer<(typeof PICKS)['schema']>;

interface Person {
  readonly id: string;
  readonly name: string;
  readonly locale: Locale;
}

function personOf(interaction: Interaction): Person {
  return { id: interaction.user.id, name: interaction.user.username, locale: localeFrom(interaction.locale) };
}

function requesterOf(person: Person, operator = false): Requester {
  return { key: `discord:${person.id}`, name: person.name, ...(operator ? { operator: true } : {}) };
}

/**
 * An HTTP agent of the undici that discord.js's REST client itself calls. Each undici major installs
 * a process-wide default dispatcher when it loads, and the first to load wins: left to that default,
 * discord.js's requests (file uploads first) fail whenever the service's newer undici loaded first.
 */
function restAgent(): unknown {
  const fromRest = createRequire(createRequire(import.meta.url).resolve('@discordjs/rest'));
  const { Agent } = fromRest('undici') as { Agent: new () => unknown };
  return new Agent();
}

function describeError(error: unknown): string {
  if (error instanceof DiscordAPIError) return `${error.status} ${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The Discord bot: routes `/restyle video:<clip> style:<choice>`, the "Restyle video" message
 * action, selects and buttons into the shared intake and queue. Every interaction is acknowledged
 * at once; a public status message follows each job, and results come back in the channel.
 */
export class DiscordBot {
  /** Delivers results; register it with the service under `discord`. */
  readonly sink: DiscordDeliverySink;
  private readonly client: Client;
  private readonly tokens = new InteractionTokens();
  private readonly clips: ClipCache;
  private readonly picks: RecordScope<PickRecord>;
  private readonly surface: DiscordSurface;
  private readonly intake: ChatIntake;
  private readonly shutdown = new AbortController();
  private readonly background: BackgroundWork;

  constructor(private readonly options: DiscordBotOptions) {
    this.background = new BackgroundWork(options.logger, 'discord', describeError);
    this.client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: options.apiRoot } });
    // Status edits of resumed jobs start before the gateway login, which would set the token only then.
    this.client.rest.setToken(options.token);
    this.client.rest.setAgent(restAgent() as Parameters<typeof this.client.rest.setAgent>[0]);
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
      probe: options.probe,
      transcoder: options.transcoder,
      files: options.files,
      tempPath: options.tempPath,
      maxUploadBytes: options.maxUploadBytes,
      logger: options.logger,
    });
    this.clips = new ClipCache({
      dir: options.clipsDir,
      store: options.store,
      downloader: options.downloader,
      logger: options.logger,
    });
    this.picks = openScope(options.store, PICKS);
    this.surface = new DiscordSurface({
      rest: this.client.rest,
      tokens: this.tokens,
      clips: this.clips,
      service: options.service,
      store: options.store,
      files: options.files,
      statusIntervalMs: options.statusIntervalMs,
      logger: options.logger,
    });
    this.intake = new ChatIntake(
      { ...options, quota: new DailyQuota(options.store, options.dailyQuota) },
      this.surface,
    );
  }

  /** The bot's application id, once logged in. */
  get applicationId(): string | undefined {
    return this.client.application?.id;
  }

  /** Logs in over the gateway; resolves once the bot is ready and interrupted requests are resumed. */
  async launch(): Promise<void> {
    await this.clips.open();
    await this.connect();
    await this.intake.resume();
  }

  /**
   * Finishes the requests a restart interrupted (through REST: no gateway needed, so an instance
   * standing by for the gateway still finishes its own).
   */
  async resumeRequests(): Promise<void> {
    await this.clips.open();
    await this.intake.resume();
  }

  /** Logs in over the gateway; resolves once the bot is ready for interactions. */
  async connect(): Promise<void> {
    const ready = once(this.client, Events.ClientReady, { signal: AbortSignal.timeout(60_000) });
    await this.client.login(this.options.token);
    await ready;
    this.options.logger.info('discord bot connected', { user: this.client.user?.tag });
  }

  /** After a restart: status messages of stored jobs go on (their tokens are gone: channel endpoints only). */
  resume(jobs: readonly RestyleJob[]): Promise<void> {
    return this.surface.resume(jobs);
  }

  /** Stops taking interactions; requests under way stay recorded, status edits get a moment to go out. */
  async stop(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    this.shutdown.abort();
    await this.intake.stop();
    await this.background.settled();
    await this.surface.stop();
    await this.client.destroy();
  }

  /** Resolves once background work and status edits are done (tests use it). */
  async settled(): Promise<void> {
    await this.intake.settled();
    await this.background.settled();
    await this.surface.settled();
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
    // Answered within Discord's 3 s by the intake, right after it recorded the request (a few ms):
    // a crash then never leaves an answer "thinking" with nothing on record.
    const attachment = interaction.options.getAttachment('video', true);
    const style = parseStyle(interaction.options.getString('style', true));
    const fps = interaction.options.getInteger('fps') ?? this.options.fps;
    if (!style) {
      await answerPrivately(interaction, 'reply', {
        content: stylesText(person.locale, '/restyle style:3d-cartoon'),
        components: [],
      });
      return;
    }
    const clip = clipFromAttachment(attachment);
    if (!clip) {
      const content = TEXT[person.locale].notVideo(attachment.contentType ?? attachment.name);
      await answerPrivately(interaction, 'reply', { content, components: [] });
      return;
    }
    const kept = { clipId: ClipCache.newId(), filename: clip.filename };
    await this.start(interaction, 'reply', person, kept, style, fps, false, { attachment: clip });
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
    const ref = ClipCache.newId();
    const pick: PickRecord = {
      channelId: interaction.targetMessage.channelId,
      messageId: interaction.targetMessage.id,
      ownerId: person.id,
      clipId: ref,
      filename: clip.filename,
    };
    await this.picks.set(ref, pick);
    await interaction.reply({
      content: t.pickStyle,
      components: [styleSelectRow(encodeCustomId({ kind: 'pick', ref }), person.locale)],
      flags: MessageFlags.Ephemeral,
    });
    // Fetched while its signed URL is fresh: the pick then works however late, restarts included.
    this.background.spawn(() => this.clips.download(ref, clip, person.id, this.shutdown.signal));
  }

  private async onSelect(interaction: StringSelectMenuInteraction, person: Person): Promise<void> {
    const action = decodeCustomId(interaction.customId);
    const style = parseStyle(interaction.values[0] ?? '') ?? STYLES[0];
    const t = TEXT[person.locale];
    if (action?.kind === 'pick') {
      const pick = await this.picks.get(action.ref);
      // The clip may still be downloading: the intake waits for it, this only needs to know it comes.
      if (!pick || !(await this.clips.available(pick.clipId))) {
        await interaction.update({ content: t.pickExpired, components: [] });
        return;
      }
      // One request per picker: a pick made again (its first answer lost to a crash) finds the first.
      const requestId = `discord-pick-${action.ref}`;
      await this.start(interaction, 'update', person, pick, style, this.options.fps, false, { requestId });
      return;
    }
    if (action?.kind === 'again') {
      // Under a public result: the answer is a new private message, not an edit of the result.
      await this.startFromKept(interaction, 'reply', person, action.ref, style, false);
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
          : outcome.kind === 'too-late' && outcome.state !== 'delivered' && outcome.state !== 'failed'
            ? t.tooLateToCancel
            : t.alreadyOver;
      await interaction.editReply(content);
      return;
    }
    if (action?.kind === 'fit') {
      await this.startFromKept(interaction, 'update', person, action.ref, styleById(action.styleId)!, true);
      return;
    }
    await interaction.deferUpdate();
  }

  /** A request from a clip kept earlier ("another style", "adjust and restyle"). */
  private async startFromKept(
    interaction: Starter,
    first: FirstAnswer,
    person: Person,
    clipId: string,
    style: Style,
    fit: boolean,
  ): Promise<void> {
    const kept = await this.clips.get(clipId);
    if (!kept) {
      await answerPrivately(interaction, first, { content: TEXT[person.locale].clipExpired, components: [] });
      return;
    }
    const clip = { clipId, filename: kept.filename };
    await this.start(interaction, first, person, clip, style, this.options.fps, fit);
  }

  /** Hands a request to the intake, which records and acknowledges it before anything slow. */
  private async start(
    interaction: Starter,
    first: FirstAnswer,
    person: Person,
    clip: { clipId: string; filename: string },
    style: Style,
    fps: number,
    fit: boolean,
    options: { requestId?: string; attachment?: DiscordClip } = {},
  ): Promise<void> {
    const requestId = options.requestId ?? `discord-${interaction.id}`;
    if (
      (await this.intake.known(requestId)) ||
      !this.surface.starting(requestId, interaction, first, options.attachment)
    ) {
      await this.answerTaken(interaction, first, person);
      return;
    }
    const outcome = await this.intake.accept({
      id: requestId,
      requester: requesterOf(person),
      locale: person.locale,
      styleId: style.id,
      fps,
      fit,
      clip: { clipId: clip.clipId, filename: clip.filename },
      address: {
        channelId: interaction.channelId ?? '',
        guildId: interaction.guildId,
        userId: person.id,
        attachmentLimit: interaction.attachmentSizeLimit || this.options.maxUploadBytes,
      },
      extension: videoExtension(clip.filename) ?? '.mp4',
    });
    if (outcome === 'duplicate') {
      this.surface.unstarted(requestId);
      await this.answerTaken(interaction, first, person);
    }
  }

  /** Points a request taken in before (a second pick of one picker) to the status of the first. */
  private async answerTaken(interaction: Starter, first: FirstAnswer, person: Person): Promise<void> {
    await answerPrivately(interaction, first, { content: TEXT[person.locale].alreadyTaken, components: [] });
  }
}
