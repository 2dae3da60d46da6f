import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The gateway's secret: `{"idSigningKey": "..."}` generated at creation; an operator may add
 * `"externalApiKey"` for the external backend.
 */
export class GatewaySecret extends Construct {
  public readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'serverless-diffusion gateway: job id signing key (and optional external backend API key)',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'idSigningKey',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The signing key authenticates job ids that live at most two days; rotating it would turn every outstanding job into 404. Rotate by hand (new value) when a leak is suspected.',
    });
  }
}
