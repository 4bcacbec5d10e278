// `npm run soak`: the crash soak. The real service runs as a child process (`node bin/restyle.js
// run`) against the loopback Telegram, Discord and DashScope fakes, which live in this process and
// so survive every kill. Simulated users keep sending clips while the service is SIGKILLed at
// moments aimed at every phase of a request (seeded), then started again on the same data dir and
// store. After the last kill it runs once more until drained, and the soak counts, per platform,
// what users got: acknowledged clips lost, duplicated, double-billed at DashScope, and statuses
// left stale; plus files left behind. It reports and does not assert: exit 0, or 1 with
// `--strict` when anything was lost, duplicated, double-billed or stale.
//
//   npm run soak -- [--platform telegram|discord|both] [--kills 50] [--users 4] [--seed 1]
//                   [--interval-sec 12] [--drain-sec 120] [--max-run-sec 500] [--json] [--strict] [--keep]
//
// The counting rules are in bench/soak/rules.ts (texts), bench/soak/telegram.ts and
// bench/soak/discord.ts (which messages belong to a request), and bench/soak/files.ts (orphans).
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type FakeDashScope, startFakeDashScope } from '../test/fakes/dashscope/server.ts';
import { type FakeDiscord, startFakeDiscord } from '../test/fakes/discord/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../test/fakes/telegram/server.ts';
import { cleanupMedia, testBinaries } from '../test/helpers/media.ts';
import { ClipFactory } from './soak/clips.ts';
import { DiscordUsers } from './soak/discord.ts';
import { type JobRow, type LeftFiles, leftFiles } from './soak/files.ts';
import { PHASES, type Phase, type PhaseEvent, PhaseWatcher } from './soak/phases.ts';
import type { Platform, PlatformReport } from './soak/platform.ts';
import { Rng, ServiceProcess } from './soak/service.ts';
import { TelegramUsers } from './soak/telegram.ts';
import { billed, type Kill, traceDashScope } from './soak/trace.ts';

/** How long a DashScope task runs at the fake (plus 100 ms pending); the service's estimate matches it. */
const TASK_MS = 1_200;
/** A user sends no new clip while this many of theirs are unfinished (younger than OPEN_MAX_AGE_MS). */
const MAX_OPEN_PER_USER = 2;
const OPEN_MAX_AGE_MS = 45_000;
const READY_TIMEOUT_MS = 40_000;
/** After the last event the drain waits this long in quiet before it calls the service drained. */
const QUIET_MS = 3_000;
const STUCK_QUIET_MS = 25_000;
/** How long after the event of its phase a kill lands: [min, max] ms. */
const KILL_DELAY_MS: Record<Exclude<Phase, 'startup' | 'random'>, readonly [number, number]> = {
  ack: [0, 150],
  download: [0, 25],
  probe: [40, 400],
  queue: [0, 200],
  submit: [0, 120],
  poll: [0, 300],
  fetch: [0, 30],
  deliver: [0, 30],
  final: [0, 150],
};
/** Environment variables of the service that must never leak in from the caller's shell. */
const SERVICE_ENV =
  /^(TELEGRAM_|DISCORD_|DASHSCOPE_|RESTYLE_|QUEUE_|RESULT_CACHE|STORE_URL|LOG_LEVEL|FFMPEG_PATH|FFPROBE_PATH)/;

interface Options {
  readonly platform: 'telegram' | 'discord' | 'both' | undefined;
  readonly kills: number;
  readonly users: number;
  readonly seed: number;
  readonly intervalSec: number;
  readonly drainSec: number;
  readonly maxRunSec: number;
  readonly json: boolean;
  readonly strict: boolean;
  readonly keep: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      platform: { type: 'string' },
      kills: { type: 'string', default: '50' },
      users: { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      'interval-sec': { type: 'string', default: '12' },
      'drain-sec': { type: 'string', default: '120' },
      'max-run-sec': { type: 'string', default: '500' },
      json: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const platform = values.platform;
  if (platform !== undefined && !['telegram', 'discord', 'both'].includes(platform)) {
    throw new Error(`--platform must be telegram, discord or both (got ${platform})`);
  }
  const positive = (name: string, text: string | undefined, min = 1): number => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min} (got ${text})`);
    return n;
  };
  return {
    platform: platform as Options['platform'],
    kills: Math.floor(positive('kills', values.kills, 0)),
    users: Math.floor(positive('users', values.users)),
    seed: Math.floor(positive('seed', values.seed, 0)),
    intervalSec: positive('interval-sec', values['interval-sec']),
    drainSec: positive('drain-sec', values['drain-sec']),
    maxRunSec: positive('max-run-sec', values['max-run-sec']),
    json: values.json ?? false,
    strict: values.strict ?? false,
    keep: values.keep ?? false,
  };
}

/** Progress on stderr, so stdout keeps only the report (or the JSON). */
function note(text: string): void {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** Users sending clips on every platform: each at random intervals, while sending is on. */
class Traffic {
  sending = true;
  private stopped = false;
  private readonly nextAt: number[][];
  private readonly busy = new Set<string>();
  private loop: Promise<void> | undefined;
  sent = 0;

  constructor(
    private readonly platforms: readonly Platform[],
    private readonly rng: Rng,
    private readonly meanIntervalMs: number,
    private readonly maxClips: number,
  ) {
    this.nextAt = platforms.map((p) => Array.from({ length: p.users }, () => 0));
  }

  start(): void {
    if (this.loop) return;
    const now = Date.now();
    // Spread the first clips over one interval.
    for (const row of this.nextAt) for (let i = 0; i < row.length; i++) row[i] = now + this.interval() / 2;
    this.loop = this.run();
  }

  private interval(): number {
    return this.meanIntervalMs * this.rng.between(0.5, 1.5);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      for (const [p, platform] of this.platforms.entries()) {
        platform.tick(this.rng);
        if (!this.sending) continue;
        for (let u = 0; u < platform.users; u++) {
          const key = `${p}:${u}`;
          if (this.busy.has(key) || now < this.nextAt[p]![u]! || this.sent >= this.maxClips) continue;
          this.nextAt[p]![u] = now + this.interval();
          if (platform.open(u, OPEN_MAX_AGE_MS) >= MAX_OPEN_PER_USER) continue;
          this.busy.add(key);
          this.sent += 1;
          void platform
            .send(u, this.rng)
            .catch((error: unknown) => note(`a ${platform.name} user could not send: ${String(error)}`))
            .finally(() => this.busy.delete(key));
        }
      }
      await delay(100);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    while (this.busy.size > 0) await delay(20);
  }
}

/** Readiness as the fakes see it: a long poll (Telegram) and a gateway session (Discord) of this run. */
function isReady(
  startedAt: number,
  telegram: FakeTelegram | undefined,
  discord: FakeDiscord | undefined,
  from: { tg: number },
): boolean {
  let telegramReady = telegram === undefined;
  if (telegram) {
    for (; from.tg < telegram.calls.length; from.tg++) {
      const call = telegram.calls[from.tg]!;
      if (call.method === 'getUpdates' && call.at >= startedAt) {
        telegramReady = true;
        break;
      }
    }
  }
  const discordReady =
    discord === undefined ||
    discord.gateway.connections.some(
      (c) => c.openedAt >= startedAt && c.sessionId !== undefined && !c.closed,
    );
  return telegramReady && discordReady;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    )
    .join('\n');
}

async function main(): Promise<number> {
  const opts = options();
  const runStartedAt = Date.now();
  const rngKills = new Rng(opts.seed);
  const rngUsers = new Rng(opts.seed + 0x5eed);
  const dir = await mkdtemp(join(tmpdir(), 'restyle-soak-'));
  const dataDir = join(dir, 'data');
  const workDir = join(dir, 'work');
  await mkdir(workDir, { recursive: true });
  const clips = new ClipFactory(join(dir, 'clips'));
  let telegram: FakeTelegram | undefined;
  let discord: FakeDiscord | undefined;
  let dashscope: FakeDashScope | undefined;
  let service: ServiceProcess | undefined;
  let traffic: Traffic | undefined;
  try {
    const wantTelegram = opts.platform !== 'discord';
    const wantDiscord = opts.platform !== 'telegram';
    [dashscope, telegram, discord] = await Promise.all([
      startFakeDashScope({ render: false, pendingMs: 100, runningMs: TASK_MS }),
      wantTelegram ? startFakeTelegram() : undefined,
      // Every start identifies anew (a SIGKILLed process cannot resume): no 5 s identify window,
      // and dead sessions stop collecting events after 5 s.
      wantDiscord ? startFakeDiscord({ identifyWindowMs: 0, resumeWindowMs: 5_000 }) : undefined,
      clips.prepare(),
    ]);
    const binaries = testBinaries();
    const baseEnv = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !SERVICE_ENV.test(key)),
    ) as Record<string, string>;
    const env: Record<string, string> = {
      ...baseEnv,
      DASHSCOPE_API_KEY: 'sk-test-key',
      DASHSCOPE_BASE_URL: dashscope.baseUrl,
      DASHSCOPE_SEC_PER_VIDEO_SEC: '0.7',
      DASHSCOPE_TASK_OVERHEAD_SEC: '0.6',
      STORE_URL: `sqlite://${join(dir, 'restyle.sqlite')}`,
      RESTYLE_DATA_DIR: dataDir,
      RESTYLE_WORK_DIR: workDir,
      QUEUE_MAX_WAITING_PER_USER: String(MAX_OPEN_PER_USER + 1),
      FFMPEG_PATH: binaries.ffmpeg,
      FFPROBE_PATH: binaries.ffprobe,
      LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'info',
      ...(telegram
        ? {
            TELEGRAM_BOT_TOKEN: telegram.token,
            TELEGRAM_API_ROOT: telegram.apiRoot,
            TELEGRAM_API_LIMITS: 'cloud',
            TELEGRAM_STATUS_INTERVAL_MS: '1000',
          }
        : {}),
    };
    let guild: ReturnType<FakeDiscord['guild']> | undefined;
    if (discord) {
      guild = discord.guild({ name: 'Soak' });
      const register = new ServiceProcess(
        { ...env, DISCORD_TOKEN: discord.token, DISCORD_API_ROOT: discord.apiRoot },
        join(dir, 'register.log'),
      );
      try {
        await register.cli(['discord', 'register', '--guild', guild.id]);
        Object.assign(env, {
          DISCORD_TOKEN: discord.token,
          DISCORD_API_ROOT: discord.apiRoot,
          DISCORD_STATUS_INTERVAL_MS: '1000',
        });
      } catch (error) {
        if (opts.platform === 'discord' || opts.platform === 'both') throw error;
        note(`Discord left out: registering its commands failed (${String(error).split('\n')[0]})`);
        await discord.close();
        discord = undefined;
      } finally {
        await register.close();
      }
    }
    let nextId = 0;
    const platforms: Platform[] = [];
    if (telegram) platforms.push(new TelegramUsers(telegram, clips, () => ++nextId, opts.users));
    if (discord && guild) {
      const channel = discord.textChannel(guild, { name: 'clips' });
      platforms.push(new DiscordUsers(discord, guild, channel, clips, () => ++nextId, opts.users));
    }
    const usersTotal = platforms.reduce((n, p) => n + p.users, 0);
    note(
      `platforms: ${platforms.map((p) => p.name).join(' + ')}; ${opts.users} users each; ${opts.kills} kills; seed ${opts.seed}; files in ${dir}`,
    );
    service = new ServiceProcess(env, join(dir, 'service.log'));
    const watcher = new PhaseWatcher({ telegram, discord, dashscope });
    traffic = new Traffic(platforms, rngUsers, opts.intervalSec * 1000, 40 * opts.kills + 100);
    const kills: Kill[] = [];
    let selfExits = 0;
    let notReady = 0;
    const runDeadline = runStartedAt + opts.maxRunSec * 1000;
    let plan: Phase[] = [];

    const waitReady = async (startedAt: number, untilMs: number): Promise<number | undefined> => {
      const from = { tg: 0 };
      if (telegram) from.tg = Math.max(0, telegram.calls.length - 50);
      while (Date.now() < untilMs) {
        watcher.poll();
        if (service!.died) return undefined;
        if (isReady(startedAt, telegram, discord, from)) return Date.now();
        await delay(10);
      }
      return undefined;
    };

    for (let n = 1; n <= opts.kills && Date.now() < runDeadline; n++) {
      if (plan.length === 0) plan = rngKills.shuffle(PHASES);
      const target = plan.pop()!;
      const startedAt = service.start();
      watcher.poll();
      let readyAt: number | undefined;
      let trigger: string;
      let killAt: number;
      if (target === 'startup') {
        killAt = startedAt + rngKills.between(300, 2_500);
        readyAt = await waitReady(startedAt, killAt);
        trigger = `${Math.round(killAt - startedAt)} ms after the start${readyAt ? ' (ready)' : ''}`;
      } else {
        readyAt = await waitReady(startedAt, startedAt + READY_TIMEOUT_MS);
        if (readyAt === undefined) {
          notReady += 1;
          note(`start #${service.starts} did not get ready${service.died ? ' (it exited)' : ''}`);
        }
        traffic.start();
        const readyOrNow = readyAt ?? Date.now();
        const maxUptime = readyOrNow + rngKills.between(1_000, 6_000);
        killAt = maxUptime;
        trigger = `no ${target} event within ${Math.round(maxUptime - readyOrNow)} ms`;
        if (target === 'random') {
          killAt = readyOrNow + rngKills.between(200, maxUptime - readyOrNow);
          trigger = `${Math.round(killAt - readyOrNow)} ms after ready`;
        } else {
          const wanted = target === 'probe' ? 'download' : target;
          let event: PhaseEvent | undefined;
          while (!event && Date.now() < maxUptime && !service.died) {
            event = watcher.poll().find((e) => e.phase === wanted);
            if (!event) await delay(5);
          }
          if (event) {
            const [min, max] = KILL_DELAY_MS[target];
            const wait = rngKills.between(min, max);
            killAt = Date.now() + wait;
            trigger = `${event.what} (+${Math.round(wait)} ms)`;
          }
        }
      }
      while (Date.now() < killAt) {
        watcher.poll();
        await delay(Math.min(5, Math.max(0, killAt - Date.now())));
      }
      if (service.died) selfExits += 1;
      await service.kill();
      kills.push({ n, startedAt, readyAt, at: Date.now(), target, trigger });
      note(
        `kill ${n}/${opts.kills} [${target}] ${trigger}; up ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
      );
      // Down for a while; users go on sending (Telegram keeps their updates, Discord fails theirs).
      const downUntil = Date.now() + rngKills.between(200, 1_500);
      while (Date.now() < downUntil) {
        watcher.poll();
        await delay(20);
      }
    }

    // The last run: no new clips, but users still tap and pick; it runs until drained.
    traffic.sending = false;
    const drainStartedAt = service.start();
    traffic.start();
    const readyAt = await waitReady(drainStartedAt, drainStartedAt + READY_TIMEOUT_MS);
    if (readyAt === undefined) notReady += 1;
    for (const platform of platforms) platform.draining();
    note(`draining (at most ${opts.drainSec} s)…`);
    const drainDeadline = drainStartedAt + opts.drainSec * 1000;
    let lastActivity = watcher.activity;
    let lastChangeAt = Date.now();
    let drainEnd = 'time limit';
    while (Date.now() < drainDeadline) {
      await delay(250);
      watcher.poll();
      if (watcher.activity !== lastActivity) {
        lastActivity = watcher.activity;
        lastChangeAt = Date.now();
      }
      const quietMs = Date.now() - lastChangeAt;
      const tasksActive = [...dashscope.tasks.values()].some(
        (t) => t.status === 'PENDING' || t.status === 'RUNNING',
      );
      if (quietMs > QUIET_MS && !tasksActive && platforms.every((p) => p.allEnded())) {
        drainEnd = 'every acknowledged clip ended';
        break;
      }
      if (quietMs > STUCK_QUIET_MS && !tasksActive) {
        drainEnd = `no activity for ${STUCK_QUIET_MS / 1000} s`;
        break;
      }
    }
    const drainMs = Date.now() - drainStartedAt;
    note(`drain ended after ${(drainMs / 1000).toFixed(1)} s: ${drainEnd}`);
    await traffic.stop();
    const exitCode = await service.stop();
    let unfinished: JobRow[] = [];
    let jobsError: string | undefined;
    try {
      unfinished = JSON.parse(await service.cli(['jobs', '--json'])) as JobRow[];
    } catch (error) {
      jobsError = String(error).split('\n')[0];
    }

    // ---- analysis ----
    const trace = await traceDashScope(dashscope, clips);
    const context = { clips, dashscope: trace, kills };
    const reports: PlatformReport[] = [];
    for (const platform of platforms) reports.push(await platform.analyze(context));
    const files: LeftFiles = await leftFiles(dataDir, workDir, unfinished, clips);
    const runMs = Date.now() - runStartedAt;
    const byTarget = new Map<string, { kills: number; onEvent: number }>();
    for (const kill of kills) {
      const row = byTarget.get(kill.target) ?? { kills: 0, onEvent: 0 };
      row.kills += 1;
      if (!kill.trigger.startsWith('no ')) row.onEvent += 1;
      byTarget.set(kill.target, row);
    }
    const billedTasks = [...trace.tasksOf.values()].reduce((n, tasks) => n + billed(tasks).length, 0);
    const summary = {
      seed: opts.seed,
      platforms: platforms.map((p) => p.name),
      usersPerPlatform: opts.users,
      kills: kills.length,
      killsByPhase: Object.fromEntries(byTarget),
      startsNotReady: notReady,
      selfExits,
      runSec: Math.round(runMs / 100) / 10,
      drainSec: Math.round(drainMs / 100) / 10,
      drainEnd,
      finalStopExitCode: exitCode,
      clipsSent: traffic.sent,
      dashscope: {
        submitsAccepted: trace.submitsAccepted,
        submits429: trace.submits429,
        tasks: dashscope.tasks.size,
        tasksBilled: billedTasks,
        tasksUntraced: trace.untraced.length,
      },
      unfinishedJobs: jobsError
        ? { error: jobsError }
        : unfinished.map((j) => ({ id: j.id, state: j.state })),
      files: {
        orphaned: files.orphaned.length,
        orphanedBytes: files.orphaned.reduce((n, f) => n + f.bytes, 0),
        orphanedPaths: files.orphaned.map(
          (f) => `${f.path.slice(dir.length + 1)}${f.requestId === undefined ? '' : ` (#${f.requestId})`}`,
        ),
        keptClips: files.keptClips,
        leftoverWorkDirs: files.leftoverWorkDirs,
        live: files.live,
      },
      perPlatform: Object.fromEntries(reports.map((r) => [r.platform, r])),
      killLog: kills.map(
        (k) => `#${k.n} ${k.target}: ${k.trigger}; up ${((k.at - k.startedAt) / 1000).toFixed(1)} s`,
      ),
    };

    // ---- report ----
    const out = opts.json ? process.stderr : process.stdout;
    const print = (text = '') => out.write(`${text}\n`);
    const rows: string[][] = [['', ...reports.map((r) => r.platform)]];
    const row = (label: string, value: (r: PlatformReport) => number | string) =>
      rows.push([label, ...reports.map((r) => String(value(r)))]);
    row('clips sent', (r) => r.clipsSent);
    if (reports.some((r) => r.platform === 'discord'))
      row('  interaction tries failed (bot down)', (r) => r.notDelivered);
    row('  never answered', (r) => r.neverAnswered);
    row('acknowledged', (r) => r.acknowledged);
    row('  delivered (video)', (r) => r.delivered);
    row('  ended ❌ failed / 🚫 canceled', (r) => `${r.endedFailed} / ${r.endedCanceled}`);
    row('  ended "send it again" / refused', (r) => `${r.endedResend} / ${r.endedRefused}`);
    row('LOST', (r) => r.lost);
    row('DUPLICATED', (r) => r.duplicated);
    row('DOUBLE-BILLED', (r) => r.doubleBilled);
    row('STALE status', (r) => r.stale);
    row('videos delivered', (r) => r.videos);
    row('DashScope tasks accepted', (r) => r.submitsAccepted);
    print();
    print(
      `Crash soak: ${kills.length} SIGKILLs (seed ${opts.seed}), ${platforms.map((p) => p.name).join(' + ')}, ${usersTotal} users, run ${(runMs / 1000).toFixed(0)} s (drain ${(drainMs / 1000).toFixed(0)} s: ${drainEnd})`,
    );
    print();
    print(table(rows));
    print();
    print(
      `DashScope: ${trace.submitsAccepted} submits accepted (${trace.submits429} answered 429), ${billedTasks} tasks billed, ${trace.untraced.length} untraced`,
    );
    print(
      `Files left: ${files.orphaned.length} orphaned (${(summary.files.orphanedBytes / 1000).toFixed(0)} kB), ${files.leftoverWorkDirs} leftover work dirs, ${files.keptClips} Discord clips kept by design, ${files.live} needed by unfinished jobs`,
    );
    for (const file of files.orphaned.slice(0, 12)) {
      const owner =
        file.requestId === undefined ? 'no marker: partial or temp file' : `request #${file.requestId}`;
      print(`  orphaned ${file.path.slice(dir.length + 1)} (${owner})`);
    }
    if (files.orphaned.length > 12) print(`  … and ${files.orphaned.length - 12} more (see --json)`);
    print(
      `Unfinished jobs in the store after the drain: ${jobsError ? `unknown (${jobsError})` : unfinished.length}${selfExits ? `; the service exited by itself ${selfExits}×` : ''}${notReady ? `; ${notReady} starts never got ready` : ''}`,
    );
    print(
      `Kills by phase (on its event / all): ${[...byTarget.entries()].map(([phase, r]) => `${phase} ${r.onEvent}/${r.kills}`).join(', ')}`,
    );
    for (const report of reports) {
      if (report.defects.length === 0 && report.neverAnsweredDetails.length === 0) continue;
      print();
      print(`${report.platform}: defects`);
      for (const defect of report.defects.slice(0, 25)) {
        print(`  #${defect.id} ${defect.kind}: ${defect.problems.join('; ')}`);
        print(`      status "${defect.lastStatus}" — ${defect.where}`);
      }
      if (report.defects.length > 25) print(`  … and ${report.defects.length - 25} more (see --json)`);
      for (const line of report.neverAnsweredDetails.slice(0, 10)) print(`  never answered ${line}`);
    }
    if (opts.keep) print(`\nKept: ${dir} (service.log holds every run's output)`);
    if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    const bad = reports.reduce((n, r) => n + r.lost + r.duplicated + r.doubleBilled + r.stale, 0);
    return opts.strict && bad > 0 ? 1 : 0;
  } finally {
    await traffic?.stop();
    await service?.close();
    await Promise.all([telegram?.close(), discord?.close(), dashscope?.close()]);
    await cleanupMedia();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  note(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
}
