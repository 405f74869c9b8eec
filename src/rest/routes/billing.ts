import { CreditAccount, CreditLedgerEntry, ProductSubscription } from '../../modules/billing/billing.entity';
import { RecordUsageInput } from '../../modules/billing/billing.inputs';
import { billingService } from '../../modules/billing/billing.service';
import { ORG, route, type Route } from '../route';

const BILLING = `${ORG}/billing`;
const tag = 'billing';

/**
 * Billing as GraphQL shows it to a tenant: subscriptions, the credit balance and its ledger (reads,
 * `billing:read`), and recording usage (`billing:write`, GraphQL's recordUsage). Subscriptions and grants
 * are managed by the platform (CLI), so there is no route to change them.
 */
export const billingRoutes: Route[] = [
  route({
    method: 'get',
    path: `${BILLING}/subscriptions`,
    operationId: 'listSubscriptions',
    summary: "List the organization's product subscriptions, oldest first",
    tag,
    scopes: ['billing:read'],
    result: { kind: 'list', type: ProductSubscription },
    handle: (ctx, req) => billingService.subscriptions(ctx, req.page),
  }),
  route({
    method: 'get',
    path: `${BILLING}/credits`,
    operationId: 'getCredits',
    summary: "Read the organization's credit balance",
    tag,
    scopes: ['billing:read'],
    result: { kind: 'object', type: CreditAccount },
    handle: (ctx) => billingService.account(ctx),
  }),
  route({
    method: 'get',
    path: `${BILLING}/credits/ledger`,
    operationId: 'listCreditLedger',
    summary: 'List every change to the balance, newest first',
    tag,
    scopes: ['billing:read'],
    result: { kind: 'list', type: CreditLedgerEntry },
    handle: (ctx, req) => billingService.ledger(ctx, req.page),
  }),
  route<RecordUsageInput, CreditLedgerEntry>({
    method: 'post',
    path: `${BILLING}/usage`,
    operationId: 'recordUsage',
    summary:
      'Consume credits (refused with BAD_USER_INPUT on amount when it would overdraw); a retry with the same idempotency_key returns the first entry',
    tag,
    scopes: ['billing:write', 'billing:read'],
    body: { input: RecordUsageInput },
    result: { kind: 'object', type: CreditLedgerEntry },
    // Created (a ledger entry), but entries have no URL of their own: they are read through the ledger.
    status: 201,
    audit: { operation: 'recordUsage', targetType: 'CreditLedgerEntry' },
    handle: (ctx, req) => billingService.recordUsage(ctx, req.body),
  }),
];
