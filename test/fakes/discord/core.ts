import { stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { UploadedFile } from './body.ts';
import { type CdnSigner, contentTypeFor, probeMedia, readHead } from './cdn.ts';
import { CommandScope } from './commands.ts';
import { emptyMessage, FormErrors } from './errors.ts';
import type { FakeGateway } from './gateway.ts';
import { type AttachmentRequest, type MessageInput, type PayloadMode, resolveMentions } from './messages.ts';
import type { Snowflakes } from './snowflake.ts';
import type { StoredAttachment, StoredFile, StoredMessage, World } from './state.ts';
import { type APIMessage, AttachmentFlag, Intent, MessageFlag, Permission } from './types.ts';

/** A file a test registered with `addAttachment`, ready to be attached to user messages or command options. */
export interface FakeFile extends StoredFile {
  readonly filename: string;
  readonly description?: string;
  readonly title?: string;
  /** Attachment flags, e.g. IS_SPOILER (8). */
  readonly flags?: number;
}

/** An attachment of a message, as tests inspect it. */
export interface FakeAttachmentView {
  readonly id: string;
  readonly filename: string;
  readonly size: number;
  readonly contentType?: string;
  readonly width?: number;
  readonly height?: number;
  readonly durationSecs?: number;
  readonly description?: string;
  readonly ephemeral: boolean;
  /** Where the bytes are on this machine. */
  readonly path: string;
  /** A freshly signed CDN URL. */
  readonly url: string;
}

/** A message as it stands now in a channel. */
export interface FakeChannelMessage {
  readonly id: string;
  readonly channelId: string;
  readonly guildId?: string;
  readonly authorId: string;
  /** Sent by the bot (REST, or as an interaction response). */
  readonly fromBot: boolean;
  readonly type: number;
  readonly content: string;
  readonly embeds: Record<string, unknown>[];
  readonly components: Record<string, unknown>[];
  readonly attachments: FakeAttachmentView[];
  readonly flags: number;
  /** Only `visibleTo` sees it (EPHEMERAL). */
  readonly ephemeral: boolean;
  readonly visibleTo?: string;
  /** A deferred response still "thinking" (LOADING). */
  readonly loading: boolean;
  /** The message this one replies to (message_reference). */
  readonly replyTo?: string;
  /** The interaction this message answers. */
  readonly interactionId?: string;
  readonly mentions: string[];
  readonly createdAt: number;
  readonly editedAt?: number;
  /** The whole Message object as the API returns it now (fresh attachment URLs). */
  readonly message: APIMessage;
}

/** A change to a channel's messages, in order. */
export interface FakeMessageEvent {
  readonly kind: 'create' | 'update' | 'delete';
  readonly channelId: string;
  readonly messageId: string;
  /** Epoch ms of the fake's clock. */
  readonly at: number;
  /** The message after the change (before it, for deletions). */
  readonly snapshot: FakeChannelMessage;
}

export interface CoreDeps {
  readonly world: World;
  readonly ids: Snowflakes;
  readonly signer: CdnSigner;
  readonly gateway: FakeGateway;
  readonly now: () => number;
  readonly workDir: string;
  readonly applicationId: () => string;
  /** Privileged intents enabled for the app: MESSAGE_CONTENT decides what REST reads show. */
  readonly appIntents: () => number;
  readonly notify: () => void;
}

/** What a new message carries besides the payload. */
export interface NewMessage {
  readonly channelId: string;
  readonly authorId: string;
  readonly input: MessageInput;
  readonly files: readonly UploadedFile[];
  readonly mode: PayloadMode;
  readonly type: number;
  readonly webhookId?: string;
  readonly applicationId?: string;
  readonly ephemeralTo?: string;
  readonly interactionId?: string;
  readonly interactionMetadata?: Record<string, unknown>;
  readonly interaction?: Record<string, unknown>;
  readonly reference?: StoredMessage['reference'];
  /** A deferred response: LOADING, no content required. */
  readonly loading?: boolean;
  /** Whether `@everyone`/`@here` may take effect. */
  readonly canMentionEveryone?: boolean;
  /** The replied-to message's author, mentioned unless allowed_mentions says otherwise. */
  readonly repliedAuthorId?: string;
}

const MAX_FILES = 10;

/** Discord replaces spaces in uploaded file names with underscores. */
export const cleanFilename = (name: string): string => basename(name).replace(/\s/g, '_') || 'unknown';

/** State and operations shared by the REST routes, the gateway and the test helpers. */
export class Core {
  readonly cdnFiles = new Map<string, StoredAttachment>();
  readonly messageLog: FakeMessageEvent[] = [];
  readonly globalCommands: CommandScope;
  readonly guildCommands = new Map<string, CommandScope>();

  constructor(readonly deps: CoreDeps) {
    this.globalCommands = new CommandScope(deps.applicationId(), undefined, deps.ids);
  }

  get world(): World {
    return this.deps.world;
  }

  commandScope(guildId?: string): CommandScope {
    if (!guildId) return this.globalCommands;
    let scope = this.guildCommands.get(guildId);
    if (!scope) {
      scope = new CommandScope(this.deps.applicationId(), guildId, this.deps.ids);
      this.guildCommands.set(guildId, scope);
    }
    return scope;
  }

  // ---- attachments ----

  /** Makes a stored attachment of a file for a channel (ephemeral ones live under /ephemeral-attachments). */
  attach(
    channelId: string,
    file: StoredFile & { filename: string; description?: string; title?: string; flags?: number },
    ephemeral: boolean,
    extra: { durationSecs?: number; waveform?: string } = {},
  ): StoredAttachment {
    const id = this.deps.ids.next();
    const filename = cleanFilename(file.filename);
    const cdnPath = `/${ephemeral ? 'ephemeral-attachments' : 'attachments'}/${channelId}/${id}/${encodeURIComponent(filename)}`;
    const durationSecs = extra.durationSecs ?? file.durationSecs;
    const att: StoredAttachment = {
      id,
      filename,
      file,
      ...(file.contentType !== undefined ? { contentType: file.contentType } : {}),
      ...(file.width !== undefined ? { width: file.width } : {}),
      ...(file.height !== undefined ? { height: file.height } : {}),
      ...(durationSecs !== undefined ? { durationSecs } : {}),
      ...(file.description !== undefined ? { description: file.description } : {}),
      ...(file.title !== undefined ? { title: file.title } : {}),
      flags: file.flags ?? 0,
      ephemeral,
      ...(extra.waveform !== undefined ? { waveform: extra.waveform } : {}),
      cdnPath,
    };
    this.cdnFiles.set(cdnPath, att);
    return att;
  }

  /** What the fake learns about an uploaded file: its type from the bytes, and image/video size. */
  async describeUpload(file: UploadedFile, filename: string): Promise<StoredFile> {
    const head = await readHead(file.path, 64);
    const contentType = contentTypeFor(filename, head) ?? file.contentType;
    const facts = await probeMedia(file.path, contentType);
    return {
      path: file.path,
      size: file.size,
      ...(contentType ? { contentType } : {}),
      ...(facts.width !== undefined ? { width: facts.width, height: facts.height } : {}),
    };
  }

  /** Registers a file for tests: read in place for a path, written to the work dir for a Buffer. */
  async registerFile(
    source: string | Buffer,
    meta: {
      filename?: string;
      content_type?: string;
      width?: number;
      height?: number;
      duration_secs?: number;
      description?: string;
      title?: string;
      spoiler?: boolean;
    },
  ): Promise<FakeFile> {
    let path: string;
    let size: number;
    if (typeof source === 'string') {
      // Read in place, like a file the CDN already holds.
      path = source;
      size = (await stat(source)).size;
    } else {
      path = join(this.deps.workDir, `added-${this.deps.ids.next()}`);
      await writeFile(path, source);
      size = source.length;
    }
    const filename = meta.filename ?? (typeof source === 'string' ? basename(source) : 'file.bin');
    const head = await readHead(path, 64);
    const contentType = meta.content_type ?? contentTypeFor(filename, head);
    const facts = await probeMedia(path, contentType);
    const width = meta.width ?? facts.width;
    const height = meta.height ?? facts.height;
    return {
      path,
      size,
      filename,
      ...(contentType !== undefined ? { contentType } : {}),
      ...(width !== undefined ? { width } : {}),
      ...(height !== undefined ? { height } : {}),
      ...(meta.duration_secs !== undefined ? { durationSecs: meta.duration_secs } : {}),
      ...(meta.description !== undefined ? { description: meta.description } : {}),
      ...(meta.title !== undefined ? { title: meta.title } : {}),
      ...(meta.spoiler ? { flags: AttachmentFlag.IsSpoiler } : {}),
    };
  }

  /**
   * The attachments a payload leaves on a message. On create every file is attached; on edit the
   * `attachments` list (when sent) says which existing ones stay and which new files are added,
   * otherwise new files are appended.
   */
  private async resolveAttachments(
    channelId: string,
    existing: readonly StoredAttachment[],
    requests: readonly AttachmentRequest[] | null | undefined,
    files: readonly UploadedFile[],
    editing: boolean,
    ephemeral: boolean,
  ): Promise<StoredAttachment[]> {
    const errors = new FormErrors();
    const byIndex = new Map(files.map((f) => [String(f.index), f]));
    const meta = new Map((requests ?? []).map((r) => [r.id, r]));
    const fresh = async (file: UploadedFile, request?: AttachmentRequest) => {
      const filename = cleanFilename(request?.filename ?? file.filename);
      const stored = await this.describeUpload(file, filename);
      return this.attach(
        channelId,
        {
          ...stored,
          filename,
          ...(request?.description !== undefined ? { description: request.description } : {}),
          ...(request?.title !== undefined ? { title: request.title } : {}),
          ...(request?.isSpoiler ? { flags: AttachmentFlag.IsSpoiler } : {}),
        },
        ephemeral,
        {
          ...(request?.durationSecs !== undefined ? { durationSecs: request.durationSecs } : {}),
          ...(request?.waveform !== undefined ? { waveform: request.waveform } : {}),
        },
      );
    };
    let result: StoredAttachment[];
    if (!editing) {
      result = [];
      for (const file of files) result.push(await fresh(file, meta.get(String(file.index))));
    } else if (requests === undefined) {
      result = [...existing];
      for (const file of files) result.push(await fresh(file));
    } else {
      result = [];
      for (const [i, request] of (requests ?? []).entries()) {
        const kept = existing.find((a) => a.id === request.id);
        if (kept) {
          if (request.description !== undefined) kept.description = request.description;
          if (request.isSpoiler !== undefined) {
            kept.flags = request.isSpoiler
              ? kept.flags | AttachmentFlag.IsSpoiler
              : kept.flags & ~AttachmentFlag.IsSpoiler;
          }
          result.push(kept);
          continue;
        }
        const file = byIndex.get(request.id);
        if (!file) {
          errors.add(['attachments', i, 'id'], 'ATTACHMENT_NOT_FOUND', 'Unknown attachment');
          continue;
        }
        result.push(await fresh(file, request));
      }
    }
    if (result.length > MAX_FILES)
      errors.add(['files'], 'BASE_TYPE_MAX_LENGTH', `Must be ${MAX_FILES} or fewer in length.`);
    errors.throwIfAny();
    return result;
  }

  // ---- messages ----

  private contentfulEmpty(
    m: Pick<StoredMessage, 'content' | 'embeds' | 'components' | 'attachments' | 'poll'>,
    stickers = 0,
  ) {
    return (
      m.content.trim() === '' &&
      m.embeds.length === 0 &&
      m.components.length === 0 &&
      m.attachments.length === 0 &&
      !m.poll &&
      stickers === 0
    );
  }

  /** Creates a message; validates emptiness, stores attachments, records and dispatches it. */
  async createMessage(spec: NewMessage): Promise<StoredMessage> {
    const channel = this.world.channel(spec.channelId);
    if (!channel) throw new Error(`fake Discord: unknown channel ${spec.channelId}`);
    const ephemeral = spec.ephemeralTo !== undefined;
    const attachments = await this.resolveAttachments(
      channel.id,
      [],
      spec.input.attachments,
      spec.files,
      false,
      ephemeral,
    );
    const content = spec.input.content ?? '';
    const defaultParse: ('users' | 'roles' | 'everyone')[] =
      spec.mode === 'create' ? ['users', 'roles', 'everyone'] : ['users'];
    const mentions = resolveMentions(
      content,
      spec.input.allowedMentions,
      defaultParse,
      spec.canMentionEveryone ?? false,
    );
    const mentionUsers = [...mentions.users];
    if (spec.repliedAuthorId && mentions.repliedUser && !mentionUsers.includes(spec.repliedAuthorId)) {
      mentionUsers.push(spec.repliedAuthorId);
    }
    const flags =
      ((spec.input.flags ?? 0) & ~MessageFlag.Loading) |
      (ephemeral ? MessageFlag.Ephemeral : 0) |
      (spec.loading ? MessageFlag.Loading : 0);
    const msg: StoredMessage = {
      id: this.deps.ids.next(),
      channelId: channel.id,
      ...(channel.guildId ? { guildId: channel.guildId } : {}),
      authorId: spec.authorId,
      ...(spec.webhookId ? { webhookId: spec.webhookId } : {}),
      ...(spec.applicationId ? { applicationId: spec.applicationId } : {}),
      type: spec.type,
      content,
      embeds: spec.input.embeds ? structuredClone(spec.input.embeds) : [],
      components: spec.input.components ? structuredClone(spec.input.components) : [],
      attachments,
      flags,
      tts: spec.input.tts === true,
      ...(spec.input.nonce !== undefined ? { nonce: spec.input.nonce } : {}),
      mentions: mentionUsers,
      mentionRoles: mentions.roles,
      mentionEveryone: mentions.everyone,
      ...(spec.reference ? { reference: spec.reference } : {}),
      ...(spec.interactionMetadata ? { interactionMetadata: spec.interactionMetadata } : {}),
      ...(spec.interaction ? { interaction: spec.interaction } : {}),
      ...(spec.input.poll ? { poll: structuredClone(spec.input.poll) } : {}),
      createdAt: this.deps.now(),
      pinned: false,
      reactions: [],
      ...(spec.ephemeralTo ? { ephemeralTo: spec.ephemeralTo } : {}),
      ...(spec.interactionId ? { interactionId: spec.interactionId } : {}),
    };
    if (!spec.loading && this.contentfulEmpty(msg, spec.input.stickerIds?.length ?? 0)) {
      for (const a of attachments) this.cdnFiles.delete(a.cdnPath);
      throw emptyMessage();
    }
    this.store(msg);
    return msg;
  }

  /** Adds a message built elsewhere (user messages) to its channel, log and gateway. */
  store(msg: StoredMessage): void {
    const channel = this.world.channel(msg.channelId)!;
    channel.messages.set(msg.id, msg);
    if (!msg.ephemeralTo) channel.lastMessageId = msg.id;
    this.log('create', msg);
    if (!msg.ephemeralTo) this.emitMessage('MESSAGE_CREATE', msg);
  }

  /** Applies an edit payload (PATCH semantics: absent fields stay, null clears). */
  async editMessage(
    msg: StoredMessage,
    input: MessageInput,
    files: readonly UploadedFile[],
    mode: PayloadMode,
  ): Promise<StoredMessage> {
    const attachments = await this.resolveAttachments(
      msg.channelId,
      msg.attachments,
      input.attachments,
      files,
      true,
      msg.ephemeralTo !== undefined,
    );
    const next = {
      content: input.content === undefined ? msg.content : (input.content ?? ''),
      embeds: input.embeds === undefined ? msg.embeds : structuredClone(input.embeds ?? []),
      components: input.components === undefined ? msg.components : structuredClone(input.components ?? []),
      attachments,
      ...(msg.poll ? { poll: msg.poll } : {}),
    };
    if (this.contentfulEmpty(next)) throw emptyMessage();
    const removed = msg.attachments.filter((a) => !attachments.includes(a));
    for (const a of removed) this.cdnFiles.delete(a.cdnPath);
    msg.content = next.content;
    msg.embeds = next.embeds;
    msg.components = next.components;
    msg.attachments = attachments;
    if (input.content !== undefined) {
      const parse: ('users' | 'roles' | 'everyone')[] =
        mode === 'edit' ? ['users', 'roles', 'everyone'] : ['users'];
      const mentions = resolveMentions(msg.content, input.allowedMentions, parse, false);
      msg.mentions = mentions.users;
      msg.mentionRoles = mentions.roles;
      msg.mentionEveryone = mentions.everyone;
    }
    if (input.flags !== undefined) {
      const keep = msg.flags & ~(MessageFlag.SuppressEmbeds | MessageFlag.IsComponentsV2);
      const set = (input.flags ?? 0) & (MessageFlag.SuppressEmbeds | MessageFlag.IsComponentsV2);
      msg.flags = keep | set | (msg.flags & MessageFlag.IsComponentsV2);
    }
    msg.flags &= ~MessageFlag.Loading;
    msg.editedAt = this.deps.now();
    this.log('update', msg);
    if (!msg.ephemeralTo) this.emitMessage('MESSAGE_UPDATE', msg);
    return msg;
  }

  deleteMessage(msg: StoredMessage): void {
    const channel = this.world.channel(msg.channelId);
    if (!channel?.messages.has(msg.id)) return;
    this.log('delete', msg);
    channel.messages.delete(msg.id);
    for (const a of msg.attachments) this.cdnFiles.delete(a.cdnPath);
    if (channel.lastMessageId === msg.id) {
      const rest = [...channel.messages.values()].filter((m) => !m.ephemeralTo);
      channel.lastMessageId = rest.at(-1)?.id ?? null;
    }
    if (!msg.ephemeralTo) {
      this.deps.gateway.dispatch(
        'MESSAGE_DELETE',
        { id: msg.id, channel_id: msg.channelId, ...(msg.guildId ? { guild_id: msg.guildId } : {}) },
        {
          ...(msg.guildId ? { guildId: msg.guildId } : {}),
          intent: msg.guildId ? Intent.GuildMessages : Intent.DirectMessages,
        },
      );
    }
    this.deps.notify();
  }

  private emitMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', msg: StoredMessage): void {
    this.deps.gateway.dispatch(
      t,
      (session: { intents: number }) =>
        this.world.messageObject(msg, {
          forGateway: true,
          contentVisible: this.world.contentVisible(msg, (session.intents & Intent.MessageContent) !== 0),
        }),
      {
        ...(msg.guildId ? { guildId: msg.guildId } : {}),
        intent: msg.guildId ? Intent.GuildMessages : Intent.DirectMessages,
      },
    );
  }

  private log(kind: FakeMessageEvent['kind'], msg: StoredMessage): void {
    this.messageLog.push({
      kind,
      channelId: msg.channelId,
      messageId: msg.id,
      at: this.deps.now(),
      snapshot: this.view(msg),
    });
    this.deps.notify();
  }

  /** The Message object the bot reads over REST (content hidden without the MESSAGE_CONTENT intent). */
  restMessage(msg: StoredMessage): APIMessage {
    const visible = this.world.contentVisible(msg, (this.deps.appIntents() & Intent.MessageContent) !== 0);
    return this.world.messageObject(msg, { contentVisible: visible });
  }

  view(msg: StoredMessage): FakeChannelMessage {
    const message = this.world.messageObject(msg);
    const urls = new Map(message.attachments.map((a) => [a.id, a.url]));
    return {
      id: msg.id,
      channelId: msg.channelId,
      ...(msg.guildId ? { guildId: msg.guildId } : {}),
      authorId: msg.authorId,
      fromBot: msg.authorId === this.world.botId,
      type: msg.type,
      content: msg.content,
      embeds: structuredClone(msg.embeds),
      components: structuredClone(msg.components),
      attachments: msg.attachments.map((a) => ({
        id: a.id,
        filename: a.filename,
        size: a.file.size,
        ...(a.contentType !== undefined ? { contentType: a.contentType } : {}),
        ...(a.width !== undefined ? { width: a.width } : {}),
        ...(a.height !== undefined ? { height: a.height } : {}),
        ...(a.durationSecs !== undefined ? { durationSecs: a.durationSecs } : {}),
        ...(a.description !== undefined ? { description: a.description } : {}),
        ephemeral: a.ephemeral,
        path: a.file.path,
        url: urls.get(a.id)!,
      })),
      flags: msg.flags,
      ephemeral: msg.ephemeralTo !== undefined,
      ...(msg.ephemeralTo ? { visibleTo: msg.ephemeralTo } : {}),
      loading: (msg.flags & MessageFlag.Loading) !== 0,
      ...(msg.reference ? { replyTo: msg.reference.message_id } : {}),
      ...(msg.interactionId ? { interactionId: msg.interactionId } : {}),
      mentions: [...msg.mentions],
      createdAt: msg.createdAt,
      ...(msg.editedAt !== undefined ? { editedAt: msg.editedAt } : {}),
      message,
    };
  }

  /** The bot's permissions in a channel (DMs: what the API grants in DMs). */
  botPermissionsIn(channelId: string): bigint {
    const channel = this.world.channel(channelId);
    if (!channel) return 0n;
    if (!channel.guildId) {
      return (
        Permission.ViewChannel |
        Permission.SendMessages |
        Permission.ReadMessageHistory |
        Permission.AttachFiles |
        Permission.EmbedLinks |
        Permission.AddReactions |
        Permission.UseExternalEmojis |
        Permission.MentionEveryone
      );
    }
    return this.world.permissionsOf(channel.guildId, this.world.botId, channel.id);
  }
}
