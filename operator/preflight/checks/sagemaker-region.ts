/**
 * Whether SageMaker answers in the configured region. Asynchronous inference is a mode of
 * SageMaker's real-time hosting, so a region whose SageMaker API answers has it; whether it has the
 * instance type is the quota check's question (the quota exists only where the type is offered).
 */
import { ListEndpointsCommand } from '@aws-sdk/client-sagemaker';
import { CONFIG_CONTEXT_KEY } from '../../../lib/config/deployment-config';
import { AwsCallError, callAws, type Check } from '../check';

export const sagemakerRegion: Check = {
  name: 'SageMaker',
  usesAws: true,
  async run(context) {
    const { region, endpointName } = context.config;
    let listing;
    try {
      listing = await callAws('SageMaker ListEndpoints', () =>
        context.aws.sagemaker.send(new ListEndpointsCommand({ NameContains: endpointName, MaxResults: 100 })),
      );
    } catch (error) {
      // Regions without SageMaker have no API host to resolve; STS answered, so the network works.
      if (error instanceof AwsCallError && /ENOTFOUND|getaddrinfo/.test(`${(error.cause as { code?: string }).code} ${error.message}`)) {
        return {
          status: 'fail',
          message: `SageMaker has no API endpoint in ${region}`,
          fix: `set ${CONFIG_CONTEXT_KEY}.region to a region that offers SageMaker asynchronous inference, e.g. us-east-1`,
        };
      }
      throw error;
    }
    const existing = listing.Endpoints?.find((endpoint) => endpoint.EndpointName === endpointName);
    return {
      status: 'pass',
      message: `SageMaker answers in ${region}${existing ? `; endpoint ${endpointName} already exists (${existing.EndpointStatus}), the deploy updates it` : ''}`,
    };
  },
};
