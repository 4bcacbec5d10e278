import { FormErrors } from './errors.ts';
import { ButtonStyle, ComponentType, type Json, MessageFlag } from './types.ts';

/** Where a message payload was sent, which decides the flags it may set and its mention defaults. */
export type PayloadMode = 'create' | 'edit' | 'interaction' | 'deferred' | 'webhook' | 'webhook-edit';

/** One entry of a payload's `attachments` (an existing attachment's id, or `n` of a new `files[n]`). */
export interface AttachmentRequest {
  readonly id: string;
  readonly filename?: string;
  readonly description?: string;
  readonly title?: string;
  readonly durationSecs?: number;
  readonly waveform?: string;
  readonly isSpoiler?: boolean;
}

export interface AllowedMentions {
  readonly parse?: readonly ('users' | 'roles' | 'everyone')[];
  readonly users?: readonly string[];
  readonly roles?: readonly string[];
  readonly repliedUser: boolean;
}

/** A message payload after validation; absent fields were not sent (null means "clear" in edits). */
export interface MessageInput {
  readonly content?: string | null;
  readonly embeds?: Json[] | null;
  readonly components?: Json[] | null;
  readonly flags?: number | null;
  readonly tts?: boolean;
  readonly nonce?: string | number;
  readonly enforceNonce?: boolean;
  readonly allowedMentions?: AllowedMentions;
  readonly reference?: {
    readonly type: number;
    readonly messageId: string;
    readonly channelId?: string;
    readonly guildId?: string;
    readonly failIfNotExists: boolean;
  };
  readonly attachments?: AttachmentRequest[] | null;
  readonly poll?: Json;
  readonly stickerIds?: string[];
}

const SETTABLE_FLAGS: Readonly<Record<PayloadMode, number>> = {
  create:
    MessageFlag.SuppressEmbeds |
    MessageFlag.SuppressNotifications |
    MessageFlag.IsVoiceMessage |
    MessageFlag.IsComponentsV2,
  edit: MessageFlag.SuppressEmbeds | MessageFlag.IsComponentsV2,
  interaction:
    MessageFlag.SuppressEmbeds |
    MessageFlag.Ephemeral |
    MessageFlag.IsComponentsV2 |
    MessageFlag.IsVoiceMessage |
    MessageFlag.SuppressNotifications,
  deferred: MessageFlag.Ephemeral,
  webhook:
    MessageFlag.SuppressEmbeds |
    MessageFlag.Ephemeral |
    MessageFlag.IsComponentsV2 |
    MessageFlag.SuppressNotifications |
    MessageFlag.IsVoiceMessage,
  'webhook-edit': MessageFlag.SuppressEmbeds | MessageFlag.IsComponentsV2,
};

/** The flag bits a payload may set in a given mode. */
export function settableFlags(mode: PayloadMode): number {
  return SETTABLE_FLAGS[mode];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isSnowflake = (v: unknown): v is string => typeof v === 'string' && /^\d{1,20}$/.test(v);
const snowflakeOf = (v: unknown): string | undefined =>
  isSnowflake(v) ? v : typeof v === 'number' && Number.isInteger(v) && v >= 0 ? String(v) : undefined;

function maxLength(
  errors: FormErrors,
  path: (string | number)[],
  value: unknown,
  max: number,
  required = false,
) {
  if (value === undefined || value === null) {
    if (required) errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return;
  }
  if (typeof value !== 'string') {
    errors.add(path, 'BASE_TYPE_STRING', 'Value must be a string.');
    return;
  }
  if (value.length > max) errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  if (required && value.length === 0) {
    errors.add(path, 'BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${max} in length.`);
  }
}

function validateEmbeds(errors: FormErrors, embeds: unknown): Json[] | undefined {
  if (!Array.isArray(embeds)) {
    errors.add(['embeds'], 'BASE_TYPE_ARRAY', 'Value must be an array.');
    return undefined;
  }
  if (embeds.length > 10) errors.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  embeds.forEach((embed, i) => {
    const at = (...p: (string | number)[]) => ['embeds', i, ...p];
    if (!isObject(embed)) {
      errors.add(at(), 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    maxLength(errors, at('title'), embed.title, 256);
    maxLength(errors, at('description'), embed.description, 4096);
    const footer = isObject(embed.footer) ? embed.footer : undefined;
    const author = isObject(embed.author) ? embed.author : undefined;
    if (footer) maxLength(errors, at('footer', 'text'), footer.text, 2048, true);
    if (author) maxLength(errors, at('author', 'name'), author.name, 256, true);
    const fields = Array.isArray(embed.fields) ? embed.fields : [];
    if (fields.length > 25)
      errors.add(at('fields'), 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    fields.forEach((field, j) => {
      const f = isObject(field) ? field : {};
      maxLength(errors, at('fields', j, 'name'), f.name, 256, true);
      maxLength(errors, at('fields', j, 'value'), f.value, 1024, true);
      total += String(f.name ?? '').length + String(f.value ?? '').length;
    });
    for (const url of [
      embed.url,
      isObject(embed.image) ? embed.image.url : undefined,
      isObject(embed.thumbnail) ? embed.thumbnail.url : undefined,
    ]) {
      if (url !== undefined && (typeof url !== 'string' || !/^(https?|attachment):\/\//.test(url))) {
        errors.add(at('url'), 'URL_TYPE_INVALID_URL', 'Not a well formed URL.');
      }
    }
    total += String(embed.title ?? '').length + String(embed.description ?? '').length;
    total += String(footer?.text ?? '').length + String(author?.name ?? '').length;
  });
  if (total > 6000) errors.add(['embeds'], 'EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  return embeds as Json[];
}

/** Walks every component (nested rows, sections, containers) with its path. */
export function* walkComponents(
  components: readonly Json[],
  path: (string | number)[] = ['components'],
): Generator<{ component: Json; path: (string | number)[] }> {
  for (const [i, component] of components.entries()) {
    const at = [...path, i];
    yield { component, path: at };
    if (Array.isArray(component.components))
      yield* walkComponents(component.components as Json[], [...at, 'components']);
    if (isObject(component.accessory)) yield { component: component.accessory, path: [...at, 'accessory'] };
  }
}

const SELECT_TYPES = new Set<number>([
  ComponentType.StringSelect,
  ComponentType.UserSelect,
  ComponentType.RoleSelect,
  ComponentType.MentionableSelect,
  ComponentType.ChannelSelect,
]);

const V2_TOP_LEVEL = new Set<number>([
  ComponentType.ActionRow,
  ComponentType.Section,
  ComponentType.TextDisplay,
  ComponentType.MediaGallery,
  ComponentType.File,
  ComponentType.Separator,
  ComponentType.Container,
]);

function validateComponents(errors: FormErrors, components: unknown, v2: boolean): Json[] | undefined {
  if (!Array.isArray(components)) {
    errors.add(['components'], 'BASE_TYPE_ARRAY', 'Value must be an array.');
    return undefined;
  }
  if (!v2 && components.length > 5) {
    errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  }
  const customIds = new Set<string>();
  let count = 0;
  for (const [i, top] of components.entries()) {
    if (!isObject(top) || typeof top.type !== 'number') {
      errors.add(['components', i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return undefined;
    }
    const allowed = v2 ? V2_TOP_LEVEL.has(top.type) : top.type === ComponentType.ActionRow;
    if (!allowed) {
      errors.add(
        ['components', i, 'type'],
        v2 ? 'COMPONENT_TYPE_INVALID' : 'UI_TYPE_INVALID_COMPONENTS_V2',
        v2 ? 'Invalid component type' : 'Component type is only allowed with the IS_COMPONENTS_V2 flag',
      );
    }
  }
  for (const { component, path } of walkComponents(components as Json[])) {
    count += 1;
    const type = component.type;
    if (type === ComponentType.ActionRow) {
      const children = Array.isArray(component.components) ? (component.components as Json[]) : [];
      const selects = children.filter((c) => SELECT_TYPES.has(c.type as number)).length;
      if (children.length === 0 || children.length > 5) {
        errors.add([...path, 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
      }
      if (selects > 0 && children.length > 1) {
        errors.add(
          [...path, 'components'],
          'COMPONENT_LAYOUT_WIDTH_EXCEEDED',
          'The specified component exceeds the maximum width',
        );
      }
    } else if (type === ComponentType.Button) {
      const style = component.style;
      if (typeof style !== 'number' || style < 1 || style > 6) {
        errors.add([...path, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6}.');
      }
      if (style === ButtonStyle.Link) {
        if (typeof component.url !== 'string')
          errors.add([...path, 'url'], 'BASE_TYPE_REQUIRED', 'This field is required');
        if (component.custom_id !== undefined) {
          errors.add(
            [...path, 'custom_id'],
            'BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED',
            'A link button cannot have a custom_id',
          );
        }
      } else if (style !== ButtonStyle.Premium) {
        maxLength(errors, [...path, 'custom_id'], component.custom_id, 100, true);
      }
      maxLength(errors, [...path, 'label'], component.label, 80);
      if (style !== ButtonStyle.Premium && component.label === undefined && component.emoji === undefined) {
        errors.add(
          [...path, 'label'],
          'BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED',
          'A button must have a label or an emoji',
        );
      }
    } else if (SELECT_TYPES.has(type as number)) {
      maxLength(errors, [...path, 'custom_id'], component.custom_id, 100, true);
      maxLength(errors, [...path, 'placeholder'], component.placeholder, 150);
      const min = component.min_values ?? 1;
      const max = component.max_values ?? 1;
      if (typeof min !== 'number' || min < 0 || min > 25) {
        errors.add([...path, 'min_values'], 'NUMBER_TYPE_MAX', 'int value should be between 0 and 25.');
      }
      if (typeof max !== 'number' || max < 1 || max > 25) {
        errors.add([...path, 'max_values'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and 25.');
      }
      if (type === ComponentType.StringSelect) {
        const options = Array.isArray(component.options) ? (component.options as Json[]) : [];
        if (options.length === 0 || options.length > 25) {
          errors.add([...path, 'options'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 25 in length.');
        }
        if (typeof max === 'number' && max > options.length && options.length > 0) {
          errors.add(
            [...path, 'max_values'],
            'SELECT_COMPONENT_MAX_VALUES_EXCEEDS_OPTIONS',
            'max_values exceeds the number of options',
          );
        }
        const values = new Set<unknown>();
        options.forEach((option, j) => {
          maxLength(errors, [...path, 'options', j, 'label'], option.label, 100, true);
          maxLength(errors, [...path, 'options', j, 'value'], option.value, 100, true);
          maxLength(errors, [...path, 'options', j, 'description'], option.description, 100);
          if (values.has(option.value)) {
            errors.add(
              [...path, 'options', j, 'value'],
              'SELECT_COMPONENT_OPTION_VALUE_DUPLICATED',
              'Option values must be unique',
            );
          }
          values.add(option.value);
        });
      }
    } else if (type === ComponentType.TextDisplay) {
      maxLength(errors, [...path, 'content'], component.content, 4000, true);
    }
    if (typeof component.custom_id === 'string') {
      if (customIds.has(component.custom_id)) {
        errors.add(
          [...path, 'custom_id'],
          'COMPONENT_CUSTOM_ID_DUPLICATED',
          'Component custom id cannot be duplicated',
        );
      }
      customIds.add(component.custom_id);
    }
  }
  if (v2 && count > 40)
    errors.add(['components'], 'COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED', 'Must be 40 or fewer in total.');
  return components as Json[];
}

function validateAllowedMentions(errors: FormErrors, value: unknown): AllowedMentions | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    errors.add(['allowed_mentions'], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return undefined;
  }
  const parse = value.parse;
  const known = ['users', 'roles', 'everyone'];
  if (parse !== undefined && (!Array.isArray(parse) || parse.some((p) => !known.includes(p as string)))) {
    errors.add(
      ['allowed_mentions', 'parse'],
      'BASE_TYPE_CHOICES',
      "Value must be one of ('roles', 'users', 'everyone').",
    );
  }
  const ids = (key: 'users' | 'roles') => {
    const list = value[key];
    if (list === undefined || list === null) return undefined;
    if (!Array.isArray(list) || list.some((id) => !isSnowflake(id))) {
      errors.add(['allowed_mentions', key], 'BASE_TYPE_ARRAY', 'Value must be an array of snowflakes.');
      return undefined;
    }
    if (list.length > 100)
      errors.add(['allowed_mentions', key], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
    return list as string[];
  };
  const users = ids('users');
  const roles = ids('roles');
  const parseList = Array.isArray(parse) ? (parse as AllowedMentions['parse']) : undefined;
  if (parseList?.includes('users') && users && users.length > 0) {
    errors.add(
      ['allowed_mentions'],
      'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE',
      'parse:["users"] and users: [ids...] are mutually exclusive.',
    );
  }
  if (parseList?.includes('roles') && roles && roles.length > 0) {
    errors.add(
      ['allowed_mentions'],
      'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE',
      'parse:["roles"] and roles: [ids...] are mutually exclusive.',
    );
  }
  return {
    ...(parseList ? { parse: parseList } : {}),
    ...(users ? { users } : {}),
    ...(roles ? { roles } : {}),
    repliedUser: value.replied_user === true,
  };
}

function validateAttachments(errors: FormErrors, value: unknown): AttachmentRequest[] | undefined {
  if (!Array.isArray(value)) {
    errors.add(['attachments'], 'BASE_TYPE_ARRAY', 'Value must be an array.');
    return undefined;
  }
  if (value.length > 10)
    errors.add(['attachments'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  const out: AttachmentRequest[] = [];
  value.forEach((entry, i) => {
    if (!isObject(entry)) {
      errors.add(['attachments', i], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    const id = snowflakeOf(entry.id);
    if (id === undefined) {
      errors.add(['attachments', i, 'id'], 'BASE_TYPE_REQUIRED', 'This field is required');
      return;
    }
    maxLength(errors, ['attachments', i, 'description'], entry.description, 1024);
    maxLength(errors, ['attachments', i, 'filename'], entry.filename, 1024);
    out.push({
      id,
      ...(typeof entry.filename === 'string' ? { filename: entry.filename } : {}),
      ...(typeof entry.description === 'string' ? { description: entry.description } : {}),
      ...(typeof entry.title === 'string' ? { title: entry.title } : {}),
      ...(typeof entry.duration_secs === 'number' ? { durationSecs: entry.duration_secs } : {}),
      ...(typeof entry.waveform === 'string' ? { waveform: entry.waveform } : {}),
      ...(entry.is_spoiler === true ? { isSpoiler: true } : {}),
    });
  });
  return out;
}

/**
 * Validates a message payload (create, edit, interaction callback data, webhook) and returns what it
 * sets; throws 400/50035 with Discord's nested `errors` object when a field is invalid.
 */
export function parseMessageInput(json: unknown, mode: PayloadMode, existingFlags = 0): MessageInput {
  const body = json ?? {};
  const errors = new FormErrors();
  if (!isObject(body)) {
    errors.add([], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    errors.throwIfAny();
  }
  const b = body as Record<string, unknown>;
  const editing = mode === 'edit' || mode === 'webhook-edit';
  let flags: number | null | undefined;
  if (b.flags !== undefined && b.flags !== null) {
    if (typeof b.flags !== 'number' || !Number.isInteger(b.flags) || b.flags < 0) {
      errors.add(['flags'], 'NUMBER_TYPE_COERCE', `Value "${String(b.flags)}" is not int.`);
    } else {
      // Bits a payload may not set are dropped, as the API does.
      flags = b.flags & settableFlags(mode);
      if (editing && existingFlags & MessageFlag.IsComponentsV2) flags |= MessageFlag.IsComponentsV2;
    }
  } else if (b.flags === null) flags = null;
  const v2 = ((flags ?? 0) | existingFlags) & MessageFlag.IsComponentsV2;

  let content: string | null | undefined;
  if (b.content !== undefined) {
    if (b.content === null) content = null;
    else if (typeof b.content !== 'string')
      errors.add(['content'], 'BASE_TYPE_STRING', 'Value must be a string.');
    else {
      content = b.content;
      if (content.length > 2000)
        errors.add(['content'], 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
    }
  }
  const embeds =
    b.embeds === undefined ? undefined : b.embeds === null ? null : validateEmbeds(errors, b.embeds);
  const components =
    b.components === undefined
      ? undefined
      : b.components === null
        ? null
        : validateComponents(errors, b.components, Boolean(v2));
  if (v2 && ((content ?? '') !== '' || (embeds && embeds.length > 0) || b.poll !== undefined)) {
    errors.add(
      ['content'],
      'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2',
      "The 'content', 'embeds', 'stickers', and 'poll' fields cannot be used when flags is set to IS_COMPONENTS_V2",
    );
  }
  let nonce: string | number | undefined;
  if (b.nonce !== undefined && b.nonce !== null) {
    if (typeof b.nonce === 'string') {
      if (b.nonce.length > 25)
        errors.add(['nonce'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      nonce = b.nonce;
    } else if (typeof b.nonce === 'number' && Number.isInteger(b.nonce)) nonce = b.nonce;
    else errors.add(['nonce'], 'BASE_TYPE_STRING', 'Value must be a string or an integer.');
  }
  const allowedMentions = validateAllowedMentions(errors, b.allowed_mentions);
  let reference: MessageInput['reference'];
  if (b.message_reference !== undefined && b.message_reference !== null && !editing) {
    const ref = b.message_reference;
    const messageId = isObject(ref) ? snowflakeOf(ref.message_id) : undefined;
    if (!isObject(ref) || messageId === undefined) {
      errors.add(['message_reference', 'message_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
    } else {
      const channelId = snowflakeOf(ref.channel_id);
      const guildId = snowflakeOf(ref.guild_id);
      reference = {
        type: ref.type === 1 ? 1 : 0,
        messageId,
        ...(channelId ? { channelId } : {}),
        ...(guildId ? { guildId } : {}),
        failIfNotExists: ref.fail_if_not_exists !== false,
      };
    }
  }
  const attachments =
    b.attachments === undefined
      ? undefined
      : b.attachments === null
        ? null
        : validateAttachments(errors, b.attachments);
  if (b.tts !== undefined && b.tts !== null && typeof b.tts !== 'boolean') {
    errors.add(['tts'], 'BASE_TYPE_BOOLEAN', 'Must be either true or false.');
  }
  let stickerIds: string[] | undefined;
  if (Array.isArray(b.sticker_ids)) {
    if (b.sticker_ids.length > 3)
      errors.add(['sticker_ids'], 'BASE_TYPE_MAX_LENGTH', 'Must be 3 or fewer in length.');
    stickerIds = b.sticker_ids.map(String);
  }
  let poll: Json | undefined;
  if (isObject(b.poll) && !editing) {
    const question = isObject(b.poll.question) ? b.poll.question : {};
    maxLength(errors, ['poll', 'question', 'text'], question.text, 300, true);
    const answers = Array.isArray(b.poll.answers) ? b.poll.answers : [];
    if (answers.length === 0 || answers.length > 10) {
      errors.add(['poll', 'answers'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 10 in length.');
    }
    poll = b.poll;
  }
  errors.throwIfAny();
  return {
    ...(content !== undefined ? { content } : {}),
    ...(embeds !== undefined ? { embeds } : {}),
    ...(components !== undefined ? { components } : {}),
    ...(flags !== undefined ? { flags } : {}),
    ...(b.tts === true ? { tts: true } : {}),
    ...(nonce !== undefined ? { nonce } : {}),
    ...(b.enforce_nonce === true ? { enforceNonce: true } : {}),
    ...(allowedMentions ? { allowedMentions } : {}),
    ...(reference ? { reference } : {}),
    ...(attachments !== undefined ? { attachments } : {}),
    ...(poll ? { poll } : {}),
    ...(stickerIds ? { stickerIds } : {}),
  };
}

/** Mentions written in content: `<@id>`/`<@!id>` users, `<@&id>` roles, `@everyone`/`@here`. */
export function mentionsIn(content: string): { users: string[]; roles: string[]; everyone: boolean } {
  const users = [...content.matchAll(/<@!?(\d{1,20})>/g)].map((m) => m[1]!);
  const roles = [...content.matchAll(/<@&(\d{1,20})>/g)].map((m) => m[1]!);
  return {
    users: [...new Set(users)],
    roles: [...new Set(roles)],
    everyone: /@(everyone|here)\b/.test(content),
  };
}

/** Which written mentions take effect under `allowed_mentions` (or the mode's default). */
export function resolveMentions(
  content: string,
  allowed: AllowedMentions | undefined,
  defaultParse: readonly ('users' | 'roles' | 'everyone')[],
  canMentionEveryone: boolean,
): { users: string[]; roles: string[]; everyone: boolean; repliedUser: boolean } {
  const written = mentionsIn(content);
  const parse = allowed ? (allowed.parse ?? []) : defaultParse;
  const users = parse.includes('users')
    ? written.users
    : written.users.filter((id) => allowed?.users?.includes(id) ?? false);
  const roles = parse.includes('roles')
    ? written.roles
    : written.roles.filter((id) => allowed?.roles?.includes(id) ?? false);
  const everyone = written.everyone && parse.includes('everyone') && canMentionEveryone;
  return { users, roles, everyone, repliedUser: allowed ? allowed.repliedUser : true };
}
