import { FormErrors, tooManyCommands } from './errors.ts';
import type { Snowflakes } from './snowflake.ts';
import {
  type APIApplicationCommand,
  type APIApplicationCommandOption,
  type APIApplicationCommandOptionChoice,
  CommandType,
  LOCALES,
  OptionType,
} from './types.ts';

const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Most commands of each type per scope (global, or one guild). */
export const COMMAND_LIMITS: Readonly<Record<number, number>> = {
  [CommandType.ChatInput]: 100,
  [CommandType.User]: 15,
  [CommandType.Message]: 15,
  [CommandType.PrimaryEntryPoint]: 1,
};

type Path = (string | number)[];

function checkName(errors: FormErrors, path: Path, name: unknown, chatInput: boolean): name is string {
  if (typeof name !== 'string') {
    errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return false;
  }
  if (name.length < 1 || name.length > 32) {
    errors.add(path, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 32 in length.');
    return false;
  }
  if (chatInput && (!CHAT_INPUT_NAME.test(name) || name !== name.toLowerCase())) {
    errors.add(path, 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    return false;
  }
  return true;
}

function checkLocalizations(
  errors: FormErrors,
  path: Path,
  value: unknown,
  check: (p: Path, v: unknown) => void,
): Record<string, string> | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (!isObject(value)) {
    errors.add(path, 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
    return undefined;
  }
  for (const [locale, text] of Object.entries(value)) {
    if (!LOCALES.has(locale)) {
      errors.add(
        [...path, locale],
        'BASE_TYPE_CHOICES',
        `Value must be one of {${[...LOCALES].map((l) => `'${l}'`).join(', ')}}.`,
      );
    } else check([...path, locale], text);
  }
  return value as Record<string, string>;
}

function checkDescription(errors: FormErrors, path: Path, value: unknown): void {
  if (typeof value !== 'string') {
    errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
  } else if (value.length < 1 || value.length > 100) {
    errors.add(path, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
  }
}

/** The longest of a field and its localizations, as the 8000-character size limit counts it. */
const longest = (value: unknown, localizations: unknown): number =>
  Math.max(
    typeof value === 'string' ? value.length : 0,
    ...Object.values(isObject(localizations) ? localizations : {}).map((v) =>
      typeof v === 'string' ? v.length : 0,
    ),
  );

function normalizeChoice(
  errors: FormErrors,
  path: Path,
  raw: unknown,
  optionType: number,
  size: { chars: number },
): APIApplicationCommandOptionChoice | undefined {
  if (!isObject(raw)) {
    errors.add(path, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return undefined;
  }
  const checkChoiceName = (p: Path, v: unknown) => {
    if (typeof v !== 'string' || v.length < 1 || v.length > 100) {
      errors.add(p, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
  };
  checkChoiceName([...path, 'name'], raw.name);
  const nameLocalizations = checkLocalizations(
    errors,
    [...path, 'name_localizations'],
    raw.name_localizations,
    checkChoiceName,
  );
  const value = raw.value;
  if (optionType === OptionType.String) {
    if (typeof value !== 'string' || value.length < 1 || value.length > 100) {
      errors.add([...path, 'value'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
  } else if (optionType === OptionType.Integer) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      errors.add([...path, 'value'], 'NUMBER_TYPE_COERCE', `Value "${String(value)}" is not int.`);
    }
  } else if (typeof value !== 'number' || !Number.isFinite(value)) {
    errors.add([...path, 'value'], 'NUMBER_TYPE_COERCE', `Value "${String(value)}" is not a valid number.`);
  }
  size.chars += longest(raw.name, raw.name_localizations) + String(value ?? '').length;
  return {
    name: String(raw.name),
    ...(nameLocalizations !== undefined ? { name_localizations: nameLocalizations } : {}),
    value: value as string | number,
  };
}

function normalizeOptions(
  errors: FormErrors,
  path: Path,
  raw: unknown,
  depth: 'top' | 'subcommand' | 'group',
  size: { chars: number },
): APIApplicationCommandOption[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    errors.add(path, 'BASE_TYPE_ARRAY', 'Value must be an array.');
    return undefined;
  }
  if (raw.length > 25) errors.add(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
  const names = new Set<string>();
  let sawOptional = false;
  const out: APIApplicationCommandOption[] = [];
  raw.forEach((option, i) => {
    const at: Path = [...path, i];
    if (!isObject(option)) {
      errors.add(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    const type = option.type;
    if (typeof type !== 'number' || type < 1 || type > 11) {
      errors.add(
        [...at, 'type'],
        'BASE_TYPE_CHOICES',
        'Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.',
      );
      return;
    }
    const isSub = type === OptionType.Subcommand || type === OptionType.SubcommandGroup;
    if (depth === 'subcommand' && isSub) {
      errors.add(
        [...at, 'type'],
        'APPLICATION_COMMAND_OPTION_TYPE_INVALID',
        'Sub-command options cannot be nested here',
      );
    }
    if (depth === 'group' && type !== OptionType.Subcommand) {
      errors.add(
        [...at, 'type'],
        'APPLICATION_COMMAND_OPTION_TYPE_INVALID',
        'Sub-command groups may only contain sub-commands',
      );
    }
    if (checkName(errors, [...at, 'name'], option.name, true)) {
      if (names.has(option.name)) {
        errors.add(
          [...at, 'name'],
          'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS',
          'Option names must be unique',
        );
      }
      names.add(option.name);
    }
    checkDescription(errors, [...at, 'description'], option.description);
    const nameLocalizations = checkLocalizations(
      errors,
      [...at, 'name_localizations'],
      option.name_localizations,
      (p, v) => checkName(errors, p, v, true),
    );
    const descriptionLocalizations = checkLocalizations(
      errors,
      [...at, 'description_localizations'],
      option.description_localizations,
      (p, v) => checkDescription(errors, p, v),
    );
    size.chars += longest(option.name, option.name_localizations);
    size.chars += longest(option.description, option.description_localizations);
    const required = option.required === true;
    if (!isSub) {
      if (required && sawOptional) {
        errors.add(
          [...at, 'required'],
          'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
          'Required options must be placed before non-required options',
        );
      }
      if (!required) sawOptional = true;
    }
    const choicesAllowed =
      type === OptionType.String || type === OptionType.Integer || type === OptionType.Number;
    let choices: APIApplicationCommandOptionChoice[] | undefined;
    if (Array.isArray(option.choices)) {
      if (!choicesAllowed)
        errors.add(
          [...at, 'choices'],
          'APPLICATION_COMMAND_OPTION_CHOICES_NOT_ALLOWED',
          'Choices are not allowed for this option type',
        );
      if (option.choices.length > 25)
        errors.add([...at, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      if (option.autocomplete === true && option.choices.length > 0) {
        errors.add(
          [...at, 'autocomplete'],
          'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID',
          'Autocomplete cannot be set with choices',
        );
      }
      choices = option.choices
        .map((c, j) => normalizeChoice(errors, [...at, 'choices', j], c, type, size))
        .filter((c): c is APIApplicationCommandOptionChoice => c !== undefined);
    }
    const nested = isSub
      ? normalizeOptions(
          errors,
          [...at, 'options'],
          option.options,
          type === OptionType.SubcommandGroup ? 'group' : 'subcommand',
          size,
        )
      : undefined;
    const numeric = (key: 'min_value' | 'max_value' | 'min_length' | 'max_length') =>
      typeof option[key] === 'number' ? { [key]: option[key] as number } : {};
    if (Array.isArray(option.file_types) && option.file_types.length > 10) {
      errors.add([...at, 'file_types'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
    }
    out.push({
      type,
      name: String(option.name),
      ...(nameLocalizations !== undefined ? { name_localizations: nameLocalizations } : {}),
      description: String(option.description ?? ''),
      ...(descriptionLocalizations !== undefined
        ? { description_localizations: descriptionLocalizations }
        : {}),
      ...(required ? { required: true } : {}),
      ...(choices ? { choices } : {}),
      ...(nested ? { options: nested } : {}),
      ...(Array.isArray(option.channel_types) ? { channel_types: option.channel_types as number[] } : {}),
      ...numeric('min_value'),
      ...numeric('max_value'),
      ...numeric('min_length'),
      ...numeric('max_length'),
      ...(option.autocomplete === true ? { autocomplete: true } : {}),
      ...(Array.isArray(option.file_types) ? { file_types: option.file_types.map(String) } : {}),
    });
  });
  return out;
}

/** A command definition after validation, without the fields the server assigns. */
export type CommandDefinition = Omit<
  APIApplicationCommand,
  'id' | 'application_id' | 'version' | 'guild_id'
> & {
  readonly requestedId?: string;
};

/** Validates one command as Create/Edit/Bulk Overwrite read it; `partial` is PATCH (all fields optional). */
export function parseCommand(
  raw: unknown,
  errors: FormErrors,
  path: Path,
  scope: 'global' | 'guild',
  existing?: APIApplicationCommand,
): CommandDefinition | undefined {
  if (!isObject(raw)) {
    errors.add(path, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return undefined;
  }
  const merged: Record<string, unknown> = existing ? { ...existing, ...raw } : raw;
  const type = merged.type ?? CommandType.ChatInput;
  if (typeof type !== 'number' || ![1, 2, 3, 4].includes(type)) {
    errors.add([...path, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4}.');
    return undefined;
  }
  if (scope === 'guild' && type === CommandType.PrimaryEntryPoint) {
    errors.add(
      [...path, 'type'],
      'APPLICATION_COMMAND_TYPE_INVALID',
      'Entry point commands cannot be guild commands',
    );
  }
  const chatInput = type === CommandType.ChatInput;
  checkName(errors, [...path, 'name'], merged.name, chatInput);
  const size = { chars: longest(merged.name, merged.name_localizations) };
  const nameLocalizations = checkLocalizations(
    errors,
    [...path, 'name_localizations'],
    merged.name_localizations,
    (p, v) => checkName(errors, p, v, chatInput),
  );
  let description = '';
  let descriptionLocalizations: Record<string, string> | null | undefined = null;
  if (chatInput) {
    checkDescription(errors, [...path, 'description'], merged.description);
    description = String(merged.description ?? '');
    descriptionLocalizations = checkLocalizations(
      errors,
      [...path, 'description_localizations'],
      merged.description_localizations,
      (p, v) => checkDescription(errors, p, v),
    );
    size.chars += longest(merged.description, merged.description_localizations);
  } else if (typeof merged.description === 'string' && merged.description !== '') {
    errors.add(
      [...path, 'description'],
      'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION',
      'Context menu commands cannot have description',
    );
  }
  let options: APIApplicationCommandOption[] | undefined;
  if (merged.options !== undefined && merged.options !== null) {
    if (!chatInput) {
      if (Array.isArray(merged.options) && merged.options.length > 0) {
        errors.add(
          [...path, 'options'],
          'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID',
          'Only chat input commands can have options',
        );
      }
    } else options = normalizeOptions(errors, [...path, 'options'], merged.options, 'top', size);
  }
  if (size.chars > 8000) {
    errors.add(path, 'APPLICATION_COMMAND_TOO_LARGE', 'Command exceeds maximum size (8000)');
  }
  const intList = (key: string, allowed: number[]): number[] | null | undefined => {
    const value = merged[key];
    if (value === undefined) return undefined;
    if (value === null) return null;
    if (!Array.isArray(value) || value.some((v) => !allowed.includes(v as number))) {
      errors.add([...path, key], 'BASE_TYPE_CHOICES', `Value must be one of {${allowed.join(', ')}}.`);
      return undefined;
    }
    return [...new Set(value as number[])];
  };
  const contexts = intList('contexts', [0, 1, 2]);
  const integrationTypes = intList('integration_types', [0, 1]);
  let defaultMemberPermissions: string | null = null;
  const dmp = merged.default_member_permissions;
  if (dmp !== undefined && dmp !== null) {
    if (typeof dmp !== 'string' || !/^\d+$/.test(dmp)) {
      errors.add(
        [...path, 'default_member_permissions'],
        'BASE_TYPE_STRING',
        'Value must be a permission bit set string.',
      );
    } else defaultMemberPermissions = dmp;
  }
  const requestedId = typeof raw.id === 'string' ? raw.id : undefined;
  return {
    type,
    name: String(merged.name ?? ''),
    name_localizations: nameLocalizations ?? null,
    description,
    description_localizations: descriptionLocalizations ?? null,
    ...(options && options.length > 0 ? { options } : {}),
    default_member_permissions: defaultMemberPermissions,
    ...(scope === 'global' ? { dm_permission: merged.dm_permission !== false } : {}),
    nsfw: merged.nsfw === true,
    integration_types: integrationTypes ?? [0],
    contexts: contexts ?? null,
    ...(typeof merged.handler === 'number' ? { handler: merged.handler } : {}),
    ...(requestedId ? { requestedId } : {}),
  };
}

const comparable = (c: CommandDefinition | APIApplicationCommand) => {
  const { requestedId: _r, ...rest } = c as CommandDefinition;
  const {
    id: _i,
    application_id: _a,
    version: _v,
    guild_id: _g,
    ...def
  } = rest as Partial<APIApplicationCommand>;
  return JSON.stringify(def);
};

/** The commands of one scope (global, or one guild), keyed by id. */
export class CommandScope {
  readonly commands = new Map<string, APIApplicationCommand>();
  /** Creation times, for the 200-a-day limit. */
  readonly creates: number[] = [];

  constructor(
    private readonly applicationId: string,
    private readonly guildId: string | undefined,
    private readonly ids: Snowflakes,
  ) {}

  list(): APIApplicationCommand[] {
    return [...this.commands.values()].map((c) => structuredClone(c));
  }

  findByName(type: number, name: string): APIApplicationCommand | undefined {
    for (const c of this.commands.values()) if (c.type === type && c.name === name) return c;
    return undefined;
  }

  private build(def: CommandDefinition, previous?: APIApplicationCommand): APIApplicationCommand {
    const { requestedId: _r, ...fields } = def;
    const changed = !previous || comparable(previous) !== comparable(def);
    return {
      id: previous?.id ?? this.ids.next(),
      application_id: this.applicationId,
      version: changed ? this.ids.next() : previous.version,
      ...(this.guildId ? { guild_id: this.guildId } : {}),
      ...fields,
    } as APIApplicationCommand;
  }

  /** Creates or replaces (by type and name) one command; `created` says whether it is new. */
  upsert(def: CommandDefinition, now: number): { command: APIApplicationCommand; created: boolean } {
    const previous = this.findByName(def.type, def.name);
    if (!previous) {
      const count = [...this.commands.values()].filter((c) => c.type === def.type).length;
      if (count >= (COMMAND_LIMITS[def.type] ?? 100)) throw tooManyCommands(COMMAND_LIMITS[def.type] ?? 100);
      this.creates.push(now);
    }
    const command = this.build(def, previous);
    this.commands.set(command.id, command);
    return { command: structuredClone(command), created: !previous };
  }

  /** Edits a command in place (PATCH). */
  replace(id: string, def: CommandDefinition): APIApplicationCommand {
    const command = this.build(def, this.commands.get(id));
    this.commands.set(id, command);
    return structuredClone(command);
  }

  /** Bulk overwrite: keeps ids of commands matched by id or by type and name; deletes the rest. */
  overwrite(defs: CommandDefinition[], now: number): APIApplicationCommand[] {
    const counts = new Map<number, number>();
    for (const def of defs) counts.set(def.type, (counts.get(def.type) ?? 0) + 1);
    for (const [type, count] of counts) {
      if (count > (COMMAND_LIMITS[type] ?? 100)) throw tooManyCommands(COMMAND_LIMITS[type] ?? 100);
    }
    const next = new Map<string, APIApplicationCommand>();
    for (const def of defs) {
      const previous =
        (def.requestedId ? this.commands.get(def.requestedId) : undefined) ??
        this.findByName(def.type, def.name);
      if (!previous) this.creates.push(now);
      const command = this.build(def, previous);
      next.set(command.id, command);
    }
    this.commands.clear();
    for (const [id, command] of next) this.commands.set(id, command);
    return this.list();
  }

  /** Creates counted over the last 24 hours of the fake's clock. */
  createsInLastDay(now: number): number {
    return this.creates.filter((t) => now - t < 24 * 3600 * 1000).length;
  }
}

/** Validates a bulk overwrite body: an array of commands with unique names per type. */
export function parseCommandList(raw: unknown, scope: 'global' | 'guild'): CommandDefinition[] {
  const errors = new FormErrors();
  if (!Array.isArray(raw)) {
    errors.add([], 'BASE_TYPE_ARRAY', 'Value must be an array.');
    errors.throwIfAny();
  }
  const defs: CommandDefinition[] = [];
  const seen = new Set<string>();
  (raw as unknown[]).forEach((item, i) => {
    const def = parseCommand(item, errors, [i], scope);
    if (!def) return;
    const key = `${def.type}:${def.name}`;
    if (seen.has(key)) {
      errors.add(
        [i, 'name'],
        'APPLICATION_COMMANDS_DUPLICATE_NAME',
        `Application command names must be unique`,
      );
    }
    seen.add(key);
    defs.push(def);
  });
  errors.throwIfAny();
  return defs;
}

/**
 * A command as the batch GET endpoints answer without `with_localizations`: dictionaries replaced by
 * `name_localized`/`description_localized` for the requester's locale, when one applies.
 */
export function localizedView(
  command: APIApplicationCommand,
  locale: string | undefined,
): Record<string, unknown> {
  const pick = (dict: Record<string, string> | null | undefined): string | undefined =>
    locale && dict ? dict[locale] : undefined;
  const option = (o: APIApplicationCommandOption): Record<string, unknown> => {
    const { name_localizations, description_localizations, options, choices, ...rest } = o;
    const name = pick(name_localizations);
    const description = pick(description_localizations);
    return {
      ...rest,
      ...(name !== undefined ? { name_localized: name } : {}),
      ...(description !== undefined ? { description_localized: description } : {}),
      ...(choices
        ? {
            choices: choices.map(({ name_localizations: nl, ...c }) => {
              const localized = pick(nl);
              return { ...c, ...(localized !== undefined ? { name_localized: localized } : {}) };
            }),
          }
        : {}),
      ...(options ? { options: options.map(option) } : {}),
    };
  };
  const { name_localizations, description_localizations, options, ...rest } = command;
  const name = pick(name_localizations);
  const description = pick(description_localizations);
  return {
    ...rest,
    ...(name !== undefined ? { name_localized: name } : {}),
    ...(description !== undefined ? { description_localized: description } : {}),
    ...(options ? { options: options.map(option) } : {}),
  };
}
