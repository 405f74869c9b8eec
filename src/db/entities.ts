import { Organization } from '../modules/organization/organization.entity';
import { Workspace } from '../modules/workspace/workspace.entity';
import { Environment } from '../modules/environment/environment.entity';
import { Component } from '../modules/component/component.entity';

import { OrgMember, WorkspaceMember } from '../modules/member/member.entity';
import { DeploymentPromotion, DeploymentRing, RingDeployment } from '../modules/deployment/deployment.entity';
import { WorkspaceLlmSettings } from '../modules/llm/llm.entity';

export const ENTITIES = [Organization, Workspace, Environment, Component, OrgMember, WorkspaceMember, DeploymentRing, DeploymentPromotion, RingDeployment, WorkspaceLlmSettings];
