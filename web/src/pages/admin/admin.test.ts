import { describe, expect, it } from 'vitest';
import { grantable, roleRank } from './common';
import { auditQuery, rfc3339 } from './Audit';
import { expiryOf } from './ApiKeys';

describe('administration helpers', () => {
  it('grants at most the caller’s own role', () => {
    expect(grantable('admin')).toEqual(['viewer', 'editor', 'admin']);
    expect(grantable('owner')).toContain('owner');
    expect(grantable(null)).toEqual([]);
    expect(roleRank('viewer')).toBeLessThan(roleRank('editor'));
  });

  it('sends only the audit filters that are set, times in RFC 3339', () => {
    expect(auditQuery({ action: ' ', actor: '', since: '', until: '' }, null)).toEqual({ limit: 25 });
    const q = auditQuery({ action: 'login.failure', actor: 'u1', since: '2026-01-02T03:04', until: '' }, 'c9');
    expect(q).toMatchObject({ action: 'login.failure', actor: 'u1', cursor: 'c9' });
    expect(q.since).toBe(new Date('2026-01-02T03:04').toISOString());
    expect(rfc3339('')).toBeUndefined();
  });

  it('reads an expiry day as the end of that day, none as null', () => {
    expect(expiryOf('')).toBeNull();
    expect(expiryOf('2027-06-30')).toBe(new Date('2027-06-30T23:59:59').toISOString());
  });
});
