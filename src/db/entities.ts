import { Organization } from '../modules/organization/organization.entity';
import { Workspace } from '../modules/workspace/workspace.entity';
import { Environment } from '../modules/environment/environment.entity';
import { Component } from '../modules/component/component.entity';

import { OrgMember, WorkspaceMember } from '../modules/member/member.entity';
import { Connector } from '../modules/connector/connector.entity';

import { AuditEntry } from '../modules/audit/audit.entity';
import { ApiKey } from '../modules/api-key/api-key.entity';

import { DeploymentPromotion, DeploymentRing, RingDeployment } from '../modules/deployment/deployment.entity';
import { WorkspaceLlmSettings } from '../modules/llm/llm.entity';
import { CreditBalance, CreditLedgerEntry, ProductSubscription } from '../modules/billing/billing.entity';

export const ENTITIES = [
  Organization,
  Workspace,
  Environment,
  Component,
  OrgMember,
  WorkspaceMember,
  AuditEntry,
  ApiKey,
  Connector,
  ProductSubscription,
  CreditBalance,
  CreditLedgerEntry,
  DeploymentRing,
  DeploymentPromotion,
  RingDeployment,
  WorkspaceLlmSettings,
];
