import { createJobId, isAuthenticJobId } from '../../lambda/src/jobs/job-id';

const key = 'k'.repeat(40);

describe('job ids', () => {
  it('are 43 url-safe characters that verify with the key that signed them', () => {
    const id = createJobId(key);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isAuthenticJobId(id, key)).toBe(true);
    expect(isAuthenticJobId(id, 'x'.repeat(40))).toBe(false);
  });

  it('never repeat', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => createJobId(key)));
    expect(ids.size).toBe(10_000);
  });

  it('refuse any single-character edit', () => {
    const id = createJobId(key);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let accepted = 0;
    for (let position = 0; position < id.length; position++) {
      for (const character of alphabet) {
        if (character === id[position]) continue;
        const edited = id.slice(0, position) + character + id.slice(position + 1);
        if (isAuthenticJobId(edited, key)) accepted++;
      }
    }
    expect(accepted).toBe(0);
  });

  it('refuse malformed input without throwing', () => {
    for (const bad of ['', 'abc', '../../etc/passwd', 'A'.repeat(43), 'A'.repeat(44), '%00', '\u0000'.repeat(43), '🙂'.repeat(20)]) {
      expect(isAuthenticJobId(bad, key)).toBe(false);
    }
  });
});
