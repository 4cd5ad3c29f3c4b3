import { describe, expect, it } from 'vitest';
import { refreshDelayMs } from './session';

describe('refreshDelayMs', () => {
  it('refreshes a minute before a long-lived token expires', () => {
    expect(refreshDelayMs(900)).toBe(840_000);
  });
  it('refreshes at 80% of a short life, never sooner than 5 s', () => {
    expect(refreshDelayMs(100)).toBe(80_000);
    expect(refreshDelayMs(2)).toBe(5_000);
  });
});
