import { describe, expect, it } from 'vitest';
import { FairQueue } from '../../src/core/fairness.ts';

const job = (id: string, requesterKey: string) => ({ id, requesterKey });

function drain(queue: FairQueue<{ id: string; requesterKey: string }>): string[] {
  const order: string[] = [];
  for (let item = queue.shift(); item; item = queue.shift()) order.push(item.id);
  return order;
}

describe('fair queue', () => {
  it('serves a user with five clips after everyone else’s first', () => {
    const queue = new FairQueue();
    for (let n = 1; n <= 5; n++) queue.push(job(`eager-${n}`, 'eager'));
    queue.push(job('bob-1', 'bob'));
    queue.push(job('carol-1', 'carol'));
    queue.push(job('bob-2', 'bob'));
    expect(drain(queue)).toEqual([
      'eager-1',
      'bob-1',
      'carol-1',
      'eager-2',
      'bob-2',
      'eager-3',
      'eager-4',
      'eager-5',
    ]);
  });

  it('puts a requester that was just served behind those who were not', () => {
    const queue = new FairQueue();
    queue.push(job('a1', 'a'));
    queue.push(job('a2', 'a'));
    queue.push(job('b1', 'b'));
    expect(queue.shift()?.id).toBe('a1');
    queue.push(job('c1', 'c'));
    expect(drain(queue)).toEqual(['b1', 'c1', 'a2']);
  });

  it('remembers a requester served moments ago, even with nothing else waiting', () => {
    const queue = new FairQueue();
    queue.push(job('a1', 'a'));
    expect(queue.shift()?.id).toBe('a1');
    queue.push(job('a2', 'a'));
    queue.push(job('b1', 'b'));
    expect(drain(queue)).toEqual(['b1', 'a2']);
  });

  it('reports positions that match the serving order, after pushes, shifts and removals', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const queue = new FairQueue();
    let next = 0;
    for (let step = 0; step < 2_000; step++) {
      const roll = random();
      if (roll < 0.6) queue.push(job(`j${next++}`, `u${Math.floor(random() * 12)}`));
      else if (roll < 0.8) queue.shift();
      else {
        const ids = [...queue.inOrder()].map((item) => item.id);
        const victim = ids[Math.floor(random() * ids.length)];
        if (victim) expect(queue.remove(victim)?.id).toBe(victim);
      }
      if (step % 50 === 0) {
        const order = [...queue.inOrder()];
        order.forEach((item, index) => {
          expect(queue.position(item.id)).toBe(index + 1);
        });
        expect(queue.peek()?.id).toBe(order[0]?.id);
        expect(order).toHaveLength(queue.size);
      }
    }
  });

  it('counts per requester and forgets removed items', () => {
    const queue = new FairQueue();
    queue.push(job('a1', 'a'));
    queue.push(job('a2', 'a'));
    expect(queue.countFor('a')).toBe(2);
    expect(queue.remove('a1')?.id).toBe('a1');
    expect(queue.remove('a1')).toBeUndefined();
    expect(queue.position('a1')).toBeUndefined();
    expect(queue.position('a2')).toBe(1);
    expect(() => queue.push(job('a2', 'a'))).toThrow();
  });
});
