import { Field, InputType } from 'type-graphql';
import { IsEmail, IsFQDN, IsOptional, Matches, MaxLength, ValidateIf } from 'class-validator';
import { NOT_BLANK } from '../../graphql/validation';

/** General settings an org admin may change. Slug, status and support tier are platform operations. */
@InputType({ description: "Changes to the organization's general settings; an omitted field is kept." })
export class UpdateOrganizationInput {
  @Field(() => String, { description: 'New display name, 1 to 200 characters; null is refused.', nullable: true })
  @ValidateIf((o: UpdateOrganizationInput) => o.name !== undefined)
  @Matches(NOT_BLANK, { message: 'name must not be blank' })
  @MaxLength(200)
  name?: string;

  @Field(() => String, { description: 'Industry, up to 100 characters; null clears it.', nullable: true })
  @IsOptional()
  @MaxLength(100)
  industry?: string | null;

  @Field(() => String, { description: 'Contact e-mail address; null clears it.', nullable: true })
  @IsOptional()
  @IsEmail({}, { message: 'contactEmail must be an e-mail address' })
  @MaxLength(254)
  contactEmail?: string | null;

  @Field(() => String, { description: 'Billing e-mail address; null clears it.', nullable: true })
  @IsOptional()
  @IsEmail({}, { message: 'billingEmail must be an e-mail address' })
  @MaxLength(254)
  billingEmail?: string | null;

  @Field(() => String, { description: 'Main DNS domain (stored lower-case); null clears it.', nullable: true })
  @IsOptional()
  @IsFQDN({}, { message: 'primaryDomain must be a domain name such as example.com' })
  @MaxLength(253)
  primaryDomain?: string | null;
}
