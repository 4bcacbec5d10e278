#!/usr/bin/env node
// Entry point of the `restyle` command: runs the TypeScript sources through tsx's loader.
import { register } from 'tsx/esm/api';

// libuv's 4 threads serve SQLite, file copies, hashing and DNS alike: a burst of clips queued
// store reads behind file work (250 ms+ each). Set before the first use of the pool.
process.env.UV_THREADPOOL_SIZE ??= '16';
register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
