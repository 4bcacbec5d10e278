import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, secretsOf } from '../src/config.ts';
import { createLogger, redact } from '../src/logger.ts';

describe('configuration', () => {
  it('fills defaults around the one required key', () => {
    const config = loadConfig({ DASHSCOPE_API_KEY: 'key-123' });
    expect(config.DASHSCOPE_BASE_URL).toBe('https://dashscope.aliyuncs.com');
    expect(config.DASHSCOPE_WORKSPACE).toBeUndefined();
  });

  it('lists every problem at once and never echoes a secret', () => {
    let error: unknown;
    try {
      loadConfig({ DASHSCOPE_API_KEY: '   ', DASHSCOPE_BASE_URL: 'ftp://example', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems } = error as ConfigError;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toContain('DASHSCOPE_BASE_URL must be an http(s) URL (got "ftp://example")');
    expect(problems.join('\n')).toContain('DASHSCOPE_API_KEY is required');
    expect(problems.join('\n')).toContain('(value hidden)');
  });

  it('reads the S3 media settings, and hides their secret in problems and logs', () => {
    const config = loadConfig({
      DASHSCOPE_API_KEY: 'sk-one',
      MEDIA_S3_BUCKET: 'clips',
      MEDIA_S3_ENDPOINT: 'https://oss-cn-beijing.aliyuncs.com',
      MEDIA_S3_FORCE_PATH_STYLE: 'true',
      MEDIA_S3_SECRET_ACCESS_KEY: 'very-secret-value',
    });
    expect(config).toMatchObject({
      MEDIA_S3_BUCKET: 'clips',
      MEDIA_S3_FORCE_PATH_STYLE: true,
      MEDIA_S3_PREFIX: 'restyle/',
    });
    expect(secretsOf(config)).toEqual(['sk-one', 'very-secret-value']);
    expect(() => loadConfig({ DASHSCOPE_API_KEY: 'sk-one', MEDIA_S3_URL_TTL_SEC: '5' })).toThrow(
      'MEDIA_S3_URL_TTL_SEC must be a number from 60 to 604800',
    );
  });

  it('reads a pool of keys from the list and the file, in order and without repeats', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'restyle-config-'));
    try {
      const file = join(dir, 'keys.txt');
      await writeFile(file, '# the pool\nsk-three\n\n  sk-four  \nsk-one\n');
      const config = loadConfig({
        DASHSCOPE_API_KEY: 'sk-one',
        DASHSCOPE_API_KEYS: 'sk-two, sk-one,,sk-three',
        DASHSCOPE_API_KEYS_FILE: file,
      });
      expect(config.DASHSCOPE_KEYS).toEqual(['sk-one', 'sk-two', 'sk-three', 'sk-four']);
      expect(loadConfig({ DASHSCOPE_API_KEYS_FILE: file }).DASHSCOPE_KEYS).toEqual([
        'sk-three',
        'sk-four',
        'sk-one',
      ]);
      expect(() => loadConfig({ DASHSCOPE_API_KEYS_FILE: join(dir, 'missing.txt') })).toThrow(
        'DASHSCOPE_API_KEYS_FILE cannot be read (ENOENT)',
      );
      expect(() => loadConfig({ DASHSCOPE_API_KEYS: ' , ' })).toThrow('DASHSCOPE_API_KEY is required');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('redaction', () => {
  it('removes registered secrets and secret-shaped strings', () => {
    const text =
      'key my-very-secret-key, Bearer abc.def, https://api.telegram.org/file/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/v.mp4, sk-abcdef123456, https://cdn.example/x.mp4?ex=1&hm=abc';
    const out = redact(text, ['my-very-secret-key']);
    expect(out).not.toContain('my-very-secret-key');
    expect(out).not.toContain('abc.def');
    expect(out).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
    expect(out).not.toContain('abcdef123456');
    expect(out).toContain('hm=***');
  });

  it('redacts log lines, fields included', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      secrets: ['s3cr3t-value'],
      write: (line) => lines.push(line),
    });
    logger.info('calling with s3cr3t-value', { header: 'Bearer s3cr3t-value' });
    expect(lines.join('\n')).not.toContain('s3cr3t-value');
  });
});
