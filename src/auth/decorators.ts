import { Directive } from 'type-graphql';
import type { Scope } from './scopes';

/**
 * Typed authorization declarations. They emit exactly the SDL directives the schema transform
 * (auth/directives.ts) enforces, Apollo Router's `@authenticated` / `@requiresScopes`, but the scope names
 * are checked by the compiler against the catalogue (auth/scopes.ts): a misspelt scope fails `tsc`, not
 * only the schema build.
 *
 *   @Authenticated()                                  any verified token
 *   @RequiresScopes('workspaces:read')                 one scope
 *   @RequiresScopes('a', 'b')                          a AND b (one group)
 *   @RequiresScopes.anyOf(['a', 'b'], ['c'])           (a AND b) OR c
 *
 * Decision: the common case (every field today needs one scope) is the plain variadic form, and OR is
 * spelt out (`anyOf`) rather than inferred from argument shapes, so a reader never has to guess which.
 */
type AuthDecorator = ReturnType<typeof Directive>;

export function Authenticated(): AuthDecorator {
  return Directive('@authenticated');
}

function requiresScopes(groups: ReadonlyArray<readonly Scope[]>): AuthDecorator {
  if (groups.length === 0 || groups.some((group) => group.length === 0)) {
    throw new Error('@RequiresScopes needs at least one scope in every group');
  }
  return Directive(`@requiresScopes(scopes: ${JSON.stringify(groups)})`);
}

export function RequiresScopes(...allOf: [Scope, ...Scope[]]): AuthDecorator {
  return requiresScopes([allOf]);
}

RequiresScopes.anyOf = (...groups: Array<[Scope, ...Scope[]]>): AuthDecorator => requiresScopes(groups);

// The compiler is the first check: this line must keep failing to type-check (never called).
// @ts-expect-error 'workspace:read' is not in the scope catalogue
void (() => RequiresScopes('workspace:read'));
