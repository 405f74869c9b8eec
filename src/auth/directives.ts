import {
  DirectiveLocation,
  GraphQLDirective,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  defaultFieldResolver,
  getNamedType,
  isAbstractType,
  isObjectType,
  type GraphQLFieldConfig,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { MapperKind, getDirective, mapSchema } from '@graphql-tools/utils';
import { forbidden, unauthenticated } from '../graphql/errors';
import type { GatewayContext } from '../graphql/context';
import { isScope } from './scopes';

/**
 * Authorization is declared in the schema, with Apollo Router's conventions, and enforced here by one
 * schema transform (never by checks copied into resolvers):
 *
 *   @authenticated                       the caller must present a verified token (with an org claim)
 *   @requiresScopes(scopes: [["a","b"],["c"]])   (a AND b) OR c; implies @authenticated
 *
 * On a field it guards that field; on an object type it guards every field of the type and every field
 * that returns the type. Root fields (Query/Mutation) without either directive make the build fail, so
 * a new operation cannot ship unguarded by accident.
 */
export const authenticatedDirective = new GraphQLDirective({
  name: 'authenticated',
  description: 'The caller must present a verified token issued for an organization.',
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT],
});

export const requiresScopesDirective = new GraphQLDirective({
  name: 'requiresScopes',
  description: 'The token must carry every scope of at least one inner list (outer list OR, inner list AND).',
  locations: [DirectiveLocation.FIELD_DEFINITION, DirectiveLocation.OBJECT],
  args: {
    scopes: {
      type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(GraphQLString))))),
    },
  },
});

export const AUTH_DIRECTIVES = [authenticatedDirective, requiresScopesDirective];

/** Alternatives of scope sets: satisfied when the caller holds every scope of at least one alternative. */
type ScopeRule = string[][];

export interface FieldRule {
  authenticated: boolean;
  scopeRules: ScopeRule[];
}

/**
 * The rule a field's guard enforces (its own, its parent type's and its returned type's, merged), kept on
 * the field's `extensions.authRule` for every field of an object type, wrapped or not: the compiled read
 * path (src/graphql/sql-plan) checks exactly these with `ruleRefusal`, as the guard does.
 */
export function authRuleOf(field: { extensions?: Readonly<Record<string, unknown>> | null }): FieldRule | undefined {
  return field.extensions?.authRule as FieldRule | undefined;
}

/**
 * Why `scopes` (the request's effective scopes) fail `rule`, or null when they satisfy it: the one check
 * the field guard makes (after the principal check), shared with the compiled read path.
 */
export function ruleRefusal(rule: FieldRule, scopes: ReadonlySet<string>): string | null {
  for (const scopeRule of rule.scopeRules) {
    if (!scopeRule.some((all) => all.every((scope) => scopes.has(scope)))) return describe(scopeRule);
  }
  return null;
}

function rulesOf(schema: GraphQLSchema, node: Parameters<typeof getDirective>[1]): FieldRule {
  const authenticated = (getDirective(schema, node, authenticatedDirective.name) ?? []).length > 0;
  const scopeRules = (getDirective(schema, node, requiresScopesDirective.name) ?? []).map(
    (args) => args.scopes as ScopeRule,
  );
  for (const rule of scopeRules) {
    for (const scope of rule.flat()) {
      if (!isScope(scope)) throw new Error(`@requiresScopes names unknown scope "${scope}"`);
    }
  }
  return { authenticated, scopeRules };
}

function merge(...rules: FieldRule[]): FieldRule {
  return {
    authenticated: rules.some((r) => r.authenticated || r.scopeRules.length > 0),
    scopeRules: rules.flatMap((r) => r.scopeRules),
  };
}

function describe(rule: ScopeRule): string {
  return rule.map((all) => all.join(' + ')).join(' or ');
}

const hasRule = (rule: FieldRule) => rule.authenticated || rule.scopeRules.length > 0;

/**
 * Fields returning an abstract type whose resolver itself checks the concrete type's rule before it returns
 * an object of it (src/graphql/node.resolver.ts, requireReadScope: the type's @requiresScopes, before any
 * lookup; both fields are @authenticated themselves).
 */
const CHECKS_CONCRETE_TYPE_RULE = new Set(['Query.node', 'Query.nodes']);

export function applyAuthDirectives(schema: GraphQLSchema): GraphQLSchema {
  const rootTypes = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]
      .filter((t) => t)
      .map((t) => t!.name),
  );
  const typeRules = new Map<string, FieldRule>();
  const typeRule = (type: GraphQLNamedType): FieldRule => {
    if (!typeRules.has(type.name)) {
      typeRules.set(type.name, isObjectType(type) ? rulesOf(schema, type) : { authenticated: false, scopeRules: [] });
    }
    return typeRules.get(type.name)!;
  };

  // Object types an abstract field (interface or union) can return without checking their rule: their fields
  // keep their own check, since no field returning the type by name ran the type's rule before them.
  const reachedAbstractly = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const returned = getNamedType(field.type);
      if (!isAbstractType(returned) || CHECKS_CONCRETE_TYPE_RULE.has(`${type.name}.${field.name}`)) continue;
      for (const possible of schema.getPossibleTypes(returned)) reachedAbstractly.add(possible.name);
    }
  }

  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig: GraphQLFieldConfig<unknown, GatewayContext>, fieldName, typeName) => {
      const parent = schema.getType(typeName)!;
      const own = rulesOf(schema, fieldConfig);
      const returned = typeRule(getNamedType(fieldConfig.type));
      const rule = merge(own, typeRule(parent), returned);
      if (rootTypes.has(typeName) && !rule.authenticated) {
        throw new Error(`${typeName}.${fieldName} has neither @authenticated nor @requiresScopes`);
      }
      fieldConfig = { ...fieldConfig, extensions: { ...fieldConfig.extensions, authRule: rule } };
      if (!rule.authenticated) return fieldConfig;
      // Only the parent type's rule applies (no rule on the field, none on the type it returns): it was
      // already checked, with this request's same scopes, when the parent object was resolved, since every
      // field returning the type by name carries the type's rule (merged above) and node/nodes check it
      // (see above). Checking it again for every field of every object was ~5 % of W1's CPU and kept
      // property fields off graphql-js's default-resolver path, so such fields are left unwrapped. The
      // answer is the same: an object whose type's rule fails is never resolved, so its fields never run.
      if (!rootTypes.has(typeName) && !hasRule(own) && !hasRule(returned) && !reachedAbstractly.has(typeName)) {
        return fieldConfig;
      }
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      return {
        ...fieldConfig,
        resolve(source, args, context, info) {
          // The effective scopes of the request (token scopes within the caller's role), never the raw token's.
          const scopes = context.request?.scopes;
          if (!context.principal || !scopes) throw unauthenticated();
          const refused = ruleRefusal(rule, scopes);
          if (refused) throw forbidden(`${info.parentType.name}.${info.fieldName} requires scope ${refused}`);
          return resolve(source, args, context, info);
        },
      };
    },
  });
}
