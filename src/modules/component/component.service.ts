import { v7 as uuidv7 } from 'uuid';
import type { TenantScope } from '../../db/tenant-scope';
import { deleteById, insertReturning, updateReturning } from '../../db/writes';
import { notFound, pgErrorCode } from '../../graphql/errors';
import type { Loaders } from '../../graphql/loaders';
import { checkId } from '../../graphql/validation';
import { Component } from './component.entity';
import type { CreateComponentInput, UpdateComponentInput } from './component.inputs';

const FOREIGN_KEY_VIOLATION = '23503';

export const componentService = {
  async get(loaders: Loaders, id: string): Promise<Component> {
    const component = await loaders.component.load(checkId(id));
    if (!component) throw notFound('Component', id);
    return component;
  },

  create(scope: TenantScope, input: CreateComponentInput): Promise<Component> {
    const workspaceId = checkId(input.workspaceId, 'workspaceId');
    return scope.mutation((manager) =>
      insertReturning(manager, Component, {
        orgId: scope.orgId,
        id: uuidv7(),
        workspaceId,
        type: input.type,
        name: input.name.trim(),
        configuration: input.configuration ?? {},
      }).catch((error) => {
        // The foreign key includes org_id: another organization's workspace is simply not there.
        if (pgErrorCode(error) === FOREIGN_KEY_VIOLATION) throw notFound('Workspace', workspaceId);
        throw error;
      }),
    );
  },

  update(scope: TenantScope, id: string, input: UpdateComponentInput): Promise<Component> {
    id = checkId(id);
    return scope.mutation(async (manager) => {
      const values: Partial<Component> = {};
      if (input.name !== undefined) values.name = input.name.trim();
      if (input.configuration !== undefined) values.configuration = input.configuration;
      const updated = await updateReturning(manager, Component, { orgId: scope.orgId, id }, values);
      if (!updated) throw notFound('Component', id);
      return updated;
    });
  },

  delete(scope: TenantScope, id: string): Promise<string> {
    id = checkId(id);
    return scope.mutation(async (manager) => {
      if (!(await deleteById(manager, Component, scope.orgId, id))) throw notFound('Component', id);
      return id;
    });
  },
};
