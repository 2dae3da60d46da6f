import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ERROR_STATUS, type GatewayErrorCode } from '../../contract/errors';
import { ROUTES } from '../../contract/routes';
import { RESOURCE_POLICY_SIDS } from '../config/operator-handles';

export interface PublicApiProps {
  readonly handler: lambda.IFunction;
  /** Origins that browsers may call the API from (answered in CORS preflights). */
  readonly allowedOrigins: readonly string[];
  /** Stage-wide steady-state requests per second. */
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  /**
   * Stage-wide throttling of `POST /v1/images`, held below the rest: a status poll costs a
   * fraction of a cent per million, an image request may start the GPU.
   * @default - the stage-wide limits
   */
  readonly createImageThrottling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * Block and allow lists in the API's resource policy (`aws:SourceIp`), for a deployment without
   * WAF. `npm run block` edits the block list's statement in place afterwards.
   * @default - no resource policy
   */
  readonly sourceIpLists?: SourceIpLists;
  /** @default 'prod' */
  readonly stageName?: string;
}

export interface SourceIpLists {
  /** Always refused. */
  readonly blockCidrs: readonly string[];
  /** With `allowListOnly`, the only addresses let in. */
  readonly allowCidrs: readonly string[];
  /** @default false */
  readonly allowListOnly?: boolean;
}

/**
 * A resource policy that lets anyone invoke the API except the block list (and, for a private
 * deployment, everyone not on the allow list). Explicit denies win over the allow, so the order of
 * the statements does not matter.
 */
export function sourceIpPolicy(lists: SourceIpLists): iam.PolicyDocument {
  const statement = (sid: string, effect: iam.Effect, conditions?: Record<string, unknown>) =>
    new iam.PolicyStatement({
      sid,
      effect,
      principals: [new iam.AnyPrincipal()],
      actions: ['execute-api:Invoke'],
      resources: ['execute-api:/*'],
      ...(conditions ? { conditions } : {}),
    });
  const document = new iam.PolicyDocument({ statements: [statement(RESOURCE_POLICY_SIDS.invoke, iam.Effect.ALLOW)] });
  // IAM refuses a condition with an empty list, so an empty block list has no statement at all.
  if (lists.blockCidrs.length > 0) {
    document.addStatements(
      statement(RESOURCE_POLICY_SIDS.blockList, iam.Effect.DENY, { IpAddress: { 'aws:SourceIp': [...lists.blockCidrs] } }),
    );
  }
  if (lists.allowListOnly) {
    if (lists.allowCidrs.length === 0) throw new Error('allowListOnly needs at least one CIDR in allowCidrs');
    document.addStatements(
      statement(RESOURCE_POLICY_SIDS.allowListOnly, iam.Effect.DENY, { NotIpAddress: { 'aws:SourceIp': [...lists.allowCidrs] } }),
    );
  }
  return document;
}

/**
 * A REST API (WAF attaches to REST API stages, not to HTTP APIs) with only the public routes,
 * stage throttling, JSON access logs and error logging. Errors that API Gateway produces itself
 * (throttling, unknown routes) keep the API's error shape `{error:{code,message}}`.
 */
export class PublicApi extends Construct {
  public readonly api: apigateway.RestApi;
  /** The URL that clients prefix routes with, ending in the stage name and a slash. */
  public readonly url: string;
  /** The API's host name, `<id>.execute-api.<region>.<suffix>`. */
  public readonly host: string;
  public readonly stageName: string;

  constructor(scope: Construct, id: string, props: PublicApiProps) {
    super(scope, id);
    if (props.allowedOrigins.length === 0) throw new Error('allowedOrigins must list at least the site origin');
    this.stageName = props.stageName ?? 'prod';
    const createImage = ROUTES.find((route) => route.name === 'createImage')!;
    const policy = props.sourceIpLists ? sourceIpPolicy(props.sourceIpLists) : undefined;
    // The access log is the one place that keeps visitors' raw addresses (the quotas hash them): long
    // enough to find and block an abusive address after an alert, no longer.
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_DAYS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'serverless-diffusion public API',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: true,
      policy,
      deployOptions: {
        stageName: this.stageName,
        throttlingRateLimit: props.throttlingRateLimit,
        throttlingBurstLimit: props.throttlingBurstLimit,
        ...(props.createImageThrottling
          ? {
              methodOptions: {
                [`${createImage.path}/${createImage.method}`]: {
                  throttlingRateLimit: props.createImageThrottling.rateLimit,
                  throttlingBurstLimit: props.createImageThrottling.burstLimit,
                },
              },
            }
          : {}),
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        // ERROR only, and never data tracing: request bodies carry the visitors' prompts.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [...props.allowedOrigins],
        allowMethods: [...[...new Set<string>(ROUTES.map((route) => route.method))].sort(), 'OPTIONS'],
        allowHeaders: ['Content-Type', 'Accept'],
        maxAge: Duration.hours(1),
      },
    });

    // API Gateway writes execution logs to this group by name and would create it on first use without
    // a retention; created here first (and before the stage that logs to it), it has one. A stage
    // deployed before this group existed may have logged an error already: CloudFormation cannot
    // adopt that group, so delete it (or import it with `cdk import`) before the next deploy.
    const executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${this.stageName}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api.deploymentStage.node.addDependency(executionLogs);

    // A resource policy takes effect only with a new deployment, which CDK makes only when the
    // deployment's logical id changes: a changed block list in cdk.json must change it too.
    if (policy) this.api.latestDeployment?.addToLogicalId({ policy: policy.toJSON() });

    const integration = new apigateway.LambdaIntegration(props.handler, { proxy: true });
    // The contract's routes and nothing else; every one goes to the gateway Lambda, which answers them all.
    for (const route of ROUTES) this.api.root.resourceForPath(route.path.slice(1)).addMethod(route.method, integration);

    // A browser hides an answer without CORS headers; the site (first origin) must see these too.
    const corsOrigin = props.allowedOrigins[0];
    // Codes from the gateway's own error table, so clients and the OpenAPI document see one vocabulary.
    this.addErrorResponse(apigateway.ResponseType.THROTTLED, 'rate_limited', corsOrigin, ERROR_STATUS.rate_limited);
    // API Gateway answers an unknown path with 403 "Missing Authentication Token"; the API says 404.
    this.addErrorResponse(apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN, 'not_found', corsOrigin, ERROR_STATUS.not_found);
    this.addErrorResponse(apigateway.ResponseType.REQUEST_TOO_LARGE, 'body_too_large', corsOrigin, ERROR_STATUS.body_too_large);
    this.addErrorResponse(apigateway.ResponseType.DEFAULT_4XX, 'invalid_request', corsOrigin);
    this.addErrorResponse(apigateway.ResponseType.DEFAULT_5XX, 'internal_error', corsOrigin);

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'The API is public by design (anonymous visitors make images). Abuse is bounded by per-address rate limits (WAF\'s rate rules, or without WAF the gateway\'s own counters), per-IP and global daily quotas, the GPU-time guard and stage throttling.',
      },
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The gateway validates every body against the shared request schema (contract/generation-request.ts) and answers 400 naming the bad field; an API Gateway model would restate that schema and answer without the field.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'API Gateway\'s account-wide logging role; this AWS managed policy is the documented permission set for it.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'No user accounts exist; see AwsSolutions-APIG4 for how the public API is protected.',
      },
    );
    this.url = this.api.url;
    this.host = `${this.api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;
  }

  private addErrorResponse(type: apigateway.ResponseType, code: GatewayErrorCode, corsOrigin: string, statusCode?: number): void {
    this.api.addGatewayResponse(`Response${type.responseType}`, {
      type,
      statusCode: statusCode === undefined ? undefined : String(statusCode),
      responseHeaders: { 'Access-Control-Allow-Origin': `'${corsOrigin}'`, Vary: "'Origin'" },
      templates: {
        'application/json': JSON.stringify({
          error: { code, message: '$context.error.messageString', request_id: '$context.requestId' },
        }).replace('"$context.error.messageString"', '$context.error.messageString'),
      },
    });
  }
}
