import { Annotations, CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '../config/deployment-config';
import { resourceNames } from '../config/resource-names';
import { AlertTopic } from '../constructs/alert-topic';
import { CostDashboard } from '../constructs/cost-dashboard';
import { GATEWAY_MEMORY_MB, GatewayFunction } from '../constructs/gateway-function';
import { InstanceCountPublisher } from '../constructs/instance-count-publisher';
import { BudgetAction } from '../constructs/budget-action';
import { MonthlyBudget } from '../constructs/monthly-budget';
import { OperationsAlarms } from '../constructs/operations-alarms';
import { costSettings, idleMonthlyFloor, wakeUpCost } from '../cost/cost-model';
import { lambdaPerGbSecond } from '../cost/prices';

export interface OperationsStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly gateway: GatewayFunction;
  readonly apiName: string;
  /** Absent without WAF. */
  readonly webAclName?: string;
  readonly distributionId: string;
  /** The REST API and stage that the budget action throttles to zero. */
  readonly restApiId: string;
  readonly stageName: string;
  /** The async endpoint's error topic (async mode only). */
  readonly endpointErrorTopic?: sns.ITopic;
}

/**
 * Cost dashboard, alarms, the monthly budget, and the instance-count metric they need (async).
 * The engine function of the lambda mode is addressed by its fixed name, like the endpoint.
 */
export class OperationsStack extends Stack {
  public readonly dashboard: CostDashboard;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { mode } = config.backend;
    const settings = costSettings(config);
    const engineFunctionName = resourceNames(config, this).engineFunctionName;
    const sagemaker = mode === 'async' || mode === 'serverless';
    if (mode === 'async') {
      new InstanceCountPublisher(this, 'InstanceCount', { endpointName: config.endpointName, logLevel: config.logLevel });
    }
    if (config.alerts.emails.length === 0) {
      Annotations.of(this).addWarningV2(
        'serverless-diffusion:no-alert-emails',
        'serverlessDiffusion.alerts.emails is empty: the budget and the alarms will notify nobody. Add at least one address.',
      );
    }
    const alerts = new AlertTopic(this, 'Alerts', { emails: config.alerts.emails });
    new OperationsAlarms(this, 'Alarms', {
      mode,
      gatewayFunction: props.gateway.function,
      alertTopic: alerts.topic,
      asyncEndpoint:
        mode === 'async' && props.endpointErrorTopic
          ? { endpointName: config.endpointName, errorTopic: props.endpointErrorTopic, maxInstances: config.backend.maxInstances }
          : undefined,
      engineFunction: mode === 'lambda' ? { functionName: engineFunctionName, timeoutSeconds: config.backend.lambdaTimeoutSeconds } : undefined,
    });
    // Past the budget, new work stops whether or not anyone reads the e-mails.
    const budgetAction = new BudgetAction(this, 'BudgetAction', {
      restApiId: props.restApiId,
      stageName: props.stageName,
      engineFunctionName: mode === 'lambda' ? engineFunctionName : undefined,
      logLevel: config.logLevel,
    });
    new MonthlyBudget(this, 'Budget', {
      budgetName: `${config.appName}-monthly`,
      limitUsd: config.budget.monthlyLimitUsd,
      emails: config.alerts.emails,
      actionTopic: budgetAction.topic,
    });
    const dashboardName = `${config.appName}-cost`;
    this.dashboard = new CostDashboard(this, 'Dashboard', {
      dashboardName,
      mode,
      endpointName: sagemaker ? config.endpointName : undefined,
      engineFunction:
        mode === 'lambda'
          ? {
              functionName: engineFunctionName,
              memoryMb: config.backend.lambdaMemoryMb,
              perGbSecondUsd: lambdaPerGbSecond(config.backend.lambdaArchitecture),
            }
          : undefined,
      gatewayFunction: props.gateway.function,
      gatewayMemoryMb: GATEWAY_MEMORY_MB,
      apiName: props.apiName,
      webAclName: props.webAclName,
      region: config.region,
      distributionId: props.distributionId,
      gpuHourlyPriceUsd: config.backend.hourlyPriceUsd,
      serverlessMemoryMb: config.backend.serverlessMemoryMb,
      idleMonthlyUsd: idleMonthlyFloor(settings).totalUsd,
      wakeUpUsd: wakeUpCost(settings).usd,
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${config.region}.console.aws.amazon.com/cloudwatch/home?region=${config.region}#dashboards:name=${dashboardName}`,
      description: 'CloudWatch dashboard with traffic and estimated cost',
    });
  }
}
