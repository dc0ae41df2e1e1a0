/**
 * How to reach Temporal: the embedded dev server, or a real cluster (address,
 * namespace, mTLS or API key) from the environment. Shared by the worker's
 * NativeConnection and the API's client Connection.
 */
import { readFileSync } from 'node:fs';
import { getEnv } from '../env';

export type TemporalConnectionOptions = {
  address: string;
  namespace: string;
  tls?:
    | boolean
    | {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      };
  apiKey?: string;
};

export function temporalConnectionOptions(env = getEnv()): TemporalConnectionOptions {
  const address = env.TEMPORAL_ADDRESS ?? `127.0.0.1:${env.TEMPORAL_DEV_PORT}`;
  const hasCert = Boolean(env.TEMPORAL_TLS_CERT_PATH && env.TEMPORAL_TLS_KEY_PATH);
  const useTls = env.TEMPORAL_TLS || hasCert || Boolean(env.TEMPORAL_TLS_CA_PATH) || Boolean(env.TEMPORAL_API_KEY);
  let tls: TemporalConnectionOptions['tls'];
  if (useTls) {
    tls = {
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME,
      serverRootCACertificate: env.TEMPORAL_TLS_CA_PATH ? readFileSync(env.TEMPORAL_TLS_CA_PATH) : undefined,
      clientCertPair: hasCert
        ? { crt: readFileSync(env.TEMPORAL_TLS_CERT_PATH!), key: readFileSync(env.TEMPORAL_TLS_KEY_PATH!) }
        : undefined,
    };
  }
  return { address, namespace: env.TEMPORAL_NAMESPACE, tls, apiKey: env.TEMPORAL_API_KEY };
}
