import { REST, Routes } from 'discord.js';
import { registerCommands } from './commands.ts';

/** Registers the bot's commands with its own REST client; the application id is read when not given. */
export async function registerDiscordCommands(options: {
  readonly token: string;
  readonly apiRoot: string;
  readonly applicationId?: string | undefined;
  readonly guildId?: string | undefined;
}): Promise<{ scope: 'guild' | 'global'; names: string[]; applicationId: string }> {
  const rest = new REST({ version: '10', api: options.apiRoot }).setToken(options.token);
  const applicationId =
    options.applicationId ?? ((await rest.get(Routes.currentApplication())) as { id: string }).id;
  const result = await registerCommands(rest, applicationId, options.guildId);
  return { ...result, applicationId };
}
