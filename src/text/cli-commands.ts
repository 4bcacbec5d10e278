import type { Phrases } from './catalogue.ts';

/** `restyle help`, the command line's own errors, `restyle run` and `restyle discord register`. */
export const CLI_COMMAND_PHRASES = {
  'cli.help': {
    en: `restyle — turn videos into cartoons with DashScope's video-style-transform

Usage:
  restyle video <file-or-url>... --style <id|slug|alias> [--fps 15..25] [--out FILE | --out-dir DIR] [--fit] [--json]
  restyle jobs [--all] [--json]  list jobs from the store (state, position, ETA, task id)
  restyle resume                 finish the command line's unfinished jobs after a crash
  restyle styles                 list the styles
  restyle run [--role all|chat|worker]
                                 run the service: the chat bots and the lanes (all, the default);
                                 with REDIS_URL, only the bots (chat) or only the DashScope workers (worker)
  restyle discord register [--guild ID]
                                 register the Discord commands (guild: instant, for development)
  restyle help

Options of "video":
  -s, --style   style id (0-7), slug or alias: {slugs}
      --fps     output frame rate, 15 to 25 (default 15)
  -o, --out     output file of a single input (default: <input>.<style>.mp4 in the current folder)
      --out-dir folder for the outputs of several inputs (default: the current folder)
      --fit     trim, scale, crop, re-encode or compress a clip that breaks a limit
      --json    print each result (or rejection) as one JSON line on stdout
      --lang    en or zh (default: from LANG)

Every input goes through the durable queue (STORE_URL): after a crash, "restyle resume" finishes
the jobs without submitting any of them twice.

Exit codes: 0 done, 2 input or arguments rejected (nothing was sent), 1 remote or other failure,
130 interrupted (a task still queued at DashScope is canceled).
Configuration comes from the environment or .env: DASHSCOPE_API_KEY (required, or a pool of keys in
DASHSCOPE_API_KEYS), DASHSCOPE_BASE_URL, DASHSCOPE_WORKSPACE, STORE_URL, REDIS_URL (lanes shared by
several instances), MEDIA_S3_BUCKET (your own storage); see README.md.`,
    zh: `restyle — 用 DashScope 的 video-style-transform 把视频变成卡通

用法：
  restyle video <file-or-url>... --style <id|slug|alias> [--fps 15..25] [--out FILE | --out-dir DIR] [--fit] [--json]
  restyle jobs [--all] [--json]  列出存储中的任务（状态、位置、预计时间、任务 ID）
  restyle resume                 崩溃后完成命令行未完成的任务
  restyle styles                 列出所有风格
  restyle run [--role all|chat|worker]
                                 运行服务：聊天机器人和任务通道（all，默认）；
                                 设置 REDIS_URL 时，可只运行机器人（chat）或只运行 DashScope 工作进程（worker）
  restyle discord register [--guild ID]
                                 注册 Discord 命令（指定 guild 时立即生效，用于开发）
  restyle help

video 的选项：
  -s, --style   风格编号（0-7）、slug 或别名：{slugs}
      --fps     输出帧率，15 到 25（默认 15）
  -o, --out     单个输入的输出文件（默认：当前文件夹中的 <input>.<style>.mp4）
      --out-dir 多个输入的输出文件夹（默认：当前文件夹）
      --fit     对超出限制的视频进行截取、缩放、裁剪、重新编码或压缩
      --json    把每个结果（或拒绝原因）作为一行 JSON 输出到 stdout
      --lang    en 或 zh（默认取自 LANG）

每个输入都经过持久化队列（STORE_URL）：崩溃后运行“restyle resume”即可完成这些任务，
且不会重复提交任何一个。

退出码：0 完成；2 输入或参数被拒绝（未发送任何请求）；1 远程或其他失败；
130 被中断（仍在 DashScope 排队的任务会被取消）。
配置来自环境变量或 .env：DASHSCOPE_API_KEY（必需，或在 DASHSCOPE_API_KEYS 中给出多个 Key）、
DASHSCOPE_BASE_URL、DASHSCOPE_WORKSPACE、STORE_URL、REDIS_URL（多个实例共享任务通道）、
MEDIA_S3_BUCKET（自有存储）；详见 README.md。`,
  },
  'cli.unknownCommand': { en: 'Unknown command "{command}".', zh: '未知命令“{command}”。' },
  /** After a usage or configuration error. */
  'cli.seeHelp': {
    en: '{problem}\n\nRun "restyle help" for usage.',
    zh: '{problem}\n\n运行“restyle help”查看用法。',
  },
  'cli.unexpected': { en: 'Unexpected error: {error}', zh: '意外错误：{error}' },
  'cli.run.noBot': {
    en: `restyle run serves the chat bots, and none is configured:
  set TELEGRAM_BOT_TOKEN (from @BotFather) to run the Telegram bot,
  and/or DISCORD_TOKEN (Discord developer portal, Bot page) to run the Discord bot.
See README.md for the settings, or use "restyle video <file> --style <style>" meanwhile.`,
    zh: `restyle run 运行聊天机器人，但一个都没有配置：
  设置 TELEGRAM_BOT_TOKEN（从 @BotFather 获取）以运行 Telegram 机器人，
  和/或 DISCORD_TOKEN（Discord 开发者门户的 Bot 页面）以运行 Discord 机器人。
设置项见 README.md；在此之前也可以用“restyle video <file> --style <style>”。`,
  },
  'cli.run.unknownOption': {
    en: 'Unknown option {option}: restyle run takes only --role all|chat|worker',
    zh: '未知选项 {option}：restyle run 只接受 --role all|chat|worker',
  },
  'cli.run.badRole': {
    en: '--role must be all, chat or worker (got "{role}")',
    zh: '--role 只能是 all、chat 或 worker（收到“{role}”）',
  },
  'cli.run.roleNeedsRedis': {
    en: '--role {role} runs part of the service and needs REDIS_URL: the other parts meet on that Redis.',
    zh: '--role {role} 只运行服务的一部分，需要设置 REDIS_URL：各部分通过这个 Redis 协作。',
  },
  'cli.discord.usage': {
    en: 'Usage: restyle discord register [--guild ID]',
    zh: '用法：restyle discord register [--guild ID]',
  },
  'cli.discord.guild': {
    en: '--guild must be a guild id (got "{guild}").',
    zh: '--guild 必须是服务器（guild）ID（收到的是“{guild}”）。',
  },
  'cli.discord.token': {
    en: 'DISCORD_TOKEN is required: the bot token from the Discord developer portal.',
    zh: '需要 DISCORD_TOKEN：Discord 开发者门户中的机器人令牌。',
  },
  /** A registered command's name, quoted. */
  'cli.discord.name': { en: '"{command}"', zh: '“{command}”' },
  'cli.discord.registered.guild': {
    en: 'Registered {names} in guild {guild} (available now) for application {application}.',
    zh: '已为应用 {application} 在服务器 {guild} 中注册了{names}（现在即可使用）。',
  },
  'cli.discord.registered.global': {
    en: 'Registered {names} globally (may take up to an hour to show) for application {application}.',
    zh: '已为应用 {application} 全局注册了{names}（最多可能要一小时才会显示）。',
  },
  'cli.discord.failed': { en: 'Could not register the commands: {error}', zh: '无法注册命令：{error}' },
} as const satisfies Phrases;
