import type { Route } from '../route';
import { componentRoutes } from './components';
import { deploymentRoutes } from './deployments';
import { environmentRoutes } from './environments';
import { apiKeyRoutes } from './api-keys';
import { billingRoutes } from './billing';
import { connectorRoutes } from './connectors';
import { llmSettingsRoutes } from './llm-settings';
import { memberRoutes } from './members';
import { organizationRoutes } from './organization';
import { settingsRoutes } from './settings';
import { traceRoutes } from './traces';
import { workspaceRoutes } from './workspaces';

/** Every REST route, in the order the OpenAPI document lists them. Add a resource's list here. */
export const restRoutes: Route[] = [
  ...organizationRoutes,
  ...settingsRoutes,
  ...workspaceRoutes,
  ...environmentRoutes,
  ...componentRoutes,
  ...deploymentRoutes,
  ...connectorRoutes,
  ...llmSettingsRoutes,
  ...memberRoutes,
  ...apiKeyRoutes,
  ...billingRoutes,
  ...traceRoutes,
];
