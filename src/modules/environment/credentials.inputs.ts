import { Field, InputType } from 'type-graphql';
import { IsOptional, Matches, MaxLength, ValidateNested, registerDecorator } from 'class-validator';

/**
 * Cloud credentials, one input per deployment host. Every message names the field and the rule, never
 * the value (these are secrets).
 */
const MAX_SERVICE_ACCOUNT_BYTES = 16 * 1024;

/** A Google service-account key file: JSON with type "service_account", client_email and private_key. */
function IsServiceAccountJson() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isServiceAccountJson',
      target: target.constructor,
      propertyName,
      options: {
        message: `$property must be a service-account key file: JSON with "type": "service_account", "client_email" and "private_key" (at most ${MAX_SERVICE_ACCOUNT_BYTES} bytes)`,
      },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string' || Buffer.byteLength(value) > MAX_SERVICE_ACCOUNT_BYTES) return false;
          let parsed: unknown;
          try {
            parsed = JSON.parse(value);
          } catch {
            return false;
          }
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
          const key = parsed as Record<string, unknown>;
          return (
            key.type === 'service_account' &&
            typeof key.client_email === 'string' &&
            /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(key.client_email) &&
            typeof key.private_key === 'string' &&
            key.private_key.includes('PRIVATE KEY-----')
          );
        },
      },
    });
}

@InputType({ description: 'Google Cloud Run: the project, region and a service-account key file.' })
export class CloudRunCredentialsInput {
  @Field(() => String, { description: 'Google Cloud project id (6 to 30 lower-case letters, digits, hyphens).' })
  @Matches(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, {
    message: 'projectId must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)',
  })
  projectId: string;

  @Field(() => String, { description: 'Google Cloud region the environment deploys to, e.g. us-central1.' })
  @Matches(/^[a-z]+(-[a-z]+)+[0-9]{1,2}$/, { message: 'region must be a Google Cloud region such as us-central1' })
  region: string;

  @Field(() => String, { description: 'The JSON key file of the service account (type "service_account").' })
  @IsServiceAccountJson()
  serviceAccountJson: string;
}

@InputType({ description: 'AWS: an access key pair, the region, and optionally a role to assume.' })
export class AwsCredentialsInput {
  @Field(() => String, { description: 'AWS access key id (AKIA… or ASIA…).' })
  @Matches(/^(AKIA|ASIA)[A-Z0-9]{16}$/, {
    message: 'accessKeyId must be an AWS access key id (AKIA… or ASIA…, 20 characters)',
  })
  accessKeyId: string;

  @Field(() => String, { description: 'AWS secret access key (40 characters); sealed, never returned.' })
  @Matches(/^[A-Za-z0-9/+=]{40}$/, { message: 'secretAccessKey must be an AWS secret access key (40 characters)' })
  secretAccessKey: string;

  @Field(() => String, { description: 'AWS region the environment deploys to, e.g. eu-west-1.' })
  @Matches(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$/, {
    message: 'region must be an AWS region such as eu-west-1',
  })
  region: string;

  @Field(() => String, { nullable: true, description: 'arn:aws:iam::<account>:role/<name>' })
  @IsOptional()
  @MaxLength(2048)
  @Matches(/^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/, {
    message: 'roleArn must be an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)',
  })
  roleArn?: string | null;
}

@InputType({ description: "Exactly one, matching the environment's deploymentHost." })
export class EnvironmentCredentialsInput {
  @Field(() => CloudRunCredentialsInput, {
    description: 'Google Cloud Run credentials (for deploymentHost CLOUDRUN).',
    nullable: true,
  })
  @IsOptional()
  @ValidateNested()
  cloudrun?: CloudRunCredentialsInput | null;

  @Field(() => AwsCredentialsInput, { description: 'AWS credentials (for deploymentHost AWS).', nullable: true })
  @IsOptional()
  @ValidateNested()
  aws?: AwsCredentialsInput | null;
}
