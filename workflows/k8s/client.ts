/**
 * The Kubernetes client of the k8s stages (Node only), on @kubernetes/client-node.
 *
 * 1. Built from a cluster connection: a self-contained kubeconfig, or a server
 *    URL + bearer token + CA. Kubeconfigs that would run programs or read files
 *    on the worker (`exec`, `auth-provider`, file paths) are refused.
 * 2. Requests go through client-node's configuration (auth, TLS) but send and
 *    return plain JSON: client-node's typed serializer silently drops fields it
 *    does not know, which would hide mistakes in a manifest. Server-side apply
 *    asks for `fieldValidation=Strict` so unknown fields are errors.
 * 3. Every request can be cancelled (the stage's AbortSignal) and has a time
 *    limit; errors are left as they are for `toStageError` to classify.
 * 4. The namespace guard: a connection limited to some namespaces refuses any
 *    request outside them, and any cluster-scoped object, before it is sent.
 */
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  Watch,
  type ResponseContext,
} from '@kubernetes/client-node';
import { StageFailure, type ClusterConnectionSecret } from '../stages/executor-types';

export const FIELD_MANAGER = 'pipewright';
const REQUEST_TIMEOUT_MS = 30_000;
const RAW = '__pipewright_raw__';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
    uid?: string;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    [key: string]: unknown;
  };
  spec?: Record<string, unknown> & { [key: string]: unknown };
  status?: Record<string, unknown>;
  [key: string]: unknown;
};

/** Builds a KubeConfig from a connection, refusing anything that would run programs or read worker files. */
export function kubeConfigFor(conn: ClusterConnectionSecret): KubeConfig {
  const kc = new KubeConfig();
  if (conn.kubeconfig?.trim()) {
    try {
      kc.loadFromString(conn.kubeconfig);
    } catch (err) {
      throw new StageFailure(`cluster connection "${conn.name}": the kubeconfig does not parse: ${(err as Error).message}`, 'InvalidConfig');
    }
    const problems = unsafeKubeconfigProblems(kc);
    if (problems.length > 0) {
      throw new StageFailure(`cluster connection "${conn.name}": ${problems.join('; ')}`, 'InvalidConfig');
    }
    if (!kc.getCurrentCluster()) {
      throw new StageFailure(`cluster connection "${conn.name}": the kubeconfig has no current context with a cluster`, 'InvalidConfig');
    }
    return kc;
  }
  if (!conn.server) {
    throw new StageFailure(`cluster connection "${conn.name}" has neither a kubeconfig nor a server URL`, 'InvalidConfig');
  }
  kc.loadFromClusterAndUser(
    {
      name: conn.name,
      server: conn.server,
      caData: conn.caPem ? Buffer.from(conn.caPem).toString('base64') : undefined,
      skipTLSVerify: conn.insecureSkipTlsVerify ?? false,
    },
    { name: `${conn.name}-user`, token: conn.token },
  );
  return kc;
}

/** Reasons a kubeconfig may not be used on a shared worker (empty when it is fine). */
export function unsafeKubeconfigProblems(kc: KubeConfig): string[] {
  const problems: string[] = [];
  for (const user of kc.getUsers()) {
    if (user.exec) problems.push(`user "${user.name}" runs a program (exec credential plugin); use a token instead`);
    if (user.authProvider) problems.push(`user "${user.name}" uses an auth-provider plugin; use a token instead`);
    if (user.certFile || user.keyFile) problems.push(`user "${user.name}" reads certificate files; inline them (client-certificate-data)`);
  }
  for (const cluster of kc.getClusters()) {
    if (cluster.caFile) problems.push(`cluster "${cluster.name}" reads its CA from a file; inline it (certificate-authority-data)`);
  }
  // client-node reads tokenFile lazily; any user with a token file is refused too.
  for (const user of kc.getUsers() as { name: string; tokenFile?: string }[]) {
    if (user.tokenFile) problems.push(`user "${user.name}" reads its token from a file; inline it`);
  }
  return problems;
}

/** client-node's generic object API, sending and returning plain JSON. */
class RawApi extends KubernetesObjectApi {
  async send<T>(
    method: HttpMethod,
    path: string,
    opts: { query?: Record<string, string | number | boolean | undefined>; body?: unknown; contentType?: string; signal?: AbortSignal } = {},
  ): Promise<T> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) ctx.setQueryParam(k, String(v));
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    ctx.setSignal(opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout);
    return (await this.requestPromise(ctx, RAW)) as unknown as T;
  }

  protected override async processResponse<T>(response: ResponseContext, type?: string): Promise<T> {
    if (type !== RAW) return super.processResponse(response, type) as Promise<T>;
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      return (text ? JSON.parse(text) : {}) as T;
    }
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', body, response.headers);
  }

  /** Discovery: the resource of a kind (undefined when the cluster does not serve it). */
  async resourceOf(apiVersion: string, kind: string) {
    try {
      return await this.resource(apiVersion, kind);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  pathOf(apiVersion: string): string {
    return this.apiVersionPath(apiVersion);
  }
}

export type ObjectRef = { apiVersion: string; kind: string; namespace?: string; name: string };

export class K8sClient {
  readonly kc: KubeConfig;
  private readonly api: RawApi;
  private readonly resources = new Map<string, { plural: string; namespaced: boolean }>();

  constructor(
    readonly connection: ClusterConnectionSecret,
    private readonly signal?: AbortSignal,
  ) {
    this.kc = kubeConfigFor(connection);
    this.api = this.kc.makeApiClient(RawApi);
  }

  /** Throws (not retried) when the connection may not touch `namespace` (undefined = cluster-scoped). */
  assertNamespace(namespace: string | undefined, what = 'this object'): void {
    const allowed = this.connection.allowedNamespaces;
    if (allowed.length === 0) return;
    if (namespace === undefined) {
      throw new StageFailure(
        `cluster connection "${this.connection.name}" is limited to namespaces ${allowed.join(', ')}; ${what} is cluster-scoped`,
      );
    }
    if (!allowed.includes(namespace)) {
      throw new StageFailure(
        `cluster connection "${this.connection.name}" may not touch namespace "${namespace}" (allowed: ${allowed.join(', ')})`,
      );
    }
  }

  /** Plural and scope of a kind, from discovery (cached). Unknown kinds fail with a readable reason. */
  async resource(apiVersion: string, kind: string): Promise<{ plural: string; namespaced: boolean }> {
    const key = `${apiVersion}/${kind}`;
    const cached = this.resources.get(key);
    if (cached) return cached;
    const r = await this.api.resourceOf(apiVersion, kind);
    if (!r) {
      throw new StageFailure(`the cluster does not serve kind ${kind} in ${apiVersion} (is its CRD installed?)`, 'InvalidConfig');
    }
    const value = { plural: r.name, namespaced: r.namespaced };
    this.resources.set(key, value);
    return value;
  }

  /** Whether the cluster serves a kind (e.g. Gateway API HTTPRoute). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.api.resourceOf(apiVersion, kind)) !== undefined;
  }

  private async pathFor(ref: ObjectRef, withName = true): Promise<string> {
    const r = await this.resource(ref.apiVersion, ref.kind);
    const ns = r.namespaced ? ref.namespace : undefined;
    if (r.namespaced && !ns) throw new StageFailure(`${ref.kind} ${ref.name} needs a namespace`, 'InvalidConfig');
    this.assertNamespace(ns, `${ref.kind} ${ref.name}`);
    const base = this.api.pathOf(ref.apiVersion);
    const nsPart = ns ? `/namespaces/${encodeURIComponent(ns)}` : '';
    return `${base}${nsPart}/${r.plural}${withName ? `/${encodeURIComponent(ref.name)}` : ''}`;
  }

  async get<T = K8sObject>(ref: ObjectRef): Promise<T | undefined> {
    const path = await this.pathFor(ref);
    try {
      return await this.api.send<T>(HttpMethod.GET, path, { signal: this.signal });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  async list<T = K8sObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    opts: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<T[]> {
    const path = await this.pathFor({ apiVersion, kind, namespace, name: '' }, false);
    const res = await this.api.send<{ items?: T[] }>(HttpMethod.GET, path, { query: opts, signal: this.signal });
    return res.items ?? [];
  }

  /**
   * Server-side apply with field manager `pipewright` (force: Pipewright owns what it deploys).
   * A partial object (e.g. only an image) must use another manager: applying it as `pipewright`
   * would drop every field `pipewright` applied before and left out now.
   */
  async apply<T = K8sObject>(obj: K8sObject, opts: { dryRun?: boolean; fieldManager?: string } = {}): Promise<T> {
    const path = await this.pathFor({ ...obj, namespace: obj.metadata.namespace, name: obj.metadata.name });
    const body = { ...obj, metadata: { ...obj.metadata } };
    delete body.metadata.resourceVersion;
    delete body.metadata.managedFields;
    return this.api.send<T>(HttpMethod.PATCH, path, {
      query: { fieldManager: opts.fieldManager ?? FIELD_MANAGER, force: true, fieldValidation: 'Strict', dryRun: opts.dryRun ? 'All' : undefined },
      body,
      contentType: 'application/apply-patch+yaml',
      signal: this.signal,
    });
  }

  async mergePatch<T = K8sObject>(ref: ObjectRef, patch: unknown): Promise<T> {
    const path = await this.pathFor(ref);
    return this.api.send<T>(HttpMethod.PATCH, path, {
      query: { fieldManager: FIELD_MANAGER },
      body: patch,
      contentType: 'application/merge-patch+json',
      signal: this.signal,
    });
  }

  async jsonPatch<T = K8sObject>(ref: ObjectRef, ops: unknown[]): Promise<T> {
    const path = await this.pathFor(ref);
    return this.api.send<T>(HttpMethod.PATCH, path, {
      query: { fieldManager: FIELD_MANAGER },
      body: ops,
      contentType: 'application/json-patch+json',
      signal: this.signal,
    });
  }

  /** Deletes an object; true when it existed. */
  async delete(ref: ObjectRef): Promise<boolean> {
    const path = await this.pathFor(ref);
    try {
      await this.api.send(HttpMethod.DELETE, path, { body: { propagationPolicy: 'Background' }, signal: this.signal });
      return true;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return false;
      throw err;
    }
  }

  /** The server's version (readable without credentials on most clusters). */
  async version(): Promise<{ gitVersion?: string }> {
    return this.api.send(HttpMethod.GET, '/version', { signal: this.signal });
  }

  /** Who the credentials authenticate as (SelfSubjectReview; proves the token works). */
  async whoAmI(): Promise<{ username?: string; groups?: string[] }> {
    const res = await this.api.send<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>(
      HttpMethod.POST,
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, signal: this.signal },
    );
    return res.status?.userInfo ?? {};
  }

  /** Whether the credentials may `verb` `resource` (in `group`) in `namespace` (SelfSubjectAccessReview). */
  async canI(verb: string, group: string, resource: string, namespace?: string): Promise<{ allowed: boolean; reason?: string }> {
    const res = await this.api.send<{ status?: { allowed?: boolean; reason?: string } }>(
      HttpMethod.POST,
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { verb, group, resource, namespace } },
        },
        signal: this.signal,
      },
    );
    return { allowed: res.status?.allowed === true, reason: res.status?.reason };
  }

  /**
   * Watches a collection and calls `onChange` on every event, until the signal
   * aborts. Errors and server-side closes are retried after a short pause; a
   * watch is only a trigger here (callers re-read the state), so a missed
   * event costs at most the caller's fallback poll.
   */
  watch(
    apiVersion: string,
    kind: string,
    namespace: string,
    onChange: () => void,
    signal: AbortSignal,
    query: { labelSelector?: string; fieldSelector?: string } = {},
  ): void {
    const watcher = new Watch(this.kc);
    let current: AbortController | undefined;
    const stop = () => current?.abort();
    signal.addEventListener('abort', stop, { once: true });
    const start = async () => {
      if (signal.aborted) return;
      try {
        const path = await this.pathFor({ apiVersion, kind, namespace, name: '' }, false);
        current = await watcher.watch(
          path,
          { ...query, allowWatchBookmarks: false },
          () => onChange(),
          () => {
            if (!signal.aborted) setTimeout(() => void start(), 500).unref();
          },
        );
        if (signal.aborted) current.abort();
      } catch {
        if (!signal.aborted) setTimeout(() => void start(), 1000).unref();
      }
    };
    void start();
  }
}
