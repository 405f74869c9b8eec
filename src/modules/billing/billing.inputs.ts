import { Field, ID, InputType, Int } from 'type-graphql';
import { IsInt, IsOptional, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';
import { NOT_BLANK } from '../../graphql/validation';

export const MAX_USAGE_AMOUNT = 1_000_000_000;
export const MAX_REASON_LENGTH = 500;

@InputType({ description: 'Credits consumed by the caller (refused if it would overdraw the balance).' })
export class RecordUsageInput {
  @Field(() => Int, {
    description: `Credits consumed, 1 to ${MAX_USAGE_AMOUNT}; refused (BAD_USER_INPUT) if it would overdraw the balance.`,
  })
  @IsInt()
  @Min(1)
  @Max(MAX_USAGE_AMOUNT)
  amount: number;

  @Field(() => String, { description: 'What the credits were used for.' })
  @Matches(NOT_BLANK, { message: 'reason must not be blank' })
  @MaxLength(MAX_REASON_LENGTH)
  reason: string;

  @Field(() => ID, { nullable: true, description: 'The workspace the usage is for (one the caller can see).' })
  @IsOptional()
  @IsUUID('all', { message: 'workspaceId must be an id returned by this API' })
  workspaceId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Send the same key when retrying: the usage is recorded once, and a retry returns the first entry.',
  })
  @IsOptional()
  @Matches(/^[\x21-\x7e]{1,200}$/, { message: 'idempotencyKey must be 1-200 printable characters without spaces' })
  idempotencyKey?: string | null;
}
