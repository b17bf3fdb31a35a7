/** A tiny method + path-template router for the REST side (`/channels/{channelId}/snoop`). */

export interface RestRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
}

export interface RestResult {
  status: number;
  body?: unknown;
}

export type Handler = (req: RestRequest) => RestResult | Promise<RestResult>;

export interface Route {
  method: string;
  path: string;
  handler: Handler;
  /** Asterisk sometimes delivers the events a request causes before its response (snoop's StasisStart). */
  eventsBeforeResponse?: boolean;
}

interface CompiledRoute extends Route {
  segments: string[];
}

export type RouteMatch = { route: Route; params: Record<string, string> } | { methodNotAllowed: true } | null;

export class Router {
  readonly #routes: CompiledRoute[] = [];

  add(route: Route): void {
    this.#routes.push({ ...route, segments: route.path.split('/').filter(Boolean) });
  }

  /** Literal segments win over parameters (so `/channels/externalMedia` is not a channel id). */
  match(method: string, path: string): RouteMatch {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let best: { route: CompiledRoute; params: Record<string, string>; literals: number } | null = null;
    let pathMatched = false;
    for (const route of this.#routes) {
      if (route.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = route.segments[i]!;
        if (seg.startsWith('{')) params[seg.slice(1, -1)] = parts[i]!;
        else if (seg === parts[i]) literals++;
        else ok = false;
      }
      if (!ok) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      if (!best || literals > best.literals) best = { route, params, literals };
    }
    if (best) return { route: best.route, params: best.params };
    return pathMatched ? { methodNotAllowed: true } : null;
  }
}
