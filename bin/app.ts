#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { deploymentConfigFromContext } from '../lib/config/context';
import { addServerlessDiffusionStacks } from '../lib/serverless-diffusion';

const app = new App();
addServerlessDiffusionStacks(app, deploymentConfigFromContext(app.node));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
