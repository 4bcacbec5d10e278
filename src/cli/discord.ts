import { parseArgs } from 'node:util';
import { loadDotEnv } from '../config.ts';
import { redact } from '../logger.ts';
import { formatAnd, t } from '../text/index.ts';
import { type CliIo, EXIT, terminalLocale, UsageError } from './common.ts';

/**
 * `restyle discord register [--guild ID]`: registers /restyle and "Restyle video", replacing what
 * was registered before (running it twice changes nothing). A guild registration shows at once
 * (for development); a global one is for production.
 */
export async function discordCommand(args: readonly string[], io: CliIo): Promise<number> {
  const locale = terminalLocale(io.env);
  const [sub, ...rest] = args;
  if (sub !== 'register') throw new UsageError(t(locale, 'cli.discord.usage'));
  let guild: string | undefined;
  try {
    const parsed = parseArgs({ args: [...rest], options: { guild: { type: 'string' } } });
    guild = parsed.values.guild;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (guild !== undefined && !/^\d{5,25}$/.test(guild))
    throw new UsageError(t(locale, 'cli.discord.guild', { guild }));
  loadDotEnv();
  const token = io.env.DISCORD_TOKEN?.trim();
  if (!token) throw new UsageError(t(locale, 'cli.discord.token'));
  try {
    // The bots come in through the composition root only: the command line imports no bot itself.
    const { registerDiscordCommands } = await import('../app.ts');
    const result = await registerDiscordCommands({
      token,
      apiRoot: io.env.DISCORD_API_ROOT || 'https://discord.com/api',
      applicationId: io.env.DISCORD_APPLICATION_ID || undefined,
      guildId: guild,
    });
    const names = formatAnd(
      result.names.map((name) => t(locale, 'cli.discord.name', { command: name })),
      locale,
    );
    const application = result.applicationId;
    io.stdout.write(
      `${
        result.scope === 'guild'
          ? t(locale, 'cli.discord.registered.guild', { names, guild: String(guild), application })
          : t(locale, 'cli.discord.registered.global', { names, application })
      }\n`,
    );
    return EXIT.ok;
  } catch (error) {
    const message = redact(error instanceof Error ? error.message : String(error), [token]);
    io.stderr.write(`${t(locale, 'cli.discord.failed', { error: message })}\n`);
    return EXIT.failed;
  }
}
