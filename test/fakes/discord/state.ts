import type { CdnSigner } from './cdn.ts';
import { isoTimestamp, type Snowflakes, snowflakeTime } from './snowflake.ts';
import {
  ALL_PERMISSIONS,
  type APIAttachment,
  type APIBotUser,
  type APIChannel,
  type APIGuild,
  type APIGuildMember,
  type APIMessage,
  type APIOverwrite,
  type APIRole,
  type APIUser,
  ChannelType,
  Intent,
  type Json,
  Permission,
} from './types.ts';

/** Bytes the fake can serve, with what it knows about them. */
export interface StoredFile {
  readonly path: string;
  readonly size: number;
  readonly contentType?: string;
  readonly width?: number;
  readonly height?: number;
  readonly durationSecs?: number;
}

/** An attachment as the fake keeps it; URLs are signed anew whenever it is serialised. */
export interface StoredAttachment {
  readonly id: string;
  readonly filename: string;
  readonly file: StoredFile;
  readonly contentType?: string;
  readonly width?: number;
  readonly height?: number;
  readonly durationSecs?: number;
  description?: string;
  title?: string;
  flags: number;
  readonly ephemeral: boolean;
  readonly waveform?: string;
  /** The CDN path, without query: `/attachments/{channel}/{id}/{filename}` or `/ephemeral-attachments/…`. */
  readonly cdnPath: string;
}

export interface StoredReaction {
  /** `name` for a unicode emoji, `name:id` for a custom one. */
  readonly key: string;
  readonly emoji: { id: string | null; name: string };
  readonly userIds: string[];
}

/** A message as the fake keeps it. */
export interface StoredMessage {
  readonly id: string;
  readonly channelId: string;
  readonly guildId?: string;
  readonly authorId: string;
  readonly webhookId?: string;
  readonly applicationId?: string;
  type: number;
  content: string;
  embeds: Json[];
  components: Json[];
  attachments: StoredAttachment[];
  flags: number;
  readonly tts: boolean;
  readonly nonce?: string | number;
  mentions: string[];
  mentionRoles: string[];
  mentionEveryone: boolean;
  reference?: { type: number; message_id: string; channel_id: string; guild_id?: string };
  interactionMetadata?: Json;
  interaction?: Json;
  poll?: Json;
  readonly createdAt: number;
  editedAt?: number;
  pinned: boolean;
  reactions: StoredReaction[];
  /** Set for ephemeral interaction responses: the only user who sees the message. */
  readonly ephemeralTo?: string;
  /** The interaction this message answers, if any. */
  readonly interactionId?: string;
}

export interface UserRecord {
  user: APIUser;
  /** The client language used for this user's interactions. */
  locale: string;
  /** Nitro tier (0 none, 1 Classic, 2 Nitro, 3 Basic); raises their attachment_size_limit. */
  premiumType: number;
}

export interface MemberRecord {
  readonly userId: string;
  roles: string[];
  nick: string | null;
  readonly joinedAt: number;
  pending: boolean;
  communicationDisabledUntil: number | null;
}

export interface ChannelRecord {
  readonly id: string;
  readonly type: number;
  readonly guildId?: string;
  name: string | null;
  topic: string | null;
  position: number;
  overwrites: APIOverwrite[];
  parentId: string | null;
  nsfw: boolean;
  rateLimitPerUser: number;
  /** DM recipients (not the bot). */
  readonly recipients: string[];
  lastMessageId: string | null;
  readonly messages: Map<string, StoredMessage>;
}

export interface GuildRecord {
  readonly id: string;
  name: string;
  ownerId: string;
  preferredLocale: string;
  premiumTier: number;
  description: string | null;
  features: string[];
  readonly roles: Map<string, APIRole>;
  readonly members: Map<string, MemberRecord>;
  readonly channelIds: string[];
  readonly botRoleId: string;
  /** When the bot joined. */
  readonly joinedAt: number;
  systemChannelId: string | null;
}

export interface WorldContext {
  readonly ids: Snowflakes;
  readonly signer: CdnSigner;
  /** `http://127.0.0.1:PORT`, where the CDN routes are served. */
  readonly cdnRoot: () => string;
  readonly now: () => number;
  readonly botUser: () => APIBotUser;
}

/** Permissions as a decimal string, the way the API writes them. */
export const permissionString = (bits: bigint): string => bits.toString();

/** Entities of the fake Discord and their API shapes. */
export class World {
  readonly users = new Map<string, UserRecord>();
  readonly guilds = new Map<string, GuildRecord>();
  readonly channels = new Map<string, ChannelRecord>();
  private readonly dmByUser = new Map<string, string>();

  constructor(private readonly ctx: WorldContext) {}

  get botId(): string {
    return this.ctx.botUser().id;
  }

  // ---- users ----

  userObject(id: string): APIUser {
    if (id === this.botId) {
      const bot = this.ctx.botUser();
      return {
        id: bot.id,
        username: bot.username,
        discriminator: bot.discriminator,
        global_name: bot.global_name,
        avatar: bot.avatar,
        bot: true,
        banner: null,
        accent_color: null,
        public_flags: bot.public_flags ?? 0,
        flags: bot.flags ?? 0,
        avatar_decoration_data: null,
        collectibles: null,
        primary_guild: null,
      };
    }
    const record = this.users.get(id);
    if (!record) throw new Error(`fake Discord: unknown user ${id}`);
    return structuredClone(record.user);
  }

  // ---- guilds, roles, members ----

  guild(id: string): GuildRecord {
    const guild = this.guilds.get(id);
    if (!guild) throw new Error(`fake Discord: unknown guild ${id}`);
    return guild;
  }

  /** The member's permissions in the guild, or in a channel of it once overwrites apply. */
  permissionsOf(guildId: string, userId: string, channelId?: string): bigint {
    const guild = this.guild(guildId);
    const member = guild.members.get(userId);
    if (!member) return 0n;
    if (guild.ownerId === userId) return ALL_PERMISSIONS;
    let base = BigInt(guild.roles.get(guild.id)?.permissions ?? '0');
    for (const roleId of member.roles) base |= BigInt(guild.roles.get(roleId)?.permissions ?? '0');
    if (base & Permission.Administrator) return ALL_PERMISSIONS;
    const channel = channelId ? this.channels.get(channelId) : undefined;
    if (!channel || channel.guildId !== guildId) return base;
    // Overwrites apply in Discord's order: @everyone, then roles together, then the member.
    let perms = base;
    const overwrites = channel.overwrites;
    const everyone = overwrites.find((o) => o.id === guild.id);
    if (everyone) perms = (perms & ~BigInt(everyone.deny)) | BigInt(everyone.allow);
    let allow = 0n;
    let deny = 0n;
    for (const o of overwrites) {
      if (o.type === 0 && o.id !== guild.id && member.roles.includes(o.id)) {
        allow |= BigInt(o.allow);
        deny |= BigInt(o.deny);
      }
    }
    perms = (perms & ~deny) | allow;
    const own = overwrites.find((o) => o.type === 1 && o.id === userId);
    if (own) perms = (perms & ~BigInt(own.deny)) | BigInt(own.allow);
    // Like Discord, the bits are reported as computed; routes treat a missing VIEW_CHANNEL as no access
    // and a missing SEND_MESSAGES as no ATTACH_FILES, EMBED_LINKS, … (implicit permissions).
    return perms;
  }

  /** Whether a user may see a channel (DM recipients always may). */
  canView(channel: ChannelRecord, userId: string): boolean {
    if (!channel.guildId) return userId === this.botId || channel.recipients.includes(userId);
    return (this.permissionsOf(channel.guildId, userId, channel.id) & Permission.ViewChannel) !== 0n;
  }

  memberObject(
    guildId: string,
    userId: string,
    options: { withUser?: boolean; permissionsIn?: string } = {},
  ): APIGuildMember {
    const guild = this.guild(guildId);
    const member = guild.members.get(userId);
    if (!member) throw new Error(`fake Discord: ${userId} is not a member of guild ${guildId}`);
    return {
      ...(options.withUser === false ? {} : { user: this.userObject(userId) }),
      nick: member.nick,
      avatar: null,
      banner: null,
      roles: [...member.roles],
      joined_at: isoTimestamp(member.joinedAt),
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: member.pending,
      communication_disabled_until:
        member.communicationDisabledUntil === null ? null : isoTimestamp(member.communicationDisabledUntil),
      ...(options.permissionsIn !== undefined
        ? { permissions: permissionString(this.permissionsOf(guildId, userId, options.permissionsIn)) }
        : {}),
    };
  }

  guildObject(guild: GuildRecord): APIGuild {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      widget_channel_id: null,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      roles: [...guild.roles.values()].map((r) => structuredClone(r)),
      emojis: [],
      features: [...guild.features],
      mfa_level: 0,
      application_id: null,
      system_channel_id: guild.systemChannelId,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_presences: null,
      max_members: 500_000,
      vanity_url_code: null,
      description: guild.description,
      banner: null,
      premium_tier: guild.premiumTier,
      premium_subscription_count: [0, 2, 7, 14][guild.premiumTier] ?? 0,
      preferred_locale: guild.preferredLocale,
      public_updates_channel_id: null,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      stickers: [],
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      incidents_data: null,
    };
  }

  /** The GUILD_CREATE payload for a guild, shaped by the session's intents. */
  guildCreatePayload(guild: GuildRecord, intents: number): Json {
    const memberIds =
      intents & Intent.GuildPresences
        ? [...guild.members.keys()]
        : [...guild.members.keys()].filter((id) => id === this.botId);
    return {
      ...this.guildObject(guild),
      joined_at: isoTimestamp(guild.joinedAt),
      large: guild.members.size > 250,
      unavailable: false,
      member_count: guild.members.size,
      voice_states: [],
      members: memberIds.map((id) => this.memberObject(guild.id, id)),
      channels: guild.channelIds.map((id) => {
        const { guild_id: _omitted, ...rest } = this.channelObject(this.channels.get(id)!);
        return rest;
      }),
      threads: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      embedded_activities: [],
      lazy: true,
      application_command_counts: {},
      home_header: null,
      latest_onboarding_question_id: null,
      hub_type: null,
      inventory_settings: null,
      version: 0,
    };
  }

  // ---- channels ----

  channel(id: string): ChannelRecord | undefined {
    return this.channels.get(id);
  }

  channelObject(channel: ChannelRecord, options: { permissionsFor?: string } = {}): APIChannel {
    if (!channel.guildId) {
      return {
        id: channel.id,
        type: channel.type,
        last_message_id: channel.lastMessageId,
        flags: 0,
        recipients: channel.recipients.map((id) => this.userObject(id)),
      };
    }
    return {
      id: channel.id,
      type: channel.type,
      guild_id: channel.guildId,
      position: channel.position,
      permission_overwrites: channel.overwrites.map((o) => ({ ...o })),
      name: channel.name,
      topic: channel.topic,
      nsfw: channel.nsfw,
      last_message_id: channel.lastMessageId,
      rate_limit_per_user: channel.rateLimitPerUser,
      parent_id: channel.parentId,
      last_pin_timestamp: null,
      flags: 0,
      ...(options.permissionsFor !== undefined
        ? {
            permissions: permissionString(
              this.permissionsOf(channel.guildId, options.permissionsFor, channel.id),
            ),
          }
        : {}),
    };
  }

  /** The DM channel between the bot and a user, created on first use. */
  dmChannel(userId: string): ChannelRecord {
    const existing = this.dmByUser.get(userId);
    if (existing) return this.channels.get(existing)!;
    const channel: ChannelRecord = {
      id: this.ctx.ids.next(),
      type: ChannelType.DM,
      name: null,
      topic: null,
      position: 0,
      overwrites: [],
      parentId: null,
      nsfw: false,
      rateLimitPerUser: 0,
      recipients: [userId],
      lastMessageId: null,
      messages: new Map(),
    };
    this.channels.set(channel.id, channel);
    this.dmByUser.set(userId, channel.id);
    return channel;
  }

  /** Whether the bot may open or write to a DM with this user (they must share a guild). */
  sharesGuildWithBot(userId: string): boolean {
    for (const guild of this.guilds.values()) if (guild.members.has(userId)) return true;
    return false;
  }

  // ---- messages ----

  attachmentObject(att: StoredAttachment): APIAttachment {
    const query = this.ctx.signer.query(att.cdnPath);
    const root = this.ctx.cdnRoot();
    return {
      id: att.id,
      filename: att.filename,
      ...(att.title !== undefined ? { title: att.title } : {}),
      ...(att.description !== undefined ? { description: att.description } : {}),
      ...(att.contentType !== undefined ? { content_type: att.contentType } : {}),
      size: att.file.size,
      url: `${root}${att.cdnPath}${query}`,
      proxy_url: `${root}/media${att.cdnPath}${query}`,
      ...(att.width !== undefined ? { width: att.width, height: att.height ?? null } : {}),
      ...(att.ephemeral ? { ephemeral: true } : {}),
      ...(att.durationSecs !== undefined ? { duration_secs: att.durationSecs } : {}),
      ...(att.waveform !== undefined ? { waveform: att.waveform } : {}),
      ...(att.flags !== 0 ? { flags: att.flags } : {}),
    };
  }

  /**
   * Whether an app sees a message's content fields: with the MESSAGE_CONTENT intent, for its own
   * messages, in DMs, and when the message mentions it.
   */
  contentVisible(msg: StoredMessage, hasMessageContent: boolean): boolean {
    if (hasMessageContent || msg.authorId === this.botId || !msg.guildId) return true;
    return msg.mentions.includes(this.botId);
  }

  messageObject(
    msg: StoredMessage,
    options: { contentVisible?: boolean; referenced?: boolean; forGateway?: boolean } = {},
  ): APIMessage {
    const visible = options.contentVisible ?? true;
    const channel = this.channels.get(msg.channelId);
    let referenced: APIMessage | null | undefined;
    if (msg.reference && options.referenced !== false && msg.reference.type === 0) {
      const target = this.channels.get(msg.reference.channel_id)?.messages.get(msg.reference.message_id);
      referenced = target ? this.messageObject(target, { referenced: false, contentVisible: visible }) : null;
    }
    const object: APIMessage = {
      type: msg.type,
      content: visible ? msg.content : '',
      mentions: msg.mentions
        .filter((id) => id === this.botId || this.users.has(id))
        .map((id) => this.userObject(id)),
      mention_roles: [...msg.mentionRoles],
      attachments: visible ? msg.attachments.map((a) => this.attachmentObject(a)) : [],
      embeds: visible ? structuredClone(msg.embeds) : [],
      timestamp: isoTimestamp(snowflakeTime(msg.id)),
      edited_timestamp: msg.editedAt === undefined ? null : isoTimestamp(msg.editedAt),
      flags: msg.flags,
      components: visible ? structuredClone(msg.components) : [],
      id: msg.id,
      channel_id: msg.channelId,
      author: this.userObject(msg.authorId),
      pinned: msg.pinned,
      mention_everyone: msg.mentionEveryone,
      tts: msg.tts,
      ...(msg.webhookId ? { webhook_id: msg.webhookId } : {}),
      ...(msg.applicationId ? { application_id: msg.applicationId } : {}),
      ...(msg.nonce !== undefined && options.forGateway ? { nonce: msg.nonce } : {}),
      ...(msg.reactions.length > 0
        ? {
            reactions: msg.reactions.map((r) => ({
              emoji: { ...r.emoji },
              count: r.userIds.length,
              count_details: { burst: 0, normal: r.userIds.length },
              burst_colors: [],
              me_burst: false,
              burst_me: false,
              me: r.userIds.includes(this.botId),
              burst_count: 0,
            })),
          }
        : {}),
      ...(msg.reference ? { message_reference: { ...msg.reference } } : {}),
      ...(referenced !== undefined ? { referenced_message: referenced } : {}),
      ...(msg.interactionMetadata ? { interaction_metadata: structuredClone(msg.interactionMetadata) } : {}),
      ...(msg.interaction ? { interaction: structuredClone(msg.interaction) } : {}),
      ...(msg.poll && visible ? { poll: structuredClone(msg.poll) } : {}),
    };
    if (options.forGateway) {
      if (msg.guildId) {
        object.guild_id = msg.guildId;
        const guild = this.guilds.get(msg.guildId);
        if (guild?.members.has(msg.authorId) && !msg.webhookId) {
          const { user: _u, deaf: _d, mute: _m, ...member } = this.memberObject(msg.guildId, msg.authorId);
          object.member = member;
        }
      }
      if (channel) object.channel_type = channel.type;
    }
    return object;
  }

  /** A channel's messages, oldest first. */
  messagesOf(channelId: string): StoredMessage[] {
    return [...(this.channels.get(channelId)?.messages.values() ?? [])];
  }
}
