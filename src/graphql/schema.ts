import {
  Kind,
  lexicographicSortSchema,
  print,
  specifiedDirectives,
  type DefinitionNode,
  type GraphQLSchema,
} from 'graphql';
import { astFromDirective, getDocumentNodeFromSchema } from '@graphql-tools/utils';
import { buildSchema } from 'type-graphql';
import { validateInput } from './validation';
import { guardInputs } from './input-safety';
import { DateTimeISO } from './scalars';
import { applyGlobalIds } from './node';
import { assertNoFieldResolverShadowsAColumn } from './column-fields';
import { NodeResolver } from './node.resolver';
import { AUTH_DIRECTIVES, applyAuthDirectives } from '../auth/directives';
import { mapDomainErrors } from './errors';
import { OrganizationResolver } from '../modules/organization/organization.resolver';
import { WorkspaceResolver } from '../modules/workspace/workspace.resolver';
import { EnvironmentResolver } from '../modules/environment/environment.resolver';
import { ComponentResolver } from '../modules/component/component.resolver';
import { AuditResolver } from '../modules/audit/audit.resolver';
import { OrganizationTracesResolver, TraceResolver } from '../modules/trace/trace.resolver';
import { ApiKeyResolver, OrganizationApiKeysResolver } from '../modules/api-key/api-key.resolver';
import { auditMutations } from '../modules/audit/audit.transform';
import { OrganizationSettingsResolver } from '../modules/organization-settings/settings.resolver';
import { EnvironmentCredentialsResolver } from '../modules/environment/credentials.resolver';
import { ConnectorResolver, WorkspaceConnectorsResolver } from '../modules/connector/connector.resolver';
import {
  MemberResolver,
  OrganizationMembersResolver,
  WorkspaceMembersResolver,
} from '../modules/member/member.resolver';
import {
  CreditAccountResolver,
  CreditUsageResolver,
  OrganizationBillingResolver,
} from '../modules/billing/billing.resolver';
import {
  ComponentDeploymentsResolver,
  DeploymentPromotionResolver,
  DeploymentRingResolver,
  RingDeploymentResolver,
  WorkspaceDeploymentRingsResolver,
} from '../modules/deployment/deployment.resolver';
import { LlmSettingsResolver, WorkspaceLlmSettingsResolver } from '../modules/llm/llm.resolver';

export const RESOLVERS = [
  NodeResolver,
  OrganizationResolver,
  OrganizationMembersResolver,
  OrganizationSettingsResolver,
  AuditResolver,
  TraceResolver,
  OrganizationTracesResolver,
  ApiKeyResolver,
  OrganizationApiKeysResolver,
  MemberResolver,
  WorkspaceResolver,
  WorkspaceMembersResolver,
  EnvironmentResolver,
  EnvironmentCredentialsResolver,
  ComponentResolver,
  ConnectorResolver,
  WorkspaceConnectorsResolver,
  OrganizationBillingResolver,
  CreditAccountResolver,
  CreditUsageResolver,
  DeploymentRingResolver,
  DeploymentPromotionResolver,
  RingDeploymentResolver,
  WorkspaceDeploymentRingsResolver,
  ComponentDeploymentsResolver,
  LlmSettingsResolver,
  WorkspaceLlmSettingsResolver,
] as const;

interface TypeGraphQLFieldMetadata {
  name: string;
  schemaName: string;
  simple?: boolean;
  middlewares?: unknown[];
  roles?: unknown[];
}

/**
 * Property fields resolve with graphql-js's default resolver. type-graphql otherwise gives every plain
 * `@Field()` property a resolver of its own (`(root, args, context, info) => applyMiddlewares(…, () =>
 * root[name])`), so graphql-js cannot take its default-resolver path and every wrapping transform sees a
 * resolver to wrap. type-graphql's documented switch is `simpleResolvers: true` per `@ObjectType` or
 * `simple: true` per `@Field`; this sets the latter once for every field where the two are the same thing:
 * no middlewares, no @Authorized roles (we use neither), and a schema name equal to the property name (the
 * default resolver reads `source[fieldName]`, type-graphql's `root[propertyName]`). Fields with a resolver
 * method (@FieldResolver, or @Field on a method) are not plain and keep theirs. type-graphql exports no
 * accessor for its metadata storage; it keeps it on `global.TypeGraphQLMetadataStorage`
 * (metadata/getMetadataStorage.js), read here, and the build fails if that ever moves.
 */
function preferDefaultResolvers(): void {
  const storage = (globalThis as { TypeGraphQLMetadataStorage?: { fields?: TypeGraphQLFieldMetadata[] } })
    .TypeGraphQLMetadataStorage;
  if (!storage?.fields) throw new Error('type-graphql metadata storage not found (global.TypeGraphQLMetadataStorage)');
  for (const field of storage.fields) {
    if (field.simple !== undefined || field.name !== field.schemaName) continue;
    if (field.middlewares?.length || field.roles?.length) continue;
    field.simple = true;
  }
}

/** The executable schema: type-graphql's build, then the auth directives turned into field guards. */
export async function buildGatewaySchema(): Promise<GraphQLSchema> {
  preferDefaultResolvers();
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    // type-graphql hands this list to GraphQLSchema as-is, which then *replaces* graphql-js's default
    // directives: without the specified ones, `@include`/`@skip` (sent by Apollo Client and Relay all the
    // time) were "Unknown directive" errors.
    directives: [...specifiedDirectives, ...AUTH_DIRECTIVES],
    // Our DateTimeISO carries @specifiedBy (src/graphql/scalars.ts); type-graphql's own does not.
    scalarsMap: [{ type: Date, scalar: DateTimeISO }],
    // class-validator and cross-field rules on every input, reported together (src/graphql/validation.ts).
    validateFn: validateInput,
  });
  assertNoFieldResolverShadowsAColumn();
  // type-graphql offers no description for the root types; they are plain GraphQLObjectTypes here.
  schema.getQueryType()!.description =
    'Reads. Every field needs a token (see @authenticated / @requiresScopes); ids are global ids (Node).';
  schema.getMutationType()!.description =
    'Changes. Each mutation runs in its own savepoint and is audited; a refused one answers null with an error and changes nothing.';
  // Outermost first at execution: auth (a refused field runs nothing) → the hostile-input guard on the
  // client's raw arguments (NUL, unpaired surrogates, id length, JSON depth) → global ids decoded into
  // stored ids → audit (records stored ids) → resolver.
  return mapDomainErrors(applyAuthDirectives(guardInputs(applyGlobalIds(auditMutations(schema)))));
}

/**
 * schema.graphql: sorted, with directive definitions and usages, so clients and reviewers see the rules.
 * printSchemaWithDirectives (like graphql-js's printSchema) leaves the specified directives out as
 * implicit; we print them too, so the file shows every directive the server accepts (`@include`, `@skip`,
 * `@deprecated`, `@specifiedBy`, `@oneOf` beside the auth directives). Tools that build a schema from
 * SDL (graphql-js buildASTSchema, codegen, graphql-inspector) accept explicit definitions of them.
 */
export function printGatewaySchema(schema: GraphQLSchema): string {
  const header = '# Generated from the code by `npm run schema`. Do not edit: a test fails when this drifts.\n\n';
  const document = getDocumentNodeFromSchema(lexicographicSortSchema(schema));
  const isDirective = (d: DefinitionNode) => d.kind === Kind.DIRECTIVE_DEFINITION;
  const directives = [
    ...specifiedDirectives.map((d) => astFromDirective(d)),
    ...document.definitions.filter(isDirective),
  ].sort((a, b) => a.name.value.localeCompare(b.name.value));
  const [schemaDefinitions, types] = [Kind.SCHEMA_DEFINITION, null].map((kind) =>
    document.definitions.filter((d) => !isDirective(d) && (kind ? d.kind === kind : d.kind !== Kind.SCHEMA_DEFINITION)),
  );
  return header + print({ ...document, definitions: [...schemaDefinitions, ...directives, ...types] }) + '\n';
}
