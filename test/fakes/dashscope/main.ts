import { type FakeOverrides, type LoggedRequest, startFakeDashScope } from './server.ts';

const HELP = `Fake DashScope (video-style-transform) for local development and tests.

Usage: npm run fake-dashscope [-- --help]

Environment:
  PORT                 port on 127.0.0.1 (default 8700; 0 picks a free one)
  FAKE_DASHSCOPE_KEYS  comma-separated API keys it accepts (default sk-test-key)
  FAKE_PENDING_MS      how long a task stays PENDING (default 200)
  FAKE_RUNNING_MS      least time a task stays RUNNING (default 300 + 100 per input second)
  FAKE_RENDER          0 to return the input unchanged instead of restyling it with ffmpeg

It serves the submit, task query, cancel, list and upload-policy endpoints, a fake OSS upload
host at /__oss and the results at /__outputs/<task>.mp4. Stop it with Ctrl-C.
`;

function numberFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} must be a non-negative number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

function describe(entry: LoggedRequest): string {
  const extra = [entry.code, entry.taskId && `task=${entry.taskId}`].filter(Boolean).join(' ');
  return `${new Date(entry.at).toISOString()} ${entry.method} ${entry.path} → ${entry.status}${extra ? ` ${extra}` : ''}`;
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}

const options: FakeOverrides = {
  port: numberFromEnv('PORT') ?? 8700,
  onRequest: (entry) => console.log(describe(entry)),
};
const keys = process.env.FAKE_DASHSCOPE_KEYS?.split(',')
  .map((key) => key.trim())
  .filter(Boolean);
if (keys?.length) options.apiKeys = keys;
const pendingMs = numberFromEnv('FAKE_PENDING_MS');
if (pendingMs !== undefined) options.pendingMs = pendingMs;
const runningMs = numberFromEnv('FAKE_RUNNING_MS');
if (runningMs !== undefined) options.runningMs = runningMs;
if (process.env.FAKE_RENDER === '0') options.render = false;

const fake = await startFakeDashScope(options);
console.log(
  `Fake DashScope on ${fake.baseUrl} — set DASHSCOPE_BASE_URL to it and DASHSCOPE_API_KEY=${fake.options.apiKeys[0]}`,
);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping`);
  fake.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
