import { inlineParameters } from '../../src/db/tenant-scope';

describe('inlineParameters (statements of one tick sent together in the simple protocol)', () => {
  test('every value becomes a quoted literal or NULL, arrays an array literal', () => {
    expect(
      inlineParameters('SELECT * FROM t WHERE org_id = $1 AND id = ANY($2::uuid[]) AND ($3::uuid IS NULL) LIMIT $4', [
        'org',
        ['a', 'b"c', 'd\\e'],
        null,
        21,
      ]),
    ).toBe(
      // pg's escapeLiteral: backslashes doubled and an E prefix (with its leading space).
      `SELECT * FROM t WHERE org_id = 'org' AND id = ANY( E'{"a","b\\\\"c","d\\\\\\\\e"}'::uuid[]) AND (NULL::uuid IS NULL) LIMIT '21'`,
    );
  });

  test('quotes in values are escaped, $10 is not $1 followed by 0', () => {
    const params = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
    params[0] = "x' OR '1'='1";
    expect(inlineParameters('SELECT $1, $10', params)).toBe(`SELECT 'x'' OR ''1''=''1', 'v10'`);
  });

  test('double-quoted identifiers (TypeORM quotes every column) are fine when they hold no $ and no quote', () => {
    expect(inlineParameters('INSERT INTO "components"("org_id", "name") VALUES ($1, $2) RETURNING *', ['o', 'n'])).toBe(
      `INSERT INTO "components"("org_id", "name") VALUES ('o', 'n') RETURNING *`,
    );
    expect(inlineParameters('SELECT "$1" FROM t WHERE a = $1', ['a'])).toBeNull();
    expect(inlineParameters('SELECT "a""b" FROM t WHERE a = $1', ['a'])).toBe(`SELECT "a""b" FROM t WHERE a = 'a'`);
    expect(inlineParameters('SELECT "a FROM t WHERE a = $1', ['a'])).toBeNull();
    expect(inlineParameters(`SELECT "a" FROM t WHERE a = '$1'`, ['a'])).toBeNull();
  });

  test('refuses what it cannot inline with certainty: the statement then goes alone, parameters apart', () => {
    expect(inlineParameters(`SELECT '$1'`, ['a'])).toBeNull();
    expect(inlineParameters('SELECT $1 -- $2', ['a', 'b'])).toBeNull();
    expect(inlineParameters('SELECT 1; SELECT $1', ['a'])).toBeNull();
    expect(inlineParameters('SELECT $1', ['a\0b'])).toBeNull();
    expect(inlineParameters('SELECT $1', [new Date()])).toBeNull();
    expect(inlineParameters('SELECT $1', [{ a: 1 }])).toBeNull();
    expect(inlineParameters('SELECT $2', ['a'])).toBeNull();
  });
});
