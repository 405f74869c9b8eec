import {
  GraphQLError,
  Kind,
  getArgumentValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isObjectType,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { escapeLiteral } from 'pg';
import type { DataSource, EntityMetadata } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { v7 as uuidv7 } from 'uuid';
import { authRuleOf, ruleRefusal, type FieldRule } from '../../auth/directives';
import type { WorkspaceRole } from '../../auth/roles';
import { inlineParameters, isUuid } from '../../db/tenant-scope';
import { DomainError } from '../../errors';
import { AUDIT_COLUMNS } from '../../modules/audit/audit.service';
import { TARGET_ARGS } from '../../modules/audit/audit.transform';
import { argumentProblems } from '../input-safety';
import { decodedArguments } from '../node';
import { inputPassesSync } from '../validation';
import { PLANNED_WRITES } from './writes';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../pagination';
import { fromGlobalId, type NodeTypeName } from '../node';
import { isSafeText } from '../input-safety';
import { statementName, type PreparedStatement } from '../../db/prepared-plans';
import { Organization } from '../../modules/organization/organization.entity';
import { Workspace } from '../../modules/workspace/workspace.entity';
import { Environment } from '../../modules/environment/environment.entity';
import { Component } from '../../modules/component/component.entity';

/**
 * The compiled read path (issue 11, README "Compiled read path"): a query whose every selected field is
 * plannable is answered by ONE SQL statement that builds the whole `data` object as JSON in PostgreSQL
 * (json_build_object / json_agg, keys in response order), sent in the request's opening round trip behind
 * the caller row, under the request's transaction, tenant role and row-level security. Anything the planner
 * does not know makes the whole operation unplannable: it then runs exactly as before.
 *
 * Plannable: the root fields `organization`, `workspace(id:)`, `environment(id:)`, `component(id:)`, and
 * `__typename`; on Organization, Workspace, Environment and Component their plain column fields (fields
 * mapped to an entity column of the same property name, which no field resolver may shadow:
 * src/graphql/column-fields.ts) of type String, Boolean, Int, enum, DateTimeISO or JSONObject, `id` (the
 * global id) and `workspaceId` (the workspace's global id); the connections Organization.workspaces,
 * Workspace.environments and Workspace.components with `first` and `after` only (the default order), and
 * their `totalCount`, `edges { cursor node }`, `pageInfo` and `__typename`. Aliases, fragments and
 * @skip/@include are resolved by graphql-js's own collectFields.
 */

/** Who writes, for a planned write's audit row (what auditService.record records). */
export interface PlanWriter {
  actor: string;
  actorKind: string;
  requestId: string;
}

/** What the binders of one request share: its organization, its writer, and a planned write's row (once made). */
interface BindRequest {
  orgId: string;
  writer?: PlanWriter;
  row?: Record<string, unknown> | null;
}

/** A piece of the statement decided per request: its SQL text, or null when the request must not be planned. */
type Binder = (variables: Record<string, unknown>, request: BindRequest) => string | null;

/**
 * Where the answer holds global ids and cursors: PostgreSQL returns them as plain uuid text (base64url in SQL was
 * ~0.8 ms of PostgreSQL per W1, bench/README.md "Prepared plans and counts") and `encodeIds` turns them into
 * `toGlobalId` / `encodeCursor` form in place, walking only these paths (compiled once per plan).
 */
type IdPaths =
  | { kind: 'id'; prefix: string }
  | { kind: 'object'; fields: Array<[string, IdPaths]> }
  | { kind: 'list'; item: IdPaths };

/** A compiled statement: literal SQL pieces and the indexes of the binders between them. */
type Piece = string | number;

interface Compiled {
  pieces: Piece[];
  binders: Binder[];
  /** The distinct auth rules of every selected field (the guard checks them field by field). */
  rules: FieldRule[];
  /** Root response keys (by-id fields, organization): a null there (not found / not visible) goes the normal path. */
  byIdRoots: string[];
  /** The statement with `$n` where the binders go: for traces, never values. */
  traced: string;
  /** `PREPARE <name>(<types>) AS <traced>` and the name (src/db/prepared-plans.ts). */
  prepare: string;
  name: string;
  ids: IdPaths | null;
  /** A planned write (src/graphql/sql-plan/writes.ts): what the caller must hold before it may commit. */
  write?: PlannedWriteCheck;
}

/** What a planned write still needs once the caller row is read, before its COMMIT (the known-document path). */
export interface PlannedWriteCheck {
  /** The workspace role the caller row alone must give (`roleDecidedByCaller`); anyone else takes the resolver. */
  workspaceRole: WorkspaceRole;
}

/** What the tenant plugin hands to the opening, and later the executor. */
export interface BoundPlan {
  sql: string;
  traced: string;
  /** The same statement as a named prepared statement (DB_PREPARED_STATEMENTS; src/db/prepared-plans.ts). */
  prepared: PreparedStatement;
  rules: FieldRule[];
  byIdRoots: string[];
  /** The global ids and cursors of the answer, sent as uuids: encoded by plannedData. */
  ids: IdPaths | null;
  /** Set for a planned write: its statement changes data, and it may commit only after this check. */
  write?: PlannedWriteCheck;
}

class Unplannable extends Error {}

const decline = (why: string): never => {
  throw new Unplannable(why);
};

interface TableSpec {
  entity: new () => unknown;
  table: string;
  node: NodeTypeName;
}

const TYPES: Record<string, TableSpec> = {
  Organization: { entity: Organization, table: 'organizations', node: 'Organization' },
  Workspace: { entity: Workspace, table: 'workspaces', node: 'Workspace' },
  Environment: { entity: Environment, table: 'environments', node: 'Environment' },
  Component: { entity: Component, table: 'components', node: 'Component' },
};

/** Connection fields: the child type and how a child row belongs to its parent row. */
const CONNECTIONS: Record<string, { child: string; parentColumn: string | null }> = {
  'Organization.workspaces': { child: 'Workspace', parentColumn: null },
  'Workspace.environments': { child: 'Environment', parentColumn: 'workspace_id' },
  'Workspace.components': { child: 'Component', parentColumn: 'workspace_id' },
};

const ROOT_BY_ID: Record<string, string> = {
  workspace: 'Workspace',
  environment: 'Environment',
  component: 'Component',
};

/** ID fields other than `id` that hold another node's id. */
const REFERENCES: Record<string, NodeTypeName> = { workspaceId: 'Workspace' };

/** json_build_object takes at most 100 arguments (FUNC_MAX_ARGS): 50 keys. */
const MAX_KEYS = 50;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * DateTimeISO as our scalar serialises a `Date` from the pg driver: `toISOString()`, UTC with milliseconds.
 * The driver (postgres-date) builds the Date from the microseconds as `1000 * parseFloat('.ffffff')`, which
 * the Date truncates; that equals truncating the microseconds to milliseconds for all 10^6 values (checked),
 * which is what to_char's MS does.
 */
const dateTimeIso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export class SqlPlanner {
  /** Per parsed document (Apollo's document store reuses it), per operation name and @skip/@include values. */
  private readonly cache = new WeakMap<DocumentNode, Map<string, Compiled | null>>();
  /** Variables a document uses in @skip/@include (they change the selection, so they key the cache). */
  private readonly conditionVariables = new WeakMap<DocumentNode, string[]>();
  private readonly metadata = new Map<string, EntityMetadata>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * The statement for this request, or null when the operation is not plannable, its variables or
   * arguments would be refused (the normal path then reports them), or the caller's token lacks a scope a
   * selected field requires. `orgId` must be the request's checked organization uuid. A mutation is planned
   * only as one planned write (src/graphql/sql-plan/writes.ts) and only with a `writer` (its audit row).
   */
  plan(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    operationName: string | null | undefined,
    rawVariables: Record<string, unknown> | undefined,
    scopes: ReadonlySet<string>,
    orgId: string,
    writer?: PlanWriter,
  ): BoundPlan | null {
    if (!isUuid(orgId)) return null;
    if (operation.operation !== 'query' && (operation.operation !== 'mutation' || !writer)) return null;
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], rawVariables ?? {}, {
      maxErrors: 1,
    });
    if (coerced.errors) return null;
    const variables = coerced.coerced;
    let names = this.conditionVariables.get(document);
    if (!names) this.conditionVariables.set(document, (names = conditionVariablesOf(document)));
    const key = `${operationName ?? ''}\u0000${names.map((name) => JSON.stringify(variables[name] ?? null)).join(',')}`;
    let perDocument = this.cache.get(document);
    if (!perDocument) this.cache.set(document, (perDocument = new Map()));
    let compiled = perDocument.get(key);
    if (compiled === undefined) {
      try {
        compiled = this.compile(document, operation, variables);
      } catch (error) {
        if (!(error instanceof Unplannable)) throw error;
        compiled = null;
      }
      perDocument.set(key, compiled);
    }
    if (!compiled) return null;
    for (const rule of compiled.rules) if (ruleRefusal(rule, scopes)) return null;
    const values: string[] = [];
    const request: BindRequest = { orgId, writer };
    for (const bind of compiled.binders) {
      const value = bind(variables, request);
      if (value === null) return null;
      values.push(value);
    }
    let sql = '';
    for (const piece of compiled.pieces) sql += typeof piece === 'number' ? values[piece] : piece;
    const prepared = {
      name: compiled.name,
      prepare: compiled.prepare,
      execute: `EXECUTE ${compiled.name}(${values.join(', ')})`,
    };
    return {
      sql,
      traced: compiled.traced,
      prepared,
      rules: compiled.rules,
      byIdRoots: compiled.byIdRoots,
      ids: compiled.ids,
      write: compiled.write,
    };
  }

  private tableMetadata(typeName: string): EntityMetadata {
    let metadata = this.metadata.get(typeName);
    if (!metadata) this.metadata.set(typeName, (metadata = this.dataSource.getMetadata(TYPES[typeName].entity)));
    return metadata;
  }

  private compile(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown>,
  ): Compiled {
    const schema = this.schema;
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const definition of document.definitions)
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
    const binders: Binder[] = [];
    /** The PostgreSQL type of each binder's value (its `$n` in the prepared statement): no type is ever guessed. */
    const types: string[] = [];
    const rules = new Map<string, FieldRule>();
    const byIdRoots: string[] = [];
    let aliases = 0;
    const nextAlias = () => `t${++aliases}`;
    const bind = (type: string, binder: Binder): number => {
      types.push(type);
      return binders.push(binder) - 1;
    };
    const orgSlot = bind('uuid', (_, { orgId }) => `'${orgId}'::uuid`);
    /** Set while a planned write's payload is built: it reads the written row only (see writeField). */
    let inWrite = false;

    /** The field (its auth rule recorded), refusing arguments other than `allowed`. */
    const fieldOf = (
      type: GraphQLObjectType,
      nodes: readonly FieldNode[],
      allowed: readonly string[] = [],
    ): GraphQLField<unknown, unknown> => {
      const field = type.getFields()[nodes[0].name.value];
      if (!field) decline(`unknown field ${type.name}.${nodes[0].name.value}`);
      const rule = authRuleOf(field);
      if (!rule) decline(`${type.name}.${field.name} has no auth rule recorded`);
      if (rule!.authenticated) rules.set(JSON.stringify(rule), rule!);
      // Any other given argument (even null) makes the operation unplannable.
      for (const node of nodes)
        for (const argument of node.arguments ?? [])
          if (!allowed.includes(argument.name.value)) decline(`argument ${field.name}(${argument.name.value})`);
      return field;
    };
    const argumentOf = (field: GraphQLField<unknown, unknown>, node: FieldNode, name: string) => {
      return (vars: Record<string, unknown>): { ok: true; value: unknown } | { ok: false } => {
        try {
          return { ok: true, value: getArgumentValues(field, node, vars)[name] };
        } catch (error) {
          if (error instanceof GraphQLError) return { ok: false };
          throw error;
        }
      };
    };
    const subfields = (type: GraphQLObjectType, nodes: readonly FieldNode[]) => {
      const fields = collectSubfields(schema, fragments, variables, type, nodes);
      if (fields.size > MAX_KEYS) decline('too many keys for json_build_object');
      return fields;
    };
    /** json_build_object('key', <value>, …) over `fields`, each value written by `value`. */
    const build = (
      out: Piece[],
      type: GraphQLObjectType,
      fields: Map<string, readonly FieldNode[]>,
      value: (name: string, nodes: readonly FieldNode[], responseKey: string) => IdPaths | null | void,
    ): IdPaths | null => {
      out.push('json_build_object(');
      let first = true;
      const ids: Array<[string, IdPaths]> = [];
      for (const [responseKey, nodes] of fields) {
        out.push(`${first ? '' : ', '}${escapeLiteral(responseKey)}, `);
        first = false;
        const name = nodes[0].name.value;
        if (name === '__typename') out.push(escapeLiteral(type.name));
        else {
          const paths = value(name, nodes, responseKey);
          if (paths) ids.push([responseKey, paths]);
        }
      }
      out.push(')');
      return ids.length ? { kind: 'object', fields: ids } : null;
    };
    /** A global id or cursor: the uuid as text in SQL, encoded by plannedData (`encodeIds`). */
    const idOf = (out: Piece[], prefix: string, uuid: string): IdPaths => {
      out.push(`${uuid}::text`);
      return { kind: 'id', prefix };
    };

    /** An object row `alias` of `type` as JSON; records the columns it reads in `columns`. */
    const object = (
      out: Piece[],
      type: GraphQLObjectType,
      alias: string,
      fields: Map<string, readonly FieldNode[]>,
      columns: Set<string>,
    ): IdPaths | null => {
      const spec = TYPES[type.name];
      if (!spec) decline(`type ${type.name}`);
      const metadata = this.tableMetadata(type.name);
      columns.add('id');
      return build(out, type, fields, (name, nodes) => {
        const connection = CONNECTIONS[`${type.name}.${name}`];
        // A statement's reads do not see its own data-modifying CTE's rows: a write's payload reads the row only.
        if (connection && inWrite) decline(`connection ${type.name}.${name} in a write's payload`);
        if (connection) {
          const field = fieldOf(type, nodes, ['first', 'after']);
          if (type.name !== 'Organization') columns.add('org_id');
          return connectionField(out, type, alias, field, nodes, connection);
        }
        const field = fieldOf(type, nodes);
        if (nodes.some((node) => node.selectionSet)) decline(`${type.name}.${name} has a selection`);
        const named = getNamedType(field.type);
        const column = metadata.columns.find((c) => c.propertyName === name);
        if (!column || column.relationMetadata) decline(`${type.name}.${name} is not a plain column field`);
        columns.add(column!.databaseName);
        const ref = `${alias}.${ident(column!.databaseName)}`;
        if (named.name === 'ID') {
          const target = name === 'id' ? spec.node : REFERENCES[name];
          if (!target) decline(`ID field ${type.name}.${name}`);
          return idOf(out, `${target}:`, ref);
        } else if (isEnumType(named)) {
          // The GraphQL enum's name for each stored value (the columns' CHECK constraints allow no other).
          const cases = named.getValues().map((value) => {
            if (typeof value.value !== 'string') decline(`enum ${named.name} with non-string values`);
            return `WHEN ${escapeLiteral(value.value)} THEN ${escapeLiteral(value.name)}`;
          });
          out.push(`CASE ${ref} ${cases.join(' ')} END`);
        } else if (named.name === 'DateTimeISO' && column!.type === 'timestamptz') out.push(dateTimeIso(ref));
        else if (
          (named.name === 'JSONObject' && column!.type === 'jsonb') ||
          (named.name === 'String' && column!.type === 'text') ||
          (named.name === 'Boolean' && column!.type === 'boolean') ||
          (named.name === 'Int' && column!.type === 'integer')
        )
          out.push(ref);
        else decline(`${type.name}.${name}: ${named.name} from ${String(column!.type)}`);
      });
    };

    /**
     * A forward page (first/after) of a connection as JSON. The page row set `x` is the keyset page read
     * with one row more than the page (that row only says there is a next page), numbered in list order;
     * `__in` marks the rows of the page. One aggregate row over it gives edges, pageInfo and the cursors;
     * totalCount is the page scan's `count(*) OVER ()` (see below), all under RLS like every read of the request.
     */
    const connectionField = (
      out: Piece[],
      parentType: GraphQLObjectType,
      parentAlias: string,
      field: GraphQLField<unknown, unknown>,
      nodes: readonly FieldNode[],
      connection: { child: string; parentColumn: string | null },
    ): IdPaths | null => {
      // Fields merged under one response key have equal arguments (validation: OverlappingFieldsCanBeMerged).
      const firstOf = argumentOf(field, nodes[0], 'first');
      const afterOf = argumentOf(field, nodes[0], 'after');
      /** The page size as PageArgs validates it (1 to MAX_PAGE_SIZE; DEFAULT_PAGE_SIZE when absent), or null. */
      const limitOf = (vars: Record<string, unknown>): number | null => {
        const first = firstOf(vars);
        if (!first.ok) return null;
        if (first.value === undefined || first.value === null) return DEFAULT_PAGE_SIZE;
        const n = first.value;
        return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_PAGE_SIZE ? n : null;
      };
      const limit = bind('int4', (vars) => limitOf(vars)?.toString() ?? null);
      const limitPlusOne = bind('int4', (vars) => {
        const n = limitOf(vars);
        return n === null ? null : String(n + 1);
      });
      // The cursor as parsePage (graphql/pagination.ts) decodes it; anything it would refuse is not planned.
      const after = bind('uuid', (vars) => {
        const value = afterOf(vars);
        if (!value.ok) return null;
        if (value.value === undefined || value.value === null || value.value === '') return 'NULL::uuid';
        if (typeof value.value !== 'string') return null;
        const decoded = Buffer.from(value.value, 'base64url').toString('utf8');
        const id = decoded.startsWith('v1:') ? decoded.slice(3) : '';
        return id && isSafeText(id) && isUuid(id) ? `'${id}'::uuid` : null;
      });

      const connType = getNamedType(field.type);
      if (!isObjectType(connType)) decline('connection type');
      const childType = schema.getType(connection.child) as GraphQLObjectType;
      const table = TYPES[connection.child].table;
      const c = nextAlias();
      const x = nextAlias();
      const belongs = (alias: string) =>
        connection.parentColumn ? ` AND ${alias}.${connection.parentColumn} = ${parentAlias}.id` : '';
      const orgOf = parentType.name === 'Organization' ? `${parentAlias}.id` : `${parentAlias}.org_id`;
      const columns = new Set<string>(['id']);
      const inner: Piece[] = [];
      // totalCount from the page's own scan (`count(*) OVER ()`, computed before ORDER BY/LIMIT, so over the
      // whole list) instead of a second RLS-filtered scan: exact when the page starts at the list's start.
      // With an `after` argument in the document the count must still be the whole list: a CASE keeps the
      // separate count for a non-null cursor (evaluated only then). An empty first page counts 0.
      const hasAfter = nodes[0].arguments?.some((argument) => argument.name.value === 'after') ?? false;
      let windowCount = false;
      const ids = build(
        inner,
        connType as GraphQLObjectType,
        subfields(connType as GraphQLObjectType, nodes),
        (name, keyNodes) => {
          const sub = fieldOf(connType as GraphQLObjectType, keyNodes);
          const subType = getNamedType(sub.type) as GraphQLObjectType;
          if (name === 'totalCount') {
            windowCount = true;
            const fromPage = `coalesce(max(${x}.__total), 0)`;
            const separate = `(SELECT count(*) FROM ${table} ${c}n WHERE ${c}n.org_id = ${orgOf}${belongs(`${c}n`)})`;
            if (!hasAfter) inner.push(fromPage);
            else inner.push('CASE WHEN ', after, ` IS NULL THEN ${fromPage} ELSE ${separate} END`);
          } else if (name === 'edges') {
            inner.push('coalesce(json_agg(');
            const edge = build(inner, subType, subfields(subType, keyNodes), (edgeName, edgeNodes) => {
              fieldOf(subType, edgeNodes);
              if (edgeName === 'cursor') return idOf(inner, 'v1:', `${x}.id`);
              if (edgeName === 'node') return object(inner, childType, x, subfields(childType, edgeNodes), columns);
              return decline(`edge field ${edgeName}`);
            });
            inner.push(` ORDER BY ${x}.__n) FILTER (WHERE ${x}.__in), '[]'::json)`);
            return edge ? { kind: 'list', item: edge } : null;
          } else if (name === 'pageInfo') {
            return build(inner, subType, subfields(subType, keyNodes), (infoName, infoNodes) => {
              fieldOf(subType, infoNodes);
              // Forward pages only: hasNextPage = a row beyond the page was read; hasPreviousPage is false.
              if (infoName === 'hasNextPage') inner.push(`coalesce(bool_or(NOT ${x}.__in), false)`);
              else if (infoName === 'hasPreviousPage') inner.push('false');
              else if (infoName === 'startCursor' || infoName === 'endCursor') {
                const order = infoName === 'endCursor' ? ' DESC' : '';
                return idOf(inner, 'v1:', `(array_agg(${x}.id ORDER BY ${x}.__n${order}) FILTER (WHERE ${x}.__in))[1]`);
              } else decline(`pageInfo field ${infoName}`);
            });
          } else decline(`connection field ${name}`);
        },
      );
      const list = [...columns].map((column) => `${c}.${ident(column)}`).join(', ');
      out.push(
        '(SELECT ',
        ...inner,
        ` FROM (SELECT ${c}.*, row_number() OVER (ORDER BY ${c}.id) AS __n, row_number() OVER (ORDER BY ${c}.id) <= `,
        limit,
        ` AS __in FROM (SELECT ${list}${windowCount ? ', count(*) OVER () AS __total' : ''} FROM ${table} ${c} WHERE ${c}.org_id = ${orgOf}${belongs(c)} AND (`,
        after,
        ` IS NULL OR ${c}.id > `,
        after,
        `) ORDER BY ${c}.id LIMIT `,
        limitPlusOne,
        // GROUP BY (): one aggregate row over the page even when no aggregate is selected (totalCount only).
        `) ${c}) ${x} GROUP BY ())`,
      );
      return ids;
    };

    /**
     * A planned write (src/graphql/sql-plan/writes.ts) as data-modifying CTEs in front of the SELECT (`prefix`):
     * `WITH t AS (INSERT INTO <table> (<columns>) VALUES (<row>) RETURNING *), t_audit AS (INSERT INTO audit_log
     * … SELECT … FROM t)`, and its payload read from `t`. The row is what the service inserts (the entry's
     * `row`, from the input as the resolver receives it), made per request by the first binder that needs it;
     * a request whose input the resolver would refuse (arguments, input guards, global ids, class-validator)
     * is not planned. The audit row is what audit.transform records for it (operation, type, the new id).
     */
    let write: PlannedWriteCheck | undefined;
    const prefix: Piece[] = [];
    const writeField = (root: GraphQLObjectType, name: string, nodes: readonly FieldNode[], responseKey: string) => {
      const spec = PLANNED_WRITES[name];
      // One change per operation: a second one would run after the first, with a savepoint of its own.
      if (!spec || write) return decline(`mutation ${name}`);
      const declared = root.getFields()[name];
      if (!declared || declared.args.length !== 1 || declared.args[0].name !== 'input')
        return decline(`mutation ${name}: arguments`);
      if (declared.args.some((arg) => TARGET_ARGS.includes(arg.name))) return decline(`mutation ${name}: audit target`);
      const inputType = getNullableType(declared.args[0].type);
      // Leaf fields only: type-graphql's conversion of such an input is Object.assign onto the class (below).
      if (
        !isInputObjectType(inputType) ||
        Object.values(inputType.getFields()).some((f) => !isLeafType(getNullableType(f.type)))
      )
        return decline(`mutation ${name}: input`);
      const field = fieldOf(root, nodes, ['input']);
      const type = getNamedType(field.type);
      if (!isObjectType(type) || TYPES[type.name]?.entity !== spec.entity) return decline(`mutation ${name}: type`);
      const metadata = this.tableMetadata(type.name);
      // Every column but the timestamps (their DEFAULTs); the row must give exactly these.
      const columns = metadata.columns.filter((c) => !c.isCreateDate && !c.isUpdateDate);
      if (columns.some((c) => typeof c.type !== 'string' || c.isGenerated || c.relationMetadata))
        return decline(`mutation ${name}: columns`);
      const argumentConfigs = { input: { type: declared.args[0].type } };
      const rowOf = (vars: Record<string, unknown>, request: BindRequest): Record<string, unknown> | null => {
        if (request.row !== undefined) return request.row;
        request.row = null;
        let args: Record<string, unknown>;
        try {
          args = getArgumentValues(field, nodes[0], vars);
        } catch (error) {
          if (error instanceof GraphQLError) return null;
          throw error;
        }
        if (argumentProblems(argumentConfigs, args).length) return null;
        const input = decodedArguments(schema, root.name, name, args)?.input;
        if (!input || typeof input !== 'object') return null;
        // type-graphql's convertToType for an input class (helpers/types.js).
        const instance = new spec.input() as Record<string, unknown>;
        for (const key of Object.keys(instance))
          if (instance[key] === undefined && !(key in input)) delete instance[key];
        Object.assign(instance, input);
        if (!inputPassesSync(instance)) return null;
        let row: Record<string, unknown>;
        try {
          row = spec.row(request.orgId, instance);
        } catch (error) {
          if (error instanceof DomainError) return null;
          throw error;
        }
        if (row.orgId !== request.orgId || Object.keys(row).length !== columns.length) return null;
        return (request.row = row);
      };
      const driver = this.dataSource.driver;
      /** A value as a literal of `type` (an untyped one would be `text` in INSERT … SELECT), or null. */
      const typed = (value: unknown, type: string): string | null => {
        const literal = inlineParameters('$1', [value]);
        return literal === null ? null : `${literal}::${type}`;
      };
      const literalOf = (column: ColumnMetadata, row: Record<string, unknown>): string | null =>
        column.propertyName in row
          ? typed(driver.preparePersistentValue(row[column.propertyName], column), String(column.type))
          : null;
      const writerValue = (pick: (writer: PlanWriter) => string, type: string) =>
        bind(type, (_, request) => (request.writer ? typed(pick(request.writer), type) : null));
      const created = nextAlias();
      prefix.push(
        `WITH ${created} AS (INSERT INTO ${ident(metadata.tableName)} (${columns.map((c) => ident(c.databaseName)).join(', ')}) VALUES (`,
      );
      columns.forEach((column, i) => {
        if (i > 0) prefix.push(', ');
        prefix.push(
          bind(String(column.type), (vars, request) => {
            const row = rowOf(vars, request);
            return row && literalOf(column, row);
          }),
        );
      });
      prefix.push(
        `) RETURNING *), ${created}_audit AS (INSERT INTO audit_log (${AUDIT_COLUMNS}) SELECT ${created}.org_id, `,
        writerValue(() => uuidv7(), 'uuid'),
        ', ',
        writerValue((writer) => writer.actor, 'text'),
        ', ',
        writerValue((writer) => writer.actorKind, 'text'),
        `, ${escapeLiteral(name)}, ${escapeLiteral(type.name)}, ${created}.id::text, `,
        writerValue((writer) => writer.requestId, 'text'),
        ` FROM ${created}) `,
      );
      const alias = nextAlias();
      out.push('(SELECT ');
      inWrite = true;
      const paths = object(
        out,
        type as GraphQLObjectType,
        alias,
        subfields(type as GraphQLObjectType, nodes),
        new Set(),
      );
      inWrite = false;
      out.push(` FROM ${created} ${alias})`);
      // Null only if the INSERT wrote nothing; then the resolver answers.
      byIdRoots.push(responseKey);
      write = { workspaceRole: spec.workspaceRole };
      return paths;
    };

    const mutation = operation.operation === 'mutation';
    const root = mutation ? schema.getMutationType() : schema.getQueryType();
    if (!root) return decline('no root type');
    const rootFields = collectFields(schema, fragments, variables, root, operation.selectionSet);
    if (rootFields.size === 0 || rootFields.size > MAX_KEYS) decline('root selection');
    const out: Piece[] = ['SELECT '];
    const ids = build(out, root, rootFields, (name, nodes, responseKey) => {
      if (mutation) return writeField(root, name, nodes, responseKey);
      const query = root;
      const byId = ROOT_BY_ID[name];
      const field = fieldOf(query, nodes, byId ? ['id'] : []);
      const type = getNamedType(field.type);
      if (!isObjectType(type)) decline(`root ${name}`);
      const fields = subfields(type as GraphQLObjectType, nodes);
      const alias = nextAlias();
      const columns = new Set<string>();
      if (name === 'organization' && type.name === 'Organization') {
        out.push('(SELECT ');
        const paths = object(out, type as GraphQLObjectType, alias, fields, columns);
        out.push(` FROM organizations ${alias} WHERE ${alias}.id = `, orgSlot, ')');
        // Never null after the caller checks (the same row, same transaction); were it null, the normal path answers.
        byIdRoots.push(responseKey);
        return paths;
      } else if (byId && byId === type.name) {
        const idOf = argumentOf(field, nodes[0], 'id');
        const wanted = type.name as NodeTypeName;
        const idSlot = bind('uuid', (vars) => {
          const id = idOf(vars);
          if (!id.ok) return null;
          const decoded = fromGlobalId(id.value);
          return decoded && decoded.type === wanted ? `'${decoded.id}'::uuid` : null;
        });
        out.push('(SELECT ');
        const paths = object(out, type as GraphQLObjectType, alias, fields, columns);
        out.push(
          ` FROM ${TYPES[type.name].table} ${alias} WHERE ${alias}.org_id = `,
          orgSlot,
          ` AND ${alias}.id = `,
          idSlot,
          ')',
        );
        byIdRoots.push(responseKey);
        return paths;
      }
      return decline(`root field ${name}`);
    });
    if (mutation && !write) decline('a mutation without a planned write');
    out.push(' AS data');
    const pieces = [...prefix, ...out];
    const traced = pieces.map((piece) => (typeof piece === 'number' ? `$${piece + 1}` : piece)).join('');
    const name = statementName(types, traced);
    const prepare = `PREPARE ${name}(${types.join(', ')}) AS ${traced}`;
    return { pieces, binders, rules: [...rules.values()], byIdRoots, traced, prepare, name, ids, write };
  }
}

/** Names of the variables used in @skip(if:)/@include(if:) anywhere in the document. */
function conditionVariablesOf(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'skip' && node.name.value !== 'include') return;
      for (const argument of node.arguments ?? [])
        if (argument.value.kind === Kind.VARIABLE) names.add(argument.value.name.value);
    },
  });
  return [...names].sort();
}

/**
 * The planned `data` of a request, or null when the request must take the normal path. Called by the
 * executor, i.e. only after openRequest passed every caller check (an unknown organization, a revoked key,
 * a former member, an archived organization throw there, and the rows are never read). Re-checks every
 * selected field's auth rule against the request's EFFECTIVE scopes (the token's scopes within the
 * caller's role; the plan was only pre-checked against the token's), and takes a plain success only: a
 * by-id root that found nothing (not found, another tenant's, not visible) is answered by the normal path,
 * which makes exactly today's error.
 */
export function plannedData(
  plan: BoundPlan,
  rows: Record<string, unknown>[] | undefined,
  scopes: ReadonlySet<string> | undefined,
): Record<string, unknown> | null {
  if (!rows || rows.length !== 1 || !scopes) return null;
  for (const rule of plan.rules) if (ruleRefusal(rule, scopes)) return null;
  const data = rows[0].data as Record<string, unknown> | null;
  if (!data || typeof data !== 'object') return null;
  for (const key of plan.byIdRoots) if (data[key] === null || data[key] === undefined) return null;
  if (plan.ids) encodeIds(plan.ids, data);
  return data;
}

/**
 * The answer's uuids at `paths` as `toGlobalId` / `encodeCursor` make them (base64url of prefix + uuid), in
 * place: the keys stay where they are, so the answer's text is what the SQL-encoded form gave (a null, e.g. the
 * endCursor of an empty page, stays null).
 */
function encodeIds(paths: IdPaths, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (paths.kind === 'id')
    return typeof value === 'string' ? Buffer.from(paths.prefix + value).toString('base64url') : value;
  if (paths.kind === 'list') {
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = encodeIds(paths.item, value[i]);
    return value;
  }
  const object = value as Record<string, unknown>;
  for (const [key, child] of paths.fields) if (key in object) object[key] = encodeIds(child, object[key]);
  return value;
}
