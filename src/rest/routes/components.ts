import type { RequestContext } from '../../context/request-context';
import { Component, ComponentType } from '../../modules/component/component.entity';
import { CreateComponentInput, UpdateComponentInput } from '../../modules/component/component.inputs';
import { componentService } from '../../modules/component/component.service';
import { RingDeployment } from '../../modules/deployment/deployment.entity';
import { deploymentService } from '../../modules/deployment/deployment.service';
import { NotFoundError } from '../../errors';
import { inWorkspace, route, WORKSPACE, type RestRequest, type Route } from '../route';

/**
 * Components, as the platform documents their paths:
 * - `…/components` (all types; `?type=` filters) and `…/components/{component_id}`;
 * - `…/components/{type}` for `agents`, `workflows`, `code-blocks`, `hosted-services`: the list of that
 *   type, and creating one (the type comes from the path, so the body has no `type`). In the OpenAPI
 *   document they are four literal paths: a templated `/components/{type}` would be the same template as
 *   `/components/{component_id}`, which OpenAPI forbids; the router matches literals first.
 * - `…/hosted-services[/{component_id}]`: the documented alias of `components/hosted-services`; its item
 *   routes answer 404 for a component of another type.
 */
export const COMPONENT_PATHS: Record<string, ComponentType> = {
  agents: ComponentType.AGENT,
  workflows: ComponentType.WORKFLOW,
  'code-blocks': ComponentType.CODE_BLOCK,
  'hosted-services': ComponentType.HOSTED_SERVICE,
};

const COMPONENTS = `${WORKSPACE}/components`;
const tag = 'components';

/** The component of the path, in the workspace of the path (and of `type`, when the path names one). */
async function load(ctx: RequestContext, req: RestRequest, type?: ComponentType): Promise<Component> {
  const component = inWorkspace(req, await componentService.get(ctx, req.params.component_id));
  if (type && component.type !== type) throw new NotFoundError('Component', '');
  return component;
}

/** List + create for one collection path (`type` fixed, or all types with `?type=`). */
function collection(
  path: string,
  name: string,
  summaryOf: string,
  type?: ComponentType,
  itemBase = 'components',
): Route[] {
  return [
    route({
      method: 'get',
      path,
      operationId: `list${name}${aliasSuffix(itemBase)}`,
      summary: `List ${summaryOf} of a workspace, oldest first`,
      tag,
      scopes: ['components:read'],
      ...(type
        ? {}
        : { query: { type: { description: 'Only components of this type.', enum: Object.values(ComponentType) } } }),
      result: { kind: 'list', type: Component },
      handle: (ctx, req) =>
        componentService.page(ctx, req.params.workspace_id, req.page, type ?? req.query.type ?? null),
    }),
    route<CreateComponentInput, Component>({
      method: 'post',
      path,
      operationId: `create${name.replace(/s$/, '')}${aliasSuffix(itemBase)}`,
      summary: type
        ? `Create a component of type ${type} (workspace developers and up)`
        : 'Create a component (workspace developers and up)',
      tag,
      scopes: ['components:write', 'components:read'],
      body: {
        input: CreateComponentInput,
        set: { workspaceId: (p) => p.workspace_id, ...(type ? { type: () => type } : {}) },
        schemaName: type ? 'CreateTypedComponent' : 'CreateComponent',
      },
      result: { kind: 'object', type: Component },
      audit: { operation: 'createComponent', targetType: 'Component' },
      location: (c, req) => `/orgs/${req.params.org_id}/workspaces/${req.params.workspace_id}/${itemBase}/${c.id}`,
      handle: (ctx, req) => componentService.create(ctx, req.body),
    }),
  ];
}

/** Read, change, delete one component at `path` (`type`: only components of that type). */
function item(path: string, suffix: string, type?: ComponentType): Route[] {
  const current = { type: Component, load: (ctx: RequestContext, req: RestRequest) => load(ctx, req, type) };
  return [
    route({
      method: 'get',
      path,
      operationId: `get${suffix}`,
      summary: 'Read a component',
      tag,
      scopes: ['components:read'],
      result: { kind: 'object', type: Component },
      handle: current.load,
    }),
    route<UpdateComponentInput, Component>({
      method: 'patch',
      path,
      operationId: `update${suffix}`,
      summary: 'Rename or reconfigure a component (workspace developers and up)',
      tag,
      scopes: ['components:write', 'components:read'],
      body: { input: UpdateComponentInput, partial: true },
      result: { kind: 'object', type: Component },
      audit: { operation: 'updateComponent', targetType: 'Component' },
      current,
      handle: async (ctx, req) => {
        await current.load(ctx, req);
        return componentService.update(ctx, req.params.component_id, req.body);
      },
    }),
    route({
      method: 'delete',
      path,
      operationId: `delete${suffix}`,
      summary: 'Delete a component with its deployments and history (workspace developers and up)',
      tag,
      scopes: ['components:write'],
      result: { kind: 'none' },
      audit: { operation: 'deleteComponent', targetType: null },
      current,
      handle: async (ctx, req) => {
        await current.load(ctx, req);
        return componentService.delete(ctx, req.params.component_id);
      },
    }),
  ];
}

/** The alias's operations need ids of their own (`listHostedServicesViaAlias`). */
const aliasSuffix = (itemBase: string) => (itemBase === 'components' ? '' : 'ViaAlias');
const pascal = (path: string) => path.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

export const componentRoutes: Route[] = [
  ...collection(COMPONENTS, 'Components', 'the components'),
  ...Object.entries(COMPONENT_PATHS).flatMap(([segment, type]) =>
    collection(`${COMPONENTS}/${segment}`, pascal(segment), `the ${segment.replace('-', ' ')}`, type),
  ),
  ...item(`${COMPONENTS}/{component_id}`, 'Component'),
  route({
    method: 'get',
    path: `${COMPONENTS}/{component_id}/deployments`,
    operationId: 'listComponentDeployments',
    summary: 'Which version of the component is in which ring, in ring order',
    tag: 'deployments',
    scopes: ['components:read', 'workspaces:read'],
    result: { kind: 'array', type: RingDeployment },
    handle: async (ctx, req) => deploymentService.deploymentsOfComponent(ctx, (await load(ctx, req)).id),
  }),
  // The documented alias: /hosted-services is /components/hosted-services.
  ...collection(
    `${WORKSPACE}/hosted-services`,
    'HostedServices',
    'the hosted services',
    ComponentType.HOSTED_SERVICE,
    'hosted-services',
  ),
  ...item(`${WORKSPACE}/hosted-services/{component_id}`, 'HostedService', ComponentType.HOSTED_SERVICE),
];
