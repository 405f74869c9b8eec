import {
  DirectiveLocation,
  GraphQLDirective,
  GraphQLList,
  GraphQLNonNull,
  GraphQLString,
  defaultFieldResolver,
  getNamedType,
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

interface FieldRule {
  authenticated: boolean;
  scopeRules: ScopeRule[];
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

  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig: GraphQLFieldConfig<unknown, GatewayContext>, fieldName, typeName) => {
      const parent = schema.getType(typeName)!;
      const rule = merge(rulesOf(schema, fieldConfig), typeRule(parent), typeRule(getNamedType(fieldConfig.type)));
      if (rootTypes.has(typeName) && !rule.authenticated) {
        throw new Error(`${typeName}.${fieldName} has neither @authenticated nor @requiresScopes`);
      }
      if (!rule.authenticated) return fieldConfig;
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      return {
        ...fieldConfig,
        resolve(source, args, context, info) {
          // The effective scopes of the request (token scopes within the caller's role), never the raw token's.
          const scopes = context.request?.scopes;
          if (!context.principal || !scopes) throw unauthenticated();
          for (const scopeRule of rule.scopeRules) {
            if (!scopeRule.some((all) => all.every((scope) => scopes.has(scope)))) {
              throw forbidden(`${info.parentType.name}.${info.fieldName} requires scope ${describe(scopeRule)}`);
            }
          }
          return resolve(source, args, context, info);
        },
      };
    },
  });
}
