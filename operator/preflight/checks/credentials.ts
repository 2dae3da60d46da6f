/** Whose credentials the deploy would use, and whether they are for the configured account. */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { CONFIG_CONTEXT_KEY } from '../../../lib/config/deployment-config';
import { AwsCallError, callAws, type CheckOutcome, type PreflightContext } from '../check';

/** SDK error names that mean "these are not usable credentials", as opposed to an API hiccup. */
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
]);

export interface Identity {
  readonly outcome: CheckOutcome;
  /** Set when the credentials work. */
  readonly account?: string;
}

export async function checkCredentials(context: PreflightContext): Promise<Identity> {
  let identity;
  try {
    identity = await callAws('STS GetCallerIdentity', () => context.aws.sts.send(new GetCallerIdentityCommand({})));
  } catch (error) {
    if (error instanceof AwsCallError && CREDENTIAL_ERRORS.has(error.errorName ?? '')) {
      return {
        outcome: {
          status: 'fail',
          message: `no usable AWS credentials (${error.message})`,
          fix: 'run `aws configure` or `aws sso login`, or set AWS_PROFILE to a profile for the target account',
        },
      };
    }
    throw error;
  }
  const account = identity.Account ?? '';
  const configured = context.config.account;
  if (configured && configured !== account) {
    return {
      outcome: {
        status: 'fail',
        message: `the credentials are for account ${account}, but ${CONFIG_CONTEXT_KEY}.account is ${configured}`,
        fix: `use credentials for ${configured} (AWS_PROFILE), or change ${CONFIG_CONTEXT_KEY}.account`,
      },
    };
  }
  return { outcome: { status: 'pass', message: `account ${account} as ${identity.Arn}` }, account };
}
