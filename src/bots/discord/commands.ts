import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type REST,
  type RESTPutAPIApplicationCommandsJSONBody,
  Routes,
} from 'discord.js';
import { STYLES } from '../../core/styles.ts';

/** The slash command's name. */
export const RESTYLE_COMMAND = 'restyle';
/** The message context-menu command's name. */
export const RESTYLE_MESSAGE_COMMAND = 'Restyle video';

const ZH = ['zh-CN', 'zh-TW'] as const;
const zh = (text: string) => Object.fromEntries(ZH.map((locale) => [locale, text]));

/** `/restyle video:<clip> style:<choice> [fps:15-25]` and the "Restyle video" message action. */
export function commandDefinitions(): RESTPutAPIApplicationCommandsJSONBody {
  const everywhere = {
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  };
  return [
    {
      type: ApplicationCommandType.ChatInput,
      name: RESTYLE_COMMAND,
      name_localizations: zh('重绘'),
      description: 'Turn a video into a cartoon (manga, comic, 3D, ink wash…)',
      description_localizations: zh('把视频重绘成卡通（日漫、美漫、3D、水墨……）'),
      options: [
        {
          type: ApplicationCommandOptionType.Attachment,
          name: 'video',
          name_localizations: zh('视频'),
          description: 'The clip: up to 30 s, 256-4096 px per side',
          description_localizations: zh('视频：最长 30 秒，每边 256-4096 像素'),
          required: true,
        },
        {
          type: ApplicationCommandOptionType.String,
          name: 'style',
          name_localizations: zh('风格'),
          description: 'The drawing style',
          description_localizations: zh('绘画风格'),
          required: true,
          choices: STYLES.map((style) => ({
            name: style.names.en,
            name_localizations: zh(style.names.zh),
            value: style.slug,
          })),
        },
        {
          type: ApplicationCommandOptionType.Integer,
          name: 'fps',
          name_localizations: zh('帧率'),
          description: 'Frame rate of the result, 15-25 (default 15)',
          description_localizations: zh('结果的帧率，15-25（默认 15）'),
          required: false,
          min_value: 15,
          max_value: 25,
        },
      ],
      ...everywhere,
    },
    {
      type: ApplicationCommandType.Message,
      name: RESTYLE_MESSAGE_COMMAND,
      name_localizations: zh('重绘视频'),
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
