/**
 * The files of one revision of a Hub repository, with what each must hash to: Git LFS files by
 * the SHA-256 the Hub lists, regular Git files by their Git blob SHA-1.
 */
import { HubApiError, listFiles } from '@huggingface/hub';
import { hubFetch, type HubAccess, type HubSource } from './hub-source';

export type ExpectedDigest = { readonly algorithm: 'sha256'; readonly hex: string } | { readonly algorithm: 'git-sha1'; readonly hex: string };

export interface RemoteFile {
  readonly path: string;
  readonly size: number;
  readonly digest: ExpectedDigest;
}

export async function listRemoteFiles(source: HubSource, access: HubAccess, baseFetch: typeof fetch = fetch): Promise<RemoteFile[]> {
  const files: RemoteFile[] = [];
  try {
    for await (const entry of listFiles({
      repo: { type: 'model', name: source.repo },
      // The library puts the revision in the path as it is; `refs/pr/1` must travel as one segment.
      revision: encodeURIComponent(source.revision),
      recursive: true,
      hubUrl: access.endpoint,
      fetch: hubFetch(access, baseFetch),
    })) {
      if (entry.type !== 'file') continue;
      if (entry.lfs) {
        files.push({ path: entry.path, size: entry.lfs.size, digest: { algorithm: 'sha256', hex: entry.lfs.oid } });
      } else if (entry.oid && !entry.xetHash) {
        files.push({ path: entry.path, size: entry.size, digest: { algorithm: 'git-sha1', hex: entry.oid } });
      } else {
        throw new Error(`the Hub lists no checksum for ${entry.path} in ${source.repo}@${source.revision}, so it cannot be verified`);
      }
    }
  } catch (error) {
    throw describeListingError(error, source, access);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function describeListingError(error: unknown, source: HubSource, access: HubAccess): Error {
  if (!(error instanceof HubApiError)) return error instanceof Error ? error : new Error(String(error));
  const where = `${source.repo}@${source.revision} on ${access.endpoint}`;
  if (error.statusCode === 401 || error.statusCode === 403) {
    return new Error(
      access.token
        ? `${where}: the Hub refused HF_TOKEN (HTTP ${error.statusCode}); check the token and that you accepted the model's licence on its page`
        : `${where} needs a login (HTTP ${error.statusCode}): set HF_TOKEN to a Hugging Face access token, after accepting the model's licence on its page`,
    );
  }
  if (error.statusCode === 404) return new Error(`${where} does not exist (HTTP 404): check the repository name and the revision after @`);
  return new Error(`listing ${where} failed: ${error.message.split('\n')[0]}`);
}
