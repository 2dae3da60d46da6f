/**
 * Where a model comes from on the Hugging Face Hub: the repository and revision an operator
 * names, and the endpoint and token the official clients read from the environment.
 */
import { UsageError } from '../../container/src/cli/cli-errors';

/** huggingface_hub's default when HF_ENDPOINT is not set. */
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

export interface HubSource {
  /** `owner/name`. */
  readonly repo: string;
  /** Branch, tag or commit. @default 'main' */
  readonly revision: string;
}

export interface HubAccess {
  /** Base URL of the Hub (a mirror or a test server). @default - HF_ENDPOINT, else https://huggingface.co */
  readonly endpoint: string;
  /** Sent as a bearer token to the Hub's own origin only. @default - HF_TOKEN, else anonymous */
  readonly token?: string;
}

/** `CompVis/stable-diffusion-v1-4@onnx` → repo and revision. */
export function parseHubSource(text: string): HubSource {
  const at = text.lastIndexOf('@');
  const repo = at < 0 ? text : text.slice(0, at);
  const revision = at < 0 ? 'main' : text.slice(at + 1);
  if (!/^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/.test(repo)) {
    throw new UsageError(`REPO must look like owner/name (e.g. CompVis/stable-diffusion-v1-4@onnx) but is ${JSON.stringify(text)}`);
  }
  if (revision === '' || /\s/.test(revision)) throw new UsageError(`the revision after @ must be a branch, tag or commit but is ${JSON.stringify(revision)}`);
  return { repo, revision };
}

/** The endpoint and token from the environment, as huggingface_hub reads them. */
export function hubAccessFromEnvironment(env: NodeJS.ProcessEnv = process.env): HubAccess {
  const endpoint = (env.HF_ENDPOINT?.trim() || DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(endpoint)) throw new UsageError(`HF_ENDPOINT must be an http(s) URL but is ${JSON.stringify(env.HF_ENDPOINT)}`);
  const token = env.HF_TOKEN?.trim();
  return { endpoint, token: token || undefined };
}

/** The Hub's download URL of one file at one revision. */
export function resolveUrl(access: HubAccess, source: HubSource, path: string): string {
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${access.endpoint}/${source.repo}/resolve/${encodeURIComponent(source.revision)}/${encodedPath}`;
}

/**
 * fetch with the token attached for requests to the Hub's own origin, never to the CDN a download
 * is redirected to (its signed URL needs none, and the token must not leak there).
 */
export function hubFetch(access: HubAccess, baseFetch: typeof fetch = fetch): typeof fetch {
  const hubOrigin = new URL(access.endpoint).origin;
  return (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (!access.token || url.origin !== hubOrigin) return baseFetch(input, init);
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${access.token}`);
    return baseFetch(input, { ...init, headers });
  };
}
