import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseDeploymentConfig } from '../../lib/config/deployment-config';
import { FrontStack } from '../../lib/stacks/front-stack';

/** The site's response headers for a `site.embedOrigins` (issue 22); the front stack alone synthesizes in well under a second. */
function securityHeaders(embedOrigins?: string[]): { csp: string; frameOptions: unknown } {
  const config = parseDeploymentConfig(embedOrigins === undefined ? {} : { site: { embedOrigins } });
  const stack = new FrontStack(new App(), 'Front', { config, env: { account: '123456789012', region: 'us-east-1' } });
  const policies = Template.fromStack(stack).findResources('AWS::CloudFront::ResponseHeadersPolicy');
  expect(Object.keys(policies)).toHaveLength(1);
  const headers = Object.values(policies)[0].Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
  return { csp: headers.ContentSecurityPolicy.ContentSecurityPolicy, frameOptions: headers.FrameOptions };
}

const frameAncestors = (csp: string) => csp.split('; ').find((directive) => directive.startsWith('frame-ancestors '));

describe('site.embedOrigins', () => {
  test('empty (the default): no page may frame the site', () => {
    const { csp, frameOptions } = securityHeaders();
    expect(frameAncestors(csp)).toBe("frame-ancestors 'none'");
    expect(frameOptions).toEqual({ FrameOption: 'DENY', Override: true });
  });

  test("set: frame-ancestors names the site and the listed origins, and X-Frame-Options is not sent", () => {
    const { csp, frameOptions } = securityHeaders(['https://someone.github.io', 'https://blog.example.com']);
    expect(frameAncestors(csp)).toBe("frame-ancestors 'self' https://someone.github.io https://blog.example.com");
    expect(frameOptions).toBeUndefined();
    // The rest of the policy is as strict as without embedding.
    expect(csp).toMatch(/(^|; )default-src 'none'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  test.each<[unknown, RegExp]>([
    [['https://blog.example.com/'], /serverlessDiffusion\.site\.embedOrigins\.0: "https:\/\/blog\.example\.com\/" has a path or a trailing slash/],
    [['https://ok.example.com', 'http://blog.example.com'], /serverlessDiffusion\.site\.embedOrigins\.1: "http:\/\/blog\.example\.com" is not https/],
    [['https://*.github.io'], /serverlessDiffusion\.site\.embedOrigins\.0: "https:\/\/\*\.github\.io" has a wildcard/],
    [["'self'"], /serverlessDiffusion\.site\.embedOrigins\.0: "'self'" is not an origin/],
    ['https://blog.example.com', /serverlessDiffusion\.site\.embedOrigins: /],
  ])('refuses %j naming the key', (embedOrigins, message) => {
    expect(() => parseDeploymentConfig({ site: { embedOrigins } })).toThrow(message);
  });

  test('refuses an unknown key beside it', () => {
    expect(() => parseDeploymentConfig({ site: { embedOrigin: ['https://blog.example.com'] } })).toThrow(/serverlessDiffusion\.site\.embedOrigin: unknown key/);
  });
});
