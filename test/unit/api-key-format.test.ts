import { generateApiKey, hashSecret, parseApiKey, secretMatches } from '../../src/auth/api-key-format';

describe('API key format fl_<keyId>_<secret><checksum>', () => {
  test('a generated key parses back to its id and a secret matching the stored hash', () => {
    const key = generateApiKey();
    expect(key.value).toMatch(/^fl_[0-9A-Za-z]{16}_[0-9A-Za-z]{38}$/);
    const parsed = parseApiKey(key.value);
    expect(parsed).toEqual({ ok: true, keyId: key.keyId, secret: expect.any(String) });
    if (!parsed.ok) throw new Error('unreachable');
    expect(secretMatches(parsed.secret, key.secretHash)).toBe(true);
    expect(secretMatches(parsed.secret + 'x', key.secretHash)).toBe(false);
    expect(key.secretHash).toEqual(hashSecret(parsed.secret));
  });

  test('keys are random', () => {
    const values = new Set(Array.from({ length: 50 }, () => generateApiKey().value));
    expect(values.size).toBe(50);
  });

  test('surrounding whitespace is tolerated (pasted keys)', () => {
    const key = generateApiKey();
    expect(parseApiKey(` ${key.value}\n`).ok).toBe(true);
  });

  test('every single-character typo is caught by the checksum or the shape', () => {
    const { value } = generateApiKey();
    for (let i = 3; i < value.length; i++) {
      if (value[i] === '_') continue;
      const typo = value.slice(0, i) + (value[i] === 'a' ? 'b' : 'a') + value.slice(i + 1);
      expect(parseApiKey(typo)).toEqual({ ok: false, reason: 'checksum' });
    }
  });

  test.each([[undefined], [42], [''], ['fl_short'], ['gh_0123456789abcdef_0123456789abcdef0123456789abcdef012345']])(
    'malformed: %j',
    (value) => {
      expect(parseApiKey(value)).toEqual({ ok: false, reason: 'malformed' });
    },
  );

  test('truncated keys are malformed', () => {
    const { value } = generateApiKey();
    expect(parseApiKey(value.slice(0, -1))).toEqual({ ok: false, reason: 'malformed' });
  });
});
