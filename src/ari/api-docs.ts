import { z } from 'zod';

/*
 * What ari-client's swagger-client loads on every connect: resources.json, then one declaration per
 * resource at basePath + path. swagger-client JSON.parses them inside HTTP callbacks, so HTML from a
 * proxy or a truncated body throws out of the event loop. They are fetched and checked here first;
 * ari-client only runs once Asterisk serves a description it can use.
 */

const httpUrl = z.string().regex(/^https?:\/\//, 'an http(s) URL');

const resourceList = z.object({
  basePath: httpUrl,
  apis: z.array(z.object({ path: z.string().regex(/^\/[^\s]*\{format\}$/, 'a path like /api-docs/channels.{format}') }).loose()).min(1),
}).loose();

const declaration = z.object({
  basePath: httpUrl,
  resourcePath: z.string(),
  apis: z.array(z.object({ path: z.string(), operations: z.array(z.object({ nickname: z.string(), httpMethod: z.string() }).loose()) }).loose()),
  models: z.record(z.string(), z.unknown()),
}).loose();

export interface ApiDocsRequest {
  /** The configured ARI URL (its path is ignored, as ari-client does). */
  url: string;
  user: string;
  password: string;
  timeoutMs: number;
}

/** Something Asterisk (or whatever answers in its place) served that cannot be an ARI description. */
export class ApiDocsError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'ApiDocsError';
    this.status = status;
  }
}

/**
 * Fetches the resource list and every declaration ari-client will load, and checks each is JSON of
 * the expected shape, served from the configured origin. Resolves the number of resources; rejects
 * with an ApiDocsError saying which document was wrong and how (or with fetch's network error).
 */
export async function checkApiDocs(req: ApiDocsRequest): Promise<number> {
  const { origin } = new URL(req.url);
  const auth = `Basic ${Buffer.from(`${req.user}:${req.password}`).toString('base64')}`;
  const get = async (url: string): Promise<unknown> => {
    const res = await fetch(url, { headers: { authorization: auth, accept: 'application/json' }, signal: AbortSignal.timeout(req.timeoutMs), redirect: 'error' });
    const text = await res.text();
    const name = new URL(url).pathname;
    if (res.status === 401) throw new ApiDocsError('{"message": "Authentication required"}', 401);
    if (!res.ok) throw new ApiDocsError(`API description ${name} answered HTTP ${res.status}`, res.status);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      const type = res.headers.get('content-type') ?? 'none';
      throw new ApiDocsError(`API description ${name} is not JSON (HTTP ${res.status}, content-type ${type}, ${text.length} bytes starting ${JSON.stringify(text.slice(0, 40))}): a proxy or maintenance page, or a cut-off answer?`);
    }
  };
  const shape = <T>(schema: z.ZodType<T>, doc: unknown, url: string): T => {
    const parsed = schema.safeParse(doc);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    throw new ApiDocsError(`API description ${new URL(url).pathname} is JSON but not an ARI description: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  };
  const sameOrigin = (basePath: string, url: string): void => {
    if (new URL(basePath).origin !== origin) {
      throw new ApiDocsError(`API description ${new URL(url).pathname} points its requests to ${new URL(basePath).origin}, not ${origin} (ari.url): refused, the credentials would go there`);
    }
  };
  const listUrl = `${origin}/ari/api-docs/resources.json`;
  const list = shape(resourceList, await get(listUrl), listUrl);
  sameOrigin(list.basePath, listUrl);
  for (const api of list.apis) {
    const url = list.basePath + api.path.replace('{format}', 'json');
    sameOrigin(url, listUrl);
    const decl = shape(declaration, await get(url), url);
    sameOrigin(decl.basePath, url);
  }
  return list.apis.length;
}
