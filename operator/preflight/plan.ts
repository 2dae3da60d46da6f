/** Which checks a backend mode needs, in the order they print. */
import type { DeploymentConfig } from '../../lib/config/deployment-config';
import type { Check } from './check';
import { alertEmails, monthlyBudget } from './checks/alerts-and-budget';
import { cdkBootstrap } from './checks/cdk-bootstrap';
import { contentFilter } from './checks/content-filter';
import { docker } from './checks/docker';
import { endpointQuota } from './checks/endpoint-quota';
import { lambdaConcurrency } from './checks/lambda-concurrency';
import { modelFolder, modelFolderInS3 } from './checks/model-folder';
import { sagemakerRegion } from './checks/sagemaker-region';

/** After the credentials check, which runs first and tells the others the account. */
export function checksFor(config: DeploymentConfig): Check[] {
  const mode = config.backend.mode;
  // `external` deploys no engine of ours: no image, no model, no quota; `lambda` deploys no SageMaker.
  const sagemaker = mode === 'async' || mode === 'serverless';
  const engine = mode !== 'external';
  return [
    cdkBootstrap,
    ...(sagemaker ? [sagemakerRegion] : []),
    ...(mode === 'async' ? [endpointQuota] : []),
    ...(mode === 'lambda' ? [lambdaConcurrency] : []),
    ...(engine ? [docker, config.model.kind === 's3' ? modelFolderInS3 : modelFolder, contentFilter] : []),
    alertEmails,
    monthlyBudget,
  ];
}
