import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineScope, openScope, RecordError } from '../../src/core/records.ts';
import { MemoryJobStore } from '../fakes/memory-store.ts';

const CLIP = defineScope({
  name: 'test.clip',
  schema: z.object({ path: z.string(), sizeBytes: z.number().int().nonnegative() }),
  ttlMs: 60_000,
});

describe('record scopes', () => {
  it('round-trips a valid record under its scope prefix', async () => {
    const store = new MemoryJobStore();
    const clips = openScope(store, CLIP);
    await clips.set('a1', { path: '/tmp/a.mp4', sizeBytes: 10 });
    expect(await clips.get('a1')).toEqual({ path: '/tmp/a.mp4', sizeBytes: 10 });
    expect([...store.records.keys()]).toEqual(['test.clip:a1']);
    expect(store.records.get('test.clip:a1')!.expiresAtMs).toBeGreaterThan(Date.now());
  });

  it('rejects bad stored data with the scope, id and field instead of coercing it', async () => {
    const store = new MemoryJobStore();
    await store.setRecord('test.clip:b2', { path: '/tmp/b.mp4', sizeBytes: '12' });
    const clips = openScope(store, CLIP);
    const error = await clips.get('b2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordError);
    expect((error as Error).message).toMatch(/test\.clip record "b2".*sizeBytes/);
  });

  it('refuses to write a value that does not match the schema', async () => {
    const clips = openScope(new MemoryJobStore(), CLIP);
    await expect(clips.set('c3', { path: 7 } as never)).rejects.toBeInstanceOf(RecordError);
  });

  it('lists its own records only, reporting invalid ones', async () => {
    const store = new MemoryJobStore();
    const clips = openScope(store, CLIP);
    await clips.set('x', { path: '/x', sizeBytes: 1 });
    await clips.set('y', { path: '/y', sizeBytes: 2 });
    await store.setRecord('test.clip:bad', { nope: true });
    await store.setRecord('test.clipboard:z', { path: '/z', sizeBytes: 3 });
    const invalid: string[] = [];
    const listed = await clips.list((error) => invalid.push(error.id));
    expect(listed.map((r) => r.id).sort()).toEqual(['x', 'y']);
    expect(invalid).toEqual(['bad']);
    await clips.delete('x');
    expect(await clips.get('x')).toBeUndefined();
  });

  it('names must be plain prefixes', () => {
    expect(() => defineScope({ name: 'Bad:Name', schema: z.string(), ttlMs: undefined })).toThrow(/invalid/);
  });
});
