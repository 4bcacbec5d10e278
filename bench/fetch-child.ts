// Child process of the benchmark: downloads one URL with the project's downloader (or, with
// `--baseline`, only loads the same modules) and prints its peak RSS, so the figure is not
// polluted by the fake server or the benchmark harness.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpDownloader } from '../src/adapters/http/download.ts';

const [url, mode] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'restyle-bench-'));
let bytes = 0;
const startedMs = performance.now();
if (mode !== '--baseline' && url) {
  ({ bytes } = await new HttpDownloader().download(url, join(dir, 'result.mp4'), { maxBytes: 500_000_000 }));
}
const elapsedMs = performance.now() - startedMs;
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({ bytes, elapsedMs, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
);
