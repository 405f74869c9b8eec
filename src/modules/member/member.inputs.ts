import { Field, InputType } from 'type-graphql';
import { IsEmail, IsEnum, IsOptional, Matches, MaxLength, ValidateIf } from 'class-validator';
import { OrgRole, WorkspaceRole } from '../../auth/roles';

@InputType({ description: 'Adds a user (identified by the `sub` of their tokens) to the organization.' })
export class AddMemberInput {
  @Field(() => String, { description: "The user's id: the `sub` claim their identity provider puts in tokens." })
  @Matches(/^[^\s]{1,200}$/, { message: 'userId must be 1-200 characters without spaces' })
  userId: string;

  @Field(() => String, { description: "The user's e-mail address (unique in the organization)." })
  @IsEmail({}, { message: 'email must be an e-mail address' })
  @MaxLength(254)
  email: string;

  @Field(() => String, { description: 'Name shown in the UI, up to 200 characters.', nullable: true })
  @IsOptional()
  @MaxLength(200)
  displayName?: string | null;

  @Field(() => OrgRole, { description: 'Organization role; only owners may grant OWNER.' })
  @IsEnum(OrgRole)
  role: OrgRole;

  @Field(() => WorkspaceRole, { nullable: true, description: 'A cross-workspace grant: this role in every workspace.' })
  @IsOptional()
  @IsEnum(WorkspaceRole)
  allWorkspacesRole?: WorkspaceRole | null;
}

@InputType({ description: 'Omitted fields keep their value.' })
export class UpdateMemberInput {
  @Field(() => OrgRole, { description: 'New organization role; the last owner cannot be demoted.', nullable: true })
  @ValidateIf((o: UpdateMemberInput) => o.role !== undefined)
  @IsEnum(OrgRole)
  role?: OrgRole;

  @Field(() => WorkspaceRole, { nullable: true, description: 'null removes the cross-workspace grant.' })
  @IsOptional()
  @IsEnum(WorkspaceRole)
  allWorkspacesRole?: WorkspaceRole | null;

  @Field(() => String, { description: 'New display name; null clears it.', nullable: true })
  @IsOptional()
  @MaxLength(200)
  displayName?: string | null;
}
