import { parseArgs } from 'node:util';
import { registerDiscordCommands } from '../bots/discord/register.ts';
import { loadDotEnv } from '../config.ts';
import { redact } from '../logger.ts';
import { type CliIo, EXIT, UsageError } from './common.ts';

/**
 * `restyle discord register [--guild ID]`: registers /restyle and "Restyle video", replacing what
 * was registered before (running it twice changes nothing). A guild registration shows at once
 * (for development); a global one is for production.
 */
export async function discordCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'register') throw new UsageError('Usage: restyle discord register [--guild ID]');
  let guild: string | undefined;
  try {
    const parsed = parseArgs({ args: [...rest], options: { guild: { type: 'string' } } });
    guild = parsed.values.guild;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (guild !== undefined && !/^\d{5,25}$/.test(guild))
    throw new UsageError(`--guild must be a guild id (got "${guild}").`);
  loadDotEnv();
  const token = io.env.DISCORD_TOKEN?.trim();
  if (!token)
    throw new UsageError('DISCORD_TOKEN is required: the bot token from the Discord developer portal.');
  try {
    const result = await registerDiscordCommands({
      token,
      apiRoot: io.env.DISCORD_API_ROOT || 'https://discord.com/api',
      applicationId: io.env.DISCORD_APPLICATION_ID || undefined,
      guildId: guild,
    });
    io.stdout.write(
      `Registered ${result.names.map((name) => `"${name}"`).join(' and ')} ${
        result.scope === 'guild'
          ? `in guild ${guild} (available now)`
          : 'globally (may take up to an hour to show)'
      } for application ${result.applicationId}.\n`,
    );
    return EXIT.ok;
  } catch (error) {
    io.stderr.write(
      `Could not register the commands: ${redact(error instanceof Error ? error.message : String(error), [token])}\n`,
    );
    return EXIT.failed;
  }
}
