import {
  GraphQLError,
  defaultFieldResolver,
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  type GraphQLArgumentConfig,
  type GraphQLFieldConfig,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { Field, ID, InterfaceType } from 'type-graphql';
import { isUuid } from '../db/tenant-scope';
import { notFound, toGraphQLError } from './errors';
import { DomainError } from '../errors';

/**
 * Global object identification (the Relay "Node" convention, as GitHub's and Shopify's APIs do it).
 *
 * Every object with an identity of its own implements `Node`; its `id` is a *global id*: the base64url
 * encoding (RFC 4648 §5, no padding) of `<TypeName>:<uuid>`, e.g. `Workspace:0199…` →
 * `V29ya3NwYWNlOjAxOTk…`. Clients must treat it as opaque. The type name inside makes `node(id:)` possible
 * and makes every id unique across types; the UUID is the stored key, so nothing is stored twice.
 *
 * Decisions:
 * - The `id` field and every field that refers to a node (`workspaceId`, `environmentId`, `componentId`,
 *   `ringId`, `toRingId`, `fromRingId`, `rotatedTo`, the `ID` that a delete mutation returns) carry global
 *   ids, so any id a client reads can be passed back.
 * - Every id argument and id input field takes global ids only (not the raw UUIDs the CLI and the
 *   platform API print): one form per API, as in GitHub's v4 API.
 * - An id that does not decode, or names another type than the argument expects, answers exactly as an
 *   id that never existed: `NOT_FOUND` on the existing fields, `null` from `node`/`nodes`. Another
 *   organization's id decodes but is invisible under row-level security, so it too answers NOT_FOUND/null.
 * - Member `userId`s are the identity provider's subjects, not our objects: they stay as they are.
 *
 * The encoding and decoding happen once, in a schema transform (applyGlobalIds), so services and
 * DataLoaders keep working with UUIDs. The transform refuses at build time an `ID` field or argument it
 * cannot classify, so a new one cannot silently leak a raw UUID.
 */
export const NODE_TYPES = [
  'ApiKey',
  'AuditEntry',
  'Component',
  'Connector',
  'CreditLedgerEntry',
  'DeploymentPromotion',
  'DeploymentRing',
  'Environment',
  'Organization',
  'ProductSubscription',
  'Workspace',
] as const;
export type NodeTypeName = (typeof NODE_TYPES)[number];

export function isNodeType(name: string): name is NodeTypeName {
  return (NODE_TYPES as readonly string[]).includes(name);
}

export function toGlobalId(type: NodeTypeName, id: string): string {
  return Buffer.from(`${type}:${id}`, 'utf8').toString('base64url');
}

/** The type and UUID inside a global id, or null for anything that is not one of ours (in its one canonical form). */
export function fromGlobalId(globalId: unknown): { type: NodeTypeName; id: string } | null {
  if (typeof globalId !== 'string' || globalId.length > 120 || !/^[A-Za-z0-9_-]+$/.test(globalId)) return null;
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const colon = decoded.indexOf(':');
  const type = decoded.slice(0, colon);
  const id = decoded.slice(colon + 1);
  if (colon < 0 || !isNodeType(type) || !isUuid(id) || id !== id.toLowerCase()) return null;
  if (toGlobalId(type, id) !== globalId) return null;
  return { type, id };
}

@InterfaceType('Node', {
  description:
    'An object with a global identity (Relay Global Object Identification). Fetch any of them with `node(id:)` or `nodes(ids:)`.',
})
export abstract class Node {
  @Field(() => ID, {
    description:
      'Opaque global id: unique across all types, stable for the life of the object. Pass it to `node(id:)` or any id argument.',
  })
  id: string;
}

/** Output fields of type ID that refer to another node, by field name. */
const REFERENCE_FIELDS: Record<string, NodeTypeName> = {
  workspaceId: 'Workspace',
  environmentId: 'Environment',
  componentId: 'Component',
  ringId: 'DeploymentRing',
  toRingId: 'DeploymentRing',
  fromRingId: 'DeploymentRing',
  rotatedTo: 'ApiKey',
};

/** ID fields and arguments that are not our objects' ids (the identity provider's subjects). */
const EXTERNAL_IDS = new Set(['userId']);

/** Fields whose `id` argument names another type than the one they return. */
const ID_ARGUMENT_TYPE: Record<string, NodeTypeName> = { 'Mutation.rotateApiKey': 'ApiKey' };

/** Mutations that return a member's user id (external), not a node id. */
const RETURNS_EXTERNAL_ID = new Set(['Mutation.removeMember', 'Mutation.removeWorkspaceMember']);

/** Root fields that decode ids themselves (any type). */
const SELF_DECODING = new Set(['Query.node', 'Query.nodes']);

function isIdType(type: GraphQLInputType | GraphQLFieldConfig<unknown, unknown>['type']): boolean {
  return getNamedType(type).name === 'ID';
}

/** The node type an `ID` field or argument refers to, or null for external ids; throws for unknown ones. */
function nodeTypeOf(where: string, name: string, ownerType: string | null): NodeTypeName | null {
  if (EXTERNAL_IDS.has(name)) return null;
  if (name in REFERENCE_FIELDS) return REFERENCE_FIELDS[name];
  if (name === 'id' && ownerType && isNodeType(ownerType)) return ownerType;
  throw new Error(`${where} is an ID that is neither a node id nor a declared external id (src/graphql/node.ts)`);
}

/** `sent` collects uuid → the global id the client sent, to put back into error messages. */
type Decoder = (value: unknown, sent: Map<string, string>) => unknown;

function decodeOne(type: NodeTypeName): Decoder {
  return (value, sent) => {
    if (value === null || value === undefined) return value;
    const decoded = fromGlobalId(value);
    if (!decoded || decoded.type !== type) throw notFound(type, String(value));
    sent.set(decoded.id, value as string);
    return decoded.id;
  };
}

function overList(type: GraphQLInputType, decode: Decoder): Decoder {
  const inner = getNullableType(type);
  if (!isListType(inner)) return decode;
  const item = overList(inner.ofType as GraphQLInputType, decode);
  return (value, sent) =>
    Array.isArray(value)
      ? value.map((v) => item(v, sent))
      : value === null || value === undefined
        ? value
        : item(value, sent);
}

/** Replaces global ids by UUIDs in the arguments and input objects the resolver receives. */
function argumentDecoders(
  where: string,
  args: Record<string, GraphQLArgumentConfig>,
  ownerType: string | null,
): Map<string, Decoder> {
  const inputDecoders = new Map<string, Decoder | null>();
  const forInput = (type: GraphQLInputType, path: string): Decoder | null => {
    const named = getNamedType(type);
    if (!isInputObjectType(named)) return null;
    if (!inputDecoders.has(named.name)) {
      inputDecoders.set(named.name, null); // cycles
      const fields = new Map<string, Decoder>();
      for (const field of Object.values(named.getFields())) {
        let decode: Decoder | null = null;
        if (isIdType(field.type)) {
          const target = nodeTypeOf(`${named.name}.${field.name}`, field.name, null);
          decode = target ? decodeOne(target) : null;
        } else {
          decode = forInput(field.type, `${path}.${field.name}`);
        }
        if (decode) fields.set(field.name, overList(field.type, decode));
      }
      inputDecoders.set(
        named.name,
        fields.size === 0
          ? null
          : (value, sent) => {
              if (value === null || typeof value !== 'object') return value;
              const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
              for (const [name, decode] of fields) if (name in copy) copy[name] = decode(copy[name], sent);
              return copy;
            },
      );
    }
    const decode = inputDecoders.get(named.name);
    return decode ? overList(type, decode) : null;
  };

  const decoders = new Map<string, Decoder>();
  for (const [name, arg] of Object.entries(args)) {
    let decode: Decoder | null;
    if (isIdType(arg.type)) {
      const target = nodeTypeOf(`${where}(${name}:)`, name, ownerType);
      decode = target ? overList(arg.type, decodeOne(target)) : null;
    } else {
      decode = forInput(arg.type, name);
    }
    if (decode) decoders.set(name, decode);
  }
  return decoders;
}

/** The node type whose id a mutation like `deleteWorkspace` returns. */
function deletedType(fieldName: string): NodeTypeName | null {
  const match = /^delete([A-Z]\w*)$/.exec(fieldName);
  return match && isNodeType(match[1]) ? match[1] : null;
}

/** The decoders applyGlobalIds puts in front of a field's resolver, by argument name. */
function decodersOf(
  typeName: string,
  fieldName: string,
  field: { type: GraphQLFieldConfig<unknown, unknown>['type']; args?: Record<string, GraphQLArgumentConfig> },
  mutationType: string | undefined,
): Map<string, Decoder> {
  const where = `${typeName}.${fieldName}`;
  const returned = getNamedType(field.type).name;
  const owner =
    ID_ARGUMENT_TYPE[where] ??
    (typeName === mutationType && deletedType(fieldName) ? deletedType(fieldName) : returned);
  return argumentDecoders(where, field.args ?? {}, owner);
}

/**
 * A field's arguments as its resolver receives them from applyGlobalIds (global ids decoded into stored
 * uuids), or null where applyGlobalIds refuses them (NOT_FOUND: an id that does not decode or names another
 * type). For the planned writes (src/graphql/sql-plan), which take only what the resolver would accept.
 */
export function decodedArguments(
  schema: GraphQLSchema,
  typeName: string,
  fieldName: string,
  args: Record<string, unknown>,
): Record<string, unknown> | null {
  let perSchema = DECODERS.get(schema);
  if (!perSchema) DECODERS.set(schema, (perSchema = new Map()));
  const where = `${typeName}.${fieldName}`;
  let decoders = perSchema.get(where);
  if (decoders === undefined) {
    const field = (schema.getType(typeName) as GraphQLObjectType | undefined)?.getFields()[fieldName];
    const config = field && {
      type: field.type,
      args: Object.fromEntries(field.args.map((arg) => [arg.name, { type: arg.type }])),
    };
    decoders =
      config && !SELF_DECODING.has(where)
        ? decodersOf(typeName, fieldName, config, schema.getMutationType()?.name)
        : null;
    perSchema.set(where, decoders);
  }
  if (!decoders) return null;
  const decoded = { ...args };
  const sent = new Map<string, string>();
  try {
    for (const [name, decode] of decoders) if (name in decoded) decoded[name] = decode(decoded[name], sent);
  } catch {
    return null;
  }
  return decoded;
}

const DECODERS = new WeakMap<GraphQLSchema, Map<string, Map<string, Decoder> | null>>();

/** Global ids out, UUIDs in: see the comment at the top of this file. */
export function applyGlobalIds(schema: GraphQLSchema): GraphQLSchema {
  const mutationType = schema.getMutationType()?.name;
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig: GraphQLFieldConfig<any, any>, fieldName, typeName) => {
      const where = `${typeName}.${fieldName}`;
      let resolve = fieldConfig.resolve ?? defaultFieldResolver;

      // Arguments: the id arguments of a root field refer to the type it returns (workspace(id:) → Workspace).
      if (fieldConfig.args && !SELF_DECODING.has(where)) {
        const decoders = decodersOf(typeName, fieldName, fieldConfig, mutationType);
        if (decoders.size) {
          const inner = resolve;
          resolve = async (source, args, context, info) => {
            const decoded = { ...args };
            const sent = new Map<string, string>();
            for (const [name, decode] of decoders) if (name in decoded) decoded[name] = decode(decoded[name], sent);
            try {
              return await inner(source, decoded, context, info);
            } catch (caught) {
              const error = caught instanceof DomainError ? toGraphQLError(caught) : caught;
              // Services name the stored UUID ("Workspace <uuid> not found"); say it with the id the client sent.
              if (error instanceof GraphQLError && sent.size) {
                let message = error.message;
                for (const [uuid, globalId] of sent) message = message.split(uuid).join(globalId);
                if (message !== error.message) {
                  throw new GraphQLError(message, {
                    nodes: error.nodes,
                    source: error.source,
                    positions: error.positions,
                    path: error.path,
                    originalError: error.originalError,
                    extensions: error.extensions,
                  });
                }
              }
              throw error;
            }
          };
        }
      }

      // Results: ids of nodes, references to nodes, and the ids delete mutations return.
      let encodeAs: NodeTypeName | null = null;
      if (typeName === 'AuditEntry' && fieldName === 'targetId') {
        const inner = resolve;
        resolve = async (source, args, context, info) => {
          const raw = await inner(source, args, context, info);
          const targetType = (source as { targetType?: string | null }).targetType ?? '';
          return typeof raw === 'string' && isUuid(raw) && isNodeType(targetType) ? toGlobalId(targetType, raw) : raw;
        };
      } else if (isIdType(fieldConfig.type) && !RETURNS_EXTERNAL_ID.has(where)) {
        encodeAs = typeName === mutationType ? deletedType(fieldName) : nodeTypeOf(where, fieldName, typeName);
        if (typeName === mutationType && !encodeAs) throw new Error(`${where} returns an ID of no known node type`);
      }
      if (encodeAs) {
        const inner = resolve;
        const type = encodeAs;
        const encode = (raw: unknown) => (typeof raw === 'string' ? toGlobalId(type, raw) : raw);
        resolve = (source, args, context, info) => {
          const raw = inner(source, args, context, info);
          return raw instanceof Promise ? raw.then(encode) : encode(raw);
        };
      }
      return resolve === (fieldConfig.resolve ?? defaultFieldResolver) ? fieldConfig : { ...fieldConfig, resolve };
    },
  });
}
