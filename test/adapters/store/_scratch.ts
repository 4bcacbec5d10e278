import { createJobStore } from '../../../src/adapters/store/create-store.ts';

for (const url of ['sqlite:///etc/hostname/x.sqlite', 'sqlite://', 'sqlite:///etc/hostname']) {
  const t = performance.now();
  try {
    await createJobStore(url);
    console.log('opened?!', url);
  } catch (e) {
    console.log((performance.now() - t).toFixed(0), 'ms', (e as Error).message, (e as any).code);
  }
}
