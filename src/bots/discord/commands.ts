import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type REST,
  type RESTPutAPIApplicationCommandsJSONBody,
  Routes,
} from 'discord.js';
import { DEFAULT_LIMITS } from '../../core/limits.ts';
import { STYLES } from '../../core/styles.ts';
import { formatSeconds } from '../../text/index.ts';
import { DISCORD_PHRASES, sayDiscord } from './wording.ts';

/** The slash command's name. */
export const RESTYLE_COMMAND = DISCORD_PHRASES['discord.name.restyle'].en;
/** The message context-menu command's name. */
export const RESTYLE_MESSAGE_COMMAND = DISCORD_PHRASES['discord.name.restyleMessage'].en;

const ZH = ['zh-CN', 'zh-TW'] as const;

/** The same text for each of Discord's Chinese locales. */
function forChinese(text: string): Record<string, string> {
  return Object.fromEntries(ZH.map((locale) => [locale, text]));
}

type NameKey = Extract<keyof typeof DISCORD_PHRASES, `discord.name.${string}`>;

/** A command's or option's name, with its Chinese name. */
function named(key: NameKey) {
  return { name: DISCORD_PHRASES[key].en, name_localizations: forChinese(DISCORD_PHRASES[key].zh) };
}

/** A description in English, with its Chinese. */
function described(en: string, zh: string) {
  return { description: en, description_localizations: forChinese(zh) };
}

const FPS = { min: 15, max: 25, usual: 15 } as const;

/** `/restyle video:<clip> style:<choice> [fps:15-25]` and the "Restyle video" message action. */
export function commandDefinitions(): RESTPutAPIApplicationCommandsJSONBody {
  const everywhere = {
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  };
  const limits = {
    minSide: DEFAULT_LIMITS.minSidePx,
    maxSide: DEFAULT_LIMITS.maxSidePx,
  };
  return [
    {
      type: ApplicationCommandType.ChatInput,
      ...named('discord.name.restyle'),
      ...described(sayDiscord('en', 'discord.command.restyle'), sayDiscord('zh', 'discord.command.restyle')),
      options: [
        {
          type: ApplicationCommandOptionType.Attachment,
          ...named('discord.name.video'),
          ...described(
            sayDiscord('en', 'discord.option.video', {
              ...limits,
              duration: formatSeconds(DEFAULT_LIMITS.maxDurationSec, 'en'),
            }),
            sayDiscord('zh', 'discord.option.video', {
              ...limits,
              duration: formatSeconds(DEFAULT_LIMITS.maxDurationSec, 'zh'),
            }),
          ),
          required: true,
        },
        {
          type: ApplicationCommandOptionType.String,
          ...named('discord.name.style'),
          ...described(sayDiscord('en', 'discord.option.style'), sayDiscord('zh', 'discord.option.style')),
          required: true,
          choices: STYLES.map((style) => ({
            name: style.names.en,
            name_localizations: forChinese(style.names.zh),
            value: style.slug,
          })),
        },
        {
          type: ApplicationCommandOptionType.Integer,
          ...named('discord.name.fps'),
          ...described(
            sayDiscord('en', 'discord.option.fps', FPS),
            sayDiscord('zh', 'discord.option.fps', FPS),
          ),
          required: false,
          min_value: FPS.min,
          max_value: FPS.max,
        },
      ],
      ...everywhere,
    },
    {
      type: ApplicationCommandType.Message,
      ...named('discord.name.restyleMessage'),
      ...everywhere,
    },
  ];
}

/**
 * Registers the commands, replacing whatever was registered before (so running it twice changes
 * nothing): for one guild (instant, for development) or globally.
 */
export async function registerCommands(
  rest: REST,
  applicationId: string,
  guildId?: string,
): Promise<{ scope: 'guild' | 'global'; names: string[] }> {
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  const registered = (await rest.put(route, { body: commandDefinitions() })) as { name: string }[];
  return { scope: guildId ? 'guild' : 'global', names: registered.map((command) => command.name) };
}
