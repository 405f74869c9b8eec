import { Arg, Args, FieldResolver, Mutation, Resolver, Root, Info } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RequestCtx } from '../../graphql/context';
import type { RequestContext } from '../../context/request-context';
import { PageArgs, toPage, type Connection } from '../../graphql/pagination';
import { Organization } from '../organization/organization.entity';
import {
  CreditAccount,
  CreditLedgerEntry,
  CreditLedgerEntryConnection,
  ProductSubscription,
  ProductSubscriptionConnection,
} from './billing.entity';
import { RecordUsageInput } from './billing.inputs';
import { billingService } from './billing.service';
import { RequiresScopes } from '../../auth/decorators';

@Resolver(() => Organization)
export class OrganizationBillingResolver {
  @FieldResolver(() => ProductSubscriptionConnection, {
    description: "The organization's product subscriptions, oldest first.",
  })
  @RequiresScopes('billing:read')
  subscriptions(
    @Root() _org: Organization,
    @Args(() => PageArgs) args: PageArgs,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<ProductSubscription>> {
    return billingService.subscriptions(ctx, toPage(args, undefined, info));
  }

  @FieldResolver(() => CreditAccount, { description: "The organization's credit balance and ledger." })
  @RequiresScopes('billing:read')
  credits(@Root() _org: Organization, @RequestCtx() ctx: RequestContext): Promise<CreditAccount> {
    return billingService.account(ctx);
  }
}

@Resolver(() => CreditAccount)
export class CreditAccountResolver {
  @FieldResolver(() => CreditLedgerEntryConnection, { description: 'Every change to the balance, newest first.' })
  ledger(
    @Root() _account: CreditAccount,
    @Args(() => PageArgs) args: PageArgs,
    @RequestCtx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Connection<CreditLedgerEntry>> {
    return billingService.ledger(ctx, toPage(args, undefined, info));
  }
}

@Resolver(() => CreditLedgerEntry)
export class CreditUsageResolver {
  @Mutation(() => CreditLedgerEntry, {
    nullable: true,
    description:
      "Consumes credits from the organization's balance; refused (BAD_USER_INPUT on amount) when it would overdraw.",
  })
  @RequiresScopes('billing:write')
  recordUsage(
    @Arg('input', () => RecordUsageInput, { description: 'Amount, reason and optional workspace of the usage.' })
    input: RecordUsageInput,
    @RequestCtx() ctx: RequestContext,
  ): Promise<CreditLedgerEntry> {
    return billingService.recordUsage(ctx, input);
  }
}
