import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import type { UploadedFile } from './body.ts';
import type { Core, FakeFile } from './core.ts';
import {
  alreadyAcknowledged,
  type ErrorBody,
  FormErrors,
  formError,
  invalidWebhookToken,
  unknownInteraction,
  unknownMessage,
  unknownWebhook,
} from './errors.ts';
import type { FakeGateway } from './gateway.ts';
import { parseMessageInput, walkComponents } from './messages.ts';
import type { ChannelRecord, StoredMessage } from './state.ts';
import {
  ALL_PERMISSIONS,
  type APIApplicationCommand,
  type APIApplicationCommandOption,
  BOT_DM_APP_PERMISSIONS,
  ButtonStyle,
  boostUploadLimit,
  CallbackType,
  CommandType,
  ComponentType,
  InteractionType,
  type Json,
  MessageFlag,
  MessageType,
  nitroUploadLimit,
  OptionType,
  Permission,
} from './types.ts';

/** Anything with an id: an API object, a view, or the id itself. */
export type Ref = string | { readonly id: string };
export const idOf = (ref: Ref): string => (typeof ref === 'string' ? ref : ref.id);

/** One POST to an interaction's callback endpoint, accepted or not. */
export interface FakeCallback {
  readonly interactionId: string;
  /** The callback type sent (4 message, 5 deferred, 6 deferred update, 7 update, 8 choices, 9 modal). */
  readonly type?: number;
  readonly data?: unknown;
  readonly files: UploadedFile[];
  readonly withResponse: boolean;
  /** Epoch ms (fake clock) of arrival, and ms since the interaction was dispatched. */
  readonly at: number;
  readonly afterMs: number;
  status: number;
  error?: ErrorBody;
}

/** An interaction the fake dispatched, and what the bot did with it. */
export interface FakeInteraction {
  readonly id: string;
  readonly token: string;
  readonly type: number;
  /** The INTERACTION_CREATE payload as sent. */
  readonly payload: Json;
  /** Epoch ms (fake clock) of dispatch. */
  readonly createdAt: number;
  readonly userId: string;
  readonly channelId: string;
  readonly guildId?: string;
  readonly attachmentSizeLimit: number;
  /** For commands: the command's name; for components and modals: the custom_id. */
  readonly name: string;
  /** For components: the message the component is on. */
  readonly componentMessageId?: string;
  /** The accepted initial response. */
  response?: {
    readonly type: number;
    readonly at: number;
    readonly afterMs: number;
    readonly data?: unknown;
  };
  /** Every callback attempt, accepted or rejected. */
  readonly callbacks: FakeCallback[];
  /** The message `@original` refers to (the response, or for 6/7 the component's message). */
  originalMessageId?: string;
  readonly followupIds: string[];
  /** The modal shown (callback type 9). */
  modal?: Json;
  /** Autocomplete choices answered (callback type 8). */
  choices?: Json[];
}

/** A value for a command option, by option type. */
export type OptionValue = string | number | boolean | FakeFile | { readonly id: string };

interface BaseSpec {
  readonly user: Ref;
  /** Defaults to the user's locale (set with `fake.user({ locale })`, 'en-US' otherwise). */
  readonly locale?: string;
  /** Overrides attachment_size_limit (default: the larger of the guild's boost and the user's Nitro limit). */
  readonly attachmentSizeLimit?: number;
}

export interface SlashCommandSpec extends BaseSpec {
  readonly name: string;
  readonly channel: Ref;
  readonly subcommandGroup?: string;
  readonly subcommand?: string;
  /** Option values by name; types come from the registered command. */
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** Skip the checks that would hide the command from this user (permissions, contexts). */
  readonly force?: boolean;
}

export interface MessageCommandSpec extends BaseSpec {
  readonly name: string;
  /** The target message (any object with its id). */
  readonly message: Ref;
  readonly force?: boolean;
}

export interface UserCommandSpec extends BaseSpec {
  readonly name: string;
  readonly channel: Ref;
  readonly target: Ref;
  readonly force?: boolean;
}

export interface ButtonSpec extends BaseSpec {
  readonly message: Ref;
  readonly customId: string;
}

export interface SelectSpec extends ButtonSpec {
  readonly values: readonly string[];
}

export interface ModalSubmitSpec {
  /** The interaction that was answered with the modal. */
  readonly interaction: FakeInteraction | string;
  /** Input values by custom_id: a string for text inputs, a list for selects in labels. */
  readonly values: Readonly<Record<string, string | readonly string[]>>;
  readonly user?: Ref;
  readonly locale?: string;
}

export interface InteractionDeps {
  readonly core: Core;
  readonly gateway: FakeGateway;
  readonly now: () => number;
  readonly applicationId: () => string;
  readonly callbackWindowMs: () => number;
  readonly tokenLifetimeMs: () => number;
  readonly defaultAttachmentSizeLimit: () => number;
  readonly notify: () => void;
}

/** What a REST handler gets. */
export interface HandlerInput {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly json: unknown;
  readonly files: UploadedFile[];
}

/** A REST answer. */
export interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

const FILE_GROUPS: Readonly<Record<string, readonly string[]>> = {
  image: ['.png', '.gif', '.jpg', '.jpeg', '.jfif', '.webp', '.avif'],
  video: ['.mp4', '.mov', '.qt', '.webm'],
  audio: ['.mp3', '.m4a', '.wav', '.ogg', '.opus', '.flac'],
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const booleanQuery = (v: string | null) => v !== null && ['true', 'True', '1'].includes(v);

/** Interaction tokens look like Discord's: base64url of `interaction:<id>:<secret>`. */
const newToken = (id: string) =>
  Buffer.from(`interaction:${id}:${randomBytes(48).toString('base64url')}`).toString('base64url');

/** Builds and dispatches interactions, and answers the callback and interaction-webhook routes. */
export class Interactions {
  readonly list: FakeInteraction[] = [];
  readonly callbacks: FakeCallback[] = [];
  private readonly byId = new Map<string, FakeInteraction>();
  private readonly byToken = new Map<string, FakeInteraction>();

  constructor(private readonly deps: InteractionDeps) {}

  private get world() {
    return this.deps.core.world;
  }

  find(ref: FakeInteraction | string): FakeInteraction | undefined {
    return typeof ref === 'string' ? this.byId.get(ref) : this.byId.get(ref.id);
  }

  byWebhookToken(token: string): FakeInteraction | undefined {
    return this.byToken.get(token);
  }

  // ---- building ----

  private channelOf(ref: Ref): ChannelRecord {
    const channel = this.world.channel(idOf(ref));
    if (!channel) throw new Error(`fake Discord: unknown channel ${idOf(ref)}`);
    return channel;
  }

  private findMessage(ref: Ref): StoredMessage {
    const id = idOf(ref);
    const channelHint =
      typeof ref === 'object'
        ? ((ref as { channel_id?: string; channelId?: string }).channel_id ??
          (ref as { channelId?: string }).channelId)
        : undefined;
    const channels = channelHint ? [this.world.channel(channelHint)] : [...this.world.channels.values()];
    for (const channel of channels) {
      const msg = channel?.messages.get(id);
      if (msg) return msg;
    }
    throw new Error(`fake Discord: unknown message ${id}`);
  }

  private checkUserCanUse(channel: ChannelRecord, userId: string): void {
    if (!this.world.users.has(userId)) throw new Error(`fake Discord: unknown user ${userId}`);
    if (channel.guildId) {
      const guild = this.world.guild(channel.guildId);
      if (!guild.members.has(userId))
        throw new Error(`fake Discord: user ${userId} is not in guild ${guild.id}`);
      if (!this.world.canView(channel, userId))
        throw new Error(`fake Discord: user ${userId} cannot see channel ${channel.id}`);
    } else if (!channel.recipients.includes(userId)) {
      throw new Error(`fake Discord: channel ${channel.id} is not a DM with user ${userId}`);
    }
  }

  /** The registered command a user invokes, checked the way the client decides whether to show it. */
  private command(
    type: number,
    name: string,
    channel: ChannelRecord,
    userId: string,
    force: boolean,
  ): APIApplicationCommand {
    const core = this.deps.core;
    const found =
      (channel.guildId ? core.commandScope(channel.guildId).findByName(type, name) : undefined) ??
      core.globalCommands.findByName(type, name);
    if (!found)
      throw new Error(
        `fake Discord: no ${['', 'slash', 'user', 'message'][type] ?? ''} command "${name}" is registered here`,
      );
    if (force) return found;
    const isGlobal = found.guild_id === undefined;
    if (!channel.guildId) {
      const contexts = found.contexts;
      if (contexts ? !contexts.includes(1) : found.dm_permission === false) {
        throw new Error(`fake Discord: command "${name}" is not available in DMs with the bot`);
      }
      return found;
    }
    if (isGlobal && found.contexts && !found.contexts.includes(0)) {
      throw new Error(`fake Discord: command "${name}" is not available in guilds`);
    }
    const perms = this.world.permissionsOf(channel.guildId, userId, channel.id);
    if (!(perms & Permission.UseApplicationCommands)) {
      throw new Error(`fake Discord: user ${userId} lacks USE_APPLICATION_COMMANDS in channel ${channel.id}`);
    }
    if (found.default_member_permissions !== null && perms !== ALL_PERMISSIONS) {
      const needed = BigInt(found.default_member_permissions);
      if (needed === 0n || (perms & needed) !== needed) {
        throw new Error(`fake Discord: user ${userId} lacks the permissions command "${name}" requires`);
      }
    }
    return found;
  }

  private fileMatches(file: FakeFile, types: readonly string[]): boolean {
    const ext = extname(file.filename).toLowerCase();
    return types.some((t) =>
      t.startsWith('.') ? t.toLowerCase() === ext : (FILE_GROUPS[t] ?? []).includes(ext),
    );
  }

  private buildOptions(
    defs: readonly APIApplicationCommandOption[],
    values: Readonly<Record<string, OptionValue>>,
    channel: ChannelRecord,
    resolved: Record<string, Record<string, unknown>>,
    commandName: string,
  ): Json[] {
    for (const key of Object.keys(values)) {
      if (!defs.some((d) => d.name === key))
        throw new Error(`fake Discord: command "${commandName}" has no option "${key}"`);
    }
    const out: Json[] = [];
    const put = (kind: string, id: string, value: unknown) => {
      resolved[kind] ??= {};
      resolved[kind]![id] = value;
    };
    const putUser = (id: string) => {
      put('users', id, this.world.userObject(id));
      if (channel.guildId && this.world.guild(channel.guildId).members.has(id)) {
        const {
          user: _u,
          deaf: _d,
          mute: _m,
          ...member
        } = this.world.memberObject(channel.guildId, id, { permissionsIn: channel.id });
        put('members', id, member);
      }
    };
    for (const def of defs) {
      const value = values[def.name];
      if (value === undefined) {
        if (def.required)
          throw new Error(`fake Discord: option "${def.name}" of "${commandName}" is required`);
        continue;
      }
      const bad = (why: string) =>
        new Error(`fake Discord: option "${def.name}" of "${commandName}": ${why}`);
      let wire: unknown = value;
      switch (def.type) {
        case OptionType.String:
          if (typeof value !== 'string') throw bad('expects a string');
          if (def.min_length !== undefined && value.length < def.min_length) throw bad('too short');
          if (def.max_length !== undefined && value.length > def.max_length) throw bad('too long');
          break;
        case OptionType.Integer:
          if (typeof value !== 'number' || !Number.isInteger(value)) throw bad('expects an integer');
          break;
        case OptionType.Number:
          if (typeof value !== 'number') throw bad('expects a number');
          break;
        case OptionType.Boolean:
          if (typeof value !== 'boolean') throw bad('expects a boolean');
          break;
        case OptionType.User: {
          const id = idOf(value as Ref);
          if (!this.world.users.has(id) && id !== this.world.botId) throw bad(`unknown user ${id}`);
          putUser(id);
          wire = id;
          break;
        }
        case OptionType.Channel: {
          const target = this.world.channel(idOf(value as Ref));
          if (!target) throw bad('unknown channel');
          if (def.channel_types && !def.channel_types.includes(target.type))
            throw bad('channel type not allowed');
          const { permission_overwrites: _p, ...partial } = this.world.channelObject(target, {
            permissionsFor: this.world.botId,
          });
          put('channels', target.id, partial);
          wire = target.id;
          break;
        }
        case OptionType.Role:
        case OptionType.Mentionable: {
          const id = idOf(value as Ref);
          const role = channel.guildId ? this.world.guild(channel.guildId).roles.get(id) : undefined;
          if (role) put('roles', id, structuredClone(role));
          else if (def.type === OptionType.Mentionable && this.world.users.has(id)) putUser(id);
          else throw bad(`unknown ${def.type === OptionType.Role ? 'role' : 'user or role'} ${id}`);
          wire = id;
          break;
        }
        case OptionType.Attachment: {
          const file = value as FakeFile;
          if (typeof file !== 'object' || typeof (file as FakeFile).path !== 'string') {
            throw bad('expects a file from fake.addAttachment()');
          }
          if (def.file_types && !this.fileMatches(file, def.file_types))
            throw bad(`file type not allowed (${def.file_types.join(', ')})`);
          const att = this.deps.core.attach(channel.id, file, true);
          put('attachments', att.id, this.world.attachmentObject(att));
          wire = att.id;
          break;
        }
        default:
          throw bad(`option type ${def.type} takes no value`);
      }
      if (def.choices && !def.choices.some((c) => c.value === wire))
        throw bad(`${JSON.stringify(wire)} is not one of its choices`);
      if ((def.type === OptionType.Integer || def.type === OptionType.Number) && typeof wire === 'number') {
        if (def.min_value !== undefined && wire < def.min_value) throw bad('below min_value');
        if (def.max_value !== undefined && wire > def.max_value) throw bad('above max_value');
      }
      out.push({ type: def.type, name: def.name, value: wire });
    }
    return out;
  }

  /** Builds, records and sends an INTERACTION_CREATE; throws if no gateway session would get it. */
  private send(
    type: number,
    userId: string,
    channel: ChannelRecord,
    data: Json,
    extra: {
      locale?: string;
      attachmentSizeLimit?: number;
      message?: StoredMessage;
      name: string;
    },
  ): FakeInteraction {
    this.checkUserCanUse(channel, userId);
    const session = this.deps.gateway.connectedSessionFor(channel.guildId);
    if (!session) throw new Error('fake Discord: no gateway session is connected to receive the interaction');
    const world = this.world;
    const id = this.deps.core.deps.ids.next();
    const token = newToken(id);
    const user = world.users.get(userId)!;
    const guild = channel.guildId ? world.guild(channel.guildId) : undefined;
    const limit =
      extra.attachmentSizeLimit ??
      Math.max(
        this.deps.defaultAttachmentSizeLimit(),
        nitroUploadLimit(user.premiumType),
        guild ? boostUploadLimit(guild.premiumTier) : 0,
      );
    const appPermissions = guild
      ? world.permissionsOf(guild.id, world.botId, channel.id)
      : BOT_DM_APP_PERMISSIONS;
    const channelObject = guild
      ? world.channelObject(channel, { permissionsFor: userId })
      : {
          id: channel.id,
          type: channel.type,
          last_message_id: channel.lastMessageId,
          flags: 0,
          recipients: [world.userObject(userId)],
        };
    const payload: Json = {
      app_permissions: appPermissions.toString(),
      application_id: this.deps.applicationId(),
      attachment_size_limit: limit,
      authorizing_integration_owners: { '0': guild ? guild.id : '0' },
      channel: channelObject,
      channel_id: channel.id,
      context: guild ? 0 : 1,
      data,
      entitlement_sku_ids: [],
      entitlements: [],
      ...(guild
        ? {
            guild: { id: guild.id, locale: guild.preferredLocale, features: [...guild.features] },
            guild_id: guild.id,
            guild_locale: guild.preferredLocale,
            member: world.memberObject(guild.id, userId, { permissionsIn: channel.id }),
          }
        : { user: world.userObject(userId) }),
      id,
      locale: extra.locale ?? user.locale,
      ...(extra.message ? { message: world.messageObject(extra.message) } : {}),
      token,
      type,
      version: 1,
    };
    const record: FakeInteraction = {
      id,
      token,
      type,
      payload,
      createdAt: this.deps.now(),
      userId,
      channelId: channel.id,
      ...(guild ? { guildId: guild.id } : {}),
      attachmentSizeLimit: limit,
      name: extra.name,
      ...(extra.message ? { componentMessageId: extra.message.id } : {}),
      callbacks: [],
      followupIds: [],
    };
    this.list.push(record);
    this.byId.set(id, record);
    this.byToken.set(token, record);
    this.deps.gateway.dispatch('INTERACTION_CREATE', payload, guild ? { guildId: guild.id } : {});
    this.deps.notify();
    return record;
  }

  slashCommand(spec: SlashCommandSpec): FakeInteraction {
    const channel = this.channelOf(spec.channel);
    const userId = idOf(spec.user);
    const command = this.command(CommandType.ChatInput, spec.name, channel, userId, spec.force ?? false);
    const resolved: Record<string, Record<string, unknown>> = {};
    let defs = command.options ?? [];
    const path: { type: number; name: string }[] = [];
    for (const [kind, name] of [
      [OptionType.SubcommandGroup, spec.subcommandGroup],
      [OptionType.Subcommand, spec.subcommand],
    ] as const) {
      if (name === undefined) continue;
      const def = defs.find((d) => d.type === kind && d.name === name);
      if (!def)
        throw new Error(
          `fake Discord: command "${spec.name}" has no ${kind === 1 ? 'subcommand' : 'group'} "${name}"`,
        );
      path.push({ type: kind, name });
      defs = def.options ?? [];
    }
    if (defs.some((d) => d.type === OptionType.Subcommand || d.type === OptionType.SubcommandGroup)) {
      throw new Error(`fake Discord: command "${spec.name}" needs a subcommand`);
    }
    let options = this.buildOptions(defs, spec.options ?? {}, channel, resolved, spec.name);
    for (const level of [...path].reverse()) options = [{ type: level.type, name: level.name, options }];
    const data: Json = {
      id: command.id,
      name: command.name,
      type: CommandType.ChatInput,
      ...(options.length > 0 ? { options } : {}),
      ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
      ...(command.guild_id ? { guild_id: command.guild_id } : {}),
    };
    return this.send(InteractionType.ApplicationCommand, userId, channel, data, {
      ...this.extra(spec),
      name: command.name,
    });
  }

  messageCommand(spec: MessageCommandSpec): FakeInteraction {
    const target = this.findMessage(spec.message);
    const channel = this.channelOf(target.channelId);
    if (target.ephemeralTo) throw new Error('fake Discord: ephemeral messages have no context menu');
    const userId = idOf(spec.user);
    const command = this.command(CommandType.Message, spec.name, channel, userId, spec.force ?? false);
    const data: Json = {
      id: command.id,
      name: command.name,
      type: CommandType.Message,
      target_id: target.id,
      // The target's content is always included, MESSAGE_CONTENT or not.
      resolved: { messages: { [target.id]: this.world.messageObject(target, { referenced: false }) } },
      ...(command.guild_id ? { guild_id: command.guild_id } : {}),
    };
    return this.send(InteractionType.ApplicationCommand, userId, channel, data, {
      ...this.extra(spec),
      name: command.name,
    });
  }

  userCommand(spec: UserCommandSpec): FakeInteraction {
    const channel = this.channelOf(spec.channel);
    const userId = idOf(spec.user);
    const targetId = idOf(spec.target);
    const command = this.command(CommandType.User, spec.name, channel, userId, spec.force ?? false);
    const resolved: Record<string, Record<string, unknown>> = {
      users: { [targetId]: this.world.userObject(targetId) },
    };
    if (channel.guildId && this.world.guild(channel.guildId).members.has(targetId)) {
      const {
        user: _u,
        deaf: _d,
        mute: _m,
        ...member
      } = this.world.memberObject(channel.guildId, targetId, { permissionsIn: channel.id });
      resolved.members = { [targetId]: member };
    }
    const data: Json = {
      id: command.id,
      name: command.name,
      type: CommandType.User,
      target_id: targetId,
      resolved,
      ...(command.guild_id ? { guild_id: command.guild_id } : {}),
    };
    return this.send(InteractionType.ApplicationCommand, userId, channel, data, {
      ...this.extra(spec),
      name: command.name,
    });
  }

  private component(spec: ButtonSpec): {
    msg: StoredMessage;
    component: Json;
    channel: ChannelRecord;
    userId: string;
  } {
    const msg = this.findMessage(spec.message);
    const userId = idOf(spec.user);
    if (msg.ephemeralTo && msg.ephemeralTo !== userId)
      throw new Error('fake Discord: only its recipient sees an ephemeral message');
    const found = [...walkComponents(msg.components)].find(
      (c) => c.component.custom_id === spec.customId,
    )?.component;
    if (!found) throw new Error(`fake Discord: message ${msg.id} has no component "${spec.customId}"`);
    if (found.disabled === true) throw new Error(`fake Discord: component "${spec.customId}" is disabled`);
    return { msg, component: found, channel: this.channelOf(msg.channelId), userId };
  }

  button(spec: ButtonSpec): FakeInteraction {
    const { msg, component, channel, userId } = this.component(spec);
    if (component.type !== ComponentType.Button)
      throw new Error(`fake Discord: "${spec.customId}" is not a button`);
    if (component.style === ButtonStyle.Link || component.style === ButtonStyle.Premium) {
      throw new Error('fake Discord: link and premium buttons do not send interactions');
    }
    const data: Json = {
      custom_id: spec.customId,
      component_type: ComponentType.Button,
      ...(typeof component.id === 'number' ? { id: component.id } : {}),
    };
    return this.send(InteractionType.MessageComponent, userId, channel, data, {
      ...this.extra(spec),
      message: msg,
      name: spec.customId,
    });
  }

  select(spec: SelectSpec): FakeInteraction {
    const { msg, component, channel, userId } = this.component(spec);
    const type = component.type as number;
    const selects: number[] = [
      ComponentType.StringSelect,
      ComponentType.UserSelect,
      ComponentType.RoleSelect,
      ComponentType.MentionableSelect,
      ComponentType.ChannelSelect,
    ];
    if (!selects.includes(type)) throw new Error(`fake Discord: "${spec.customId}" is not a select menu`);
    const min = typeof component.min_values === 'number' ? component.min_values : 1;
    const max = typeof component.max_values === 'number' ? component.max_values : 1;
    if (spec.values.length < min || spec.values.length > max) {
      throw new Error(`fake Discord: select "${spec.customId}" takes ${min}–${max} values`);
    }
    const resolved: Record<string, Record<string, unknown>> = {};
    const put = (kind: string, id: string, value: unknown) => {
      resolved[kind] ??= {};
      resolved[kind]![id] = value;
    };
    if (type === ComponentType.StringSelect) {
      const options = Array.isArray(component.options) ? (component.options as Json[]) : [];
      for (const v of spec.values) {
        if (!options.some((o) => o.value === v))
          throw new Error(`fake Discord: "${v}" is not an option of "${spec.customId}"`);
      }
    } else {
      for (const v of spec.values) {
        const role = channel.guildId ? this.world.guild(channel.guildId).roles.get(v) : undefined;
        const target = this.world.channel(v);
        if (role && type !== ComponentType.UserSelect && type !== ComponentType.ChannelSelect) {
          put('roles', v, structuredClone(role));
        } else if (target && type === ComponentType.ChannelSelect) {
          put('channels', v, this.world.channelObject(target, { permissionsFor: this.world.botId }));
        } else if (
          this.world.users.has(v) &&
          type !== ComponentType.RoleSelect &&
          type !== ComponentType.ChannelSelect
        ) {
          put('users', v, this.world.userObject(v));
        } else throw new Error(`fake Discord: "${v}" cannot be picked in "${spec.customId}"`);
      }
    }
    const data: Json = {
      custom_id: spec.customId,
      component_type: type,
      values: [...spec.values],
      ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
      ...(typeof component.id === 'number' ? { id: component.id } : {}),
    };
    return this.send(InteractionType.MessageComponent, userId, channel, data, {
      ...this.extra(spec),
      message: msg,
      name: spec.customId,
    });
  }

  modalSubmit(spec: ModalSubmitSpec): FakeInteraction {
    const source = this.find(spec.interaction);
    if (!source?.modal) throw new Error('fake Discord: that interaction was not answered with a modal');
    const modal = source.modal;
    const rows = Array.isArray(modal.components) ? (modal.components as Json[]) : [];
    // Inputs sit in labels (`component`) or, the older way, in action rows (`components`).
    const inputs = rows.flatMap((row) =>
      row.type === ComponentType.Label && isObject(row.component)
        ? [row.component as Json]
        : Array.isArray(row.components)
          ? (row.components as Json[])
          : [],
    );
    for (const key of Object.keys(spec.values)) {
      if (!inputs.some((c) => c.custom_id === key))
        throw new Error(`fake Discord: the modal has no input "${key}"`);
    }
    for (const input of inputs) {
      const value = spec.values[input.custom_id as string];
      const empty = value === undefined || value.length === 0;
      if (input.type === ComponentType.TextInput && input.required !== false && empty) {
        throw new Error(`fake Discord: text input "${String(input.custom_id)}" is required`);
      }
      if (input.type === ComponentType.TextInput && typeof value === 'string') {
        const min = typeof input.min_length === 'number' ? input.min_length : 0;
        const max = typeof input.max_length === 'number' ? input.max_length : 4000;
        if (value.length < min || value.length > max) {
          throw new Error(
            `fake Discord: text input "${String(input.custom_id)}" takes ${min}–${max} characters`,
          );
        }
      }
    }
    const answer = (c: Json): Json => {
      const id = c.id !== undefined ? { id: c.id } : {};
      const value = spec.values[c.custom_id as string];
      if (c.type === ComponentType.TextInput) {
        return { type: c.type, ...id, custom_id: c.custom_id, value: typeof value === 'string' ? value : '' };
      }
      return {
        type: c.type,
        ...id,
        custom_id: c.custom_id,
        values: Array.isArray(value) ? [...value] : value === undefined ? [] : [value],
      };
    };
    const components = rows.map((row): Json => {
      const id = row.id !== undefined ? { id: row.id } : {};
      if (row.type === ComponentType.Label && isObject(row.component)) {
        return { type: ComponentType.Label, ...id, component: answer(row.component as Json) };
      }
      if (row.type === ComponentType.ActionRow) {
        return {
          type: ComponentType.ActionRow,
          ...id,
          components: ((row.components as Json[]) ?? []).map(answer),
        };
      }
      return { type: row.type, ...id };
    });
    const channel = this.channelOf(source.channelId);
    const message = source.componentMessageId ? channel.messages.get(source.componentMessageId) : undefined;
    return this.send(
      InteractionType.ModalSubmit,
      spec.user ? idOf(spec.user) : source.userId,
      channel,
      { custom_id: modal.custom_id, components },
      {
        ...(spec.locale ? { locale: spec.locale } : {}),
        ...(message ? { message } : {}),
        name: String(modal.custom_id),
      },
    );
  }

  /** Sends a hand-made interaction: `data`, `type` and where it happens; the envelope is filled in. */
  raw(spec: {
    type: number;
    data: Json;
    user: Ref;
    channel: Ref;
    message?: Ref;
    locale?: string;
    attachmentSizeLimit?: number;
  }): FakeInteraction {
    const channel = this.channelOf(spec.channel);
    return this.send(spec.type, idOf(spec.user), channel, structuredClone(spec.data), {
      ...this.extra(spec),
      ...(spec.message ? { message: this.findMessage(spec.message) } : {}),
      name: String(spec.data.name ?? spec.data.custom_id ?? ''),
    });
  }

  private extra(spec: { locale?: string; attachmentSizeLimit?: number }) {
    return {
      ...(spec.locale !== undefined ? { locale: spec.locale } : {}),
      ...(spec.attachmentSizeLimit !== undefined ? { attachmentSizeLimit: spec.attachmentSizeLimit } : {}),
    };
  }

  // ---- REST: callback ----

  /** The interaction a callback URL names (404 10062 when unknown or expired). */
  forCallback(id: string, token: string): FakeInteraction | undefined {
    const found = this.byId.get(id);
    return found && found.token === token ? found : undefined;
  }

  /** Commands answer with CHAT_INPUT_COMMAND/CONTEXT_MENU_COMMAND; components with a REPLY to their message. */
  private responseMessageType(interaction: FakeInteraction): number {
    if (interaction.type === InteractionType.ApplicationCommand) {
      const data = interaction.payload.data as Json;
      return data.type === CommandType.ChatInput
        ? MessageType.ChatInputCommand
        : MessageType.ContextMenuCommand;
    }
    return interaction.componentMessageId ? MessageType.Reply : MessageType.Default;
  }

  private metadata(
    interaction: FakeInteraction,
    extra: Json = {},
  ): { interactionMetadata: Json; interaction: Json } {
    const world = this.world;
    const user = world.userObject(interaction.userId);
    const data = interaction.payload.data as Json;
    const metadata: Json = {
      id: interaction.id,
      type: interaction.type,
      user,
      authorizing_integration_owners: interaction.payload.authorizing_integration_owners,
      ...(interaction.type === InteractionType.ApplicationCommand
        ? {
            name: data.name,
            command_type: data.type,
            ...(data.type === CommandType.Message ? { target_message_id: data.target_id } : {}),
            ...(data.type === CommandType.User
              ? { target_user: world.userObject(String(data.target_id)) }
              : {}),
          }
        : {}),
      ...(interaction.componentMessageId && interaction.type === InteractionType.MessageComponent
        ? { interacted_message_id: interaction.componentMessageId }
        : {}),
      ...extra,
    };
    const legacy: Json = {
      id: interaction.id,
      type: interaction.type,
      name: interaction.name,
      user,
      ...(interaction.guildId
        ? {
            member: (({ user: _u, deaf: _d, mute: _m, ...m }) => m)(
              world.memberObject(interaction.guildId, interaction.userId),
            ),
          }
        : {}),
    };
    return { interactionMetadata: metadata, interaction: legacy };
  }

  /** The reference a response carries: component replies and context-menu responses point at their message. */
  private responseReference(interaction: FakeInteraction): StoredMessage['reference'] | undefined {
    const data = interaction.payload.data as Json;
    const target =
      interaction.type === InteractionType.ApplicationCommand && data.type === CommandType.Message
        ? String(data.target_id)
        : interaction.componentMessageId;
    if (!target) return undefined;
    return {
      type: 0,
      message_id: target,
      channel_id: interaction.channelId,
      ...(interaction.guildId ? { guild_id: interaction.guildId } : {}),
    };
  }

  async callback(input: HandlerInput): Promise<Answer> {
    const now = this.deps.now();
    const interaction = this.forCallback(input.params.interaction_id!, input.params.interaction_token!);
    const body = isObject(input.json) ? input.json : {};
    const type = typeof body.type === 'number' ? body.type : undefined;
    const attempt: FakeCallback = {
      interactionId: input.params.interaction_id!,
      ...(type !== undefined ? { type } : {}),
      ...(body.data !== undefined ? { data: structuredClone(body.data) } : {}),
      files: input.files,
      withResponse: booleanQuery(input.query.get('with_response')),
      at: now,
      afterMs: interaction ? now - interaction.createdAt : 0,
      status: 0,
    };
    this.callbacks.push(attempt);
    interaction?.callbacks.push(attempt);
    try {
      const answer = await this.acknowledge(interaction, body, input, attempt, now);
      attempt.status = answer.status;
      return answer;
    } catch (error) {
      const e = error as { status?: number; body?: ErrorBody };
      attempt.status = e.status ?? 500;
      if (e.body) attempt.error = e.body;
      throw error;
    } finally {
      this.deps.notify();
    }
  }

  private async acknowledge(
    interaction: FakeInteraction | undefined,
    body: Record<string, unknown>,
    input: HandlerInput,
    attempt: FakeCallback,
    now: number,
  ): Promise<Answer> {
    if (!interaction || now - interaction.createdAt > this.deps.callbackWindowMs())
      throw unknownInteraction();
    if (interaction.response) throw alreadyAcknowledged();
    const type = attempt.type;
    const allowed: Record<number, number[]> = {
      [InteractionType.ApplicationCommand]: [4, 5, 9, 10, 12],
      [InteractionType.MessageComponent]: [4, 5, 6, 7, 9, 10],
      [InteractionType.ApplicationCommandAutocomplete]: [8],
      [InteractionType.ModalSubmit]: interaction.componentMessageId ? [4, 5, 6, 7, 10] : [4, 5, 10],
    };
    if (type === undefined || !(allowed[interaction.type] ?? []).includes(type)) {
      formError(
        ['type'],
        'INTERACTION_RESPONSE_TYPE_INVALID',
        'Invalid interaction response type for this interaction',
      );
    }
    const core = this.deps.core;
    const channel = this.world.channel(interaction.channelId)!;
    let message: StoredMessage | undefined;
    if (
      type === CallbackType.ChannelMessageWithSource ||
      type === CallbackType.DeferredChannelMessageWithSource
    ) {
      const deferred = type === CallbackType.DeferredChannelMessageWithSource;
      const data = parseMessageInput(body.data ?? {}, deferred ? 'deferred' : 'interaction');
      const ephemeral = ((data.flags ?? 0) & MessageFlag.Ephemeral) !== 0;
      const reference = this.responseReference(interaction);
      message = await core.createMessage({
        channelId: channel.id,
        authorId: this.world.botId,
        input: deferred ? { ...(data.flags !== undefined ? { flags: data.flags } : {}) } : data,
        files: deferred ? [] : input.files,
        mode: 'interaction',
        type: this.responseMessageType(interaction),
        webhookId: this.deps.applicationId(),
        applicationId: this.deps.applicationId(),
        ...(ephemeral ? { ephemeralTo: interaction.userId } : {}),
        interactionId: interaction.id,
        ...this.metadata(interaction),
        ...(reference ? { reference } : {}),
        loading: deferred,
      });
      interaction.originalMessageId = message.id;
    } else if (type === CallbackType.DeferredUpdateMessage || type === CallbackType.UpdateMessage) {
      const target = interaction.componentMessageId
        ? channel.messages.get(interaction.componentMessageId)
        : undefined;
      if (!target) throw unknownMessage();
      if (type === CallbackType.UpdateMessage) {
        const data = parseMessageInput(body.data ?? {}, 'webhook-edit', target.flags);
        message = await core.editMessage(target, data, input.files, 'webhook-edit');
      }
      interaction.originalMessageId = target.id;
    } else if (type === CallbackType.ApplicationCommandAutocompleteResult) {
      const data = isObject(body.data) ? body.data : {};
      const choices = Array.isArray(data.choices) ? (data.choices as Json[]) : [];
      if (choices.length > 25)
        formError(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      interaction.choices = choices;
    } else if (type === CallbackType.Modal) {
      const data = isObject(body.data) ? body.data : {};
      const errors = new FormErrors();
      const customId = data.custom_id;
      if (typeof customId !== 'string' || customId.length < 1 || customId.length > 100) {
        errors.add(['data', 'custom_id'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
      }
      if (typeof data.title !== 'string' || data.title.length < 1 || data.title.length > 45) {
        errors.add(['data', 'title'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 45 in length.');
      }
      const components = Array.isArray(data.components) ? data.components : [];
      if (components.length < 1 || components.length > 5) {
        errors.add(['data', 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
      }
      errors.throwIfAny();
      interaction.modal = structuredClone(data);
    }
    interaction.response = {
      type: type!,
      at: now,
      afterMs: now - interaction.createdAt,
      ...(body.data !== undefined ? { data: structuredClone(body.data) } : {}),
    };
    if (!attempt.withResponse) return { status: 204 };
    const created = interaction.originalMessageId
      ? channel.messages.get(interaction.originalMessageId)
      : undefined;
    return {
      status: 200,
      body: {
        interaction: {
          id: interaction.id,
          type: interaction.type,
          ...(created && type !== CallbackType.DeferredUpdateMessage
            ? {
                response_message_id: created.id,
                response_message_loading: (created.flags & MessageFlag.Loading) !== 0,
                response_message_ephemeral: created.ephemeralTo !== undefined,
              }
            : {}),
        },
        resource: {
          type,
          ...(message &&
          (type === CallbackType.ChannelMessageWithSource || type === CallbackType.UpdateMessage)
            ? { message: this.world.messageObject(message) }
            : {}),
        },
      },
    };
  }

  // ---- REST: interaction webhooks ----

  /**
   * The interaction behind `/webhooks/{application.id}/{interaction.token}`: 401/50027 once the token
   * has expired (15 min) or was never acknowledged in time, 404/10015 before the first response.
   */
  forWebhook(applicationId: string, token: string): FakeInteraction {
    const interaction = this.byToken.get(token);
    if (!interaction) throw invalidWebhookToken();
    if (applicationId !== this.deps.applicationId()) throw unknownWebhook();
    const age = this.deps.now() - interaction.createdAt;
    if (age > this.deps.tokenLifetimeMs()) throw invalidWebhookToken();
    if (!interaction.response) {
      if (age > this.deps.callbackWindowMs()) throw invalidWebhookToken();
      throw unknownWebhook();
    }
    return interaction;
  }

  private webhookMessage(interaction: FakeInteraction, messageId: string): StoredMessage {
    const id = messageId === '@original' ? interaction.originalMessageId : messageId;
    const allowed =
      id !== undefined && (id === interaction.originalMessageId || interaction.followupIds.includes(id));
    const msg = allowed ? this.world.channel(interaction.channelId)?.messages.get(id) : undefined;
    if (!msg) throw unknownMessage();
    return msg;
  }

  async followup(input: HandlerInput): Promise<Answer> {
    const interaction = this.forWebhook(input.params.application_id!, input.params.token!);
    if (![4, 5, 6, 7].includes(interaction.response!.type)) throw unknownWebhook();
    const core = this.deps.core;
    const channel = this.world.channel(interaction.channelId)!;
    const original = interaction.originalMessageId
      ? channel.messages.get(interaction.originalMessageId)
      : undefined;
    // Right after a deferred response, a followup edits the loading message (deprecated behaviour).
    if (
      interaction.response!.type === CallbackType.DeferredChannelMessageWithSource &&
      original &&
      original.flags & MessageFlag.Loading
    ) {
      const data = parseMessageInput(input.json, 'webhook-edit', original.flags);
      const edited = await core.editMessage(original, data, input.files, 'webhook-edit');
      return { status: 200, body: this.world.messageObject(edited) };
    }
    const data = parseMessageInput(input.json, 'webhook');
    const ephemeral = ((data.flags ?? 0) & MessageFlag.Ephemeral) !== 0;
    const reference = original
      ? {
          type: 0,
          message_id: original.id,
          channel_id: channel.id,
          ...(channel.guildId ? { guild_id: channel.guildId } : {}),
        }
      : undefined;
    const msg = await core.createMessage({
      channelId: channel.id,
      authorId: this.world.botId,
      input: data,
      files: input.files,
      mode: 'webhook',
      type: MessageType.Reply,
      webhookId: this.deps.applicationId(),
      applicationId: this.deps.applicationId(),
      ...(ephemeral ? { ephemeralTo: interaction.userId } : {}),
      interactionId: interaction.id,
      ...this.metadata(interaction, original ? { original_response_message_id: original.id } : {}),
      ...(reference ? { reference } : {}),
    });
    interaction.followupIds.push(msg.id);
    this.deps.notify();
    return { status: 200, body: this.world.messageObject(msg) };
  }

  getMessage(input: HandlerInput): Answer {
    const interaction = this.forWebhook(input.params.application_id!, input.params.token!);
    return {
      status: 200,
      body: this.world.messageObject(this.webhookMessage(interaction, input.params.message_id!)),
    };
  }

  async editMessage(input: HandlerInput): Promise<Answer> {
    const interaction = this.forWebhook(input.params.application_id!, input.params.token!);
    const msg = this.webhookMessage(interaction, input.params.message_id!);
    const data = parseMessageInput(input.json, 'webhook-edit', msg.flags);
    const edited = await this.deps.core.editMessage(msg, data, input.files, 'webhook-edit');
    return { status: 200, body: this.world.messageObject(edited) };
  }

  deleteMessage(input: HandlerInput): Answer {
    const interaction = this.forWebhook(input.params.application_id!, input.params.token!);
    const msg = this.webhookMessage(interaction, input.params.message_id!);
    this.deps.core.deleteMessage(msg);
    return { status: 204 };
  }
}
