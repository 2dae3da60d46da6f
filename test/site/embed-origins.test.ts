import { parseEmbedOrigins } from '../../local/embed-origins';
import { frameOptionsHeader, siteContentSecurityPolicy } from '../../site/content-security-policy';
import { EMBED_FRAME_HEIGHT, frameHeightFrom, HEIGHT_MESSAGE_TYPE } from '../../site/src/embed-messages';
import { embedOriginProblem, isAllowedParentOrigin } from '../../site/src/embed-origins';

describe('embed origins', () => {
  it.each(['https://blog.example.com', 'https://user.github.io', 'https://example.com:8443', 'https://xn--bcher-kva.example'])('accepts %s', (origin) => {
    expect(embedOriginProblem(origin)).toBeUndefined();
  });

  it.each<[string, RegExp]>([
    ['https://blog.example.com/', /has a path or a trailing slash/],
    ['https://blog.example.com/posts/1', /has a path or a trailing slash/],
    ['https://*.example.com', /has a wildcard/],
    ['*', /has a wildcard/],
    ['http://blog.example.com', /is not https/],
    ['https://Blog.example.com', /lower case/],
    ["'self'", /is not an origin/],
    ['blog.example.com', /is not an origin/],
    ['https://blog.example.com; sandbox', /is not an origin/],
    [' https://blog.example.com', /is not an origin/],
    ['https://blog.example.com:99999', /no valid port/],
  ])('refuses %j', (origin, reason) => {
    expect(embedOriginProblem(origin)).toMatch(reason);
  });

  it('takes plain http only where asked (local mode), naming EMBED_ORIGINS when refused', () => {
    expect(embedOriginProblem('http://localhost:4000', { allowHttp: true })).toBeUndefined();
    expect(parseEmbedOrigins(' http://localhost:4000, https://blog.example.com http://localhost:4000')).toEqual([
      'http://localhost:4000',
      'https://blog.example.com',
    ]);
    expect(parseEmbedOrigins(undefined)).toEqual([]);
    expect(() => parseEmbedOrigins('http://localhost:4000/blog')).toThrow(/^EMBED_ORIGINS: "http:\/\/localhost:4000\/blog" has a path/);
  });

  it('lets the page talk to listed parents and its own site only', () => {
    const listed = ['https://blog.example.com'];
    expect(isAllowedParentOrigin('https://blog.example.com', listed, 'https://images.example.com')).toBe(true);
    expect(isAllowedParentOrigin('https://images.example.com', listed, 'https://images.example.com')).toBe(true);
    expect(isAllowedParentOrigin('https://evil.example.com', listed, 'https://images.example.com')).toBe(false);
    expect(isAllowedParentOrigin('null', [...listed, 'null'], 'https://images.example.com')).toBe(false);
  });
});

describe('frame-ancestors and X-Frame-Options', () => {
  const directive = (csp: string) => csp.split('; ').find((d) => d.startsWith('frame-ancestors'));

  it("say 'none' and DENY without a list, 'self' and the list (and no X-Frame-Options) with one", () => {
    expect(directive(siteContentSecurityPolicy())).toBe("frame-ancestors 'none'");
    expect(frameOptionsHeader([])).toBe('DENY');
    const origins = ['https://blog.example.com', 'https://user.github.io'];
    expect(directive(siteContentSecurityPolicy({ embedOrigins: origins }))).toBe("frame-ancestors 'self' https://blog.example.com https://user.github.io");
    expect(frameOptionsHeader(origins)).toBeUndefined();
  });

  it('refuses an origin that would add to the policy', () => {
    expect(() => siteContentSecurityPolicy({ embedOrigins: ['https://a.example.com; script-src https://evil.example.com'] })).toThrow(/embed origin/);
  });
});

describe('height messages', () => {
  it('are read only in their own shape, and kept within bounds', () => {
    expect(frameHeightFrom({ type: HEIGHT_MESSAGE_TYPE, height: 812.2 })).toBe(813);
    expect(frameHeightFrom({ type: HEIGHT_MESSAGE_TYPE, height: 10 })).toBe(EMBED_FRAME_HEIGHT.min);
    expect(frameHeightFrom({ type: HEIGHT_MESSAGE_TYPE, height: 1e9 })).toBe(EMBED_FRAME_HEIGHT.max);
    expect(frameHeightFrom({ type: HEIGHT_MESSAGE_TYPE, height: Number.NaN })).toBeUndefined();
    expect(frameHeightFrom({ type: HEIGHT_MESSAGE_TYPE, height: '900' })).toBeUndefined();
    expect(frameHeightFrom({ type: 'other', height: 900 })).toBeUndefined();
    expect(frameHeightFrom('serverless-diffusion:height')).toBeUndefined();
    expect(frameHeightFrom(null)).toBeUndefined();
  });
});
