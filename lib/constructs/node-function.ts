import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PATHS } from '../paths';

export interface NodeFunctionProps {
  /** TypeScript entry file exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default - minified for node24 with source maps, AWS SDK bundled, ES module builds preferred */
  readonly bundling?: nodejs.BundlingOptions;
}

/**
 * A TypeScript Lambda bundled by the local esbuild, on Node 24 (LTS) and arm64 (cheaper per GB-second),
 * with its own log group and a role that may write to that log group and nothing else until the
 * owner grants more. No AWS managed policy: AWSLambdaBasicExecutionRole would allow every log group.
 */
export class NodeFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      environment: props.environment,
      depsLockFilePath: PATHS.lockFile,
      bundling: props.bundling ?? {
        minify: true,
        sourceMap: true,
        target: 'node24',
        // The Node runtime ships AWS SDK v3; bundling our own pins the version we test against.
        externalModules: [],
        // ES module builds let esbuild drop the SDK commands we never call.
        mainFields: ['module', 'main'],
      },
    });
    if (props.bundling?.sourceMap ?? true) {
      this.function.addEnvironment('NODE_OPTIONS', '--enable-source-maps');
    }
  }
}
